# redis_failure.sh: postlb-policyd when Redis fails.
#
# Two policyd processes share one private Redis, one with fail_mode open
# and one with fail_mode closed (budget 100 ms each), quota 5 messages per
# hour per sender.  Checks, with polclient:
#  - Redis killed (SIGKILL): every request is still answered, quickly
#    (p99 and max latency measured), DUNNO when open, the 4.3.0 deferral
#    when closed; "is down" is logged once per outage, not per request;
#  - Redis restarted on the same socket: both reconnect within a bounded
#    time and the quota is enforced exactly again;
#  - SCRIPT FLUSH: the NOSCRIPT path sends the script again and the quota
#    still counts exactly (no double charge, no fail-mode answer);
#  - Redis hung (SIGSTOP): answers come within the budget from the fail
#    mode; after SIGCONT decisions recover.
#  - a verdict that comes after the budget: under fail_mode closed what
#    it charged is given back (the client was told 4.3.0 and retries),
#    under open it stays (the client was told DUNNO).

. "$(dirname "$0")/lib.sh"
need_root_and_tools

start_redis
QUOTAS='quotas = ( { name = "fq"; subject = "sender"; unit = "messages"; limit = 5; window = "1h"; } );'
policyd_conf "$T/open.conf" "$RUN/open.sock" open 100ms <<<"$QUOTAS"
policyd_conf "$T/closed.conf" "$RUN/closed.sock" closed 100ms <<<"$QUOTAS"
start_policyd open "$T/open.conf"
start_policyd closed "$T/closed.conf"
wait_policyd_connected open || die "open policyd did not connect"
wait_policyd_connected closed || die "closed policyd did not connect"
OPEN_LOG=$(policyd_log open)
CLOSED_LOG=$(policyd_log closed)
FAIL_TEXT='DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily unavailable; try again later'

# load SOCK N SENDER: N END-OF-MESSAGE requests, one in flight; prints the
# polclient -L summary line (p99_us=, max_us=, dunno=, other=).
load() {
	pol "$1" -L -c 1 -n "$2" protocol_state=END-OF-MESSAGE \
		client_address=127.0.0.1 "sender=$3" recipient=r@dest.example \
		recipient_count=1 size=1000 queue_id=4Q1 instance=i1
}

# enforced NAME SUBJECT: checks that policyd NAME enforces the quota
# exactly on the fresh SUBJECT (5 allowed of 7).
enforced() {
	local out
	out=$(pol_eom "$RUN/$1.sock" 7 "$2")
	assert_eq "D*5 Q:fq*2" "$(actions_rle "$out")" "$1: quota enforced ($2)"
}

log "=== baseline"
enforced open base@f.example
enforced closed base2@f.example

log "=== Redis killed"
kill_redis
wait_log open 'is down' 1 5 || fail "open policyd did not notice the outage"
wait_log closed 'is down' 1 5 || fail "closed policyd did not notice the outage"
# the first sender is over quota: DUNNO proves the answer is the fail mode
sum=$(load "$RUN/open.sock" 200 base@f.example)
log "open, Redis down: $sum"
assert_eq 200 "$(stat_of "$sum" requests)" "open: all 200 requests answered"
assert_eq 200 "$(stat_of "$sum" dunno)" "open: every answer is DUNNO (fail open)"
assert_lt "$(stat_of "$sum" p99_us)" 200000 "open: p99 latency under 200 ms"
assert_lt "$(stat_of "$sum" max_us)" 1000000 "open: max latency under 1 s"
maxms=0
out=
for i in $(seq 1 10); do
	t=$(now_ms)
	out+=$(pol_eom "$RUN/open.sock" 1 single@f.example)$'\n'
	t=$(($(now_ms) - t))
	[ "$t" -gt "$maxms" ] && maxms=$t
