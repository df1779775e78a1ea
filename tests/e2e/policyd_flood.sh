# policyd_flood.sh: one connection flooding postlb-policyd, and the
# client networks its TCP listeners serve.
#
# A flood: Redis is hung (SIGSTOP) and one client writes requests on one
# connection as fast as the socket takes them for 3 s, reading answers
# meanwhile.  postlb-policyd must stop reading that connection while a
# request waits for Redis, so its peak RSS stays bounded (measured: a
# build that kept reading grew by hundreds of MB in a second), every
# answer on the flooded connection is the fail mode (fail_mode closed:
# the 4.3.0 deferral), and a request on another connection is still
# answered from the fail mode within the budget.  Under AddressSanitizer
# freed memory sits in its quarantine (256 MB by default); the test caps
# the quarantine so that RSS measures the daemon, not the sanitizer.
#
# The allow-list: TCP listeners serve only policyd.allow (default
# loopback).  A client from 127.0.0.1 is served by default and refused
# (closed at once, logged) when allow names only 127.0.0.2/32, while a
# client bound to 127.0.0.2 is served; unix sockets are not filtered.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3

start_redis
SOCK=$RUN/flood.sock
policyd_conf "$T/flood.conf" "$SOCK" closed 50ms <<'EOF2'
quotas = ( { name = "fl"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; } );
EOF2
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
start_policyd flood "$T/flood.conf"
wait_policyd_connected flood || die "policyd did not connect to Redis"
PID=${POLICYD_PID[flood]}
FAIL_TEXT='DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily unavailable; try again later'

# flood.py SOCK SECONDS: floods one connection with END-OF-MESSAGE
# requests for SECONDS, reading answers as they come; prints
# "sent=BYTES answers=N fail=N other=N".
cat >"$T/flood.py" <<'EOF2'
import select, socket, sys, time
REQ = (b"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
       b"sender=f@flood.example\nrecipient=r@dest.example\n"
       b"recipient_count=1\nsize=100\nqueue_id=FLOOD\n\n")
FAIL = (b"action=DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily "
        b"unavailable; try again later")
chunk = REQ * ((1 << 20) // len(REQ))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
end = time.time() + float(sys.argv[2])
sent = answers = fail = other = 0
buf = b""
while time.time() < end:
    r, w, _ = select.select([s], [s], [], 0.05)
    if w:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            pass
    if r:
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
        parts = buf.split(b"\n\n")
        buf = parts.pop()
        for a in parts:
            answers += 1
            if a == FAIL:
                fail += 1
            else:
                other += 1
print("sent=%d answers=%d fail=%d other=%d" % (sent, answers, fail, other),
      flush=True)
EOF2

# kib NAME: a field of policyd's /proc status in KiB (VmRSS, VmHWM).
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }

log "=== one connection flooded while Redis hangs"
assert_eq "D*1" "$(actions_rle "$(pol_eom "$SOCK" 1 f@flood.example)")" "a decision before the hang"
rss0=$(kib VmRSS)
kill -STOP "$REDIS_PID"
timeout 30 python3 "$T/flood.py" "$SOCK" 3 >"$T/flood.out" 2>&1 &
FLOOD_PID=$!
sleep 0.5
t=$(now_ms)
out=$(pol_eom "$SOCK" 1 other@flood.example)
t=$(($(now_ms) - t))
wait "$FLOOD_PID"
kill -CONT "$REDIS_PID"
sum=$(cat "$T/flood.out")
hwm=$(kib VmHWM)
log "flood: $sum; RSS before ${rss0} KiB, peak ${hwm} KiB"
assert_eq "$FAIL_TEXT" "$out" "another connection gets the fail mode during the flood"
assert_lt "$t" 500 "and within the budget (50 ms) plus a client start (ms)"
assert_ge "$(stat_of "$sum" answers)" 10 "the flooded connection keeps getting answers"
assert_eq 0 "$(stat_of "$sum" other)" "every answer on it is the fail mode"
assert_lt $((hwm - rss0)) 16384 "peak RSS grew by less than 16 MB (KiB)"
assert_lt "$hwm" 65536 "peak RSS under 64 MB (KiB)"
assert_true "policyd still running" _pid_alive "$PID"
wait_policyd_connected flood 2 10 || fail "policyd did not reconnect after SIGCONT"
assert_eq "D*1" "$(actions_rle "$(pol_eom "$SOCK" 1 g@flood.example)")" "decisions again after the flood"
stop_policyd flood

# tcp.py PORT SOURCE: connects to 127.0.0.1:PORT from address SOURCE,
# sends one request; prints its action, or CLOSED.
cat >"$T/tcp.py" <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
s.bind((sys.argv[2], 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
buf = b""
try:
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
              b"sender=t@tcp.example\nrecipient_count=1\nsize=10\n\n")
    while not buf.endswith(b"\n\n"):
        d = s.recv(4096)
        if not d:
            break
        buf += d
except OSError:
    pass
print(buf.decode().strip().replace("action=", "", 1) if buf.endswith(b"\n\n")
      else "CLOSED")
EOF2
tcp() { timeout 10 python3 "$T/tcp.py" "$@" 2>&1; }

log "=== policyd.allow on TCP listeners"
pick_port P1
sed "s|listen = \[\"unix:$SOCK\"\];|listen = [\"unix:$SOCK\", \"tcp:127.0.0.1:$P1\"];|" \
	"$T/flood.conf" >"$T/tcp1.conf"
start_policyd tcp1 "$T/tcp1.conf"
wait_policyd_connected tcp1 || die "policyd tcp1 did not connect to Redis"
assert_eq DUNNO "$(tcp "$P1" 127.0.0.1)" "default allow-list: a client from 127.0.0.1 is served"
assert_eq DUNNO "$(tcp "$P1" 127.0.0.2)" "default allow-list: 127.0.0.0/8 is loopback"
stop_policyd tcp1

pick_port P2
sed -e "s|listen = \[\"unix:$SOCK\"\];|listen = [\"unix:$SOCK\", \"tcp:127.0.0.1:$P2\"]; allow = [\"127.0.0.2/32\"];|" \
	"$T/flood.conf" >"$T/tcp2.conf"
start_policyd tcp2 "$T/tcp2.conf"
wait_policyd_connected tcp2 || die "policyd tcp2 did not connect to Redis"
assert_eq CLOSED "$(tcp "$P2" 127.0.0.1)" "allow = 127.0.0.2/32: a client from 127.0.0.1 is closed"
assert_eq CLOSED "$(tcp "$P2" 127.0.0.3)" "and one from 127.0.0.3"
assert_eq DUNNO "$(tcp "$P2" 127.0.0.2)" "a client from 127.0.0.2 is served"
assert_eq "D*1" "$(actions_rle "$(pol_eom "$SOCK" 1 u@tcp.example)")" "the unix socket is not filtered"
LOG2=$(policyd_log tcp2)
assert_eq 1 "$(count_re 'connection from 127\.0\.0\.1 refused: not in policyd\.allow \(1 so far\)' "$LOG2")" \
	"the refusal is logged with the address"
assert_eq 1 "$(count_re 'refused: not in policyd\.allow' "$LOG2")" "and rate limited (the second is not logged)"
assert_eq 2 "$(stat_of "$(policyd_stats tcp2)" denied_clients)" "both refusals counted"
stop_policyd tcp2

e2e_finish
