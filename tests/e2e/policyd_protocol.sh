# policyd_protocol.sh: postlb-policyd as a server: bad input, many
# connections, reload, config check, shutdown.
#
# Checks that malformed requests (over-long line, too many attributes,
# missing or wrong request=, garbage, NUL byte, oversized request, bad
# number, duplicate attribute, empty request) get the fail-open answer
# (DUNNO), are counted and logged, and never stop the daemon from serving
# other connections; that 1000 idle connections do not keep a request on
# another connection from being answered; that SIGHUP applies a changed
# limit without dropping an open connection, and a broken config on
# reload keeps the old one, and so does an empty or truncated file (no
# quotas), which -n and a start refuse too; that -n reports file:line and
# exits non-zero; that SIGTERM exits 0 and removes the socket.  Raw
# protocol bytes are sent by a small python3 client.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3

start_redis
SOCK=$RUN/policy.sock
CONF=$T/policyd.conf
write_conf() { # LIMIT
	policyd_conf "$CONF" "$SOCK" open 250ms <<EOF
quotas = ( { name = "lim"; subject = "sender"; unit = "messages"; limit = $1; window = "1h"; } );
EOF
}
write_conf 3
start_policyd main "$CONF"
wait_policyd_connected main || die "policyd did not connect to Redis"
LOGF=$(policyd_log main)

# raw.py SOCK: sends each malformed request on its own connection and
# prints "NAME|ANSWER|STATE" where ANSWER is the first reply (or NONE)
# and STATE tells whether the connection then still answers a valid
# request ("open:ACTION") or was closed ("closed").
cat >"$T/raw.py" <<'EOF'
import socket, sys

path = sys.argv[1]
VALID = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
         b"sender=\nrecipient=r@dest.example\n\n")

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

def answer(s):
    buf = b""
    try:
        while not buf.endswith(b"\n\n"):
            d = s.recv(4096)
            if not d:
                return None
            buf += d
    except socket.timeout:
        return "TIMEOUT"
    return buf.decode().strip().replace("action=", "", 1)

def case(name, data):
    s = conn()
    s.sendall(data)
    a = answer(s)
    state = "closed"
    try:
        s.sendall(VALID)
        b = answer(s)
        if b is not None:
            state = "open:" + b
    except OSError:
        pass
    s.close()
    print("%s|%s|%s" % (name, a if a is not None else "NONE", state), flush=True)

R = b"request=smtpd_access_policy\n"
EOM = b"protocol_state=END-OF-MESSAGE\n"
case("overlong", R + EOM + b"sender=" + b"a" * 3000 + b"\n\n")
case("toomany", R + EOM + b"sender=m@bad.example\n" +
     b"".join(b"x%d=1\n" % i for i in range(120)) + b"\n")
case("norequest", EOM + b"sender=m@bad.example\n\n")
case("wrongrequest", b"request=junk\n" + EOM + b"sender=m@bad.example\n\n")
case("garbage", b"hello world\nthis is not a policy request\n\n")
case("nul", R + EOM + b"sender=m@bad\x00.example\n\n")
case("badnumber", R + EOM + b"sender=m@bad.example\nsize=12x\n\n")
case("duplicate", R + EOM + b"sender=m@bad.example\nsender=n@bad.example\n\n")
case("emptyline", b"\n")
case("oversized", R + EOM + b"".join(b"y%d=%s\n" % (i, b"b" * 1900)
                                     for i in range(20)) + b"\n")

# a half-sent request on one connection must not block another one
a = conn()
a.sendall(R + EOM + b"sender=")
b = conn()
b.sendall(VALID)
print("concurrent|%s|" % answer(b), flush=True)
b.close()
a.close()
EOF

# conn.py SOCK: one persistent connection; each stdin line holds the
# attributes of one request ("a=b c=d"); prints each answer's action, or
# CLOSED once the server has closed the connection.
cat >"$T/conn.py" <<'EOF'
import socket, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
for line in sys.stdin:
    req = "request=smtpd_access_policy\n" + "".join(
        a + "\n" for a in line.split()) + "\n"
    buf = b""
    try:
        s.sendall(req.encode())
        while not buf.endswith(b"\n\n"):
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except OSError:
        buf = b""
    if not buf.endswith(b"\n\n"):
        print("CLOSED", flush=True)
        break
    print(buf.decode().strip().replace("action=", "", 1), flush=True)
EOF

log "=== malformed requests"
timeout 60 python3 "$T/raw.py" "$SOCK" >"$T/raw.out" 2>&1
cat "$T/raw.out"
raw() { grep "^$1|" "$T/raw.out" | head -n 1; }
assert_eq "overlong|DUNNO|closed" "$(raw overlong)" "over-long line: DUNNO, then the unframeable stream is closed"
assert_eq "oversized|DUNNO|closed" "$(raw oversized)" "request over request_max: DUNNO, then closed"
for c in toomany norequest wrongrequest garbage nul badnumber duplicate emptyline; do
	assert_eq "$c|DUNNO|open:DUNNO" "$(raw $c)" "$c: DUNNO, and the connection keeps serving"