done
assert_eq "D*10" "$(actions_rle "${out%$'\n'}")" "open: 10 single requests answered DUNNO"
assert_lt "$maxms" 1000 "open: slowest single polclient run (connect included) in ms"
sum=$(load "$RUN/closed.sock" 200 fresh@f.example)
log "closed, Redis down: $sum"
assert_eq 200 "$(stat_of "$sum" requests)" "closed: all 200 requests answered"
assert_eq 200 "$(stat_of "$sum" other)" "closed: no answer is DUNNO"
assert_lt "$(stat_of "$sum" p99_us)" 200000 "closed: p99 latency under 200 ms"
assert_lt "$(stat_of "$sum" max_us)" 1000000 "closed: max latency under 1 s"
out=$(pol_eom "$RUN/closed.sock" 3 fresh@f.example)
assert_eq "$FAIL_TEXT"$'\n'"$FAIL_TEXT"$'\n'"$FAIL_TEXT" "$out" "closed: the 4.3.0 deferral text"
st=$(policyd_stats open)
assert_eq 210 "$(stat_of "$st" failmode)" "open: every request in the outage answered from the fail mode"
st=$(policyd_stats closed)
assert_eq 203 "$(stat_of "$st" failmode)" "closed: every request in the outage answered from the fail mode"
assert_eq 1 "$(count_re 'is down' "$OPEN_LOG")" "open: 'is down' logged once for the outage"
assert_eq 1 "$(count_re 'is down' "$CLOSED_LOG")" "closed: 'is down' logged once for the outage"
assert_le "$(count_re 'redis: ' "$OPEN_LOG")" 4 "open: a handful of redis log lines, not one per request"

log "=== Redis restarted on the same socket"
sleep 1 # stay down long enough for a few reconnection attempts
t0=$(now_ms)
restart_redis
wait_policyd_connected open 2 15 || fail "open policyd did not reconnect within 15 s"
wait_policyd_connected closed 2 15 || fail "closed policyd did not reconnect within 15 s"
rec=$(($(now_ms) - t0))
log "both reconnected $rec ms after the restart"
assert_lt "$rec" 8000 "reconnection time after the restart (ms)"
enforced open rec@f.example
enforced closed rec2@f.example

log "=== SCRIPT FLUSH"
fm_open=$(stat_of "$(policyd_stats open)" failmode)
out=$(pol_eom "$RUN/open.sock" 2 sf@f.example)
assert_eq "D*2" "$(actions_rle "$out")" "2 allowed before the flush"
assert_eq OK "$(rcli SCRIPT FLUSH)" "SCRIPT FLUSH"
out=$(pol_eom "$RUN/open.sock" 5 sf@f.example)
assert_eq "D*3 Q:fq*2" "$(actions_rle "$out")" "after the flush: exactly the 3 remaining allowed"
assert_eq 5 "$(redis_quota_used postlb: fq sf@f.example 5 3600000)" \
	"Redis state holds exactly 5 (the re-sent script charged once)"
assert_eq OK "$(rcli SCRIPT FLUSH)" "second SCRIPT FLUSH"
out=$(pol_eom "$RUN/closed.sock" 6 sf2@f.example)
assert_eq "D*5 Q:fq*1" "$(actions_rle "$out")" "closed: exact after a flush too"
assert_eq 5 "$(redis_quota_used postlb: fq sf2@f.example 5 3600000)" "sf2 state holds exactly 5"
# Redis was restarted above, so its counters cover only this section:
# each flush made exactly one EVALSHA fail with NOSCRIPT, answered by one
# EVAL (open after the first flush, closed after the second).
assert_match '^errorstat_NOSCRIPT:count=2'$'\r''?$' "$(rcli INFO errorstats | grep '^errorstat_NOSCRIPT:')" \
	"two NOSCRIPT errors in Redis (the path was exercised)"
assert_match '^cmdstat_eval:calls=2,' "$(rcli INFO commandstats | grep '^cmdstat_eval:')" \
	"the script was re-sent with EVAL exactly twice"
assert_eq "$fm_open" "$(stat_of "$(policyd_stats open)" failmode)" \
	"no fail-mode answer because of the flush"
assert_eq 0 "$(count_re 'unexpected reply' "$OPEN_LOG")" "no unexpected reply logged (open)"
assert_eq 0 "$(count_re 'unexpected reply' "$CLOSED_LOG")" "no unexpected reply logged (closed)"
assert_eq 1 "$(count_re 'is down' "$OPEN_LOG")" "the flush is not an outage"

