# package.sh: the Debian package, installed on this machine and purged
# again.  Run by make check only with POSTLB_PACKAGE_TEST=1 (tools/test.sh
# sets it); it takes the .deb from POSTLB_DEB or builds it
# (tools/build-deb.sh: make dist, dpkg-buildpackage, lintian without
# errors).  It refuses to run where postlb is installed already.
#
# Checks: the postlb system user; /var/spool/postfix/postlb postlb:postfix
# 0750; /etc/postlb/postlb.conf a conffile, root:postlb 0640, that -n
# accepts as shipped; binaries, man pages and units in place, the units'
# exposure level at most 2.0.  Then both daemons, started from
# /usr/sbin as root with the package's user and socket directory, against
# a private Postfix and Redis: mail is routed (route header stripped) and
# over a quota deferred, a reload after the privilege drop reads the
# 0640 config; at last a purge leaves none of the package's files,
# directories or state behind.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink swaks dpkg-buildpackage lintian apt-get systemd-analyze

if dpkg-query -W -f='${Status}' postlb 2>/dev/null | grep -q 'installed'; then
	die "postlb is installed on this machine: the test installs and purges it, so it will not run here"
fi

DEB=${POSTLB_DEB:-}
if [ -z "$DEB" ]; then
	log "building the package"
	DEB=$(sh "$top_srcdir/tools/build-deb.sh" "$top_builddir" "$T/deb" 2>"$T/build-deb.err" | tail -n 1) ||
		{ cat "$T/build-deb.err" >&2; die "the package does not build"; }
	cat "$T/build-deb.err"
fi
[ -f "$DEB" ] || die "no package at '$DEB'"
VERSION=$(dpkg-deb -f "$DEB" Version)

INSTALLED=0
PKG_PIDS=()
pkg_cleanup() {
	local p
	for p in "${PKG_PIDS[@]}"; do stop_pid "$p" 10; done
	if [ "$INSTALLED" = 1 ]; then
		dpkg --purge postlb >/dev/null 2>&1
		INSTALLED=0
	fi
}
trap 'rc=$?; pkg_cleanup; (exit $rc); e2e_cleanup' EXIT

log "=== install $DEB"
INSTALLED=1
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$DEB" >"$T/install.out" 2>&1 ||
	{ cat "$T/install.out" >&2; die "the package does not install"; }

uid=$(id -u postlb 2>/dev/null)
assert_true "the postlb user exists" test -n "$uid"
assert_true "postlb is a system user (uid $uid)" test "${uid:-1000}" -lt 1000
assert_eq "directory postlb:postfix 750" "$(stat -c '%F %U:%G %a' /var/spool/postfix/postlb)" "the socket directory"
assert_eq "regular file root:postlb 640" "$(stat -c '%F %U:%G %a' /etc/postlb/postlb.conf)" "the config's owner and mode"
assert_match "/etc/postlb/postlb.conf" "$(dpkg-query -W -f='${Conffiles}' postlb)" "the config is a conffile"
for p in postlb-policyd postlb-milter postlbctl; do
	assert_eq "$p $VERSION" "$(/usr/sbin/$p --version)" "/usr/sbin/$p --version"
done
for m in man5/postlb.conf.5 man8/postlb-policyd.8 man8/postlb-milter.8 man8/postlbctl.8 man8/postlb-requeue.8; do
	assert_true "man page $m installed" test -f "/usr/share/man/$m.gz"