done
assert_eq "concurrent|DUNNO|" "$(raw concurrent)" "a half-sent request does not block another connection"
st=$(policyd_stats main)
assert_eq 10 "$(stat_of "$st" bad)" "10 bad requests counted"
assert_ge "$(count_re 'policy: bad request \(line too long; 1 so far\); answering DUNNO and closing' "$LOGF")" 1 \
	"bad request logged (first one names the error)"
assert_true "policyd still running" _pid_alive "${POLICYD_PID[main]}"
out=$(pol_eom "$SOCK" 4 m@bad.example)
assert_eq "D*3 Q:lim*1" "$(actions_rle "$out")" \
	"a sender named only in malformed requests has its whole quota (nothing charged)"

log "=== 1000 idle connections"
timeout 60 "$POLCLIENT" -s "unix:$SOCK" -I -c 1000 -t 30 >"$T/idle.out" 2>&1 &
IDLE_PID=$!
E2E_EXTRA_PIDS+=("$IDLE_PID")
wait_for 20 grep -q 'opened 1000 connections' "$T/idle.out" ||
	fail "polclient could not open 1000 connections: $(cat "$T/idle.out")"
st=$(policyd_stats main)
assert_eq 1000 "$(stat_of "$st" connections)" "policyd holds 1000 open connections"
t=$(now_ms)
out=$(pol_eom "$SOCK" 4 idle@x.example)
t=$(($(now_ms) - t))
assert_eq "D*3 Q:lim*1" "$(actions_rle "$out")" "requests on another connection get correct verdicts"
assert_lt "$t" 1000 "and are answered quickly (ms, polclient run included)"
stop_pid "$IDLE_PID" 5
E2E_EXTRA_PIDS=()
_conns_zero() { [ "$(stat_of "$(policyd_stats main)" connections)" = 0 ]; }
assert_true "connections released when the client goes away" wait_for 10 _conns_zero

log "=== reload with an open connection"
coproc PC { exec python3 -u "$T/conn.py" "$SOCK"; }
PC_PID_SAVED=$PC_PID
E2E_EXTRA_PIDS+=("$PC_PID_SAVED")
PC_IN=${PC[1]}
PC_OUT=${PC[0]}
# ask N SENDER: sends N END-OF-MESSAGE requests on the persistent
# connection; prints the answers.
ask() {
	local i a
	for ((i = 0; i < $1; i++)); do
		echo "protocol_state=END-OF-MESSAGE sender=$2 recipient_count=1 size=10" >&"$PC_IN"
		if ! read -r -t 10 a <&"$PC_OUT"; then
			echo "NO-ANSWER"
			return
		fi
		echo "$a"
	done
}
out=$(ask 4 r1@x.example)
assert_eq "D*3 Q:lim*1" "$(actions_rle "$out")" "before reload: limit 3"
assert_match 'may send 3 messages' "$out" "deferral shows limit 3"
st=$(policyd_stats main)
conns_total=$(stat_of "$st" total)
write_conf 5
kill -HUP "${POLICYD_PID[main]}"
wait_log main 'reloaded ' 1 10 || fail "no 'reloaded' log line"
out=$(ask 6 r2@x.example)
assert_eq "D*5 Q:lim*1" "$(actions_rle "$out")" "after reload, same connection: limit 5"
assert_match 'may send 5 messages' "$out" "deferral shows limit 5"
st=$(policyd_stats main)
assert_eq "$conns_total" "$(stat_of "$st" total)" "no new connection was needed"

log "=== broken config on reload"
cp "$CONF" "$T/good.conf"
printf 'redis = { address = "unix:%s"; prefix = "postlb:"; };\npolicyd = { listen = ["unix:%s"]; user = "postfix";\n  budget = = "50ms"; fail_mode = "open"; };\n' \
	"$REDIS_SOCK" "$SOCK" >"$CONF"
kill -HUP "${POLICYD_PID[main]}"
wait_log main 'reload failed' 1 10 || fail "no 'reload failed' log line (syntax error)"
assert_match "reload failed, keeping the running config: $CONF:3: " \
	"$(grep 'reload failed' "$LOGF" | tail -n 1)" "syntax error logged with file:line"
out=$(ask 6 r3@x.example)
assert_eq "D*5 Q:lim*1" "$(actions_rle "$out")" "old config (limit 5) still in force"
write_conf -5
kill -HUP "${POLICYD_PID[main]}"
wait_log main 'reload failed' 2 10 || fail "no 'reload failed' log line (bad value)"
assert_match "reload failed, keeping the running config: $CONF:[0-9]+: 'limit' = -5 is out of range" \
	"$(grep 'reload failed' "$LOGF" | tail -n 1)" "validation error logged with file:line"
