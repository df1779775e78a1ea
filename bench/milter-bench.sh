#!/bin/bash
# milter-bench.sh: what postlb costs Postfix, measured against a trivial
# libmilter milter and against Postfix alone.
#
# One private Postfix instance (postfix -c DIR, loopback only,
# in_flow_delay = 0, maillog to a file, no chroot, no DNS) takes load from
# smtp-source (SESSIONS sessions, N messages of SIZE bytes) in four
# configurations:
#   base     Postfix alone, relayhost = one smtp-sink;
#   trivial  + bench/trivial-milter.c (adds one header at end of message,
#            negotiates only that) on a unix socket, same relayhost;
#   routed   the postlb configuration's Postfix (member transports m1..m3
#            bound to 127.0.0.11..13, each with its own smtp-sink as
#            nexthop, milter_header_checks, smtp_header_checks, all from
#            `postlbctl postfix-config`) with trivial-milter adding
#            X-Postlb-Route over m1..m3 in a fixed 5:3:2 cycle: the same
#            Postfix as postlb with a trivial one-header milter;
#   postlb   that Postfix with postlb-milter (weighted pool m1..m3, 5:3:2)
#            and postlb-policyd at END-OF-MESSAGE (one sender quota of
#            messages that never defers; with no recipient quota the README
#            leaves the RCPT check out, -R puts it back), both on a
#            private redis-server (hz 100, unix socket).
# -C milter adds postlb-milter alone (no policy service).
# The target is postlb >= 0.95 x routed (what postlb costs over a trivial
# milter on the same Postfix); postlb/trivial and routed/trivial (what
# routing through member transports costs Postfix itself) are reported.
# The configurations run interleaved (a Latin square: each takes each
# position once per as many rounds as there are configurations), Postfix
# restarted with a fresh maillog for every run.  For each run: accepted
# msg/s (smtp-source wall time), end-to-end msg/s (until all N messages
# are counted at the sinks, then the queue is checked empty), the whole
# machine's CPU per message, peak VmRSS of postlb-milter and
# postlb-policyd (sampled every 100 ms), CPU seconds of the helpers, Redis
# calls and connections per message, and a check that nothing was
# rejected, deferred or skipped by a milter.  The summary gives medians
# and paired per-round ratios against the 0.95 target (PASS/MISS).
#
# Usage: bench/milter-bench.sh [options] [BUILD_DIR]
#   BUILD_DIR  holds postlb-milter, postlb-policyd, postlbctl (default:
#              $BUILD_DIR, else the current directory if it holds
#              postlb-milter, else the source tree of this script)
#   -q         quick: N=2000, 1 round (tries the script out in ~1 minute)
#   -n N       messages per run (default 20000)
#   -r ROUNDS  rounds of the configurations (default 4: each configuration
#              takes each position once)
#   -s SESS    smtp-source sessions (default 20)
#   -l SIZE    message size in bytes (default 2000)
#   -o FILE    also write the summary to FILE
#   -k         keep the temporary directory (logs, maillogs, configs)
#   -R         also ask postlb-policyd at RCPT (as for recipient quotas)
#   -C LIST    more configurations: milter (base, trivial, routed and
#              postlb always run)
# Environment: N, ROUNDS, SESSIONS, SIZE, KEEP=1 do the same.
# Needs root (private Postfix instance), postfix, smtp-sink, smtp-source,
# redis-server, redis-cli, ss, setpriv, cc and libmilter-dev.
#
# Every wait is bounded; an EXIT trap stops everything this script started.
# Its TCP ports come from 27000-31999, below the ephemeral range and mostly
# apart from the ports tests/e2e picks; each is checked free before use.

set -u
set -o pipefail
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"

N=${N:-20000}
ROUNDS=${ROUNDS:-4}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2000}
KEEP=${KEEP:-0}
OUT_FILE=
QUICK=0
R_SET=0
EXTRA_CFGS=
RCPT_CHECK=0

usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while getopts "qn:r:s:l:o:kC:Rh" opt; do
	case $opt in
	q) QUICK=1 ;;
	n) N=$OPTARG ;;
	r) ROUNDS=$OPTARG R_SET=1 ;;
	s) SESSIONS=$OPTARG ;;
	l) SIZE=$OPTARG ;;
	o) OUT_FILE=$OPTARG ;;
	k) KEEP=1 ;;
	C) EXTRA_CFGS=$OPTARG ;;
	R) RCPT_CHECK=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
if [ "$QUICK" = 1 ]; then
	N=2000
	[ "$R_SET" = 1 ] || ROUNDS=1
