# man_lint.sh: the man pages (man/*.[58]) are clean under mandoc -T lint
# (style messages included), have the sections of a Postfix-style page,
# and document every option the programs' usage lists, --version and
# the exit codes.

. "$(dirname "$0")/lib.sh"
if ! command -v mandoc >/dev/null 2>&1; then
	echo "[$E2E_NAME] SKIP: mandoc is not installed" >&2
	exit 77
fi

for page in postlb-policyd.8 postlb-milter.8 postlbctl.8 postlb-requeue.8 postlb.conf.5; do
	f=$top_srcdir/man/$page
	[ -f "$f" ] || { fail "$page: missing"; continue; }
	out=$(mandoc -T lint "$f" 2>&1)
	assert_eq "" "$out" "$page: mandoc -T lint is clean"
	for s in NAME SYNOPSIS DESCRIPTION FILES "SEE ALSO"; do
		assert_true "$page: has a $s section" grep -q "^\.SH \"*$s\"*\$" "$f"
	done
done
assert_true "postlb.conf.5: has CONFIGURATION PARAMETERS" grep -q '^\.SH CONFIGURATION PARAMETERS' "$top_srcdir/man/postlb.conf.5"
assert_true "postlb.conf.5: its parameters are the README's Configuration reference (tools/man-params.py)" \
	python3 "$top_srcdir/tools/man-params.py" --check

for p in postlb-policyd postlb-milter postlbctl; do
	f=$top_srcdir/man/$p.8
	assert_true "$p.8: documents the exit status" grep -q '^\.SH EXIT STATUS' "$f"
	assert_true "$p.8: documents --version" grep -q 'B \\-\\-version' "$f"
	# every option letter of the usage message
	usage=$("$top_builddir/$p" -Q 2>&1)
	for o in $(printf '%s\n' "$usage" | grep -o '\[-[a-zA-Z]' | cut -c3 | sort -u); do
		assert_true "$p.8: documents -$o" grep -q "\\\\-$o" "$f"
	done
done

# postlb-requeue (no --version: a root helper started by its unit)
f=$top_srcdir/man/postlb-requeue.8
assert_true "postlb-requeue.8: documents the exit status" grep -q '^\.SH EXIT STATUS' "$f"
usage=$("$top_builddir/postlb-requeue" -Q 2>&1)
for o in $(printf '%s\n' "$usage" | grep -o '\[-[a-zA-Z]' | cut -c3 | sort -u); do
	assert_true "postlb-requeue.8: documents -$o" grep -q "\\\\-$o" "$f"
done

# the pages render without errors
for page in postlb-policyd.8 postlb-milter.8 postlbctl.8 postlb-requeue.8 postlb.conf.5; do
	assert_true "$page renders" sh -c "mandoc -T utf8 '$top_srcdir/man/$page' >/dev/null"
done
e2e_finish
