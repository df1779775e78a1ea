# intree.sh: tools/test.sh and tools/demo.sh work after a by-hand in-tree
# ./configure (and make).  In a copy of the distributed tree: configured
# and partly built in place, a build directory's configure fails
# ("already configured"); after tools/clean-intree.sh (which both scripts
# run first) it succeeds and no in-tree object is left for VPATH to find;
# the same when the in-tree Makefile is gone; an unconfigured tree is
# left alone.

. "$(dirname "$0")/lib.sh"

make -C "$top_builddir" distdir distdir="$T/src" >"$T/distdir.log" 2>&1 ||
	{ tail -n 20 "$T/distdir.log" >&2; die "make distdir failed"; }
S=$T/src

log "=== in-tree configure and build"
(cd "$S" && ./configure >"$T/conf-intree.log" 2>&1 && make -j2 engine/libpostlb.a >"$T/make-intree.log" 2>&1) ||
	die "in-tree configure/make failed"
assert_true "in-tree objects exist" test -n "$(find "$S/engine" -name '*.o' | head -n 1)"
mkdir "$S/b"
out=$(cd "$S/b" && ../configure 2>&1)
assert_match "already configured" "$out" "a build directory's configure fails after an in-tree configure"

log "=== clean-intree.sh"
sh "$S/tools/clean-intree.sh" "$S" >"$T/clean.log" 2>&1
assert_eq 0 $? "clean-intree.sh succeeds"
assert_true "config.status is gone" test ! -e "$S/config.status"
assert_eq "" "$(find "$S" -path "$S/b" -prune -o -name '*.o' -print)" "no in-tree object is left"
(cd "$S/b" && ../configure >"$T/conf-b.log" 2>&1)
assert_eq 0 $? "a build directory configures after clean-intree.sh"
assert_true "and builds" sh -c "cd '$S/b' && make -j2 engine/libpostlb.a >'$T/make-b.log' 2>&1"

log "=== without a usable in-tree Makefile"
rm -rf "$S/b"
(cd "$S" && ./configure >"$T/conf-intree2.log" 2>&1 && make -j2 engine/libpostlb.a >/dev/null 2>&1) ||
	die "in-tree configure/make failed (2)"
rm -f "$S/Makefile"
sh "$S/tools/clean-intree.sh" "$S" >>"$T/clean.log" 2>&1
assert_eq 0 $? "clean-intree.sh succeeds without a Makefile"
assert_true "config.status is gone" test ! -e "$S/config.status"
assert_eq "" "$(find "$S" -name '*.o')" "no in-tree object is left"
mkdir "$S/b"
(cd "$S/b" && ../configure >"$T/conf-b2.log" 2>&1)
assert_eq 0 $? "a build directory configures again"

log "=== an unconfigured tree is left alone"
touch "$S/engine/keep.o"
sh "$S/tools/clean-intree.sh" "$S" >>"$T/clean.log" 2>&1
assert_true "nothing removed in a tree without config.status" test -e "$S/engine/keep.o"
e2e_finish
