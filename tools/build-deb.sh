#!/bin/sh
# build-deb.sh BUILDDIR OUTDIR: builds the Debian package of postlb from
# the distribution tarball of the configured tree BUILDDIR (`make dist`:
# what the package ships is what the release ships), in a scratch copy
# under OUTDIR, so no checkout is touched.  Runs lintian on the result and
# fails on any error.  Prints the path of the .deb on its last line.
set -eu
builddir=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)

make -C "$builddir" dist >"$out/dist.log" 2>&1 || { tail -n 40 "$out/dist.log" >&2; exit 1; }
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
rm -rf "$out/postlb-$version"
tar -C "$out" -xzf "$builddir/postlb-$version.tar.gz"
(cd "$out/postlb-$version" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
	{ tail -n 60 "$out/build.log" >&2; exit 1; }
arch=$(dpkg --print-architecture)
deb=$out/postlb_${version}_$arch.deb
[ -f "$deb" ] || { echo "build-deb: no $deb" >&2; exit 1; }
lintian "$out/postlb_${version}_$arch.changes" >"$out/lintian.out" 2>&1 || true
sed 's/^/lintian: /' "$out/lintian.out" >&2
if grep -q '^E: ' "$out/lintian.out"; then
	echo "build-deb: lintian reports errors" >&2
	exit 1
fi
echo "$deb"
