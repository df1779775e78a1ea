# policyd_outage.sh: how soon postlb-policyd decides again after Redis
# comes back, and how often it tries meanwhile.
#
# One policyd (fail_mode closed, budget 100 ms, so a fail-mode answer is
# the 4.3.0 deferral and a quota decision is DUNNO or a 4.7.1 deferral)
# on a private Redis.  Two outages, each longer than the old backoff
# ceiling: Redis killed for 7 s, then hung (SIGSTOP) for 6 s with
# requests in flight.  Checks: after each, quota decisions (not the fail
# mode) resume within 1 s of Redis being started or continued; during the
# 7 s outage policyd tries at least once a second and at most a few times
# a second (one attempt per interval, no storm).

. "$(dirname "$0")/lib.sh"
need_root_and_tools

start_redis
SOCK=$RUN/out.sock
policyd_conf "$T/out.conf" "$SOCK" closed 100ms <<'EOF2'
quotas = ( { name = "oq"; subject = "sender"; unit = "messages"; limit = 100000; window = "1h"; } );
EOF2
start_policyd out "$T/out.conf"
wait_policyd_connected out || die "policyd did not connect to Redis"

# probe.py SOCK SECONDS: one connection, a request every 10 ms until the
# answer is a quota decision (DUNNO or 4.7.1), not the fail mode; prints
# the wall clock (ms) of that answer, or 0 after SECONDS.  Started before
# Redis comes back, so no process start-up is counted in the delay.
cat >"$T/probe.py" <<'EOF2'
import socket, sys, time
REQ = (b"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
       b"sender=s@out.example\nrecipient_count=1\nsize=10\n\n")
end = time.time() + float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
print("ready", flush=True)
while time.time() < end:
    s.sendall(REQ)
    buf = b""
    while not buf.endswith(b"\n\n"):
        d = s.recv(4096)
        if not d:
            sys.exit(1)
        buf += d
    a = buf.decode()
    if a.startswith("action=DUNNO") or a.startswith("action=DEFER_IF_PERMIT 4.7.1"):
        print(int(time.time() * 1000), flush=True)
        sys.exit(0)
    time.sleep(0.01)
print(0, flush=True)
EOF2

# start_probe: starts probe.py in the background, output in $T/probe.out.
start_probe() {
	: >"$T/probe.out"
	timeout 30 python3 "$T/probe.py" "$SOCK" 20 >"$T/probe.out" 2>&1 &
	PROBE_PID=$!
	wait_for 5 grep -q ready "$T/probe.out" || die "probe did not start"
}

# wait_probe T0: waits for the probe (not in a subshell: it must be this
# shell's child); sets RESUME_MS to the ms from T0 to its decision.
wait_probe() {
	local t
	wait "$PROBE_PID"
	t=$(tail -n 1 "$T/probe.out")
	if [[ $t =~ ^[0-9]+$ ]] && [ "$t" -gt 0 ]; then
		RESUME_MS=$((t - $1))
	else
		cat "$T/probe.out" >&2
		RESUME_MS=99999
	fi
}

# decided: true when one request gets a quota decision, not the fail mode.
decided() {
	local a
	a=$(pol_eom "$SOCK" 1 s@out.example)
	[ "$a" = DUNNO ] || [[ $a == "DEFER_IF_PERMIT 4.7.1 "* ]]
}

assert_true "a decision before the outage" decided
connects() { stat_of "$(policyd_stats out)" redis_connects; }

log "=== Redis killed for 7 s"
c0=$(connects)
kill_redis
wait_log out 'is down' 1 5 || fail "policyd did not notice the outage"
assert_eq "DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily unavailable; try again later" \
	"$(pol_eom "$SOCK" 1 s@out.example)" "the fail mode while Redis is down"
sleep 7
c1=$(connects)
log "connection attempts during the outage: $((c1 - c0))"
assert_ge $((c1 - c0)) 7 "at least one connection attempt per second over 7 s"
assert_le $((c1 - c0)) 30 "no reconnect storm: at most 30 attempts in 7 s"
start_probe
t_launch=$(now_ms)
restart_redis # returns once Redis answers PING
t0=$(now_ms)
wait_probe "$t0"
log "Redis answered $((t0 - t_launch)) ms after its launch; decisions resumed $RESUME_MS ms later"
assert_lt "$RESUME_MS" 1000 "decisions resume within 1 s of Redis answering after 7 s down (ms)"

log "=== Redis hung (SIGSTOP) for 6 s"
kill -STOP "$REDIS_PID"
t_end=$(($(now_ms) + 6000))
while [ "$(now_ms)" -lt "$t_end" ]; do
	pol_eom "$SOCK" 1 s@out.example >/dev/null
	sleep 0.2
done
wait_log out 'is down' 2 1 || fail "policyd did not notice the hang"
start_probe
t0=$(now_ms)
kill -CONT "$REDIS_PID"
wait_probe "$t0"
log "decisions resumed $RESUME_MS ms after SIGCONT"
assert_lt "$RESUME_MS" 1000 "decisions resume within 1 s of SIGCONT after 6 s (ms)"
assert_true "policyd still running" _pid_alive "${POLICYD_PID[out]}"

e2e_finish
