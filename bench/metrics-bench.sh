#!/bin/bash
#
# metrics-bench.sh: what /metrics costs postlb-policyd, in paired runs.
#
# The load of policyd-bench.sh's (c): polclient over TCP, 64 connections,
# one sender quota, senders spread over 100,000 keys (every decision a
# Redis call), against a private redis-server.  Each pair runs the same
# load against two builds, one after the other, in alternating order:
# BASE (a build without metrics, or the same build) without
# policyd.metrics, and NEW with policyd.metrics set and scraped every
# SCRAPE_S seconds during the run, as Prometheus would.  Prints each
# pair's decisions/s, p99 and postlb-policyd's CPU time per decision
# (all its threads, from /proc/PID/task/*/schedstat, the scrapes
# included) and the new/base
# ratios, then their median and worst.  The machine may be shared: the
# pairing and the median are there to see through its noise, the worst
# pair says how large it is, and CPU per decision is far less sensitive
# to other load than decisions/s.
#
# Usage: bench/metrics-bench.sh BASE_BUILD_DIR NEW_BUILD_DIR
# Environment knobs [defaults]: PAIRS [7], N [200000] requests per run,
# CONNS [64], NKEYS [100000], SCRAPE_S [1], KEEP=1 keeps the temp dir,
# NEW_METRICS [1]: 0 runs NEW without policyd.metrics too (with the same
# build on both sides, an A/A run: the noise floor of the machine).

set -u
[ $# -eq 2 ] || {
	echo "usage: $0 BASE_BUILD_DIR NEW_BUILD_DIR" >&2
	exit 2
}
BASE=$(cd "$1" && pwd) || exit 2
NEW=$(cd "$2" && pwd) || exit 2
PAIRS=${PAIRS:-7}
N=${N:-200000}
CONNS=${CONNS:-64}
NKEYS=${NKEYS:-100000}
SCRAPE_S=${SCRAPE_S:-1}
POLCLIENT=$NEW/tests/tools/polclient
LOAD_ATTRS="protocol_state=END-OF-MESSAGE sender=u%d@example.com size=1000 recipient_count=1"

die() {
	echo "metrics-bench: $*" >&2
	exit 2
}
for f in "$BASE/postlb-policyd" "$NEW/postlb-policyd" "$POLCLIENT"; do
	[ -x "$f" ] || die "$f not found (build first)"
