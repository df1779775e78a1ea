# drain_manual.sh: `postlbctl member drain NAME` on a healthy member moves
# its deferred mail to the other members; its active deliveries finish
# where they are.
#
# r1's relay first answers every RCPT with 4xx: 200 messages pinned to r1
# wait in the deferred queue.  Then the relay is replaced by a slow one
# (DATA answered after 4 s), and 10 more pinned messages are in active
# delivery to it when r1 is set to drain.  The drain moves the 200
# deferred messages (exactly once, through r2 and r3, none through the
# default transport) and leaves the 10 active ones to r1, where they are
# delivered.  No health checks: only the manual state drains.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source

drain_start_sinks
drain_conf "$T/postlb.conf" ""
drain_start_host main pf "$SMTP" ""
D=${POSTFIX_DIR[pf]}

pin_deferred 200 u@dest.example
wait_for 60 _queue_count_ge pf deferred 200 || fail "200 messages did not reach the deferred queue"

# r1's relay becomes a slow one: deliveries to it stay active for 4 s
stop_sink r1
mv "$T/sink-r1" "$T/sink-r1-4xx"
mkdir -p "$T/sink-r1" && chown postfix "$T/sink-r1"
smtp-sink -u postfix -w 4 -D "$T/sink-r1/dump" "127.0.0.1:$R1" 256 >"$T/sink-r1/stdout" 2>&1 &
SINK_PID[r1]=$!
wait_for 10 _port_listening "$R1" || die "the slow r1 sink did not start"
timeout 60 smtp-source -m 10 -s 10 -l 300 -f b@pin.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 || fail "smtp-source (active) failed"
wait_for 10 _queue_count_ge pf active 10 || fail "10 deliveries to r1 are not active"
assert_eq 200 "$(queue_count pf deferred)" "200 deferred, untouched while r1 is ready"

t0=$(now_ms)
timeout 10 "$CTL" -c "$T/postlb.conf" member drain r1 >/dev/null || fail "postlbctl member drain r1"
wait_log main 'drain: r1 \(state drain\): moved' 1 30 || fail "no drain logged"
wait_for 60 _queue_empty "$D" || fail "the queue did not empty"
log "queue empty $(( $(now_ms) - t0 )) ms after the drain was asked"

assert_exactly_once 200 "the deferred mail" r2 r3
assert_exactly_once 10 "the active mail" r1
assert_eq 0 "$(sink_ids r2 r3 | grep -c -F -f <(sink_ids r1))" "no active message was also re-routed"
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport"
wait_for 30 _drained_ge main r1 200 || true
assert_eq 200 "$(drained main r1)" "the drain moved exactly the 200 deferred messages"

e2e_finish