out=$(ask 6 r4@x.example)
assert_eq "D*5 Q:lim*1" "$(actions_rle "$out")" "old config still in force after a bad value"
# an empty or truncated file (no quotas) would answer DUNNO to everything
: >"$CONF"
kill -HUP "${POLICYD_PID[main]}"
wait_log main 'reload failed' 3 10 || fail "no 'reload failed' log line (empty file)"
assert_match "reload failed, keeping the running config: $CONF: no quotas" \
	"$(grep 'reload failed' "$LOGF" | tail -n 1)" "an empty file is refused on reload"
out=$(ask 6 r6@x.example)
assert_eq "D*5 Q:lim*1" "$(actions_rle "$out")" "old config still in force after an empty file"
head -n 8 "$T/good.conf" >"$CONF" # redis and policyd sections, quotas cut off
kill -HUP "${POLICYD_PID[main]}"
wait_log main 'reload failed' 4 10 || fail "no 'reload failed' log line (truncated file)"
assert_match "reload failed, keeping the running config: $CONF: no quotas" \
	"$(grep 'reload failed' "$LOGF" | tail -n 1)" "a file cut before its quotas is refused on reload"
out=$(ask 6 r7@x.example)
assert_eq "D*5 Q:lim*1" "$(actions_rle "$out")" "old config still in force after a truncated file"
assert_eq 1 "$(count_re 'reloaded ' "$LOGF")" "only the good reload was applied"

log "=== postlb-policyd -n"
"$POLICYD" -n -c "$T/good.conf" >"$T/n-good.out" 2>&1
assert_eq 0 $? "-n on a good config exits 0"
assert_match "OK \(1 quotas" "$(cat "$T/n-good.out")" "-n reports OK"
cat >"$T/bad1.conf" <<'EOF'
redis = { address = "unix:/nonexistent/redis.sock"; };
quotas = (
  { name = "a"; subject = "sender"; unit = "messages"; limit = ; window = "1m"; }
);
EOF
"$POLICYD" -n -c "$T/bad1.conf" >"$T/n-bad1.out" 2>&1
rc=$?
assert_true "-n on a syntax error exits non-zero (rc=$rc)" test "$rc" -ne 0
assert_match "$T/bad1.conf:3: " "$(cat "$T/n-bad1.out")" "-n prints file:line of the syntax error"
cat >"$T/bad2.conf" <<'EOF'
redis = { address = "unix:/nonexistent/redis.sock"; };
quotas = (
  { name = "a"; subject = "sender"; unit = "messages"; limit = 1; window = "1m"; },
  { name = "b"; subject = "sender"; unit = "messages"; limt = 1; window = "1m"; }
);
EOF
"$POLICYD" -n -c "$T/bad2.conf" >"$T/n-bad2.out" 2>&1
rc=$?
assert_true "-n on an unknown setting exits non-zero (rc=$rc)" test "$rc" -ne 0
assert_match "$T/bad2.conf:4: unknown setting 'limt'" "$(cat "$T/n-bad2.out")" \
	"-n prints file:line of the bad setting"
"$POLICYD" -n -c "$T/missing.conf" >"$T/n-missing.out" 2>&1
rc=$?
assert_true "-n on a missing file exits non-zero (rc=$rc)" test "$rc" -ne 0
: >"$T/empty.conf"
head -n 8 "$T/good.conf" >"$T/noquota.conf"
for f in empty noquota; do
	"$POLICYD" -n -c "$T/$f.conf" >"$T/n-$f.out" 2>&1
	rc=$?
	assert_true "-n on a config without quotas ($f) exits non-zero (rc=$rc)" test "$rc" -ne 0
	assert_match "$T/$f.conf: no quotas" "$(cat "$T/n-$f.out")" "-n says the $f config has no quotas"
	timeout 10 "$POLICYD" -f -c "$T/$f.conf" >"$T/start-$f.out" 2>&1
	rc=$?
	assert_true "policyd refuses to start on a config without quotas ($f, rc=$rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124
	assert_match "no quotas" "$(cat "$T/start-$f.out")" "the refusal to start says why ($f)"
done

log "=== SIGTERM"
pid=${POLICYD_PID[main]}
assert_true "socket exists before SIGTERM" test -S "$SOCK"
stop_policyd main
assert_eq 0 "$STOP_RC" "SIGTERM: exit status 0 (with a client still connected)"
assert_true "socket removed" test ! -e "$SOCK"
assert_eq 1 "$(count_re 'postlb-policyd: info: stopped' "$LOGF")" "'stopped' logged"
out=$(ask 1 r5@x.example)
assert_eq CLOSED "$out" "the open connection was closed by the shutdown"

e2e_finish
