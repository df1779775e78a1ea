# drain_restart.sh: the daemon serving the requeue socketmap dies in the
# middle of a drain and comes back: every message is still delivered
# exactly once, and none goes to the default transport meanwhile.
#
# 400 messages pinned to r1 wait deferred (its relay answers RCPT with
# 4xx); r1 is set to drain at drain.rate 50/s.  When about 100 have moved,
# postlb-policyd (socketmap and drain) is killed with SIGKILL.  20 more of
# r1's messages are then requeued through postlb-requeue, as a drain batch
# that ran just before the socketmap died would be: with no socketmap they
# wait in maildrop (pickup retries them), none reaches a transport.  A new
# postlb-policyd finishes the drain; the queue empties, every message
# delivered once through r2 and r3.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source python3

drain_start_sinks
DRAIN_RATE=50 drain_conf "$T/postlb.conf" ""
drain_start_host main pf "$SMTP" ""
D=${POSTFIX_DIR[pf]}

timeout 120 smtp-source -m 400 -s 10 -l 300 -f a@pin.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 || fail "smtp-source failed"
wait_for 60 _queue_count_ge pf deferred 400 || fail "400 messages did not reach the deferred queue"

timeout 10 "$CTL" -c "$T/postlb.conf" member drain r1 >/dev/null || fail "postlbctl member drain r1"
_moved_100() { [ "$(sink_ids r2 r3 | wc -l)" -ge 100 ]; }
wait_for 30 _moved_100 || fail "the drain did not start"
kill -KILL "${POLICYD_PID[main]}"
unset "POLICYD_PID[main]"
wait_for 10 _pid_gone "$!" 2>/dev/null
log "postlb-policyd killed after $(sink_ids r2 r3 | wc -l) deliveries"

# a batch requeued just before the socketmap died
reply=$(timeout 60 python3 - "$T/rq/requeue" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.write("list r1\n"); f.flush()
ids = []
for line in f:
    if not line.startswith("m "):
        break
    ids.append(line.split()[1])
f.write("requeue r1 " + " ".join(ids[:20]) + "\n"); f.flush()
print(f.readline().strip())
EOF
)
assert_eq "ok 20 0" "$reply" "postlb-requeue requeued 20 messages"
sleep 4
before=$(sink_ids r2 r3 | wc -l)
sleep 2
assert_eq "$before" "$(sink_ids r2 r3 | wc -l)" "nothing is delivered while the socketmap is down"
wait_for 10 _queue_count_ge pf maildrop 20 || fail "the requeued messages do not wait in maildrop"
log "maildrop holds $(queue_count pf maildrop) message(s) while the socketmap is down"
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport meanwhile"

t0=$(now_ms)
start_policyd main "$T/postlb.conf"
wait_for 90 _queue_empty "$D" || fail "the queue did not empty after the restart"
log "queue empty $(( $(now_ms) - t0 )) ms after the restart"
assert_exactly_once 400 "all mail" r2 r3
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport"
assert_eq 0 "$(sink_ids r1 | wc -l)" "nothing was delivered through r1"

e2e_finish
