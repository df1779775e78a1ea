#!/bin/bash
# route-bench.sh: what one route call costs as the pool grows: the route
# script (engine/route.lua, through Redis, as postlb-milter calls it for
# one message) for pools of 3, 64 and 1000 members, every member ready,
# for each algorithm (weighted, least_outstanding, hash), measured with
# tests/tools/routebench (one blocking connection, one call at a time,
# per-call latency) against a private redis-server (unix socket, hz 100).
# Each call is for a message of its own and is prepared as the milter
# prepares it from its kept plan (a hash pool ranks its members for the
# message; every pool builds the call's arguments): a second table gives
# that preparation plus the call, per message.
# Sizes run interleaved, ROUNDS rounds in a rotating order; the figure per
# size is the median of the rounds' median latencies, with the worst
# round, and its ratio to the 3-member pool of the same algorithm.
#
# Usage: bench/route-bench.sh [-r ROUNDS] [-n CALLS] [-o FILE] [BUILD_DIR]
#   BUILD_DIR  holds tests/tools/routebench (default: ./build, else .)
#   -r ROUNDS  rounds (default 5)
#   -n CALLS   calls per run (default 5000)
#   -o FILE    also write the summary to FILE
# Needs redis-server and redis-cli.
set -u
export LC_ALL=C
ROUNDS=${ROUNDS:-5}
CALLS=${CALLS:-5000}
OUT_FILE=
while getopts "r:n:o:" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	n) CALLS=$OPTARG ;;
	o) OUT_FILE=$OPTARG ;;
	*) sed -n '/^# Usage:/,/^# Needs/p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-$SRC_DIR/build}
[ -x "$BUILD_DIR/tests/tools/routebench" ] || BUILD_DIR=$SRC_DIR
RB=$BUILD_DIR/tests/tools/routebench
[ -x "$RB" ] || { echo "route-bench: no $RB (make tests/tools/routebench)" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] && [ "$CALLS" -ge 100 ] && [ "$CALLS" -le 1000000 ] ||
	{ echo "route-bench: 1 <= ROUNDS <= 50, 100 <= CALLS <= 1000000" >&2; exit 2; }

T=$(mktemp -d /tmp/route-bench.XXXXXX)
trap 'redis-cli -s "$T/redis.sock" shutdown nosave >/dev/null 2>&1; rm -rf "$T"' EXIT
cat >"$T/redis.conf" <<EOC
port 0
unixsocket $T/redis.sock
unixsocketperm 700
hz 100
save ""
appendonly no
dir $T
logfile $T/redis.log
EOC
redis-server "$T/redis.conf" &
for i in $(seq 1 100); do
	[ "$(redis-cli -s "$T/redis.sock" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

SIZES="3 64 1000"
ALGOS="weighted least_outstanding hash"
# conf N ALGO: N members (weights 1..3) in one pool.
conf() {
	local i list=
	echo "redis = { address = \"unix:$T/redis.sock\"; prefix = \"rb$1$2:\"; };"
	echo "members = {"
	for ((i = 1; i <= $1; i++)); do
		echo "  m$i = { nexthop = \"[127.0.0.1]:25\"; weight = $((i % 3 + 1)); };"
		list="$list${list:+, }\"m$i\""
	done
	echo "};"
	echo "pools = { p = { members = [ $list ]; algorithm = \"$2\"; }; };"
	echo 'routing = { default_pool = "p"; };'
}
for a in $ALGOS; do
	for n in $SIZES; do conf "$n" "$a" >"$T/$a-$n.conf"; done
done

declare -A MED MSG PREP BYTES
for ((r = 1; r <= ROUNDS; r++)); do
	for a in $ALGOS; do
		# rotate the order of the sizes from round to round
		order=$(echo $SIZES | tr ' ' '\n' | awk -v r="$r" '{ a[NR] = $0 }
			END { for (i = 0; i < NR; i++) print a[(i + r) % NR + 1] }')
		for n in $order; do
			out=$("$RB" -c "$T/$a-$n.conf" -n "$CALLS" -P) || { echo "routebench failed: $out" >&2; exit 1; }
			MED[$a-$n]="${MED[$a-$n]:-} $(awk '{ print $6 }' <<<"$out")"
			MSG[$a-$n]="${MSG[$a-$n]:-} $(awk '{ print $18 }' <<<"$out")"
			PREP[$a-$n]="${PREP[$a-$n]:-} $(awk '{ print $14 }' <<<"$out")"
			BYTES[$a-$n]=$(awk '{ print $12 }' <<<"$out")
		done
	done
done

# table ARRAY LASTCOL: per algorithm and size the median of ARRAY's round
# medians, the worst round, the ratio to 3 members, and LASTCOL (the
# call's argument bytes, or the median preparation time).
table() {
	local -n fig=$1
	local a n m base last
	printf '%-18s %8s %12s %10s %10s %12s\n' algorithm members "median (us)" "worst" "x 3-member" "$2"
	for a in $ALGOS; do
		base=$(median <<<"${fig[$a-3]}")
		for n in $SIZES; do
			m=$(median <<<"${fig[$a-$n]}")
			if [ "$1" = MED ]; then last=${BYTES[$a-$n]}; else last=$(median <<<"${PREP[$a-$n]}"); fi
			printf '%-18s %8s %12s %10s %10.2f %12s\n' "$a" "$n" "$m" "$(worst <<<"${fig[$a-$n]}")" \
				"$(awk -v m="$m" -v b="$base" 'BEGIN { print m / b }')" "$last"
		done
	done
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
worst() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1; }
{
	echo "=== route-bench summary ==="
	echo "command: bench/route-bench.sh -r $ROUNDS -n $CALLS $BUILD_DIR"
	echo "build:   $BUILD_DIR ($(cd "$SRC_DIR" && git describe --always --dirty 2>/dev/null || echo '?'))$(ldd "$RB" 2>/dev/null | grep -q libasan && echo ' SANITIZER BUILD')"
	echo "machine: $(nproc) cores; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "per call: routebench -c CONF -n $CALLS -P (a message of its own per call, every member ready), $ROUNDS rounds interleaved"
	echo "the route script call:"
	table MED "arg bytes"
	echo "per message, as the milter routes it (preparation from the kept plan + the call):"
	table MSG "prep (us)"
	echo "goal: at 1000 members at most 2x the 3-member figure, for the call and per message"
} | tee ${OUT_FILE:+"$OUT_FILE"}
