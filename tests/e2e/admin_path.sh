# admin_path.sh: what an administrator meets first, from the built
# programs: --version, -n catching what a start would refuse, config read
# errors with their reason, reloads after the privilege drop with a
# root:GROUP 0640 config, going to the background with a pidfile, the
# milter's stop line and socket error, and sd_notify (READY, RELOADING,
# STOPPING) as systemd's Type=notify expects.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3
need_postfix_reach
start_redis
PORT_TAKEN=
pick_port PORT_TAKEN
stop_redis
start_redis "$PORT_TAKEN"

VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
[ -n "$VERSION" ] || die "no PACKAGE_VERSION in $top_builddir/Makefile"

# conf_policyd FILE [USER] [EXTRA]: a policyd config with one quota.
conf_policyd() {
	local user=${2-postfix}
	cat >"$1" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; ${user:+user = \"$user\";} };
quotas = ( { name = "q"; subject = "sender"; unit = "messages"; limit = 10; window = "1h"; } );
${3-}
EOF
}

# conf_milter FILE [NEXTHOP] [LISTEN] [MILTER_EXTRA]: a milter config.
conf_milter() {
	cat >"$1" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
milter = { listen = "${3-unix:$RUN/milter.sock}"; user = "postfix"; ${4-} };
members = { m1 = { nexthop = "${2-[127.0.0.1]:2525}"; }; };
pools = { p = { members = ["m1"]; algorithm = "round_robin"; }; };
routing = { default_pool = "p"; };
EOF
}

# check_n BIN CONF PHRASE WHAT: -n refuses CONF, saying PHRASE.
check_n() {
	local out rc
	out=$("$1" -n -c "$2" 2>&1)
	rc=$?
	assert_true "$4: -n exits non-zero (rc=$rc)" test "$rc" -ne 0
	assert_match "$3" "$out" "$4: -n says '$3'"
}

log "=== --version"
for p in postlb-policyd postlb-milter postlbctl; do
	out=$("$top_builddir/$p" --version 2>&1)
	assert_eq 0 $? "$p --version exits 0"
	assert_eq "$p $VERSION" "$out" "$p --version prints its name and version"
done

log "=== -n refuses what a start would"
conf_policyd "$T/good-p.conf"
conf_milter "$T/good-m.conf"
assert_true "policyd -n accepts a good config" "$POLICYD" -n -c "$T/good-p.conf"
assert_true "milter -n accepts a good config" "$MILTER" -n -c "$T/good-m.conf"
conf_policyd "$T/nouser.conf" postlb-no-such-user
check_n "$POLICYD" "$T/nouser.conf" "unknown user 'postlb-no-such-user'" "policyd.user that does not exist"
conf_milter "$T/nogroup.conf" "[127.0.0.1]:2525" "unix:$RUN/milter.sock" 'group = "postlb-no-such-group";'
check_n "$MILTER" "$T/nogroup.conf" "unknown group 'postlb-no-such-group'" "milter.group that does not exist"
conf_policyd "$T/root.conf" ""
check_n "$POLICYD" "$T/root.conf" "refusing to run as root: set policyd.user" "root without policyd.user"
conf_milter "$T/port.conf" "[127.0.0.1]:58x7"
check_n "$MILTER" "$T/port.conf" "bad nexthop '\[127.0.0.1\]:58x7'" "nexthop port 58x7"
conf_policyd "$T/adjacent.conf" postfix 'exempt = { sender = [ "a@example.com"
  "b@example.com" ]; };'
check_n "$POLICYD" "$T/adjacent.conf" "adjacent.conf:5: two strings side by side would be joined" "a missing comma in a list"
check_n "$POLICYD" "$T/missing.conf" "missing.conf: cannot read file: No such file or directory" "a missing file"
check_n "$MILTER" "$T" "cannot read file: Is a directory" "a directory"

log "=== the example config"
EX=$top_srcdir/conf/postlb.conf
assert_match "documentation" "$(head -n 8 "$EX")" "the example says at the top that its addresses are documentation ones"
assert_eq "" "$(grep -v '^[[:space:]]*#' "$EX" | grep -E 'start[[:space:]]*=[[:space:]]*"[0-9]{4}-')" \
	"the example sets no fixed warm-up start date"
# valid as shipped, but for its user (postlb may not exist here)
sed 's/user = "postlb"/user = "postfix"/' "$EX" >"$T/example.conf"
assert_true "the example passes postlb-policyd -n" "$POLICYD" -n -c "$T/example.conf"
assert_true "the example passes postlb-milter -n" "$MILTER" -n -c "$T/example.conf"

out=$("$CTL" -c "$T/example.conf" postfix-config all "$T/pf" "$T/pf" 2>&1)
assert_match "# ---- master.cf: append to $T/pf/master.cf" "$out" "postfix-config: where the master.cf part goes"
assert_match "# ---- main.cf: merge into $T/pf/main.cf" "$out" "postfix-config: where the main.cf part goes"
assert_match "after any DKIM signer" "$out" "postfix-config: where the milter goes relative to a DKIM signer"
assert_match "# ---- write to $T/pf/postlb_route.regexp" "$out" "postfix-config: where the route file goes"
assert_match "# ---- write to $T/pf/postlb_strip.regexp" "$out" "postfix-config: where the strip file goes"
assert_match "# ---- then: postfix reload" "$out" "postfix-config: the last step"