log "=== Redis hung (SIGSTOP)"
kill -STOP "$REDIS_PID"
sum=$(load "$RUN/open.sock" 40 hang@f.example)
log "open, Redis stopped: $sum"
assert_eq 40 "$(stat_of "$sum" dunno)" "open: 40 answers DUNNO while Redis hangs"
assert_lt "$(stat_of "$sum" p99_us)" 300000 "open: p99 within the budget (100 ms) plus slack"
assert_lt "$(stat_of "$sum" max_us)" 1000000 "open: max latency under 1 s"
sum=$(load "$RUN/closed.sock" 40 hang@f.example)
log "closed, Redis stopped: $sum"
assert_eq 40 "$(stat_of "$sum" other)" "closed: 40 answers not DUNNO while Redis hangs"
assert_lt "$(stat_of "$sum" p99_us)" 300000 "closed: p99 within the budget (100 ms) plus slack"
assert_lt "$(stat_of "$sum" max_us)" 1000000 "closed: max latency under 1 s"
out=$(pol_eom "$RUN/closed.sock" 1 hang@f.example)
assert_eq "$FAIL_TEXT" "$out" "closed: 4.3.0 deferral while Redis hangs"
wait_log open 'is down' 2 5 || fail "open policyd did not notice the hang"
wait_log closed 'is down' 2 5 || fail "closed policyd did not notice the hang"
st=$(policyd_stats open)
assert_ge "$(stat_of "$st" timeouts)" 1 "open: budget timeouts counted"
assert_ge "$(count_re 'no quota verdict within 100 ms' "$OPEN_LOG")" 1 "open: budget timeouts logged"
assert_le "$(count_re 'no quota verdict within 100 ms' "$OPEN_LOG")" 1 "open: budget timeouts not logged per request"
n_conn=$(count_re 'redis: connected to' "$OPEN_LOG")
n_conn_c=$(count_re 'redis: connected to' "$CLOSED_LOG")
t0=$(now_ms)
kill -CONT "$REDIS_PID"
wait_policyd_connected open $((n_conn + 1)) 15 || fail "open policyd did not recover within 15 s"
wait_policyd_connected closed $((n_conn_c + 1)) 15 || fail "closed policyd did not recover within 15 s"
rec=$(($(now_ms) - t0))
log "both recovered $rec ms after SIGCONT"
assert_lt "$rec" 8000 "recovery time after SIGCONT (ms)"
enforced open after@f.example
enforced closed after2@f.example
assert_eq 2 "$(count_re 'is down' "$OPEN_LOG")" "open: 'is down' logged once per outage (2 outages)"
assert_eq 2 "$(count_re 'is down' "$CLOSED_LOG")" "closed: 'is down' logged once per outage (2 outages)"
assert_true "open policyd still running" _pid_alive "${POLICYD_PID[open]}"
assert_true "closed policyd still running" _pid_alive "${POLICYD_PID[closed]}"

log "=== a verdict after the budget (Redis paused for 400 ms)"
# Both requests reach Redis while it is stopped; each is answered from
# its fail mode at 100 ms; Redis runs the script when continued (before
# the 1 s stall limit) and the verdicts arrive late.  Closed: the client
# was told 4.3.0 and will retry, so the late charge is given back.  Open:
# the client was told DUNNO and sent the message, so the charge stays.
n_down=$(count_re 'is down' "$OPEN_LOG")
kill -STOP "$REDIS_PID"
pol_eom "$RUN/closed.sock" 1 late@f.example >"$T/late-closed.out" &
lc=$!
pol_eom "$RUN/open.sock" 1 lateo@f.example >"$T/late-open.out" &
lo=$!
wait "$lc" "$lo"
sleep 0.2
kill -CONT "$REDIS_PID"
assert_eq "$FAIL_TEXT" "$(cat "$T/late-closed.out")" "closed: the 4.3.0 answer within the budget"
assert_eq DUNNO "$(cat "$T/late-open.out")" "open: DUNNO within the budget"
_late_given() { [ "$(stat_of "$(policyd_stats closed)" late_back)" -ge 1 ]; }
assert_true "closed: the late verdict was given back" wait_for 5 _late_given
_no_pending() { [ -z "$(rcli GET postlb:q:fq:late@f.example)" ]; }
wait_for 3 _no_pending || true
assert_eq 0 "$(redis_quota_used postlb: fq late@f.example 5 3600000)" \
	"closed: nothing stays charged for the request told 4.3.0"
enforced closed late@f.example
assert_eq 1 "$(redis_quota_used postlb: fq lateo@f.example 5 3600000)" \
	"open: the late charge stays (the client was told DUNNO)"
assert_eq "$n_down" "$(count_re 'is down' "$OPEN_LOG")" "the pause stayed under the stall limit"

e2e_finish