done
T=$(mktemp -d /tmp/postlb-mbench.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
REDIS_PID= POLICYD_PID= SCRAPER_PID=
cleanup() {
	for p in $SCRAPER_PID $POLICYD_PID $REDIS_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ "${KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

# free_port: a TCP port nothing listens on.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((41000 + RANDOM % 8000))
		[ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && {
			echo "$p"
			return
		}
	done
	die "no free port"
}
wait_until() {
	local n=$(($1 * 20))
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.05
	done
}

redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 777 \
	--hz 100 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
REDIS_PID=$!
wait_until 10 redis-cli -s "$T/redis.sock" ping | grep -q PONG || die "redis did not start"

PORT=$(free_port)
MPORT=$(free_port)
RUN_USER=
[ "$(id -u)" = 0 ] && RUN_USER='user = "postfix";'
# conf FILE [METRICS]: the policyd-bench.sh config, with metrics or not.
conf() {
	cat >"$1" <<EOF
redis = { address = "unix:$T/redis.sock"; prefix = "postlb:"; };
policyd = {
  listen = [ "tcp:127.0.0.1:$PORT" ];
  $RUN_USER budget = "50ms"; max_connections = 1200;
  ${2:+metrics = \"127.0.0.1:$MPORT\";}
};
quotas = ( { name = "snd"; subject = "sender"; unit = "messages";
             limit = 1000000; window = "1h"; } );
EOF
	chmod 644 "$1"
}
conf "$T/base.conf"
NEW_METRICS=${NEW_METRICS:-1}
[ "$NEW_METRICS" = 1 ] || NEW_METRICS=
conf "$T/new.conf" "$NEW_METRICS"

# cpu_ns PID: CPU time of all of PID's threads so far, in nanoseconds
# (schedstat: exact, where /proc/PID/stat counts in clock ticks).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }

# run BUILD CONF SCRAPE: starts that policyd, warms it up, measures one
# load run (scraping /metrics meanwhile when SCRAPE=1), stops it; prints
# polclient's result line and cpu_ns=CPU nanoseconds per decision.
run() {
	local line c0 c1
	"$1/postlb-policyd" -f -c "$2" 2>"$T/policyd.log" &
	POLICYD_PID=$!
	wait_until 10 grep -q 'redis: connected' "$T/policyd.log" || die "policyd did not start: $(cat "$T/policyd.log")"
	if [ "$3" = 1 ]; then
		python3 -c 'import sys, time, urllib.request
while True:
    urllib.request.urlopen(sys.argv[1], timeout=5).read()
    time.sleep(float(sys.argv[2]))' "http://127.0.0.1:$MPORT/metrics" "$SCRAPE_S" \
			>/dev/null 2>&1 &
		SCRAPER_PID=$!
	fi
	# the warm-up (and the scraper's start) before measuring
	# shellcheck disable=SC2086
	"$POLCLIENT" -s "127.0.0.1:$PORT" -L -c "$CONNS" -n 20000 -k "$NKEYS" $LOAD_ATTRS >/dev/null 2>&1
	c0=$(cpu_ns "$POLICYD_PID")
	# shellcheck disable=SC2086
	line=$("$POLCLIENT" -s "127.0.0.1:$PORT" -L -c "$CONNS" -n "$N" -k "$NKEYS" $LOAD_ATTRS 2>&1 | tail -n 1)
	c1=$(cpu_ns "$POLICYD_PID")
	if [ -n "$SCRAPER_PID" ]; then
		kill "$SCRAPER_PID" 2>/dev/null
		wait "$SCRAPER_PID" 2>/dev/null
		SCRAPER_PID=
	fi
	kill "$POLICYD_PID"
	wait "$POLICYD_PID" 2>/dev/null
	POLICYD_PID=
	echo "$line cpu_ns=$(((c1 - c0) / N))"
}
field() { [[ $2 =~ (^| )$1=([0-9.]+) ]] && echo "${BASH_REMATCH[2]}"; }

echo "== base: $BASE/postlb-policyd (no policyd.metrics)"
if [ -n "$NEW_METRICS" ]; then
	echo "== new:  $NEW/postlb-policyd (policyd.metrics, scraped every ${SCRAPE_S}s)"
else
	echo "== new:  $NEW/postlb-policyd (no policyd.metrics)"
fi
echo "== load: polclient -s 127.0.0.1:PORT -L -c $CONNS -n $N -k $NKEYS $LOAD_ATTRS"
printf '%-5s %9s %9s %7s %9s %9s %8s %8s %7s\n' pair base/s new/s ratio \
	base_p99 new_p99 base_cpu new_cpu ratio
RATIOS=() CPU_RATIOS=()
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) -eq 1 ]; then
		b=$(run "$BASE" "$T/base.conf" 0)
		n=$(run "$NEW" "$T/new.conf" "${NEW_METRICS:-0}")
	else
		n=$(run "$NEW" "$T/new.conf" "${NEW_METRICS:-0}")
		b=$(run "$BASE" "$T/base.conf" 0)
	fi
	br=$(field rate "$b")
	nr=$(field rate "$n")
	[ -n "$br" ] && [ -n "$nr" ] || die "a run failed: base: $b; new: $n"
	bc=$(field cpu_ns "$b")
	nc=$(field cpu_ns "$n")
	r=$(awk -v a="$nr" -v b="$br" 'BEGIN {printf "%.3f", a / b}')
	rc=$(awk -v a="$nc" -v b="$bc" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
	RATIOS+=("$r")
	CPU_RATIOS+=("$rc")
	printf '%-5s %9s %9s %7s %7sus %7sus %6sns %6sns %7s\n' "$i" "$br" "$nr" "$r" \
		"$(field p99_us "$b")" "$(field p99_us "$n")" "$bc" "$nc" "$rc"
done
# summary NAME HIGHER_IS_WORSE RATIO...: median and worst.
summary() {
	local name=$1 worse=$2
	shift 2
	printf '%s\n' "$@" | sort -n | awk -v n="$name" -v w="$worse" -v p="$PAIRS" '
		{ a[NR] = $1 }
		END { printf "== new/base %s: median %s, worst %s (%d pairs)\n", n,
			a[int((NR + 1) / 2)], w ? a[NR] : a[1], p }'
}
summary "decisions/s" 0 "${RATIOS[@]}"
summary "policyd CPU per decision" 1 "${CPU_RATIOS[@]}"
