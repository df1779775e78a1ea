#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs the
# dependencies, builds with warnings as errors and ASan/UBSan, runs the
# unit tests and the end-to-end tests against a private redis-server and a
# private Postfix, smoke-runs every libFuzzer target, builds the Debian
# package (lintian without errors), installs it, runs mail through it and
# purges it (tests/e2e/package.sh), then `make distcheck`.  Works from any
# state of the checkout (an in-tree ./configure is undone first).
# A missing Postfix or Redis fails the run (POSTLB_NO_SKIP=1), never skips.
# Run as root (the end-to-end tests start Postfix).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh tools/deps.sh
sh tools/clean-intree.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

export POSTLB_NO_SKIP=1
jobs=$(nproc 2>/dev/null || echo 2)
fail=0

echo "== build (sanitizers, -Werror) and make check"
rm -rf build-test && mkdir build-test && cd build-test
../configure --enable-werror --enable-sanitizers >/dev/null
make -j"$jobs" >/dev/null
make -j1 check >check.out 2>&1 || fail=1
cat check.out
# The plain summary line: tests that passed and failed (ERROR counts as failed).
awk '/^# (PASS|FAIL|ERROR|XPASS):/ { n[$2] = $3 }
	END { printf "check: %d passed, %d failed\n", n["PASS:"], n["FAIL:"] + n["ERROR:"] + n["XPASS:"] }' check.out
if [ "$fail" -ne 0 ]; then
	for f in $(find tests -name '*.log' ! -name 'test-suite.log'); do
		grep -Eq '^:test-result: (FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null || continue
		echo "---- $f"; tail -n 60 "$f"
	done
fi

echo "== fuzz smoke (libFuzzer)"
make fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-15}" || fail=1

echo "== Debian package: build, lintian, install, mail, purge"
if deb=$(sh "$top/tools/build-deb.sh" . "$top/build-test/deb" | tail -n 1); then
	make check TESTS=tests/e2e/package.sh POSTLB_PACKAGE_TEST=1 POSTLB_DEB="$deb" \
		>package.out 2>&1 || { cat tests/e2e/package.log; fail=1; }
	grep -E '^(PASS|FAIL|ERROR):' package.out || { cat package.out; fail=1; }
else
	echo "the package does not build"
	fail=1
fi

echo "== make distcheck"
cd "$top"
rm -rf build-dist && mkdir build-dist && cd build-dist
../configure >/dev/null
# The tarball is built, installed and checked with the unit tests and
# the end-to-end tests that exercise what it ships (the scripts, the man
# pages, the units, an in-tree build): the whole suite ran above, with
# sanitizers, on the same sources.
dist_tests="$(cd "$top" && ls tests/unit/test_*.c | sed 's/\.c$//' | tr '\n' ' ')"
dist_tests="$dist_tests tests/e2e/route_script.sh tests/e2e/router_limits.sh"
dist_tests="$dist_tests tests/e2e/man_lint.sh tests/e2e/units.sh tests/e2e/intree.sh"
make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
	TESTS="$dist_tests" >distcheck.log 2>&1 ||
	{ tail -n 80 distcheck.log; fail=1; }
grep -E '^(# (TOTAL|PASS|FAIL|ERROR)|=+$|postlb-.* archives ready)' distcheck.log | tail -n 8 || true

if [ "$fail" -ne 0 ]; then
	echo "TESTS FAILED"
	exit 1
fi
echo "ALL TESTS PASSED"
