#!/bin/sh
# The demo, from a fresh Debian 12 machine: installs the dependencies,
# builds postlb, then runs tools/demo-run.sh, which starts a private Redis,
# a private Postfix on loopback ports, four local smtp-sink relays,
# postlb-policyd and postlb-milter, sends mail through them and prints who
# was deferred by which quota and where each message went.  Everything it
# starts is stopped at the end; the system's Postfix and Redis are left
# alone.  Works from any state of the checkout (an in-tree ./configure is
# undone first).  Run as root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh tools/deps.sh
sh tools/clean-intree.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p build-demo
cd build-demo
# a build directory left half-configured is configured again
[ -f Makefile ] && [ -f config.status ] || ../configure >/dev/null
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
cd "$top"
top_builddir=$top/build-demo top_srcdir=$top exec bash tools/demo-run.sh