log "=== reload after the privilege drop: root:postfix 0640"
conf_policyd "$T/p.conf"
chown root:postfix "$T/p.conf"
chmod 0640 "$T/p.conf"
start_policyd a "$T/p.conf"
kill -HUP "${POLICYD_PID[a]}"
wait_log a "reloaded $T/p.conf" 1 10
assert_match "reloaded $T/p.conf" "$(cat "$(policyd_log a)")" "policyd reloads a root:postfix 0640 config as postfix"
chmod 0600 "$T/p.conf"
kill -HUP "${POLICYD_PID[a]}"
wait_log a "reload failed" 1 10
assert_match "reload failed, keeping the running config: $T/p.conf: cannot read file: Permission denied" \
	"$(cat "$(policyd_log a)")" "a 0600 config: the reload failure gives the reason"
stop_policyd a

log "=== postlbctl as a member of the config's group"
chmod 0640 "$T/p.conf"
out=$(runuser -u postfix -- "$CTL" -c "$T/p.conf" list 2>&1)
assert_eq 0 $? "postlbctl reads a root:postfix 0640 config as postfix"
chmod 0600 "$T/p.conf"
out=$(runuser -u postfix -- "$CTL" -c "$T/p.conf" list 2>&1)
assert_match "cannot read file: Permission denied" "$out" "postlbctl says why it cannot read a 0600 config"
chmod 0640 "$T/p.conf"

log "=== the milter: -f logs its stop"
conf_milter "$T/m.conf"
"$MILTER" -f -c "$T/m.conf" 2>"$T/milter-f.log" &
pid=$!
wait_for 10 test -S "$RUN/milter.sock" || fail "milter -f: no socket"
stop_pid "$pid" 10
assert_eq 0 "$STOP_RC" "milter -f exits 0 on SIGTERM"
assert_match "stopped" "$(cat "$T/milter-f.log")" "milter logs a line when it stops"

log "=== to the background with a pidfile"
for kind in milter policyd; do
	if [ "$kind" = milter ]; then bin=$MILTER conf=$T/m.conf sock=$RUN/milter.sock
	else bin=$POLICYD conf=$T/p.conf sock=$RUN/policy.sock; fi
	pidf=$RUN/$kind.pid
	rm -f "$sock"
	timeout 10 "$bin" -c "$conf" -p "$pidf"
	assert_eq 0 $? "$kind without -f returns at once (in the background)"
	wait_for 10 test -S "$sock" || fail "$kind in the background: no socket"
	bpid=$(cat "$pidf" 2>/dev/null)
	assert_true "$kind: the pidfile holds a running process ($bpid)" _pid_alive "${bpid:-0}"
	assert_eq "1" "$(awk '/^PPid:/ { print $2 }' "/proc/${bpid:-0}/status" 2>/dev/null || echo none)" \
		"$kind: detached (parent is init)"
	assert_eq "$(id -u postfix)" "$(stat -c %u "/proc/${bpid:-0}" 2>/dev/null)" "$kind: runs as its user"
	kill -TERM "$bpid"
	wait_for 10 _pid_gone "$bpid" || fail "$kind: did not stop on SIGTERM"
	wait_for 5 test ! -e "$pidf"
	assert_true "$kind: the pidfile is removed at a stop" test ! -e "$pidf"
done
ln -s "$T/elsewhere" "$RUN/link.pid"
out=$("$MILTER" -f -c "$T/m.conf" -p "$RUN/link.pid" 2>&1)
assert_match "cannot write pidfile $RUN/link.pid" "$out" "a symlink at the pidfile path is refused"
assert_true "the symlink's target is not created" test ! -e "$T/elsewhere"

log "=== the milter's socket error gives the reason"
conf_milter "$T/inet.conf" "[127.0.0.1]:2525" "inet:$PORT_TAKEN@127.0.0.1"
out=$(timeout 10 "$MILTER" -f -c "$T/inet.conf" 2>&1)
assert_match "cannot open milter socket inet:$PORT_TAKEN@127.0.0.1: [A-Za-z]" "$out" "a port in use: the reason is given"

log "=== sd_notify"
python3 - "$T/notify.sock" "$T/notify.out" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " ") + "\n")
EOF
E2E_EXTRA_PIDS+=($!)
wait_for 10 test -S "$T/notify.sock" || die "no notify socket"
notify_has() { grep -q -- "$1" "$T/notify.out" 2>/dev/null; }
notify_count() { grep -c -- "$1" "$T/notify.out" 2>/dev/null; }
for kind in milter policyd; do
	: >"$T/notify.out"
	if [ "$kind" = milter ]; then bin=$MILTER conf=$T/m.conf sock=$RUN/milter.sock sig=USR1
	else bin=$POLICYD conf=$T/p.conf sock=$RUN/policy.sock sig=HUP; fi
	rm -f "$sock"
	NOTIFY_SOCKET=$T/notify.sock "$bin" -d -c "$conf" &
	pid=$!
	wait_for 10 notify_has READY=1 || fail "$kind: no READY=1"
	assert_true "$kind: the socket exists when READY=1 is sent" test -S "$sock"
	assert_match "READY=1 MAINPID=$pid" "$(cat "$T/notify.out")" "$kind: READY=1 with its MAINPID"
	assert_true "$kind -d stays in the foreground" _pid_alive "$pid"
	kill "-$sig" "$pid"
	wait_for 10 _log_count_ge "$T/notify.out" READY=1 2 || fail "$kind: no READY=1 after the reload"
	assert_match "RELOADING=1" "$(cat "$T/notify.out")" "$kind: RELOADING=1 on SIG$sig"
	stop_pid "$pid" 10
	wait_for 5 notify_has STOPPING=1
	assert_true "$kind: STOPPING=1 at a stop" notify_has STOPPING=1
	assert_eq 0 "$STOP_RC" "$kind -d exits 0 on SIGTERM"
done

e2e_finish
