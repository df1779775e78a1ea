#!/bin/bash
#
# policyd-bench.sh: side-by-side throughput and latency of quota decisions,
# on loopback, in one run (see bench/README.md):
#
#   (a) redis-benchmark: EVALSHA of the quota script itself (same 3 keys and
#       4 args postlb-policyd sends for one sender quota), 64 clients, keys
#       spread with __rand_int__, against a private redis-server;
#   (b) postfwd2 with an equivalent rate() rule, driven by polclient;
#   (c) postlb-policyd with one sender quota, driven by polclient over TCP
#       (and, for information, over its unix socket);
#   plus postlb-policyd's RSS with 1,000 idle policy connections and after
#   the load.
#
# Usage: bench/policyd-bench.sh [BUILD_DIR]     (or `make bench`)
# Environment knobs (defaults in brackets): RUNS [3] measured runs per
# benchmark (the median is reported), N [200000] requests per run of (a)
# and (c), PFW_N [15000] requests per run of (b), CONNS [64], NKEYS
# [100000] distinct senders, IDLE [1000] idle connections, POLICYD_PORT /
# POSTFWD_PORT / POSTFWD_VPORT [random free ports in 41000-48999],
# KEEP=1 keeps the temp dir, STRICT=1 exits 1 when a target is missed.
#
# Targets: (c) >= 0.8 x (a); (c) >= 3 x (b); p99 of (c) <= 2 ms;
# RSS with 1,000 idle connections <= 16 MiB.

# `make bench` runs us with $(SHELL), which may not be bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ge 1 ] && [ -n "$1" ]; then
	BUILD=$1
elif [ -n "${BUILD_DIR:-}" ]; then
	BUILD=$BUILD_DIR
elif [ -x ./postlb-policyd ]; then
	BUILD=$(pwd)
else
	BUILD=$SRCDIR
fi
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || {
	echo "policyd-bench: no such build dir: $BUILD" >&2
	exit 2
}

RUNS=${RUNS:-3}
N=${N:-200000}
PFW_N=${PFW_N:-15000}
CONNS=${CONNS:-64}
NKEYS=${NKEYS:-100000}
IDLE=${IDLE:-1000}
PREFIX="postlb:"
LIMIT=1000000      # per sender per hour: never reached by the load
WINDOW_S=3600

POLICYD=$BUILD/postlb-policyd
POLCLIENT=$BUILD/tests/tools/polclient
CTL=$BUILD/postlbctl
POSTFWD=$(command -v postfwd || command -v postfwd2 || echo /usr/sbin/postfwd)

die() {
	echo "policyd-bench: $*" >&2
	exit 2
}
note() { echo "== $*"; }

for f in "$POLICYD" "$POLCLIENT"; do
	[ -x "$f" ] || die "$f not found (build first: make)"
done
for t in redis-server redis-cli redis-benchmark; do
	command -v $t >/dev/null || die "$t not found (apt-get install redis-server redis-tools)"
done
HAVE_PFW=1
[ -x "$POSTFWD" ] || HAVE_PFW=0