done
for u in postlb-policyd postlb-milter; do
	f=/lib/systemd/system/$u.service
	assert_true "$u.service installed" test -f "$f"
	level=$(systemd-analyze security --offline=true "$f" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	assert_true "$u.service: exposure ${level:-?} <= 2.0" awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
	assert_match "ExecStart=/usr/sbin/$u -d" "$(cat "$f")" "$u.service starts /usr/sbin/$u"
done
assert_true "the shipped config passes postlb-policyd -n" /usr/sbin/postlb-policyd -n -c /etc/postlb/postlb.conf
assert_true "the shipped config passes postlb-milter -n" /usr/sbin/postlb-milter -n -c /etc/postlb/postlb.conf

log "=== both daemons from the package against a private Postfix"
POLICYD=/usr/sbin/postlb-policyd
MILTER=/usr/sbin/postlb-milter
CTL=/usr/sbin/postlbctl
RUN=/var/spool/postfix/postlb
start_redis
pick_port SINK1
pick_port SMTP
start_sink s1 "$SINK1"
CONF=/etc/postlb/postlb.conf
# the conffile, edited as an administrator would (mode and owner stay)
cat >"$CONF" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy"]; user = "postlb"; group = "postfix"; };
milter = { listen = "unix:$RUN/milter"; user = "postlb"; group = "postfix"; };
quotas = ( { name = "pkg-sender"; subject = "sender"; unit = "messages"; limit = 3; window = "1h"; } );
members = { m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; }; };
pools = { p = { members = ["m1"]; algorithm = "round_robin"; }; };
routing = { default_pool = "p"; takeover = { nexthops = ["[127.0.0.1]:$SINK1"]; }; };
EOF
/usr/sbin/postlb-policyd -f -c "$CONF" 2>"$T/policyd-pkg.log" &
PKG_PIDS+=($!)
/usr/sbin/postlb-milter -f -c "$CONF" 2>"$T/milter-pkg.log" &
PKG_PIDS+=($!)
wait_for 10 test -S "$RUN/policy" || { cat "$T/policyd-pkg.log" >&2; die "no policy socket"; }
wait_for 10 test -S "$RUN/milter" || { cat "$T/milter-pkg.log" >&2; die "no milter socket"; }
assert_eq "socket postlb:postfix 660" "$(stat -c '%F %U:%G %a' "$RUN/policy")" "the policy socket"
assert_eq "socket postlb:postfix 660" "$(stat -c '%F %U:%G %a' "$RUN/milter")" "the milter socket"
# wire_postlb uses $RUN/policy.sock
ln -s policy "$RUN/policy.sock"
wire_postlb pf "$SMTP" "$CONF" "$SINK1"
# postfix-config names the sockets relative to the queue directory
# (unix:postlb/milter, as chrooted smtpd sees them): the private
# instance's queue directory gets the package's socket directory
ln -s "$RUN" "${POSTFIX_DIR[pf]}/queue/postlb"
for i in 1 2 3 4 5; do
	timeout 30 swaks -s 127.0.0.1 -p "$SMTP" -f sender@pkg.example -t user@dest.example \
		--header "Subject: package $i" >"$T/swaks-$i.out" 2>&1
done
wait_for 60 _log_count_ge "${SINK_DIR[s1]}/dump" '^X-Mail-Args: ' 3
wait_queue_empty pf 60
assert_eq 3 "$(sink_messages s1)" "three messages delivered through member m1"
assert_eq 0 "$(count_re '^X-Postlb-Route' "${SINK_DIR[s1]}/dump")" "the route header is stripped"
assert_ge "$(count_re 'postfix-m1/smtp.*status=sent' "$(postfix_maillog pf)")" 3 "delivered by the member transport"
assert_eq 2 "$(grep -l '4.7.1' "$T"/swaks-*.out | wc -l)" "two messages over the quota deferred (4.7.1)"
kill -HUP "${PKG_PIDS[0]}"
kill -USR1 "${PKG_PIDS[1]}"
wait_for 10 _log_count_ge "$T/policyd-pkg.log" "reloaded $CONF" 1
wait_for 10 _log_count_ge "$T/milter-pkg.log" "reloaded $CONF" 1
assert_eq 1 "$(count_re "reloaded $CONF" "$T/policyd-pkg.log")" "policyd reloads the root:postlb 0640 config as postlb"
assert_eq 1 "$(count_re "reloaded $CONF" "$T/milter-pkg.log")" "the milter reloads it as postlb"
rm -f "$RUN/policy.sock"
stop_postfix pf
for p in "${PKG_PIDS[@]}"; do stop_pid "$p" 10; done
PKG_PIDS=()

log "=== purge"
# the package's files (not its directories: /lib, /usr, ... stay)
files=$(dpkg-query -L postlb | while read -r f; do [ -d "$f" ] || echo "$f"; done)
timeout 300 dpkg --purge postlb >"$T/purge.out" 2>&1 || { cat "$T/purge.out" >&2; fail "dpkg --purge failed"; }
INSTALLED=0
assert_true "postlb is no longer known to dpkg" sh -c "! dpkg-query -W -f='\${Status}' postlb 2>/dev/null | grep -q installed"
left=""
for f in $files; do
	if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done
for d in /usr/share/doc/postlb; do
	[ -e "$d" ] && left="$left $d"
done
assert_eq "" "$left" "no file of the package is left"
for d in /etc/postlb /var/spool/postfix/postlb /var/lib/postlb; do
	assert_true "$d is gone" test ! -e "$d"
done
e2e_finish
