#!/bin/bash
#
# sentinel-bench.sh: quota decisions per second of one postlb-policyd
# against a Sentinel-managed primary (redis.sentinels) compared with the
# same primary given as a plain address (redis.address), on loopback, in
# one run.  A private redis-server (the primary, TCP), one replica and one
# redis-sentinel; two policyd processes, one per mode, on the same
# primary; polclient load (CONNS connections, N requests, NKEYS senders)
# against each in turn, RUNS times; the medians and their ratio.
#
# Usage: bench/sentinel-bench.sh [BUILD_DIR]
# Environment: RUNS [3], N [100000], CONNS [64], NKEYS [100000], KEEP=1
# keeps the temp dir, STRICT=1 exits 1 when the target is missed.
# Target: sentinel >= 0.95 x plain (discovery costs one ROLE per second
# per connection, nothing per decision).

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD_DIR:-$(pwd)}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || {
	echo "sentinel-bench: no such build dir" >&2
	exit 2
}
[ -x "$BUILD/postlb-policyd" ] || BUILD=$SRCDIR
RUNS=${RUNS:-3}
N=${N:-100000}
CONNS=${CONNS:-64}
NKEYS=${NKEYS:-100000}
POLICYD=$BUILD/postlb-policyd
POLCLIENT=$BUILD/tests/tools/polclient

die() {
	echo "sentinel-bench: $*" >&2
	exit 2
}
note() { echo "== $*"; }
for t in "$POLICYD" "$POLCLIENT"; do
	[ -x "$t" ] || die "$t is not built"
done
for t in redis-server redis-sentinel redis-cli ss; do
	command -v "$t" >/dev/null || die "$t is not installed"
done

T=$(mktemp -d /tmp/postlb-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

USED_PORTS=" "
pick_port() {
	local p
	for _ in $(seq 1 500); do
		p=$((41000 + RANDOM % 8000))
		case $USED_PORTS in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			USED_PORTS="$USED_PORTS$p "
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
field() {
	local re="(^| )$1=([0-9.]+)"
	[[ $2 =~ $re ]] && echo "${BASH_REMATCH[2]}"
}
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

P1=$(pick_port)
P2=$(pick_port)
S1=$(pick_port)
redis-server --port "$P1" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$T" --logfile "$T/primary.log" &
PIDS+=($!)
redis-server --port "$P2" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$T" --logfile "$T/replica.log" --replicaof 127.0.0.1 "$P1" &
PIDS+=($!)
wait_until 10 redis-cli -p "$P1" ping >/dev/null 2>&1 || die "redis did not start"
cat >"$T/sentinel.conf" <<EOF
port $S1
bind 127.0.0.1
dir $T
logfile $T/sentinel.log
sentinel monitor pm 127.0.0.1 $P1 1
EOF
redis-sentinel "$T/sentinel.conf" &
PIDS+=($!)
_known() { [ "$(redis-cli -p "$S1" SENTINEL get-master-addr-by-name pm 2>/dev/null | tail -n 1)" = "$P1" ]; }
wait_until 10 _known || die "the sentinel does not know the primary"

declare -A PD_PID=()
# policyd_start NAME REDIS_SETTINGS: a policyd on unix:$T/NAME.sock.
policyd_start() {
	cat >"$T/$1.conf" <<EOF
redis = { $2 prefix = "b$1:"; };
policyd = { listen = ["unix:$T/$1.sock"]; user = "postfix"; socket_mode = "0666";
  budget = "500ms"; };
quotas = ( { name = "q"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; } );
EOF
	"$POLICYD" -f -c "$T/$1.conf" 2>"$T/$1.log" &
	PIDS+=($!)
	PD_PID[$1]=$!
	wait_until 10 grep -q 'redis: connected to' "$T/$1.log" ||
		die "policyd $1 did not connect: $(cat "$T/$1.log")"
}
policyd_start plain "address = \"127.0.0.1:$P1\";"
policyd_start sentinel "sentinels = [ \"127.0.0.1:$S1\" ]; master_name = \"pm\";"

ATTRS="protocol_state=END-OF-MESSAGE sender=u%d@example.com size=1000 recipient_count=1"
declare -A RATES=()
for r in $(seq 1 "$RUNS"); do
	for mode in plain sentinel; do
		# shellcheck disable=SC2086
		out=$("$POLCLIENT" -s "unix:$T/$mode.sock" -L -c "$CONNS" -n "$N" -k "$NKEYS" $ATTRS)
		rate=$(field rate "$out")
		note "run $r $mode: $out"
		RATES[$mode]="${RATES[$mode]:-} ${rate%.*}"
	done
done
# shellcheck disable=SC2086
plain=$(median ${RATES[plain]})
# shellcheck disable=SC2086
sent=$(median ${RATES[sentinel]})
# the answers must be decisions from Redis, not the fail mode (at most
# 0.1% budget timeouts: the machine may be shared)
for mode in plain sentinel; do
	kill -USR1 "${PD_PID[$mode]}"
	wait_until 5 grep -q 'stats: ' "$T/$mode.log" || die "no stats from policyd $mode"
	st=$(grep 'stats: ' "$T/$mode.log" | tail -n 1)
	note "policyd $mode: ${st#*stats: }"
	[ "$(field failmode "$st")" -le $((RUNS * N / 1000)) ] ||
		die "policyd $mode answered more than 0.1% from its fail mode"
done
ratio=$(awk -v a="$sent" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')
mark=PASS
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.95) }' || mark=MISS
echo "decisions/s: plain $plain, sentinel $sent, ratio $ratio (target >= 0.95): $mark"
[ "$mark" = PASS ] || [ "${STRICT:-0}" != 1 ]
