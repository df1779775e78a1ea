#!/bin/bash
# health-bench.sh: what postlb's relay health checks achieve and cost,
# measured in one run, on loopback only.
#
# (1) failover: a private Postfix routes a steady paced load through three
#     relay members (smtp-sinks r1..r3, round robin) with postlb-milter and
#     postlb-policyd checking them (health.check at its defaults: every
#     1 s, 250 ms while changing, timeout 1 s, rise 2, fall 2; slow start
#     off, like HAProxy's default).  A second private Postfix relays the
#     same paced load to HAProxy 2.6 (mode tcp, roundrobin, option smtpchk
#     at its defaults: inter 2s, rise 2, fall 3; retries 3, no redispatch)
#     in front of the SAME three sinks.  Each round kills sink r2 with
#     SIGKILL at a random moment (1 to 4 s into the round), so both see
#     the same death, and measures for each the time from the kill to the
#     removal (postlb: `HGET PREFIX m:r2 hc` is "down"; HAProxy: its stats
#     socket says DOWN; both polled in one loop, plus each one's own record
#     of the moment: hc_since, and HAProxy's timestamped "is DOWN" line),
#     what was still sent to r2 after its death (postlb: milter verdict
#     lines `member=r2` after the kill, and after the mark-down; HAProxy:
#     the growth of r2's stot/econ counters) and the deliveries each
#     Postfix deferred.  Then r2 is restarted and both must take it back.
# (2) policy latency: p99 of postlb-policyd's answers (tests/tools/polclient
#     load, as bench/policyd-bench.sh drives it) while 10 relay members
#     time out (servers that accept and never answer), against the same
#     load on the same policyd configuration with checks off; runs
#     interleaved (ABBA...).
# (3) footprint: VmRSS, VmHWM and CPU (utime+stime, and the ns-precise
#     schedstat run time of all threads) of a postlb-policyd checking 100
#     members every 2 s against 100 live smtp-sinks, against the same
#     policyd with checks off, both idle and running side by side over
#     the same window; the difference per member.
#
# Usage: bench/health-bench.sh [options] [BUILD_DIR]
#   BUILD_DIR  holds postlb-milter, postlb-policyd, postlbctl and
#              tests/tools/polclient (default: $BUILD_DIR, else the
#              current directory if it holds postlb-policyd, else the
#              source tree of this script)
#   -r ROUNDS  failover rounds (default 5)
#   -R RATE    messages/s offered to each Postfix in (1) (default 50)
#   -n N       policy requests per latency run in (2) (default 100000)
#   -c CONNS   polclient connections in (2) (default 16)
#   -p PAIRS   latency runs with and without checks in (2) (default 5)
#   -w SECS    measuring window of (3) (default 60)
#   -o FILE    also write the summary to FILE
#   -k         keep the temporary directory (KEEP=1)
# Environment: ROUNDS, RATE, N, CONNS, PAIRS, WINDOW, KEEP=1 do the same.
# Needs root, postfix, smtp-sink, smtp-source, redis-server, redis-cli, ss,
# python3, socat and haproxy (installed with apt-get when missing).
#
# It sources tests/e2e/lib.sh for its servers (private Redis, sinks,
# policyd, Postfix instances in a temp dir) and its EXIT trap, which stops
# everything started here, also on Ctrl-C or an error.  Every wait and
# loop is bounded.  It is a benchmark: it prints figures and the goal
# check (PASS/MISS) and exits 0 unless it could not run.

set -u
set -o pipefail

ROUNDS=${ROUNDS:-5}
RATE=${RATE:-50}
N=${N:-100000}
CONNS=${CONNS:-16}
PAIRS=${PAIRS:-5}
WINDOW=${WINDOW:-60}
KEEP=${KEEP:-0}
OUT_FILE=
CMDLINE="$0 $*"

usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while getopts "r:R:n:c:p:w:o:kh" opt; do
	case $opt in
	r) ROUNDS=$OPTARG ;;
	R) RATE=$OPTARG ;;
	n) N=$OPTARG ;;
	c) CONNS=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	o) OUT_FILE=$OPTARG ;;
	k) KEEP=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
for v in ROUNDS RATE N CONNS PAIRS WINDOW; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "health-bench: bad $v '${!v}'" >&2; exit 2; }
done
[ "$ROUNDS" -le 50 ] && [ "$RATE" -le 1000 ] && [ "$PAIRS" -le 20 ] && [ "$WINDOW" -le 600 ] ||
	{ echo "health-bench: ROUNDS <= 50, RATE <= 1000, PAIRS <= 20, WINDOW <= 600" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 1 ]; then
	BUILD_DIR=$1
elif [ -z "${BUILD_DIR:-}" ]; then
	if [ -x ./postlb-policyd ]; then BUILD_DIR=$PWD; else BUILD_DIR=$SRC_DIR; fi
fi
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "health-bench: no build dir" >&2; exit 2; }
export KEEP
export top_srcdir=$SRC_DIR top_builddir=$BUILD_DIR
# ASan/UBSan builds use several times the memory and CPU: say so
if ldd "$BUILD_DIR/postlb-policyd" 2>/dev/null | grep -q libasan; then
	echo "health-bench: WARNING: $BUILD_DIR is a sanitizer build; RSS and CPU figures are not representative" >&2
	SANITIZED=" (SANITIZER BUILD: RSS/CPU not representative)"