fi
for v in N ROUNDS SESSIONS SIZE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "milter-bench: bad $v '${!v}'" >&2; exit 2; }
done

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/e2e/postfix-instance.sh
. "$SRC_DIR/tests/e2e/postfix-instance.sh"
if [ $# -eq 1 ]; then
	BUILD_DIR=$1
elif [ -z "${BUILD_DIR:-}" ]; then
	if [ -x ./postlb-milter ]; then BUILD_DIR=$PWD; else BUILD_DIR=$SRC_DIR; fi
fi
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "milter-bench: no build dir" >&2; exit 2; }
MILTER=$BUILD_DIR/postlb-milter
POLICYD=$BUILD_DIR/postlb-policyd
CTL=$BUILD_DIR/postlbctl

# --- small helpers ---

T0=${EPOCHREALTIME/[.,]/}
log() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '[milter-bench %7.1fs] %s\n' "$(((t - T0) / 1000000)).$(((t - T0) / 100000 % 10))" "$*" >&2
}
die() {
	echo "milter-bench: ERROR: $*" >&2
	exit 1
}
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds; 1 on timeout.
wait_for() {
	local deadline=$(($(now_us) + $1 * 1000000))
	shift
	while ! "$@"; do
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
pid_alive() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $s != Z* ]]
}
pid_gone() { ! pid_alive "$1"; }
# stop_pid PID: SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	if ! wait_for 10 pid_gone "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait_for 5 pid_gone "$1"
	fi
	wait "$1" 2>/dev/null
	return 0
}
port_free() { [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
port_listening() { ! port_free "$1"; }
PORT_NEXT=$((27000 + ($$ % 250) * 20))
# pick_port VAR: a free TCP port into VAR.
pick_port() {
	local _pp_i _pp_p
	for ((_pp_i = 0; _pp_i < 1000; _pp_i++)); do
		_pp_p=$PORT_NEXT
		PORT_NEXT=$((PORT_NEXT + 1))
		[ "$PORT_NEXT" -lt 32000 ] || PORT_NEXT=27000
		if port_free "$_pp_p"; then
			printf -v "$1" '%s' "$_pp_p"
			return 0
		fi
	done
	die "no free TCP port"
}
# calc FORMAT EXPR: floating point with awk, e.g. calc %.1f "3 / 2"
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# median V...: the median of numbers (mean of the middle two when even).
median() {
	[ $# -gt 0 ] || { echo "-"; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
		      else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# proc_kb PID FIELD: a /proc/PID/status value in kB (0 when gone), no fork.
proc_kb() {
	local k v _
	[ -r "/proc/$1/status" ] || { echo 0; return; }
	while read -r k v _; do
		if [ "$k" = "$2:" ]; then echo "$v"; return; fi
	done <"/proc/$1/status"
	echo 0
}
# cpu_ticks PID: utime + stime of the whole process (all threads, also
# exited ones) in clock ticks.
cpu_ticks() {
	local line rest a
	[ -r "/proc/$1/stat" ] || { echo 0; return; }
	read -r line <"/proc/$1/stat"
	rest=${line##*) }
	read -r -a a <<<"$rest"
	echo $((a[11] + a[12]))
}
# sys_busy: "busy total" jiffies of all CPUs from /proc/stat.
sys_busy() {
	local u n s i w q sq st _
	read -r _ u n s i w q sq st _ </proc/stat
	echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}
HZ=$(getconf CLK_TCK)

# --- checks ---

[ "$(id -u)" -eq 0 ] || die "needs root (private Postfix instance, smtp-sink -u)"
for t in postfix postconf postqueue smtp-sink smtp-source redis-server redis-cli ss setpriv cc awk timeout; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed"
done
id postfix >/dev/null 2>&1 || die "no 'postfix' user"
[ -r /usr/include/libmilter/mfapi.h ] || die "libmilter-dev is not installed"
for t in "$MILTER" "$POLICYD" "$CTL"; do
	[ -x "$t" ] || die "$t is not built (make postlb-milter postlb-policyd postlbctl)"
done

# --- temporary directory, cleanup ---

T=$(mktemp -d "${TMPDIR:-/tmp}/milter-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$T"
RUN=$T/run
mkdir -p "$RUN" "$T/logs"
chown postfix "$RUN"
PF=$T/pf
PIDS=()
SOURCE_PID=

cleanup() {
	local rc=$? p mpid=
	trap - EXIT INT TERM HUP
	[ -n "$SOURCE_PID" ] && kill -TERM "$SOURCE_PID" 2>/dev/null
	if [ -r "$PF/queue/pid/master.pid" ]; then
		mpid=$(tr -d ' ' <"$PF/queue/pid/master.pid")
		if [ -n "$mpid" ] && pid_alive "$mpid"; then
			timeout 30 postfix -c "$PF" stop >/dev/null 2>&1
			wait_for 20 pid_gone "$mpid" || kill -KILL "$mpid" 2>/dev/null
		fi
	fi
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	if [ "$KEEP" = 1 ]; then
		echo "milter-bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log "build dir $BUILD_DIR, temp dir $T; N=$N sessions=$SESSIONS size=$SIZE rounds=$ROUNDS"

# --- the trivial milter ---

CC_CMD="cc -O2 -Wall -o $T/trivial-milter $SRC_DIR/bench/trivial-milter.c -lmilter -lpthread"
$CC_CMD 2>"$T/cc.out" || { cat "$T/cc.out" >&2; die "cannot build trivial-milter"; }

# --- servers started once: redis, sinks, milters, policyd ---

cat >"$T/redis.conf" <<EOF
port 0
unixsocket $T/redis.sock
unixsocketperm 777
hz 100
save ""
appendonly no
daemonize no
dir $T
logfile $T/logs/redis.log
EOF
redis-server "$T/redis.conf" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
rcli() { timeout 5 redis-cli -s "$T/redis.sock" "$@"; }
redis_ping() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
wait_for 10 redis_ping || die "redis-server did not start"

SINKS=(s0 s1 s2 s3)
declare -A SINK_PORT=()
port=
for s in "${SINKS[@]}"; do
	pick_port port
	SINK_PORT[$s]=$port
	smtp-sink -u postfix -c "127.0.0.1:$port" 256 >"$T/sink-$s.out" 2>"$T/logs/sink-$s.err" &
	PIDS+=($!)
	wait_for 10 port_listening "$port" || die "smtp-sink $s did not start on $port"
done
pick_port SMTP_PORT
log "redis on $T/redis.sock; sinks s0..s3 on ${SINK_PORT[s0]} ${SINK_PORT[s1]} ${SINK_PORT[s2]} ${SINK_PORT[s3]}; smtpd on $SMTP_PORT"

setpriv --reuid=postfix --regid=postfix --clear-groups \
	"$T/trivial-milter" "unix:$RUN/trivial.sock" 2>"$T/logs/trivial-milter.log" &
TRIVIAL_PID=$!
PIDS+=("$TRIVIAL_PID")
wait_for 10 test -S "$RUN/trivial.sock" || die "trivial-milter did not start"
# the "routed" configuration's milter: X-Postlb-Route over m1..m3, 5:3:2
ROUTES=()
for m in 1 2 1 3 1 2 1 2 1 3; do ROUTES+=("m$m [127.0.0.1]:${SINK_PORT[s$m]}"); done
setpriv --reuid=postfix --regid=postfix --clear-groups \
	"$T/trivial-milter" "unix:$RUN/routed.sock" X-Postlb-Route "${ROUTES[@]}" \
	2>"$T/logs/routed-milter.log" &
ROUTED_PID=$!
PIDS+=("$ROUTED_PID")
wait_for 10 test -S "$RUN/routed.sock" || die "trivial-milter (routed) did not start"

CONF=$T/postlb.conf
POLICY_SOCK=$RUN/policy.sock
MILTER_SOCK=$RUN/milter.sock
FROM=bench@sender.example
TO=user@dest.example
cat >"$CONF" <<EOF
redis = { address = "unix:$T/redis.sock"; prefix = "postlb:"; };
policyd = { listen = ["unix:$POLICY_SOCK"]; user = "postfix"; socket_mode = "0666"; };
milter = { listen = "unix:$MILTER_SOCK"; user = "postfix"; socket_mode = "0666"; };
members = {
  m1 = { nexthop = "[127.0.0.1]:${SINK_PORT[s1]}"; address = "127.0.0.11"; helo = "m1.postlb.example"; weight = 5; };
  m2 = { nexthop = "[127.0.0.1]:${SINK_PORT[s2]}"; address = "127.0.0.12"; helo = "m2.postlb.example"; weight = 3; };
  m3 = { nexthop = "[127.0.0.1]:${SINK_PORT[s3]}"; address = "127.0.0.13"; helo = "m3.postlb.example"; weight = 2; };
};
pools = { bulk = { members = ["m1", "m2", "m3"]; algorithm = "weighted"; }; };
routing = { default_pool = "bulk"; takeover = { nexthops = ["[127.0.0.1]:${SINK_PORT[s0]}"]; }; };
quotas = (
  { name = "bench-sender"; subject = "sender"; unit = "messages";
    limit = 1000000000; window = "1d"; }
);
EOF
"$MILTER" -n -c "$CONF" >/dev/null 2>"$T/logs/check.err" || { cat "$T/logs/check.err" >&2; die "postlb-milter -n rejects $CONF"; }

"$MILTER" -f -c "$CONF" 2>"$T/logs/postlb-milter.log" &
MILTER_PID=$!
PIDS+=("$MILTER_PID")
wait_for 10 test -S "$MILTER_SOCK" || { cat "$T/logs/postlb-milter.log" >&2; die "postlb-milter did not start"; }

"$POLICYD" -f -c "$CONF" 2>"$T/logs/postlb-policyd.log" &
POLICYD_PID=$!
PIDS+=("$POLICYD_PID")
policyd_started() { grep -q 'started with' "$T/logs/postlb-policyd.log" && test -S "$POLICY_SOCK"; }
wait_for 10 policyd_started || { cat "$T/logs/postlb-policyd.log" >&2; die "postlb-policyd did not start"; }
log "trivial-milter pid $TRIVIAL_PID, postlb-milter pid $MILTER_PID, postlb-policyd pid $POLICYD_PID, redis pid $REDIS_PID"

# --- the private Postfix instance ---

mkdir -p "$PF/queue" "$PF/data"
"$CTL" -c "$CONF" postfix-config route "$T" >"$T/postlb_route.regexp" || die "postlbctl postfix-config route"
"$CTL" -c "$CONF" postfix-config strip "$T" >"$T/postlb_strip.regexp" || die "postlbctl postfix-config strip"
"$CTL" -c "$CONF" postfix-config main "$T" >"$T/main.postlb" || die "postlbctl postfix-config main"
postfix_main_cf "$PF" bench "${SINK_PORT[s0]}" "$T" >"$T/main.base"
POL="check_policy_service { unix:$POLICY_SOCK, timeout=2s, default_action=DUNNO, try_limit=1 }"
cat >"$T/main.trivial" <<EOF
smtpd_milters = { unix:$RUN/trivial.sock, default_action=accept }
EOF
cp "$T/main.postlb" "$T/main.milter"
sed "s|unix:$MILTER_SOCK|unix:$RUN/routed.sock|" "$T/main.postlb" >"$T/main.routed"
[ "$RCPT_CHECK" = 1 ] &&
	echo "smtpd_recipient_restrictions = $POL, permit_mynetworks, reject_unauth_destination" >>"$T/main.postlb"
echo "smtpd_end_of_data_restrictions = $POL" >>"$T/main.postlb"
: >"$T/main.none"
postfix_master_cf "$SMTP_PORT" >"$PF/master.cf"
"$CTL" -c "$CONF" postfix-config master "$T" >>"$PF/master.cf" || die "postlbctl postfix-config master"
cp "$T/main.base" "$PF/main.cf"
chown postfix "$PF/data"
timeout 60 postfix -c "$PF" check >"$T/logs/check.out" 2>&1 || { cat "$T/logs/check.out" >&2; die "postfix check failed"; }
chown postfix "$PF/data"

# configuration names, their main.cf additions
CFGS=(base trivial routed postlb)
for c in $EXTRA_CFGS; do
	case $c in
	base | trivial | routed | postlb) ;;
	milter) CFGS+=("$c") ;;
	*) die "unknown configuration '$c' (base trivial postlb routed milter)" ;;
	esac
done
declare -A CFG_MAIN=([base]=main.none [trivial]=main.trivial [postlb]=main.postlb
	[routed]=main.routed [milter]=main.milter)
NCFG=${#CFGS[@]}

postfix_start() {
	cat "$T/main.base" "$T/${CFG_MAIN[$1]}" >"$PF/main.cf"
	rm -f "$PF/maillog"
	timeout 60 postfix -c "$PF" start >"$T/logs/start.out" 2>&1 || { cat "$T/logs/start.out" >&2; die "postfix start failed"; }
	wait_for 20 port_listening "$SMTP_PORT" || die "Postfix does not listen on $SMTP_PORT"
}
postfix_stop() {
	local mpid=
	[ -r "$PF/queue/pid/master.pid" ] && mpid=$(tr -d ' ' <"$PF/queue/pid/master.pid")
	timeout 30 postfix -c "$PF" stop >/dev/null 2>&1
	if [ -n "$mpid" ] && ! wait_for 20 pid_gone "$mpid"; then
		kill -KILL "$mpid" 2>/dev/null
	fi
	wait_for 10 port_free "$SMTP_PORT"
}
queue_empty() { timeout 20 postqueue -c "$PF" -p 2>/dev/null | grep -q 'Mail queue is empty'; }

# sink_counts: "s0 s1 s2 s3" message counts (smtp-sink -c running counters).
sink_counts() {
	local out sec s re='mesg=([0-9]+)'
	local -A cnt=()
	out=$(tail -c 80 "$T/sink-s0.out" "$T/sink-s1.out" "$T/sink-s2.out" "$T/sink-s3.out" 2>/dev/null | tr '\r' '\n')
	s=
	while IFS= read -r sec; do
		if [[ $sec =~ ^==\>\ .*/sink-(s[0-9])\.out\ \<==$ ]]; then
			s=${BASH_REMATCH[1]}
		elif [ -n "$s" ] && [[ $sec =~ $re ]]; then
			cnt[$s]=${BASH_REMATCH[1]}
		fi
	done <<<"$out"
	echo "${cnt[s0]:-0} ${cnt[s1]:-0} ${cnt[s2]:-0} ${cnt[s3]:-0}"
}

# redis_stats: "calls connections" since the last CONFIG RESETSTAT
redis_stats() {
	local calls conns
	calls=$(rcli INFO commandstats | awk -F'[=,:]' '/^cmdstat_/ { s += $3 } END { print s + 0 }')
	conns=$(rcli INFO stats | awk -F: '/^total_connections_received:/ { print $2 + 0 }')
	echo "${calls:-0} ${conns:-0}"
}
redis_cmds() {
	rcli INFO commandstats | awk -F'[=,:]' -v n="$1" '/^cmdstat_/ { sub(/^cmdstat_/, "", $1); printf "%s%s=%.2f", sep, $1, $3 / n; sep = " " }'
}

SRC_TIMEOUT=$((60 + N / 50))
SOURCE_CMD="smtp-source -m $N -s $SESSIONS -l $SIZE -f $FROM -t $TO 127.0.0.1:$SMTP_PORT"
declare -A R_ACC=() R_E2E=() R_OK=() R_CPU=()
RUN_LINES=()
BAD_RUNS=0
MILTER_RSS_PEAK=0 POLICYD_RSS_PEAK=0 MILTER_THR_PEAK=0

# run_one CFG ROUND: one measured run; records R_ACC[CFG,ROUND] etc.
run_one() {
	local cfg=$1 r=$2 b0 b1 b2 b3 a0 a1 a2 a3
	local t_src0=0 t_src1=0 t_e2e=0 src_rc=-1 deadline now
	local mrss=0 prss=0 mthr=0 v m_c0 p_c0 r_c0 t_c0 busy0 tot0 busy1 tot1
	local ml rej defr mwarn sent acc e2e ok=1 note="" rstats calls conns
	local delivered=0 last_delivered=-1 last_change local0 local1

	postfix_start "$cfg"
	rcli CONFIG RESETSTAT >/dev/null
	read -r b0 b1 b2 b3 <<<"$(sink_counts)"
	m_c0=$(cpu_ticks "$MILTER_PID")
	p_c0=$(cpu_ticks "$POLICYD_PID")
	r_c0=$(cpu_ticks "$REDIS_PID")
	t_c0=$(($(cpu_ticks "$TRIVIAL_PID") + $(cpu_ticks "$ROUTED_PID")))
	read -r busy0 tot0 <<<"$(sys_busy)"
	local0=$(grep -c 'state=local' "$T/logs/postlb-milter.log")
	rm -f "$T/src.done"
	(
		s=$(now_us)
		timeout "$SRC_TIMEOUT" $SOURCE_CMD >"$T/logs/source-r$r-$cfg.out" 2>&1
		echo "$? $s $(now_us)" >"$T/src.done.tmp"
		mv "$T/src.done.tmp" "$T/src.done"
	) &
	SOURCE_PID=$!
	deadline=$(($(now_us) + (2 * SRC_TIMEOUT + 60) * 1000000))
	last_change=$(now_us)
	while :; do
		now=$(now_us)
		v=$(proc_kb "$MILTER_PID" VmRSS); [ "$v" -gt "$mrss" ] && mrss=$v
		v=$(proc_kb "$MILTER_PID" Threads); [ "$v" -gt "$mthr" ] && mthr=$v
		v=$(proc_kb "$POLICYD_PID" VmRSS); [ "$v" -gt "$prss" ] && prss=$v
		if [ "$t_src1" = 0 ] && [ -e "$T/src.done" ]; then
			read -r src_rc t_src0 t_src1 <"$T/src.done"
			wait "$SOURCE_PID" 2>/dev/null
			SOURCE_PID=
		fi
		if [ "$t_e2e" = 0 ]; then
			read -r a0 a1 a2 a3 <<<"$(sink_counts)"
			delivered=$((a0 + a1 + a2 + a3 - b0 - b1 - b2 - b3))
			[ "$delivered" -ge "$N" ] && t_e2e=$now
			if [ "$delivered" != "$last_delivered" ]; then
				last_delivered=$delivered
				last_change=$now
			fi
		fi
		[ "$t_e2e" != 0 ] && [ "$t_src1" != 0 ] && break
		if [ "$now" -ge "$deadline" ]; then
			note="timeout (delivered $delivered of $N)"
			ok=0
			break
		fi
		# smtp-source has finished and nothing arrived for 60 s: give up
		if [ "$t_src1" != 0 ] && [ $((now - last_change)) -gt 60000000 ]; then
			note="stalled (delivered $delivered of $N)"
			ok=0
			break
		fi
		sleep 0.1
	done
	read -r busy1 tot1 <<<"$(sys_busy)"
	if [ -n "$SOURCE_PID" ]; then
		stop_pid "$SOURCE_PID"
		SOURCE_PID=
	fi
	wait_for 30 queue_empty || { note="$note queue not empty"; ok=0; }
	rstats=$(redis_stats)
	read -r calls conns <<<"$rstats"
	[ "$cfg" = postlb ] && redis_cmds "$N" >"$T/logs/redis-r$r-$cfg.cmds"
	postfix_stop
	local1=$(grep -c 'state=local' "$T/logs/postlb-milter.log")
	ml=$T/logs/maillog-r$r-$cfg
	mv "$PF/maillog" "$ml" 2>/dev/null
	read -r a0 a1 a2 a3 <<<"$(sink_counts)"
	rej=$(grep -cE 'reject:|milter-reject' "$ml")
	defr=$(grep -c 'status=deferred' "$ml")
	# milter or policy service trouble (skipped by default_action)
	mwarn=$(grep -cE 'warning: (milter |connect to Milter |problem talking to server |.*: (read|write|connect) timeout)' "$ml")
	if [ "$cfg" != base ] && [ "$cfg" != trivial ]; then
		sent=$(grep -cE 'postfix-m[123]/smtp\[.*status=sent' "$ml")
	else
		sent=$(grep -cE 'postfix/smtp\[.*status=sent' "$ml")
	fi
	[ "$src_rc" = 0 ] || { note="$note smtp-source rc=$src_rc"; ok=0; }
	[ "$sent" = "$N" ] || { note="$note sent=$sent"; ok=0; }
	[ "$((rej + defr + mwarn))" = 0 ] || { note="$note rejects=$rej deferred=$defr milter/policy warnings=$mwarn"; ok=0; }
	if [ "$t_src1" != 0 ]; then
		acc=$(calc '%.1f' "$N * 1000000 / ($t_src1 - $t_src0)")
	else
		acc=0
	fi
	if [ "$t_e2e" != 0 ] && [ "$t_src0" != 0 ]; then
		e2e=$(calc '%.1f' "$N * 1000000 / ($t_e2e - $t_src0)")
	else
		e2e=0
	fi
	R_ACC[$cfg,$r]=$acc
	R_E2E[$cfg,$r]=$e2e
	# CPU of the whole machine per message, in ms (all cores)
	R_CPU[$cfg,$r]=$(calc '%.3f' "($busy1 - $busy0) * 1000 / $HZ / $N")
	R_OK[$cfg,$r]=$ok
	[ "$ok" = 1 ] || BAD_RUNS=$((BAD_RUNS + 1))
	local line
	line=$(printf '%-3s %-8s %8s %8s  cpu%% %3s %s ms/msg  sinks %s  cpu %s/%s/%s/%s s  redis %s cmds %s conns  local %s  milter-rss %s kB (%s thr)  policyd-rss %s kB  %s' \
		"r$r" "$cfg" "$acc" "$e2e" \
		"$(calc '%.0f' "100 * ($busy1 - $busy0) / ($tot1 - $tot0 + 1)")" "${R_CPU[$cfg,$r]}" \
		"$((a0 - b0))/$((a1 - b1))/$((a2 - b2))/$((a3 - b3))" \
		"$(calc '%.1f' "($(cpu_ticks "$MILTER_PID") - $m_c0) / $HZ")" \
		"$(calc '%.1f' "($(cpu_ticks "$POLICYD_PID") - $p_c0) / $HZ")" \
		"$(calc '%.1f' "($(cpu_ticks "$REDIS_PID") - $r_c0) / $HZ")" \
		"$(calc '%.1f' "($(cpu_ticks "$TRIVIAL_PID") + $(cpu_ticks "$ROUTED_PID") - $t_c0) / $HZ")" \
		"$calls" "$conns" "$((local1 - local0))" "$mrss" "$mthr" "$prss" \
		"$([ "$ok" = 1 ] && echo ok || echo "FAILED:$note")")
	RUN_LINES+=("$line")
	log "$line"
	if [ "$cfg" = postlb ]; then
		[ "$mrss" -gt "$MILTER_RSS_PEAK" ] && MILTER_RSS_PEAK=$mrss
		[ "$prss" -gt "$POLICYD_RSS_PEAK" ] && POLICYD_RSS_PEAK=$prss
		[ "$mthr" -gt "$MILTER_THR_PEAK" ] && MILTER_THR_PEAK=$mthr
	fi
	return 0
}

# --- the runs: round r starts at configuration (r - 1) mod NCFG ---

for ((r = 1; r <= ROUNDS; r++)); do
	for ((k = 0; k < NCFG; k++)); do
		cfg=${CFGS[$(((r - 1 + k) % NCFG))]}
		log "round $r/$ROUNDS: $cfg, $N messages"
		run_one "$cfg" "$r"
	done
done

# --- summary ---

declare -A MED_ACC=() MED_E2E=()
for cfg in "${CFGS[@]}"; do
	a=() e=()
	for ((r = 1; r <= ROUNDS; r++)); do
		[ "${R_OK[$cfg,$r]}" = 1 ] || continue
		a+=("${R_ACC[$cfg,$r]}")
		e+=("${R_E2E[$cfg,$r]}")
	done
	MED_ACC[$cfg]=$(median "${a[@]}")
	MED_E2E[$cfg]=$(median "${e[@]}")
done
ratio() { # A B: A/B or "-"
	if [[ $1 == - || $2 == - ]]; then echo -; else calc '%.3f' "$1 / $2"; fi
}
verdict() { # RATIO
	if [ "$1" = - ]; then echo "n/a"; elif awk "BEGIN { exit !($1 >= 0.95) }"; then echo PASS; else echo MISS; fi
}
paired_med() { # V...: median with 3 decimals
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
		      else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# paired A B ACC|E2E|CPU: the median over rounds of A/B within each round
# (CPU: B's CPU per message over A's, so that above 1 is better for A too)
paired() {
	local -n _m=R_$3
	local r v=()
	for ((r = 1; r <= ROUNDS; r++)); do
		[ "${R_OK[$1,$r]}" = 1 ] && [ "${R_OK[$2,$r]}" = 1 ] || continue
		if [ "$3" = CPU ]; then
			v+=("$(calc '%.4f' "${_m[$2,$r]} / ${_m[$1,$r]}")")
		else
			v+=("$(calc '%.4f' "${_m[$1,$r]} / ${_m[$2,$r]}")")
		fi
	done
	paired_med "${v[@]}"
}
# the target: postlb against the trivial milter on the same Postfix
RA=$(ratio "${MED_ACC[postlb]}" "${MED_ACC[routed]}")
RE=$(ratio "${MED_E2E[postlb]}" "${MED_E2E[routed]}")
PRA=$(paired postlb routed ACC)
PRE=$(paired postlb routed E2E)
MILTER_HWM=$(proc_kb "$MILTER_PID" VmHWM)
POLICYD_HWM=$(proc_kb "$POLICYD_PID" VmHWM)
stop_pid "$TRIVIAL_PID"
stop_pid "$ROUTED_PID"
TRIVIAL_EOM=$(grep -o 'end of message: [0-9]*' "$T/logs/trivial-milter.log" | awk '{ print $4 }')
ROUTED_EOM=$(grep -o 'end of message: [0-9]*' "$T/logs/routed-milter.log" | awk '{ print $4 }')

{
	echo
	echo "==== milter-bench: $N messages x $SIZE bytes, $SESSIONS sessions, $ROUNDS round(s), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "load command : $SOURCE_CMD"
	echo "trivial build: $CC_CMD"
	echo "postlb       : $MILTER -f -c CONF; $POLICYD -f -c CONF (redis-server hz 100, unix socket); policy check at $([ "$RCPT_CHECK" = 1 ] && echo "RCPT and ")END-OF-MESSAGE"
	echo "postfix      : $(postconf -d -h mail_version), in_flow_delay=0, smtpd_milters default_action=accept"
	echo
	echo "runs (msg/s accepted, end to end; system CPU busy; messages per sink s0/s1/s2/s3;"
	echo "      CPU seconds postlb-milter/postlb-policyd/redis/trivial-milter; Redis commands"
	echo "      (script-run ones included) and connections during the run; messages that"
	echo "      postlb-milter routed without Redis (state=local); sampled peak VmRSS):"
	echo "    cfg       accepted  end2end"
	printf '  %s\n' "${RUN_LINES[@]}"
	echo
	printf '  %-8s %10s %10s %9s %9s\n' "median" "accepted" "end2end" "vs base" "(e2e)"
	for cfg in "${CFGS[@]}"; do
		printf '  %-8s %10s %10s %9s %9s\n' "$cfg" "${MED_ACC[$cfg]}" "${MED_E2E[$cfg]}" \
			"$(ratio "${MED_ACC[$cfg]}" "${MED_ACC[base]}")" "$(ratio "${MED_E2E[$cfg]}" "${MED_E2E[base]}")"
	done
	echo
	echo "  postlb against the trivial milter on the same Postfix (routed):"
	echo "    accepted  : $RA (medians), $PRA (median of per-round ratios)  target >= 0.95: $(verdict "$RA")"
	echo "    end to end: $RE (medians), $PRE (median of per-round ratios)  target >= 0.95: $(verdict "$RE")"
	echo "    CPU per message, routed/postlb: $(paired postlb routed CPU) (median of per-round ratios)"
	echo "  for reference (medians; per-round in brackets), accepted / end to end / CPU:"
	pairs=("postlb trivial" "routed trivial" "postlb base" "trivial base")
	[ -n "${MED_ACC[milter]:-}" ] && pairs+=("milter routed")
	for pair in "${pairs[@]}"; do
		read -r a b <<<"$pair"
		printf '    %-15s %s [%s] / %s [%s] / [%s]\n' "$a/$b" \
			"$(ratio "${MED_ACC[$a]}" "${MED_ACC[$b]}")" "$(paired "$a" "$b" ACC)" \
			"$(ratio "${MED_E2E[$a]}" "${MED_E2E[$b]}")" "$(paired "$a" "$b" E2E)" \
			"$(paired "$a" "$b" CPU)"
	done
	echo "    (routed/trivial is what routing through member transports costs Postfix itself)"
	echo "  postlb-milter  RSS peak during load: $MILTER_RSS_PEAK kB (VmHWM $MILTER_HWM kB), up to $MILTER_THR_PEAK threads"
	echo "  postlb-policyd RSS peak during load: $POLICYD_RSS_PEAK kB (VmHWM $POLICYD_HWM kB)"
	if [ -s "$T/logs/redis-r1-postlb.cmds" ] || ls "$T"/logs/redis-r*-postlb.cmds >/dev/null 2>&1; then
		echo "  Redis commands per message, scripts' own included (postlb, last run):"
		echo "    $(cat "$(ls "$T"/logs/redis-r*-postlb.cmds | tail -n 1)")"
	fi
	[ -n "$TRIVIAL_EOM" ] && echo "  trivial-milter handled $TRIVIAL_EOM messages (expected $((N * ROUNDS)))"
	echo "  trivial-milter (routed) handled $ROUTED_EOM messages (expected $((N * ROUNDS)))"
	if [ "$BAD_RUNS" -gt 0 ]; then
		echo "  WARNING: $BAD_RUNS run(s) failed their checks and are left out of the medians"
	fi
	if [ "$(verdict "$RA")" = PASS ] && [ "$(verdict "$RE")" = PASS ]; then
		echo "RESULT: PASS (postlb >= 0.95 x the trivial milter on the same Postfix)"
	else
		echo "RESULT: MISS (postlb < 0.95 x the trivial milter on the same Postfix, or no valid run)"
	fi
} | tee "$T/summary.txt"
[ -n "$OUT_FILE" ] && cp "$T/summary.txt" "$OUT_FILE"
[ "$BAD_RUNS" -eq 0 ]