T0=$(date +%s)
T=$(mktemp -d /tmp/postlb-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
REDIS_SOCK=$T/redis.sock
POLICY_SOCK=$T/policy.sock
REDIS_PID=
POLICYD_PID=
IDLE_PID=
MON_PID=
PFW_DIR=$T/postfwd

# --- cleanup: everything started here is stopped on exit ---

pfw_stop() {
	local pid
	[ -f "$PFW_DIR/master.pid" ] || return 0
	pid=$(cat "$PFW_DIR/master.pid" 2>/dev/null)
	rm -f "$PFW_DIR/master.pid"
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	# The master is a session leader; its TERM handler stops its group.
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		pgrep -g "$pid" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
}

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null && wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	stop_pid "$IDLE_PID"
	stop_pid "$MON_PID"
	pfw_stop
	stop_pid "$POLICYD_PID"
	stop_pid "$REDIS_PID"
	if [ "${KEEP:-0}" = 1 ]; then
		echo "policyd-bench: files kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- helpers ---

# A free TCP port in 41000-48999 not already chosen.
PICKED=" "
pick_port() {
	local p
	for _ in $(seq 200); do
		p=$((41000 + RANDOM % 8000))
		case $PICKED in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			PICKED="$PICKED$p "
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s.
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

rcli() { redis-cli -s "$REDIS_SOCK" "$@"; }

# field KEY LINE: value of KEY=value in a polclient result line (0 if none).
field() {
	local v
	v=$(echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p")
	echo "${v:-0}"
}

# median of the arguments (lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# redis INFO commandstats for EVALSHA: "calls usec failed_calls".
evalsha_stats() {
	rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' '
		/^cmdstat_evalsha:/ {
			for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
		}
		END { printf "%d %d %d\n", v["calls"], v["usec"], v["failed_calls"] }'
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# cpu_us PID: user + system CPU time of a process so far, in us.
cpu_us() { awk -v c="$CLK_TCK" '{printf "%d\n", ($14 + $15) * 1e6 / c}' "/proc/$1/stat"; }
# client_cpu_us: CPU of the last timed client run (see run_a, run_pol).
client_cpu_us() { awk '{printf "%d\n", ($1 + $2) * 1e6}' "$T/client.time"; }
per() { awk -v a="$1" -v n="$2" 'BEGIN {if (n > 0) printf "%.1f\n", a / n; else print 0}'; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
mark() { if ge "$@"; then echo PASS; else echo MISS; fi; }

# policyd's last "stats:" line after SIGUSR1.
policyd_stats() {
	local before
	before=$(grep -c 'stats:' "$T/policyd.log")
	kill -USR1 "$POLICYD_PID"
	for _ in $(seq 50); do
		[ "$(grep -c 'stats:' "$T/policyd.log")" -gt "$before" ] && break
		sleep 0.1
	done
	grep 'stats:' "$T/policyd.log" | tail -1 | sed 's/.*stats: //'
}

POLICYD_PORT=${POLICYD_PORT:-$(pick_port)}
POSTFWD_PORT=${POSTFWD_PORT:-$(pick_port)}
POSTFWD_VPORT=${POSTFWD_VPORT:-$(pick_port)}
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

echo "postlb policyd benchmark: build $BUILD, temp dir $T"
echo "runs $RUNS (median reported), $N requests per run ((b): $PFW_N)," \
	"$CONNS connections, $NKEYS senders; $(nproc) CPUs," \
	"load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- redis ---

REDIS_CMD="redis-server --port 0 --unixsocket $REDIS_SOCK --unixsocketperm 777 --hz 100 --save '' --appendonly no"
redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 777 \
	--hz 100 --save '' --appendonly no --dir "$T" \
	--logfile "$T/redis.log" --daemonize no &
REDIS_PID=$!
wait_until 10 sh -c "redis-cli -s '$REDIS_SOCK' ping | grep -q PONG" ||
	die "redis-server did not start (see $T/redis.log)"

# --- postlb-policyd ---

RUN_USER=
if [ "$(id -u)" = 0 ]; then
	id postfix >/dev/null 2>&1 || die "running as root needs a 'postfix' user"
	RUN_USER='user = "postfix";'
fi
cat >"$T/policyd.conf" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "$PREFIX"; };
policyd = {
  listen = [ "unix:$POLICY_SOCK", "tcp:127.0.0.1:$POLICYD_PORT" ];
  $RUN_USER socket_mode = "0666"; budget = "50ms";
  max_connections = $((IDLE + CONNS + 100));
};
quotas = ( { name = "snd"; subject = "sender"; unit = "messages";
             limit = $LIMIT; window = "1h"; } );
EOF
chmod 644 "$T/policyd.conf"
"$POLICYD" -f -c "$T/policyd.conf" 2>"$T/policyd.log" &
POLICYD_PID=$!
wait_until 10 grep -q 'redis: connected' "$T/policyd.log" || {
	cat "$T/policyd.log" >&2
	die "postlb-policyd did not connect to redis"
}

# --- the quota script and its arguments, exactly as policyd sends them ---

redis-cli -s "$REDIS_SOCK" MONITOR >"$T/monitor.out" 2>&1 &
MON_PID=$!
wait_until 5 grep -q OK "$T/monitor.out"
PROBE=$("$POLCLIENT" -s "unix:$POLICY_SOCK" protocol_state=END-OF-MESSAGE \
	sender=Probe@Example.COM size=1000 recipient_count=1 2>&1)
wait_until 5 grep -q '"EVALSHA"' "$T/monitor.out"
stop_pid "$MON_PID"
MON_PID=
# The probe's EVALSHA, one argument a line (MONITOR quotes each one).
grep -m1 '"EVALSHA"' "$T/monitor.out" | sed 's/^[^"]*//' |
	grep -o '"[^"]*"' | tr -d '"' >"$T/probe.args"
POLICYD_CMD=$(tr '\n' ' ' <"$T/probe.args")
SHA=$(sed -n 2p "$T/probe.args")
WINDOW_MS=$((WINDOW_S * 1000))
EXPECT="EVALSHA $SHA 3 ${PREFIX}q:snd:probe@example.com ${PREFIX}o:snd:probe@example.com ${PREFIX}o:snd:* $LIMIT $WINDOW_MS 1 0 "
[ "$PROBE" = DUNNO ] && [ "$POLICYD_CMD" = "$EXPECT" ] || {
	echo "probe answer: $PROBE; policyd sent: $POLICYD_CMD" >&2
	die "policyd's quota call is not the expected one (expected: $EXPECT)"
}

# The script text, as postlbctl prints it; its SHA must be the one policyd
# loaded, so (a) runs exactly policyd's script.
LUA=$T/quota.lua
timeout 10 "$CTL" script >"$LUA" || die "postlbctl script failed"
[ "$(sha1sum <"$LUA" | cut -c1-40)" = "$SHA" ] ||
	die "postlbctl script does not hash to the SHA policyd loaded"
SCRIPT_CHECK="postlbctl script ($(wc -c <"$LUA") bytes) has this SHA"
KEY_STATE="${PREFIX}q:snd:u__rand_int__@example.com"
KEY_OVR="${PREFIX}o:snd:u__rand_int__@example.com"
KEY_ALL="${PREFIX}o:snd:*"
note "policyd sends: $POLICYD_CMD"
note "script: $SCRIPT_CHECK"

CMD_A="redis-benchmark -s $REDIS_SOCK -c $CONNS -n $N -r $NKEYS --csv EVALSHA $SHA 3 $KEY_STATE $KEY_OVR '$KEY_ALL' $LIMIT $WINDOW_MS 1 0"
LOAD_ATTRS="protocol_state=END-OF-MESSAGE sender=u%d@example.com size=1000 recipient_count=1"
CMD_C="polclient -s 127.0.0.1:$POLICYD_PORT -L -c $CONNS -n $N -k $NKEYS $LOAD_ATTRS"
CMD_CU="polclient -s unix:$POLICY_SOCK -L -c $CONNS -n $N -k $NKEYS $LOAD_ATTRS"
CMD_B="polclient -s 127.0.0.1:$POSTFWD_PORT -L -c $CONNS -n $PFW_N -k $NKEYS $LOAD_ATTRS"
CMD_I="polclient -s unix:$POLICY_SOCK -I -c $IDLE -t 120"

# --- RSS with IDLE idle connections ---

# idle_rss: opens IDLE connections; sets IDLE_RSS (kB) and IDLE_CONNS
# (connections policyd counted).
idle_rss() {
	local conns
	"$POLCLIENT" -s "unix:$POLICY_SOCK" -I -c "$IDLE" -t 120 >"$T/idle.out" 2>&1 &
	IDLE_PID=$!
	wait_until 30 grep -q opened "$T/idle.out" || die "idle client failed: $(cat "$T/idle.out")"
	conns=0
	for _ in $(seq 50); do
		conns=$(policyd_stats | sed -n 's/.* connections=\([0-9]*\).*/\1/p')
		[ "${conns:-0}" -ge "$IDLE" ] && break
		sleep 0.1
	done
	sleep 0.3
	IDLE_RSS=$(rss_kb "$POLICYD_PID")
	IDLE_CONNS=${conns:-0}
	stop_pid "$IDLE_PID"
	IDLE_PID=
	wait_until 10 sh -c "[ \"\$(ls /proc/$POLICYD_PID/fd | wc -l)\" -lt 50 ]"
}

RSS_START=$(rss_kb "$POLICYD_PID")
idle_rss
RSS_IDLE=$IDLE_RSS CONNS_IDLE=$IDLE_CONNS
note "postlb-policyd RSS: $(mib "$RSS_START") MiB fresh," \
	"$(mib "$RSS_IDLE") MiB with $CONNS_IDLE idle connections"

# --- postfwd ---

PFW_GROUP=
PFW_OPTS=
if [ "$(id -u)" = 0 ]; then
	PFW_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
	PFW_OPTS="-u nobody -g $PFW_GROUP"
fi
# pfw_start LIMIT PORT: postfwd2 daemon (master, cache, $CONNS preforked
# policy children) with one rate() rule; no DNS, no syslog, no request
# cache, so every request really evaluates the rule.
pfw_start() {
	mkdir -p "$PFW_DIR"
	[ -n "$PFW_GROUP" ] && chown "nobody:$PFW_GROUP" "$PFW_DIR"
	echo "id=R1; action=rate(sender/$1/$WINDOW_S/450 4.7.1 over quota)" >"$PFW_DIR/rules.cf"
	chmod 644 "$PFW_DIR/rules.cf"
	PFW_CMD="$POSTFWD -d -f $PFW_DIR/rules.cf --server_socket tcp:127.0.0.1:$2 --cache_proto=unix --cache_port=$PFW_DIR/cache.sock --pidfile $PFW_DIR/master.pid --nodns --perfmon --norulelog --norulestats --noidlestats --cache=0 --min_servers=$CONNS --max_servers=$((CONNS + 40)) $PFW_OPTS"
	# shellcheck disable=SC2086
	$PFW_CMD >"$T/postfwd.out" 2>&1 || return 1
	wait_until 20 "$POLCLIENT" -s "127.0.0.1:$2" sender=probe@bench.invalid \
		protocol_state=END-OF-MESSAGE
}

PFW_VERIFY="not run"
if [ $HAVE_PFW = 1 ]; then
	# Verification: with a limit of 5 the 6th message of one sender is
	# deferred, so the rule is really evaluated.
	if pfw_start 5 "$POSTFWD_VPORT"; then
		"$POLCLIENT" -s "127.0.0.1:$POSTFWD_VPORT" -n 8 \
			protocol_state=END-OF-MESSAGE sender=verify@example.com \
			size=1000 recipient_count=1 >"$T/pfw-verify.out" 2>&1
		nd=$(grep -c '^DUNNO' "$T/pfw-verify.out")
		nq=$(grep -c '^450 4.7.1 over quota' "$T/pfw-verify.out")
		PFW_VERIFY="limit 5: $nd DUNNO, $nq deferred of 8"
		[ "$nd" = 5 ] && [ "$nq" = 3 ] || PFW_VERIFY="$PFW_VERIFY (UNEXPECTED)"
	else
		PFW_VERIFY="postfwd did not start: $(cat "$T/postfwd.out")"
		HAVE_PFW=0
	fi
	pfw_stop
	note "postfwd rule check: $PFW_VERIFY"
	if [ $HAVE_PFW = 1 ] && ! pfw_start $LIMIT "$POSTFWD_PORT"; then
		note "postfwd did not start: $(cat "$T/postfwd.out")"
		HAVE_PFW=0
	fi
fi

# --- the runs ---

# run_a: one redis-benchmark run; prints "rate p50_us p99_us".
run_a() {
	local TIMEFORMAT='%3U %3S'
	{ time redis-benchmark -s "$REDIS_SOCK" -c "$CONNS" -n "$1" -r "$NKEYS" \
		--csv EVALSHA "$SHA" 3 "$KEY_STATE" "$KEY_OVR" "$KEY_ALL" \
		$LIMIT $WINDOW_MS 1 0 >"$T/rb.out" 2>"$T/rb.err"; } 2>"$T/client.time"
	tail -1 "$T/rb.out" |
		awk -F'","' '{printf "%.0f %.0f %.0f\n", $2, $5 * 1000, $7 * 1000}'
}

# run_pol ADDR N: one polclient load run; prints its result line.
run_pol() {
	local TIMEFORMAT='%3U %3S'
	# shellcheck disable=SC2086
	{ time "$POLCLIENT" -s "$1" -L -c "$CONNS" -n "$2" -k "$NKEYS" \
		$LOAD_ATTRS >"$T/pol.out" 2>&1; } 2>"$T/client.time"
	tail -1 "$T/pol.out"
}

note "warm-up"
run_a 20000 >/dev/null
run_pol "127.0.0.1:$POLICYD_PORT" 20000 >/dev/null
[ $HAVE_PFW = 1 ] && run_pol "127.0.0.1:$POSTFWD_PORT" 2000 >/dev/null

A_RATE=() A_P50=() A_P99=()
C_RATE=() C_P50=() C_P99=()
U_RATE=() U_P50=() U_P99=()
B_RATE=() B_P50=() B_P99=()
R_CA=() R_CAT=() R_CB=()
A_CPU_R=() A_CPU_CL=() C_CPU_R=() C_CPU_P=() C_CPU_CL=()
A_CALLS=0 A_USEC=0 A_FAILED=0
C_CALLS=0 C_USEC=0 C_FAILED=0 C_DONE=0 C_OTHER=0 B_DONE=0 B_OTHER=0
for r in $(seq "$RUNS"); do
	read -r c0 u0 f0 <<<"$(evalsha_stats)"
	r0=$(cpu_us "$REDIS_PID")
	read -r rate p50 p99 <<<"$(run_a "$N")"
	r1=$(cpu_us "$REDIS_PID")
	read -r c1 u1 f1 <<<"$(evalsha_stats)"
	A_CPU_R+=("$(per $((r1 - r0)) "$N")")
	A_CPU_CL+=("$(per "$(client_cpu_us)" "$N")")
	A_CALLS=$((A_CALLS + c1 - c0)) A_USEC=$((A_USEC + u1 - u0))
	A_FAILED=$((A_FAILED + f1 - f0))
	A_RATE+=("${rate:-0}") A_P50+=("${p50:-0}") A_P99+=("${p99:-0}")
	echo "run $r (a) redis-benchmark: rate=$rate p50_us=$p50 p99_us=$p99"

	read -r c0 u0 f0 <<<"$(evalsha_stats)"
	r0=$(cpu_us "$REDIS_PID") p0=$(cpu_us "$POLICYD_PID")
	line=$(run_pol "127.0.0.1:$POLICYD_PORT" "$N")
	r1=$(cpu_us "$REDIS_PID") p1=$(cpu_us "$POLICYD_PID")
	read -r c1 u1 f1 <<<"$(evalsha_stats)"
	C_CPU_R+=("$(per $((r1 - r0)) "$N")")
	C_CPU_P+=("$(per $((p1 - p0)) "$N")")
	C_CPU_CL+=("$(per "$(client_cpu_us)" "$N")")
	C_CALLS=$((C_CALLS + c1 - c0)) C_USEC=$((C_USEC + u1 - u0))
	C_FAILED=$((C_FAILED + f1 - f0))
	C_DONE=$((C_DONE + $(field requests "$line")))
	C_OTHER=$((C_OTHER + $(field other "$line")))
	C_RATE+=("$(field rate "$line")") C_P50+=("$(field p50_us "$line")")
	C_P99+=("$(field p99_us "$line")")
	echo "run $r (c) postlb-policyd tcp: $line"
	R_CAT+=("$(ratio "$(field rate "$line")" "${rate:-0}")")

	line=$(run_pol "unix:$POLICY_SOCK" "$N")
	U_RATE+=("$(field rate "$line")") U_P50+=("$(field p50_us "$line")")
	U_P99+=("$(field p99_us "$line")")
	echo "run $r (c) postlb-policyd unix: $line"
	R_CA+=("$(ratio "$(field rate "$line")" "${rate:-0}")")

	if [ $HAVE_PFW = 1 ]; then
		line=$(run_pol "127.0.0.1:$POSTFWD_PORT" "$PFW_N")
		B_DONE=$((B_DONE + $(field requests "$line")))
		B_OTHER=$((B_OTHER + $(field other "$line")))
		B_RATE+=("$(field rate "$line")") B_P50+=("$(field p50_us "$line")")
		B_P99+=("$(field p99_us "$line")")
		echo "run $r (b) postfwd: $line"
		R_CB+=("$(ratio "${U_RATE[-1]}" "$(field rate "$line")")")
	fi
done

RSS_LOAD=$(rss_kb "$POLICYD_PID")
STATS=$(policyd_stats)
idle_rss
RSS_IDLE2=$IDLE_RSS CONNS_IDLE2=$IDLE_CONNS
pfw_stop

# --- summary ---

a=$(median "${A_RATE[@]}") a50=$(median "${A_P50[@]}") a99=$(median "${A_P99[@]}")
c=$(median "${C_RATE[@]}") c50=$(median "${C_P50[@]}") c99=$(median "${C_P99[@]}")
u=$(median "${U_RATE[@]}") u50=$(median "${U_P50[@]}") u99=$(median "${U_P99[@]}")
if [ $HAVE_PFW = 1 ]; then
	b=$(median "${B_RATE[@]}") b50=$(median "${B_P50[@]}") b99=$(median "${B_P99[@]}")
else
	b=0 b50=0 b99=0
fi
acr=$(median "${A_CPU_R[@]}") acl=$(median "${A_CPU_CL[@]}")
ccr=$(median "${C_CPU_R[@]}") ccp=$(median "${C_CPU_P[@]}") ccl=$(median "${C_CPU_CL[@]}")
rss_idle_max=$((RSS_IDLE > RSS_IDLE2 ? RSS_IDLE : RSS_IDLE2))
# Ratios: median of the per-round ratios (each round runs (a), (c) and (b)
# back to back, so a busy machine slows all three alike).
# (c) is the unix socket: the default and recommended transport (smtpd
# and policyd on one host), as (a) reaches Redis over a unix socket too;
# TCP is reported beside it.
r_ca=$(median "${R_CA[@]}")
r_cat=$(median "${R_CAT[@]}")
r_cb=n/a
[ $HAVE_PFW = 1 ] && r_cb=$(median "${R_CB[@]}")
FAILMODE=$(echo "$STATS" | sed -n 's/.* failmode=\([0-9]*\).*/\1/p')
m_ca=$(mark "$r_ca" 0.8)
m_cb=MISS
[ $HAVE_PFW = 1 ] && m_cb=$(mark "$r_cb" 3)
m_p99=$(mark 2000 "$u99")
m_rss=$(mark $((16 * 1024)) "$rss_idle_max")
per_call() { awk -v n="$1" -v d="$2" 'BEGIN {if (d > 0) printf "%.1f", n / d; else print "n/a"}'; }

cat <<EOF

================ postlb-policyd benchmark summary ================
median of $RUNS runs; $CONNS connections/clients; senders spread over $NKEYS keys;
loopback only; $(nproc) CPUs; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)

                                        decisions/s    p50 ms    p99 ms
(a) redis-benchmark EVALSHA (redis)     $(printf '%11s %9s %9s' "$a" "$(ms "$a50")" "$(ms "$a99")")
(b) postfwd2 rate() rule (tcp)          $(printf '%11s %9s %9s' "$b" "$(ms "$b50")" "$(ms "$b99")")
(c) postlb-policyd, 1 quota (unix)      $(printf '%11s %9s %9s' "$u" "$(ms "$u50")" "$(ms "$u99")")
    postlb-policyd, 1 quota (tcp)       $(printf '%11s %9s %9s' "$c" "$(ms "$c50")" "$(ms "$c99")")

postlb-policyd RSS: $(mib "$RSS_START") MiB fresh; $(mib "$RSS_IDLE") MiB with $CONNS_IDLE idle connections;
  $(mib "$RSS_LOAD") MiB right after the load; $(mib "$RSS_IDLE2") MiB with $CONNS_IDLE2 idle connections after the load

target                                  measured      target     mark
(c) / (a) decisions/s, paired          $(printf '%8s' "$r_ca")      >= 0.8     $m_ca
(c) / (b) decisions/s, paired          $(printf '%8s' "$r_cb")      >= 3       $m_cb
p99 of (c)                              $(printf '%8s' "$(ms "$u99")") ms   <= 2 ms    $m_p99
(informational) tcp / (a), paired       $(printf '%8s' "$r_cat"); tcp p99 $(ms "$c99") ms
RSS, $IDLE idle connections (worst)     $(printf '%8s' "$(mib $rss_idle_max)") MiB  <= 16 MiB  $m_rss

checks:
  (c) EVALSHA calls per decision: $(per_call "$C_CALLS" "$C_DONE") ($C_CALLS calls, $C_FAILED failed, $C_DONE decisions, $C_OTHER not DUNNO)
  CPU us per decision: (a) redis $acr + redis-benchmark $acl = $(awk -v a="$acr" -v b="$acl" 'BEGIN {print a + b}');
    (c) redis $ccr + postlb-policyd $ccp + polclient $ccl = $(awk -v a="$ccr" -v b="$ccp" -v c="$ccl" 'BEGIN {print a + b + c}')
  redis time per EVALSHA: (a) $(per_call "$A_USEC" "$A_CALLS") us, (c) $(per_call "$C_USEC" "$C_CALLS") us; (a) failed calls: $A_FAILED
  postfwd rule check: $PFW_VERIFY; load answers not DUNNO: $B_OTHER of $B_DONE
  policyd counters: $STATS
$([ "${FAILMODE:-0}" -gt 0 ] && echo "  WARNING: $FAILMODE answers of postlb-policyd came from the fail mode (no verdict within the 50 ms budget): the machine is overloaded, figures are unreliable")
  ratios of the medians: (c)/(a) $(ratio "$u" "$a"), (c)/(b) $(ratio "$u" "$b")

commands (polclient is $POLCLIENT):
  redis:  $REDIS_CMD
  (a)     $CMD_A
          (policyd sends: $POLICYD_CMD)
  (b)     ${PFW_CMD:-postfwd not available}
          $CMD_B
  (c)     $POLICYD -f -c $T/policyd.conf
          $CMD_C
          $CMD_CU
  RSS     $CMD_I  (VmRSS of /proc/$POLICYD_PID/status)
policyd.conf:
$(sed 's/^/  /' "$T/policyd.conf")
total time: $(($(date +%s) - T0)) s
EOF

if [ "${STRICT:-0}" = 1 ]; then
	for m in $m_ca $m_cb $m_p99 $m_rss; do
		[ "$m" = PASS ] || exit 1
	done
fi
exit 0
