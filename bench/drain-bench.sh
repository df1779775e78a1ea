#!/bin/bash
# drain-bench.sh: how fast the drain moves the mail queued for a dead
# member, and that it loses and duplicates nothing; loopback only.
#
# A private Postfix with postlb-milter, postlb-policyd (health checks every
# 500 ms, the requeue socketmap, the drain at drain.rate RATE) and
# postlb-requeue routes through three relay members (smtp-sinks r1..r3).
# r1's relay answers every RCPT with 4xx, so N messages pinned to r1 wait
# in the deferred queue.  Then r1's relay is killed: the check marks r1
# down, and the drain lists r1's deferred mail (postlb-requeue: readdir +
# postcat), records each message's domains, requeues it (postsuper -r)
# and the socketmap routes it again to r2 or r3.  Figures:
#   - mark-down: kill -> hc down in Redis;
#   - drain pass: the time the drain logged for listing + moving, and
#     moved / that time (messages re-routed per second);
#   - left r1: kill -> no message left in the deferred queue for r1
#     (polled every 200 ms);
#   - delivered: kill -> the queue is empty, every message delivered;
#   - lost (N minus distinct Message-IDs at r2 and r3) and duplicated
#     (deliveries minus distinct Message-IDs): both must be 0.
#
# Usage: bench/drain-bench.sh [-n N] [-r RATE] [-k] [BUILD_DIR]
#   -n N      messages queued for r1 (default 10000)
#   -r RATE   drain.rate, messages per second (default 1000)
#   -k        keep the temporary directory (KEEP=1)
# Environment: N, RATE, KEEP=1 do the same.
# Needs root, postfix, smtp-sink, smtp-source, redis-server, redis-cli, ss.
# It sources tests/e2e/lib.sh for its servers and its EXIT trap, which
# stops everything started here.  It prints figures and exits 0 unless it
# could not run or lost or duplicated a message.

set -u
set -o pipefail

N=${N:-10000}
RATE=${RATE:-1000}
KEEP=${KEEP:-0}
usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while getopts "n:r:kh" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RATE=$OPTARG ;;
	k) KEEP=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
[[ $N =~ ^[1-9][0-9]*$ ]] && [ "$N" -le 100000 ] || { echo "drain-bench: 1 <= N <= 100000" >&2; exit 2; }
[[ $RATE =~ ^[1-9][0-9]*$ ]] && [ "$RATE" -le 100000 ] || { echo "drain-bench: 1 <= RATE <= 100000" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 1 ]; then
	BUILD_DIR=$1
elif [ -z "${BUILD_DIR:-}" ]; then
	if [ -x ./postlb-policyd ]; then BUILD_DIR=$PWD; else BUILD_DIR=$SRC_DIR; fi
fi
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "drain-bench: no build dir" >&2; exit 2; }
export KEEP
export top_srcdir=$SRC_DIR top_builddir=$BUILD_DIR

# shellcheck source=../tests/e2e/lib.sh
. "$SRC_DIR/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/drain_setup.sh
. "$SRC_DIR/tests/e2e/drain_setup.sh"
need_root_and_tools smtp-sink smtp-source

start_redis
for s in R0 R1 R2 R3 SMTP; do pick_port "$s"; done
start_sink relayhost "$R0"
start_relay_4xx r1 "$R1"
start_sink r2 "$R2"
start_sink r3 "$R3"
DRAIN_RATE=$RATE drain_conf "$T/postlb.conf" "" \
	'health = { check = { interval = "500ms"; fastinter = "250ms"; timeout = "1s"; rise = 2; fall = 2; }; };'
start_policyd main "$T/postlb.conf"
start_milter main "$T/postlb.conf" "$RUN/milter.sock"
wire_postlb pf "$SMTP" "$T/postlb.conf" "$R0"
wire_requeue pf "$T/postlb.conf"
start_requeue pf "${POSTFIX_DIR[pf]}" "$T/rq/requeue"
D=${POSTFIX_DIR[pf]}

log "queueing $N messages for r1"
timeout 900 smtp-source -m "$N" -s 20 -l 300 -f a@pin.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 || die "smtp-source failed"
wait_for 600 _queue_count_ge pf deferred "$N" || die "$N messages did not reach the deferred queue"
sleep 1
[ "$(queue_count pf deferred)" -eq "$N" ] || die "deferred: $(queue_count pf deferred), not $N"

_none_for_r1() {
	[ "$(queue_count pf deferred)" -eq 0 ] && [ "$(queue_count pf maildrop)" -eq 0 ]
}
t_kill=$(now_ms)
stop_sink r1
wait_for 30 _hc_is r1 down || die "r1 was not marked down"
t_down=$(now_ms)
wait_for 900 _none_for_r1 || die "r1's mail did not leave"
t_left=$(now_ms)
wait_for 900 _queue_empty "$D" || die "the queue did not empty"
t_done=$(now_ms)
wait_log main 'drain: r1 \(hc down\): moved' 1 30 || die "no drain logged"

line=$(grep 'drain: r1 (hc down): moved' "$T/policyd-main.log" | head -n 1)
moved=$(drained main r1)
pass_ms=$(sed -n 's/.* in \([0-9]*\) ms .*/\1/p' <<<"$line")
total=$(sink_ids r2 r3 | wc -l)
uniq=$(sink_ids r2 r3 | sort -u | wc -l)
lost=$((N - uniq))
dup=$((total - uniq))
echo
echo "drain-bench: N=$N drain.rate=$RATE/s ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  mark-down (kill -> hc down):        $((t_down - t_kill)) ms"
echo "  drain pass (list + move, as logged): $pass_ms ms for $moved messages" \
	"= $(awk -v m="$moved" -v t="$pass_ms" 'BEGIN { printf "%.0f", t ? m * 1000 / t : 0 }') msg/s"
echo "  left r1 (kill -> none deferred):    $((t_left - t_kill)) ms" \
	"= $(awk -v m="$N" -v t="$((t_left - t_kill))" 'BEGIN { printf "%.0f", m * 1000 / t }') msg/s end to end"
echo "  delivered (kill -> queue empty):    $((t_done - t_kill)) ms"
echo "  lost: $lost   duplicated: $dup   to the default transport: $(sink_messages relayhost)"
echo "  drain log: $line"
[ "$lost" -eq 0 ] && [ "$dup" -eq 0 ] && [ "$(sink_messages relayhost)" -eq 0 ]
