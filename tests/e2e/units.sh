# units.sh: the systemd units as built (packaging/*.service, with the
# configured paths): systemd-analyze security --offline=true reports an
# overall exposure level of at most 2.0 for each (postlb-requeue's too);
# Type=notify for the two daemons; each
# ExecReload sends the signal its daemon reloads on (postlb-policyd:
# SIGHUP; postlb-milter: SIGUSR1, libmilter takes SIGHUP as a stop); the
# programs they start are the ones make install puts in sbindir.

. "$(dirname "$0")/lib.sh"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "[$E2E_NAME] SKIP: systemd-analyze is not installed" >&2
	exit 77
fi

sbindir=$(sed -n 's/^sbindir = //p' "$top_builddir/Makefile")
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
exec_prefix=$(sed -n 's/^exec_prefix = //p' "$top_builddir/Makefile")
exec_prefix=${exec_prefix//\$\{prefix\}/$prefix}
sbindir=${sbindir//\$\{exec_prefix\}/$exec_prefix}

for d in policyd:HUP milter:USR1; do
	name=postlb-${d%%:*} sig=${d#*:}
	unit=$top_builddir/packaging/$name.service
	[ -f "$unit" ] || die "$unit is not built (run make)"
	out=$(systemd-analyze security --offline=true "$unit" 2>&1)
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$level" ] || { printf '%s\n' "$out" >&2; die "$name: no exposure level in the output"; }
	log "$name.service: exposure $level"
	assert_true "$name.service: exposure $level <= 2.0" awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
	assert_eq notify "$(sed -n 's/^Type=//p' "$unit")" "$name.service: Type=notify"
	assert_eq "/bin/kill -$sig \$MAINPID" "$(sed -n 's/^ExecReload=//p' "$unit")" "$name.service: ExecReload sends SIG$sig"
	assert_eq "$sbindir/$name -d -c" "$(sed -n 's/^ExecStart=\(.* -c\) .*/\1/p' "$unit")" \
		"$name.service: starts $sbindir/$name in the foreground (-d)"
	assert_true "$name.service: no @...@ left" test -z "$(grep -o '@[a-z]*@' "$unit")"
done
# postlb-requeue: root (postsuper must be), no network, Type=simple
unit=$top_builddir/packaging/postlb-requeue.service
[ -f "$unit" ] || die "$unit is not built (run make)"
level=$(systemd-analyze security --offline=true "$unit" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
log "postlb-requeue.service: exposure $level"
assert_true "postlb-requeue.service: exposure $level <= 2.0" awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
assert_eq yes "$(sed -n 's/^PrivateNetwork=//p' "$unit")" "postlb-requeue.service: no network"
assert_match "^$sbindir/postlb-requeue -f " "$(sed -n 's/^ExecStart=//p' "$unit")" \
	"postlb-requeue.service: starts $sbindir/postlb-requeue"
e2e_finish
