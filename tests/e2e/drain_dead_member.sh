# drain_dead_member.sh: mail already queued for a member that dies is
# re-routed to the healthy members, exactly once, within a bound.
#
# A private Postfix routes through three relay members (smtp-sinks).
# r1's relay answers every RCPT with 4xx, so 1,000 messages pinned to it
# (sender domain pin.example) wait in the deferred queue, while the health
# checks (banner, EHLO) see it up.  Under a steady load through all
# three, r1's relay dies: the check marks r1 down, the drain of
# postlb-policyd lists r1's deferred mail through postlb-requeue and
# requeues it at drain.rate; cleanup-rq asks the socketmap, which routes
# each message again in r1's pool.  Every accepted message is delivered
# exactly once (counted by Message-ID at the sinks) through r2 and r3,
# none through the default transport, all within 60 s of the death.
# The drain is logged with its count and shown by postlbctl health.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source

drain_start_sinks

DRAIN_RATE=200 drain_conf "$T/postlb.conf" "" \
	'health = { check = { interval = "500ms"; fastinter = "250ms"; timeout = "1s"; rise = 2; fall = 2; }; };'
drain_start_host main pf "$SMTP" ""
D=${POSTFIX_DIR[pf]}

# --- 1,000 messages deferred for r1, which the checks see up ---
timeout 120 smtp-source -m 1000 -s 10 -l 300 -f a@pin.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 || fail "smtp-source (pinned) failed"
wait_for 60 _queue_count_ge pf deferred 1000 || fail "1000 messages did not reach the deferred queue"
assert_eq 1000 "$(queue_count pf deferred)" "1,000 messages deferred for r1"
assert_eq "" "$(rcli HGET postlb:m:r1 hc)" "r1 is up for the checks"
assert_eq 0 "$(drained main r1)" "nothing drained while r1 is healthy"
n=$(timeout 60 "$CTL" -c "$T/postlb.conf" member drain r1 --dry-run | tail -n 1)
assert_match "^1000 deferred message\(s\) for r1" "$n" "--dry-run lists the 1,000"

# --- steady load through all three, then r1's relay dies ---
timeout 200 smtp-source -m 600 -s 2 -l 300 -f a@load.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 &
src=$!
sleep 2
t_kill=$(now_ms)
stop_sink r1
wait_for 10 _hc_is r1 down || fail "r1 was not marked down"
_health_draining() {
	timeout 10 "$CTL" -c "$T/postlb.conf" health >"$T/health.out" 2>&1
	grep -q 'draining on .*: moved=[0-9]* of=[0-9]* .*why=hc down' "$T/health.out"
}
wait_for 10 _health_draining || fail "postlbctl health did not show the drain in progress"
grep 'draining on' "$T/health.out" | head -n 1
wait_log main 'drain: r1 \(hc down\): moved' 1 30 || fail "no drain logged"
wait "$src" || fail "smtp-source (load) failed"
wait_for 90 _queue_empty "$D" || fail "the queue did not empty"
t_done=$(now_ms)
log "queue empty $((t_done - t_kill)) ms after r1's death"
assert_le $((t_done - t_kill)) 60000 "every message left within 60 s of r1's death"

# --- counts ---
assert_exactly_once 1600 "all mail" r2 r3
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport"
assert_eq 0 "$(sink_ids r1 | wc -l)" "nothing was delivered through r1"
wait_for 30 _drained_ge main r1 1000 || true
moved=$(drained main r1)
log "drained from r1: $moved"
assert_ge "$moved" 1000 "the drain moved at least the 1,000 deferred messages"
assert_eq 0 "$(grep -c 'status=bounced' "$D/maillog")" "nothing bounced"

e2e_finish
