# drain_provider.sh: a suspension of one member for one mailbox provider
# moves only that provider's queued mail, and the moved mail does not go
# back to the member.
#
# r1's relay answers every RCPT with 4xx: 100 messages for gmail.com and
# 100 for dest.example, pinned to r1, wait deferred.  gmail.com belongs to
# provider "google" (the learned map, PREFIX prov), and r1 is suspended
# for google (field p:google): the drain records each moved message's
# domains by Message-ID, so the socketmap excludes r1 for them.  The 100
# gmail.com messages are delivered exactly once through r2 and r3; the
# 100 dest.example messages stay deferred for r1 (postlbctl member drain
# r1 --dry-run lists exactly them).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source

drain_start_sinks
drain_conf "$T/postlb.conf" ""
drain_start_host main pf "$SMTP" ""
D=${POSTFIX_DIR[pf]}

pin_deferred 100 u@gmail.com
pin_deferred 100 u@dest.example
wait_for 60 _queue_count_ge pf deferred 200 || fail "200 messages did not reach the deferred queue"

rcli HSET postlb:prov gmail.com google >/dev/null
until=$(( $(rcli TIME | head -n 1) * 1000 + 600000 ))
t0=$(now_ms)
rcli HSET postlb:m:r1 p:google "$until" >/dev/null
wait_log main 'drain: r1 \(p:google\): moved' 1 30 || fail "no drain logged"
_left_200() { [ "$(queue_count pf deferred)" -eq 100 ] && [ "$(queue_count pf maildrop)" -eq 0 ] &&
	[ "$(queue_count pf active)" -eq 0 ] && [ "$(queue_count pf incoming)" -eq 0 ]; }
wait_for 60 _left_200 || fail "the gmail.com mail did not leave"
log "gmail.com mail gone $(( $(now_ms) - t0 )) ms after the suspension"
sleep 2 # a later pass must not move anything else

assert_exactly_once 100 "gmail.com mail" r2 r3
assert_eq 100 "$(grep -c '^To: <u@gmail.com>' "${SINK_DIR[r2]}/dump" "${SINK_DIR[r3]}/dump" | awk -F: '{ s += $2 } END { print s }')" \
	"only gmail.com mail was delivered"
wait_for 30 _drained_ge main r1 100 || true
assert_eq 100 "$(drained main r1)" "the drain moved exactly the 100 gmail.com messages"
rerouted=$(grep ' filter: header X-Postlb-Route: r1 ' "$D/maillog")
assert_eq 100 "$(grep -c . <<<"$rerouted")" "the socketmap routed the 100 moved messages"
assert_eq 0 "$(grep -c ': r1:\[' <<<"$rerouted")" \
	"the socketmap never routed a moved message back to r1"
out=$(timeout 60 "$CTL" -c "$T/postlb.conf" member drain r1 --dry-run)
assert_eq 100 "$(grep -c ' dest.example$' <<<"$out")" "the 100 dest.example messages still wait for r1"
assert_eq 0 "$(grep -c 'gmail' <<<"$out")" "no gmail.com message waits for r1"
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport"

e2e_finish