fi

if [ "$(id -u)" -eq 0 ] && ! command -v haproxy >/dev/null 2>&1; then
	echo "health-bench: installing haproxy (Debian package)" >&2
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y haproxy >/dev/null ||
		{ echo "health-bench: apt-get install haproxy failed" >&2; exit 1; }
fi
if [ "$(id -u)" -eq 0 ] && ! command -v socat >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y socat >/dev/null ||
		{ echo "health-bench: apt-get install socat failed" >&2; exit 1; }
fi

# shellcheck source=../tests/e2e/lib.sh
. "$SRC_DIR/tests/e2e/lib.sh"
need_root_and_tools smtp-sink smtp-source python3 socat haproxy
CTL=$top_builddir/postlbctl
[ -x "$CTL" ] && [ -x "$MILTER" ] || die "postlbctl and postlb-milter must be built"

# --- small helpers ---

# median V... / worst V...: of integers; "-" when none.
median() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
worst() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -g | tail -n 1
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# machine_load: the load average and the top CPU users.
machine_load() {
	echo "  uptime: $(uptime)"
	echo "  top CPU users over 2 s (top -b -d 2 -n 2, second frame):"
	timeout 20 top -b -d 2 -n 2 -w 110 2>/dev/null | awk '/^top -/ { f++ } f == 2' |
		sed -n '3p;7,15p' | sed 's/^/    /'
}
# cpu_ticks PID: utime + stime of the process (all threads) in ticks.
cpu_ticks() {
	local line rest a
	[ -r "/proc/$1/stat" ] || { echo 0; return; }
	read -r line <"/proc/$1/stat"
	rest=${line##*) }
	read -r -a a <<<"$rest"
	echo $((a[11] + a[12]))
}
# run_ns PID: run time in ns of all live threads (schedstat).
run_ns() {
	local f s sum=0
	for f in /proc/"$1"/task/*/schedstat; do
		read -r s _ 2>/dev/null <"$f" || continue
		sum=$((sum + s))
	done
	echo "$sum"
}
# proc_kb PID FIELD: a /proc/PID/status value in kB.
proc_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
HZ=$(getconf CLK_TCK)

LOAD_START=$(machine_load)
log "build dir $BUILD_DIR, temp dir $T; rounds=$ROUNDS rate=$RATE/s n=$N conns=$CONNS pairs=$PAIRS window=${WINDOW}s"
log "$(haproxy -v | head -n 1)"
start_redis

########################################################################
# (1) failover: postlb against HAProxy, one kill seen by both
########################################################################

for s in R0 R1 R2 R3 HP SMTPA SMTPB; do pick_port "$s"; done
start_sink relayhost "$R0"
start_sink r1 "$R1"
start_sink r2 "$R2"
start_sink r3 "$R3"

CONF1=$T/postlb-failover.conf
# checks at their defaults, turned on per member: without a health group
# there is no slow start (health.slowstart = "0s" is refused)
cat >"$CONF1" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "p1:"; };
policyd = { listen = ["unix:$RUN/policy1.sock"]; user = "postfix"; socket_mode = "0666"; };
quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 100000000; window = "1h"; } );
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix"; socket_mode = "0666"; };
members = {
  r1 = { nexthop = "[127.0.0.1]:$R1"; check = true; };
  r2 = { nexthop = "[127.0.0.1]:$R2"; check = true; };
  r3 = { nexthop = "[127.0.0.1]:$R3"; check = true; };
};
pools = { relays = { members = ["r1", "r2", "r3"]; algorithm = "round_robin"; }; };
routing = { default_pool = "relays"; takeover = { nexthops = ["[127.0.0.1]:$R0"]; }; };
EOF
start_policyd failover "$CONF1"
ML=$T/milter-ts.log
# the milter's log lines get a time stamp (ms) as they are written
"$MILTER" -f -c "$CONF1" 2> >(while IFS= read -r l; do
	t=${EPOCHREALTIME/[.,]/}
	printf '%s %s\n' "$((t / 1000))" "$l"
done >>"$ML") &
E2E_EXTRA_PIDS+=($!)
wait_for 10 test -S "$RUN/milter.sock" || die "postlb-milter did not start"

HP_SOCK=$T/haproxy.sock
HPLOG=$T/haproxy-ts.log
cat >"$T/haproxy.cfg" <<EOF
global
  stats socket $HP_SOCK mode 600 level admin
  maxconn 2000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend smtp
  bind 127.0.0.1:$HP
  default_backend relays
backend relays
  balance roundrobin
  option smtpchk
  server r1 127.0.0.1:$R1 check
  server r2 127.0.0.1:$R2 check
  server r3 127.0.0.1:$R3 check
EOF
haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy-check.out" 2>&1 ||
	{ cat "$T/haproxy-check.out" >&2; die "haproxy rejects its config"; }
haproxy -db -f "$T/haproxy.cfg" 2> >(while IFS= read -r l; do
	t=${EPOCHREALTIME/[.,]/}
	printf '%s %s\n' "$((t / 1000))" "$l"
done >>"$HPLOG") &
HP_PID=$!
E2E_EXTRA_PIDS+=("$HP_PID")
wait_for 10 _port_listening "$HP" || die "haproxy did not start"
log "haproxy pid $HP_PID on 127.0.0.1:$HP"

# Postfix A: postlb's; Postfix B: relayhost = the HAProxy frontend.  Both
# ask the same policyd (same per-message work).
start_postfix pa "$SMTPA" "$RUN/policy1.sock" "$R0"
DA=${POSTFIX_DIR[pa]}
for part in route strip; do
	"$CTL" -c "$CONF1" postfix-config "$part" "$T" >"$T/postlb_$part.regexp" ||
		die "postlbctl postfix-config $part"
done
"$CTL" -c "$CONF1" postfix-config master "$T" >>"$DA/master.cf" || die "postfix-config master"
"$CTL" -c "$CONF1" postfix-config main "$T" >>"$DA/main.cf" || die "postfix-config main"
timeout 30 postfix -c "$DA" reload >/dev/null 2>&1 || die "postfix reload failed"
start_postfix pb "$SMTPB" "$RUN/policy1.sock" "$HP"
DB=${POSTFIX_DIR[pb]}

# hp_stat SERVER FIELD...: the named columns of HAProxy's "show stat" row
# of backend relays / SERVER, space separated.
hp_stat() {
	local srv=$1
	shift
	echo "show stat" | timeout 2 socat -t 2 - "UNIX-CONNECT:$HP_SOCK" 2>/dev/null |
		awk -F, -v srv="$srv" -v want="$*" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == "relays" && $2 == srv {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) printf "%s%s", $(col[w[i]]), i < n ? " " : "\n"
		}'
}
pl_hc() { rcli HGET "p1:m:$1" hc; }
_pl_up() { [ "$(pl_hc "$1")" != down ]; }
_hp_up() { [ "$(hp_stat "$1" status)" = UP ]; }
_all_up() { _pl_up "$1" && _hp_up "$1"; }

# pace_load PORT TAG: RATE msg/s to 127.0.0.1:PORT, a batch every 200 ms,
# until $T/stop-load exists (at most 30 minutes).
pace_load() {
	local port=$1 tag=$2 per=$(((RATE + 4) / 5)) next i
	next=$(now_ms)
	for ((i = 0; i < 9000; i++)); do
		[ -e "$T/stop-load" ] && return 0
		timeout 10 smtp-source -m "$per" -s 2 -l 300 -f "a@$tag.example" \
			-t u@dest.example "127.0.0.1:$port" >>"$T/source-$tag.out" 2>&1
		next=$((next + 200))
		sleep_until "$next"
	done
}
LOAD_CMD="every 200 ms: smtp-source -m $(((RATE + 4) / 5)) -s 2 -l 300 -f a@TAG.example -t u@dest.example 127.0.0.1:PORT"

wait_for 20 _all_up r1 && wait_for 20 _all_up r2 && wait_for 20 _all_up r3 ||
	die "the members are not all up in postlb and HAProxy"
rm -f "$T/stop-load"
pace_load "$SMTPA" pa &
LOADA=$!
E2E_EXTRA_PIDS+=("$LOADA")
pace_load "$SMTPB" pb &
LOADB=$!
E2E_EXTRA_PIDS+=("$LOADB")
sleep 3
[ "$(count_re 'member=r2' "$ML")" -gt 0 ] || die "no mail routed to r2 by postlb"

PL_DOWN=() PL_OWN=() PL_AFTER_KILL=() PL_AFTER_DOWN=() PL_AFTER_RES=() PL_DEF=()
HP_DOWN=() HP_OWN=() HP_STOT=() HP_ECON=() HP_RETR=() HP_REDIS=() HP_DEF=()
ROUND_LINES=()
deferred() { count_re 'status=deferred' "$1/maillog"; }

for ((round = 1; round <= ROUNDS; round++)); do
	wait_for 30 _all_up r2 || die "round $round: r2 is not up in both"
	# in round 1 both see r2 up already; later, give HAProxy's roundrobin
	# and postlb's rotation a second with r2 in them
	sleep 1
	sleep_until $(($(now_ms) + 1000 + RANDOM % 3001))
	read -r stot0 econ0 wretr0 wredis0 <<<"$(hp_stat r2 stot econ wretr wredis)"
	defa0=$(deferred "$DA")
	defb0=$(deferred "$DB")
	t_kill=$(now_ms)
	kill -KILL "${SINK_PID[r2]}"
	wait "${SINK_PID[r2]}" 2>/dev/null
	unset "SINK_PID[r2]"
	# one loop polls both, every 50 ms, at most 30 s
	t_pl='' t_hp=''
	for ((i = 0; i < 600; i++)); do
		[ -z "$t_pl" ] && [ "$(pl_hc r2)" = down ] && t_pl=$(now_ms)
		[ -z "$t_hp" ] && [ "$(hp_stat r2 status)" = DOWN ] && t_hp=$(now_ms)
		[ -n "$t_pl" ] && [ -n "$t_hp" ] && break
		sleep 0.05
	done
	[ -n "$t_pl" ] && [ -n "$t_hp" ] || die "round $round: r2 not marked down by both within 30 s"
	# what is sent to r2 after the mark-down shows within reserve_time
	# (200 ms) and routing.refresh (1 s): look 2 s past the later one
	sleep_until $(( (t_pl > t_hp ? t_pl : t_hp) + 2000 ))
	read -r stot1 econ1 wretr1 wredis1 <<<"$(hp_stat r2 stot econ wretr wredis)"
	since=$(rcli HGET p1:m:r2 hc_since)
	hp_own=$(awk -v t="$t_kill" '$1 >= t && /Server relays\/r2 is DOWN/ { print $1; exit }' "$HPLOG")
	PL_DOWN+=($((t_pl - t_kill)))
	HP_DOWN+=($((t_hp - t_kill)))
	PL_OWN+=($((since - t_kill)))
	HP_OWN+=($((${hp_own:-$t_hp} - t_kill)))
	PL_AFTER_KILL+=("$(awk -v t="$t_kill" '$1 > t && /member=r2 /' "$ML" | wc -l)")
	PL_AFTER_DOWN+=("$(awk -v t="$since" '$1 > t && /member=r2 /' "$ML" | wc -l)")
	PL_AFTER_RES+=("$(awk -v t="$((since + 200))" '$1 > t && /member=r2 /' "$ML" | wc -l)")
	HP_STOT+=($((stot1 - stot0)))
	HP_ECON+=($((econ1 - econ0)))
	HP_RETR+=($((wretr1 - wretr0)))
	HP_REDIS+=($((wredis1 - wredis0)))
	PL_DEF+=($(($(deferred "$DA") - defa0)))
	HP_DEF+=($(($(deferred "$DB") - defb0)))
	line=$(printf 'round %d: postlb down after %d ms (hc_since %d), %d sent to r2 after the kill, %d after the mark-down (%d after +200 ms), %d deferred; haproxy DOWN after %d ms (own log %d), %d sessions / %d connect errors / %d retries / %d redispatches on r2 after the kill, %d deferred' \
		"$round" "${PL_DOWN[-1]}" "${PL_OWN[-1]}" "${PL_AFTER_KILL[-1]}" "${PL_AFTER_DOWN[-1]}" \
		"${PL_AFTER_RES[-1]}" "${PL_DEF[-1]}" "${HP_DOWN[-1]}" "${HP_OWN[-1]}" \
		"${HP_STOT[-1]}" "${HP_ECON[-1]}" "${HP_RETR[-1]}" "${HP_REDIS[-1]}" "${HP_DEF[-1]}")
	ROUND_LINES+=("$line")
	log "$line"
	start_sink r2 "$R2"
	if [ "$round" -eq 1 ]; then
		wait_for 30 _pl_up r2 || die "postlb did not take r2 back"
		T_BACK1=$(rcli HGET p1:m:r2 hc_since)
	fi
done
wait_for 30 _all_up r2 || log "r2 did not come back in both after the last round"
touch "$T/stop-load"
wait_for 15 _pid_gone "$LOADA"
wait_for 15 _pid_gone "$LOADB"
# let the queues drain what they can (at most 20 s)
_drained() {
	[ "$(queue_count "$DA")" -le "$1" ] && [ "$(queue_count "$DB")" -le "$1" ]
}
queue_count() {
	timeout 10 postqueue -c "$1" -p 2>/dev/null |
		awk '/^-- .* in [0-9]+ Request/ { n = $5 } END { print n + 0 }'
}
wait_for 20 _drained 0
QUEUE_A=$(queue_count "$DA") QUEUE_B=$(queue_count "$DB")
SENT_A=$(count_re 'status=sent' "$DA/maillog")
SENT_B=$(count_re 'status=sent' "$DB/maillog")
ROUTED_A=$(count_re 'member=r[123] ' "$ML")
SUSP_A=$(count_re 'status=deferred \(delivery temporarily suspended' "$DA/maillog")
SUSP_B=$(count_re 'status=deferred \(delivery temporarily suspended' "$DB/maillog")
# the messages postlb routed to r2 once it was back up after round 1:
# how many Postfix delivered, how many it deferred
awk -v t="$T_BACK1" '$1 > t && /member=r2 / { q = $4; sub(/:$/, "", q); print q }' "$ML" |
	sort -u >"$T/back-qids"
BACK_N=$(wc -l <"$T/back-qids")
BACK_SENT=$(grep -F -f "$T/back-qids" "$DA/maillog" | grep -c 'status=sent') || true
BACK_SUSP=$(grep -F -f "$T/back-qids" "$DA/maillog" | grep 'status=deferred' |
	grep -c 'delivery temporarily suspended') || true
log "postfix A sent $SENT_A (postlb routed $ROUTED_A), $QUEUE_A left in its queue; postfix B sent $SENT_B, $QUEUE_B left"
log "routed to r2 after it came back (round 1): $BACK_N, delivered $BACK_SENT, deferred as 'delivery temporarily suspended' $BACK_SUSP"
stop_postfix pa
stop_postfix pb
stop_pid "$HP_PID" 5
stop_policyd failover
for s in relayhost r1 r2 r3; do stop_sink "$s"; done

########################################################################
# (2) p99 of policy answers while 10 relays time out, and with no checks
########################################################################

STALL_PORTS=()
for ((i = 0; i < 10; i++)); do pick_port sport; STALL_PORTS+=("$sport"); done
# accepts on 10 ports and never says a word; counts connections
# (bounded: 20 minutes)
timeout 1200 python3 -c '
import os, selectors, socket, sys, time
sel = selectors.DefaultSelector()
for p in sys.argv[2:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(p))); s.listen(256); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
n = 0
end = time.time() + 1190
while time.time() < end:
    for key, _ in sel.select(1):
        if key.data == "listen":
            c, _ = key.fileobj.accept(); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "conn"); n += 1
            with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d\n" % n)
            os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        else:
            try: d = key.fileobj.recv(4096)
            except OSError: d = b""
            if not d: sel.unregister(key.fileobj); key.fileobj.close()
' "$T/stall.count" "${STALL_PORTS[@]}" &
STALL_PID=$!
E2E_EXTRA_PIDS+=("$STALL_PID")
for p in "${STALL_PORTS[@]}"; do
	wait_for 10 _port_listening "$p" || die "the stalling server did not start"
done

# conf2 FILE PREFIX SOCK HEALTH: policyd with 10 members on the stalling
# ports and one sender quota (every answer runs the quota script).
conf2() {
	local i
	{
		echo "redis = { address = \"unix:$REDIS_SOCK\"; prefix = \"$2\"; };"
		echo "policyd = { listen = [\"unix:$3\"]; user = \"postfix\"; socket_mode = \"0666\"; };"
		echo 'quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000000; window = "1h"; } );'
		echo "$4"
		echo "members = {"
		for ((i = 0; i < 10; i++)); do
			echo "  s$i = { nexthop = \"[127.0.0.1]:${STALL_PORTS[$i]}\"; };"
		done
		echo "};"
		echo 'pools = { stall = { members = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]; }; };'
		echo 'routing = { default_pool = "stall"; };'
	} >"$1"
}
conf2 "$T/postlb-stall-on.conf" p2on: "$RUN/policy-on.sock" 'health = { check = true; };'
conf2 "$T/postlb-stall-off.conf" p2off: "$RUN/policy-off.sock" ''
start_policyd on "$T/postlb-stall-on.conf"
start_policyd off "$T/postlb-stall-off.conf"
_all10_down() {
	local i
	for ((i = 0; i < 10; i++)); do
		[ "$(rcli HGET "p2on:m:s$i" hc)" = down ] || return 1
	done
}
wait_for 20 _all10_down || die "the 10 stalling members did not go down"
log "the 10 stalling members are down: $(rcli HGET p2on:m:s0 hc_why)"
LOAD_ATTRS="protocol_state=END-OF-MESSAGE sender=u%d@example.com size=1000 recipient_count=1"
POL_CMD="polclient -s unix:SOCK -L -c $CONNS -n $N -k 100000 $LOAD_ATTRS"
# run_pol SOCK [N]: one load run; prints "p99_us rate p50_us".
run_pol() {
	# shellcheck disable=SC2086
	timeout 300 "$POLCLIENT" -s "unix:$1" -L -c "$CONNS" -n "${2:-$N}" -k 100000 $LOAD_ATTRS \
		>"$T/pol.out" 2>&1 || { cat "$T/pol.out" >&2; die "polclient failed"; }
	tail -n 1 "$T/pol.out" | tr ' ' '\n' | awk -F= '{ v[$1] = $2 }
		END { if (v["p99_us"] == "" || v["other"] != 0) exit 1
		      printf "%s %s %s\n", v["p99_us"], v["rate"], v["p50_us"] }' ||
		die "polclient: bad result: $(tail -n 1 "$T/pol.out")"
}
run_pol "$RUN/policy-on.sock" $(((N + 3) / 4)) >/dev/null  # warm-up
run_pol "$RUN/policy-off.sock" $(((N + 3) / 4)) >/dev/null
P99_ON=() P99_OFF=() RATE_ON=() RATE_OFF=() RATIO2=() STALLED=()
for ((pr = 1; pr <= PAIRS; pr++)); do
	if ((pr % 2)); then order="on off"; else order="off on"; fi
	for w in $order; do
		c0=$(cat "$T/stall.count" 2>/dev/null || echo 0)
		t0=$(now_ms)
		read -r p99 rate _ <<<"$(run_pol "$RUN/policy-$w.sock")"
		t1=$(now_ms)
		c1=$(cat "$T/stall.count" 2>/dev/null || echo 0)
		if [ "$w" = on ]; then
			P99_ON+=("$p99") RATE_ON+=("$rate")
			STALLED+=("$((c1 - c0)) in $((t1 - t0)) ms")
		else
			P99_OFF+=("$p99") RATE_OFF+=("$rate")
		fi
		log "latency pair $pr, checks $w: p99 ${p99} us, $rate answers/s, stalled checks started: $((c1 - c0)) in $((t1 - t0)) ms"
	done
	RATIO2+=("$(calc %.3f "${P99_ON[-1]} / ${P99_OFF[-1]}")")
done
ST_ON=$(policyd_stats on)
ST_OFF=$(policyd_stats off)
stop_policyd on
stop_policyd off
stop_pid "$STALL_PID" 5

########################################################################
# (3) RSS and CPU with 100 members checked every 2 s, and with none
########################################################################

NM=100
M3=()
for ((i = 1; i <= NM; i++)); do
	pick_port sport
	start_sink "m$i" "$sport" >/dev/null
	M3+=("$sport")
done
log "$NM smtp-sinks started"
# conf3 FILE PREFIX SOCK HEALTH
conf3() {
	local i list=
	{
		echo "redis = { address = \"unix:$REDIS_SOCK\"; prefix = \"$2\"; };"
		echo "policyd = { listen = [\"unix:$3\"]; user = \"postfix\"; socket_mode = \"0666\"; };"
		echo 'quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000000; window = "1h"; } );'
		echo "$4"
		echo "members = {"
		for ((i = 1; i <= NM; i++)); do
			echo "  m$i = { nexthop = \"[127.0.0.1]:${M3[$((i - 1))]}\"; };"
			list="$list${list:+, }\"m$i\""
		done
		echo "};"
		echo "pools = { all = { members = [$list]; }; };"
		echo 'routing = { default_pool = "all"; };'
	} >"$1"
}
conf3 "$T/postlb-nm-on.conf" p3on: "$RUN/policynm-on.sock" 'health = { check = { interval = "2s"; }; };'
conf3 "$T/postlb-nm-off.conf" p3off: "$RUN/policynm-off.sock" ''
start_policyd onnm "$T/postlb-nm-on.conf"
start_policyd offnm "$T/postlb-nm-off.conf"
PON=${POLICYD_PID[onnm]} POFF=${POLICYD_PID[offnm]}
_all_nm_checked() {
	local i
	for ((i = 1; i <= NM; i++)); do
		[[ $(rcli HGET "p3on:m:m$i" hc_last) == ok* ]] || return 1
	done
}
wait_for 20 _all_nm_checked || die "not all $NM members were checked ok within 20 s"
sleep 4
rss_on0=$(proc_kb "$PON" VmRSS) rss_off0=$(proc_kb "$POFF" VmRSS)
tk_on0=$(cpu_ticks "$PON") tk_off0=$(cpu_ticks "$POFF") tk_r0=$(cpu_ticks "$REDIS_PID")
ns_on0=$(run_ns "$PON") ns_off0=$(run_ns "$POFF") ns_r0=$(run_ns "$REDIS_PID")
t0=$(now_ms)
sleep "$WINDOW"
tk_on1=$(cpu_ticks "$PON") tk_off1=$(cpu_ticks "$POFF") tk_r1=$(cpu_ticks "$REDIS_PID")
ns_on1=$(run_ns "$PON") ns_off1=$(run_ns "$POFF") ns_r1=$(run_ns "$REDIS_PID")
t1=$(now_ms)
RSS_ON=$(proc_kb "$PON" VmRSS) HWM_ON=$(proc_kb "$PON" VmHWM) THR_ON=$(proc_kb "$PON" Threads)
RSS_OFF=$(proc_kb "$POFF" VmRSS) HWM_OFF=$(proc_kb "$POFF" VmHWM) THR_OFF=$(proc_kb "$POFF" Threads)
WIN_S=$(calc %.2f "($t1 - $t0) / 1000")
# checks really made: the "report" calls of check.lua over 6 s of MONITOR
# (line buffered): the median time between two checks of a member
timeout 6 stdbuf -oL redis-cli -s "$REDIS_SOCK" monitor >"$T/monitor.out" 2>/dev/null
# shellcheck disable=SC2046
CHECK_GAP=$(median $(grep '"p3on:hl:.*"report"' "$T/monitor.out" |
	awk '{ if ($7 in last) printf "%d\n", ($1 - last[$7]) * 1000; last[$7] = $1 }'))
CHECKS_PER_S=$(calc %.1f "$NM * 1000 / $CHECK_GAP" 2>/dev/null || echo '?')
# the checks' spread: in which 100 ms slots of the 2 s cycle they start
CHECK_SLOTS=$(grep '"p3on:hl:.*"report"' "$T/monitor.out" |
	awk '{ printf "%d\n", ($1 * 10) % 20 }' | sort -u | wc -l)
OKNM=0 LATNM=()
for ((i = 1; i <= NM; i++)); do
	last=$(rcli HGET "p3on:m:m$i" hc_last)
	if [[ $last =~ ^ok\ ([0-9]+)ms ]]; then
		OKNM=$((OKNM + 1))
		LATNM+=("${BASH_REMATCH[1]}")
	fi
done
CPU_ON_MS=$(calc %.0f "($tk_on1 - $tk_on0) * 1000 / $HZ")
CPU_OFF_MS=$(calc %.0f "($tk_off1 - $tk_off0) * 1000 / $HZ")
CPU_R_MS=$(calc %.0f "($tk_r1 - $tk_r0) * 1000 / $HZ")
NS_ON=$((ns_on1 - ns_on0)) NS_OFF=$((ns_off1 - ns_off0)) NS_R=$((ns_r1 - ns_r0))
stop_policyd onnm
stop_policyd offnm
for ((i = 1; i <= NM; i++)); do stop_sink "m$i"; done
LOAD_END=$(machine_load)

########################################################################
# summary
########################################################################

MPD=$(median "${PL_DOWN[@]}") WPD=$(worst "${PL_DOWN[@]}")
MHD=$(median "${HP_DOWN[@]}") WHD=$(worst "${HP_DOWN[@]}")
MPO=$(median "${PL_OWN[@]}") WPO=$(worst "${PL_OWN[@]}")
MHO=$(median "${HP_OWN[@]}") WHO=$(worst "${HP_OWN[@]}")
MPK=$(median "${PL_AFTER_KILL[@]}") WPK=$(worst "${PL_AFTER_KILL[@]}")
MPA=$(median "${PL_AFTER_DOWN[@]}") WPA=$(worst "${PL_AFTER_DOWN[@]}")
MPR=$(median "${PL_AFTER_RES[@]}") WPR=$(worst "${PL_AFTER_RES[@]}")
MHS=$(median "${HP_STOT[@]}") WHS=$(worst "${HP_STOT[@]}")
MHE=$(median "${HP_ECON[@]}") WHE=$(worst "${HP_ECON[@]}")
MPF=$(median "${PL_DEF[@]}") WPF=$(worst "${PL_DEF[@]}")
MHF=$(median "${HP_DEF[@]}") WHF=$(worst "${HP_DEF[@]}")
ratio() { if [ "$2" = 0 ] || [ "$2" = 0.0 ]; then echo -; else calc %.2f "$1 / $2"; fi; }
if [ "$WPD" -le 2000 ] && [ "$WPA" -eq 0 ]; then GOAL=PASS; else GOAL=MISS; fi
M99ON=$(median "${P99_ON[@]}") M99OFF=$(median "${P99_OFF[@]}")
{
	echo
	echo "=== health-bench summary ==="
	echo "command: $CMDLINE"
	echo "build:   $BUILD_DIR${SANITIZED:-} ($(cd "$SRC_DIR" && git describe --always --dirty 2>/dev/null || echo '?'))"
	echo "machine: $(nproc) cores, $(uname -r); at the start:"
	echo "$LOAD_START"
	echo "at the end:"
	echo "$LOAD_END"
	echo
	echo "(1) failover, $ROUNDS rounds, sink r2 killed with SIGKILL at a random moment under $RATE msg/s per Postfix"
	echo "    load: $LOAD_CMD"
	echo "    postlb: health.check defaults (interval 1s, fastinter 250ms, timeout 1s, rise 2, fall 2), slowstart off,"
	echo "            routing defaults (refresh 1s, reserve_time 200ms), round_robin"
	echo "    haproxy: $(haproxy -v | head -n 1 | cut -d' ' -f1-3), mode tcp, roundrobin, option smtpchk, check defaults (inter 2s, rise 2, fall 3)"
	for l in "${ROUND_LINES[@]}"; do echo "    $l"; done
	printf '    %-52s %12s %12s %12s\n' "" "postlb" "haproxy" "haproxy/postlb"
	printf '    %-52s %12s %12s %12s\n' "kill -> out of rotation, polled (ms), median" "$MPD" "$MHD" "$(ratio "$MHD" "$MPD")"
	printf '    %-52s %12s %12s %12s\n' "  worst" "$WPD" "$WHD" "$(ratio "$WHD" "$WPD")"
	printf '    %-52s %12s %12s %12s\n' "kill -> out, own record (hc_since / log) (ms), median" "$MPO" "$MHO" "$(ratio "$MHO" "$MPO")"
	printf '    %-52s %12s %12s %12s\n' "  worst" "$WPO" "$WHO" "$(ratio "$WHO" "$WPO")"
	printf '    %-52s %12s %12s %12s\n' "sent to r2 after its death, median (postlb: msgs," "$MPK" "$MHS" "$(ratio "$MHS" "$MPK")"
	printf '    %-52s %12s %12s %12s\n' "  haproxy: sessions), worst" "$WPK" "$WHS" "$(ratio "$WHS" "$WPK")"
	printf '    %-52s %12s %12s\n' "haproxy connect errors on r2 after death, med/worst" "" "$MHE/$WHE"
	printf '    %-52s %12s %12s\n' "haproxy retries / redispatches on r2, med" "" "$(median "${HP_RETR[@]}")/$(median "${HP_REDIS[@]}")"
	printf '    %-52s %12s %12s\n' "postlb msgs to r2 after the mark-down, med/worst" "$MPA/$WPA" ""
	printf '    %-52s %12s %12s\n' "  ... after mark-down + reserve_time, med/worst" "$MPR/$WPR" ""
	printf '    %-52s %12s %12s %12s\n' "deliveries deferred by Postfix (round), median" "$MPF" "$MHF" "$(ratio "$MHF" "$MPF")"
	printf '    %-52s %12s %12s %12s\n' "  worst" "$WPF" "$WHF" "$(ratio "$WHF" "$WPF")"
	echo "    delivered: postlb's Postfix $SENT_A (routed $ROUTED_A, $QUEUE_A left in the queue), HAProxy's Postfix $SENT_B ($QUEUE_B left)"
	echo "    deferred 'delivery temporarily suspended' (Postfix's dead-destination throttle): postlb's Postfix $SUSP_A, HAProxy's $SUSP_B"
	echo "    messages postlb routed to r2 after it came back from round 1's kill: $BACK_N, delivered $BACK_SENT, deferred as suspended $BACK_SUSP"
	echo "    goal (postlb): <= 2000 ms and 0 messages after the mark-down, every round: $GOAL (worst $WPD ms, worst $WPA after)"
	echo
	echo "(2) policy answers while 10 relay members time out, $PAIRS pairs, interleaved"
	echo "    load: $POL_CMD"
	echo "    checks on (health.check defaults, 10 members whose servers accept and never answer):"
	echo "      p99 us ${P99_ON[*]}, answers/s ${RATE_ON[*]}; stalled checks per run: ${STALLED[*]}"
	echo "    checks off (the same members): p99 us ${P99_OFF[*]}, answers/s ${RATE_OFF[*]}"
	echo "    median p99: on $M99ON us, off $M99OFF us; ratio on/off $(ratio "$M99ON" "$M99OFF"); paired ratios ${RATIO2[*]} (median $(median "${RATIO2[@]}"))"
	echo "    policyd (checks on) counters: ${ST_ON#*stats: }"
	echo "    policyd (checks off) counters: ${ST_OFF#*stats: }"
	echo
	echo "(3) postlb-policyd with $NM members checked every 2 s against $NM smtp-sinks,"
	echo "    against the same policyd with checks off, both idle, over the same ${WIN_S} s"
	echo "    checks seen in Redis (MONITOR): a member every $CHECK_GAP ms (median), $CHECKS_PER_S checks/s (expected $((NM / 2))/s),"
	echo "      reported in $CHECK_SLOTS of the 20 100-ms slots of a 2 s cycle; members whose last check is ok: $OKNM/$NM"
	echo "    last check's duration (hc_last, ms): median $(median "${LATNM[@]}"), worst $(worst "${LATNM[@]}")"
	printf '    %-34s %12s %12s %14s %12s\n' "" "checks on" "checks off" "difference" "per member"
	printf '    %-34s %12s %12s %14s %12s\n' "VmRSS before the window (kB)" "$rss_on0" "$rss_off0" "$((rss_on0 - rss_off0))" "$(calc %.1f "($rss_on0 - $rss_off0) / $NM")"
	printf '    %-34s %12s %12s %14s %12s\n' "VmRSS after (kB)" "$RSS_ON" "$RSS_OFF" "$((RSS_ON - RSS_OFF))" "$(calc %.1f "($RSS_ON - $RSS_OFF) / $NM")"
	printf '    %-34s %12s %12s %14s %12s\n' "VmHWM (kB)" "$HWM_ON" "$HWM_OFF" "$((HWM_ON - HWM_OFF))" "$(calc %.1f "($HWM_ON - $HWM_OFF) / $NM")"
	printf '    %-34s %12s %12s\n' "threads" "$THR_ON" "$THR_OFF"
	printf '    %-34s %12s %12s %14s %12s\n' "CPU utime+stime (ms)" "$CPU_ON_MS" "$CPU_OFF_MS" "$((CPU_ON_MS - CPU_OFF_MS))" "$(calc %.2f "($CPU_ON_MS - $CPU_OFF_MS) / $NM")"
	printf '    %-34s %12s %12s %14s %12s\n' "CPU run time, schedstat (ms)" "$(calc %.1f "$NS_ON / 1e6")" "$(calc %.1f "$NS_OFF / 1e6")" "$(calc %.1f "($NS_ON - $NS_OFF) / 1e6")" "$(calc %.3f "($NS_ON - $NS_OFF) / 1e6 / $NM")"
	printf '    %-34s %12s %12s %14s\n' "  = % of one core" "$(calc %.3f "$NS_ON / 1e7 / ($t1 - $t0) * 1000")" "$(calc %.3f "$NS_OFF / 1e7 / ($t1 - $t0) * 1000")" "$(calc %.3f "($NS_ON - $NS_OFF) / 1e7 / ($t1 - $t0) * 1000")"
	printf '    %-34s %12s\n' "  per check (us)" "$(calc %.0f "($NS_ON - $NS_OFF) / 1e3 / ($WIN_S * $NM / 2)")"
	echo "    Redis CPU over the window (both policyds' prefixes): ${CPU_R_MS} ms utime+stime, $(calc %.1f "$NS_R / 1e6") ms schedstat"
	echo "    linear extrapolation to 100 members: RSS +$(calc %.0f "($RSS_ON - $RSS_OFF) * 100 / $NM") kB, CPU $(calc %.3f "($NS_ON - $NS_OFF) / 1e7 / ($t1 - $t0) * 1000 * 100 / $NM")% of one core"
} | tee "$T/summary.txt"
[ -n "$OUT_FILE" ] && cp "$T/summary.txt" "$OUT_FILE"
exit 0
