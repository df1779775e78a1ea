#!/bin/sh
# clean-intree.sh [SRCDIR]: undoes a by-hand ./configure (and build) in
# the source tree, which makes every build directory's configure fail
# ("source directory already configured") and would let make find stale
# in-tree objects through VPATH.  tools/test.sh and tools/demo.sh call it
# first, so they work from any state of the checkout.  Does nothing in a
# tree that was never configured in place.
set -eu
cd "${1:-$(dirname "$0")/..}"
[ -f config.status ] || exit 0
echo "clean-intree: the source tree was configured in place: make distclean"
if [ -f Makefile ] && make distclean >/dev/null 2>&1; then
	exit 0
fi
# no usable Makefile: remove what configure wrote and what make built
rm -f config.status config.log Makefile
find . -path ./.git -prune -o \( -name '*.o' -o -name '*.a' \) -type f -print |
	xargs rm -f
find . -path ./.git -prune -o -type d -name .deps -print | xargs rm -rf
