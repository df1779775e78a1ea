# drain_cluster.sh: two hosts (two private Postfix instances, each with
# its own postlb-policyd, postlb-milter and postlb-requeue) on one Redis:
# a drain of r1 moves each host's own queued mail, and only its own.
#
# r1's relay answers RCPT with 4xx; 120 messages pinned to r1 wait on the
# first host, 80 on the second.  `postlbctl member drain r1` (shared
# state in Redis): each host's drain logs exactly its own count, each
# host's postlb-requeue requeued only ids of its own queue, and the 200
# messages are delivered exactly once through r2 and r3.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source

drain_start_sinks SMTP2
drain_conf "$T/postlb.conf" ""
drain_conf "$T/postlb2.conf" 2
drain_start_host main pf "$SMTP" ""
drain_start_host second pf2 "$SMTP2" 2

pin_deferred 120 u@dest.example "$SMTP"
pin_deferred 80 u@dest.example "$SMTP2"
wait_for 60 _queue_count_ge pf deferred 120 || fail "host 1: 120 messages not deferred"
wait_for 60 _queue_count_ge pf2 deferred 80 || fail "host 2: 80 messages not deferred"
ids1=$(find "${POSTFIX_DIR[pf]}/queue/deferred" -type f -printf '%f\n' | sort)

timeout 10 "$CTL" -c "$T/postlb.conf" member drain r1 >/dev/null || fail "postlbctl member drain r1"
wait_for 60 _queue_empty "${POSTFIX_DIR[pf]}" || fail "host 1's queue did not empty"
wait_for 60 _queue_empty "${POSTFIX_DIR[pf2]}" || fail "host 2's queue did not empty"

wait_for 30 _drained_ge main r1 120 || true
wait_for 30 _drained_ge second r1 80 || true
assert_eq 120 "$(drained main r1)" "host 1 drained its own 120 messages"
assert_eq 80 "$(drained second r1)" "host 2 drained its own 80 messages"
# every id host 1's postlb-requeue moved came from host 1's queue (orig_id)
moved1=$(grep -o 'orig_id=[0-9A-F]*' "${POSTFIX_DIR[pf]}/maillog" | cut -d= -f2 | sort -u)
assert_eq 120 "$(comm -12 <(echo "$ids1") <(echo "$moved1") | wc -l)" \
	"host 1 requeued exactly its own 120 queue ids"
assert_eq 80 "$(grep -o 'orig_id=[0-9A-F]*' "${POSTFIX_DIR[pf2]}/maillog" | sort -u | wc -l)" \
	"host 2 requeued its 80 messages"
assert_exactly_once 200 "all mail" r2 r3
assert_eq 0 "$(sink_messages relayhost)" "nothing went to the default transport"

e2e_finish
