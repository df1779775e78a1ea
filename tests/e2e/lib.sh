# shellcheck shell=bash
#
# lib.sh: shared harness of the end-to-end tests (tests/e2e/*.sh), sourced
# by every test after it is started by run-e2e.  It gives each test a
# private temporary directory, private servers (redis-server on a unix
# socket, postlb-policyd, a private Postfix instance "postfix -c DIR",
# smtp-sink) on free loopback ports, assertion helpers and one EXIT trap
# that stops everything the test started, also when it fails.
#
# It deliberately does not touch the system Postfix, the system Redis or
# anything outside its temporary directory, and every wait is bounded.
# Network: 127.0.0.0/8 only.
#
# Environment: top_builddir and top_srcdir (absolute, exported by make);
# KEEP=1 keeps the temporary directory for inspection.

set -u
set -o pipefail
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=postfix-instance.sh
. "$top_srcdir/tests/e2e/postfix-instance.sh"
POLICYD=$top_builddir/postlb-policyd
POLCLIENT=$top_builddir/tests/tools/polclient
E2E_NAME=$(basename "$0" .sh)

E2E_PASSED=0
E2E_FAILED=0
declare -A POLICYD_PID=() SINK_PID=() SINK_DIR=() POSTFIX_DIR=()
REDIS_PID=
REDIS_SOCK=
REDIS_CONF=
E2E_EXTRA_PIDS=()

# --- output and assertions ---

# log MSG...: prints a progress line with the time since the test began.
E2E_T0=${EPOCHREALTIME/[.,]/}
log() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '[%s %6.2fs] %s\n' "$E2E_NAME" \
		"$(((t - E2E_T0) / 1000000)).$(printf '%02d' $(((t - E2E_T0) / 10000 % 100)))" \
		"$*"
}

# die MSG...: a harness failure (a server that does not start, ...):
# prints MSG and exits 1 at once; the EXIT trap cleans up.
die() {
	echo "[$E2E_NAME] ERROR: $*" >&2
	E2E_FAILED=$((E2E_FAILED + 1))
	exit 1
}

# pass MSG / fail MSG: records one assertion result.  Assertions do not
# exit, so one run reports every broken behaviour; e2e_finish fails the
# test if any assertion failed.
pass() {
	E2E_PASSED=$((E2E_PASSED + 1))
	echo "[$E2E_NAME] ok: $*"
}
fail() {
	E2E_FAILED=$((E2E_FAILED + 1))
	echo "[$E2E_NAME] FAIL: $*" >&2
}

# assert_eq EXPECTED ACTUAL MSG: passes when the strings are equal.
assert_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3 (= $1)"
	else
		fail "$3: expected '$1', got '$2'"
	fi
}

# assert_match REGEX ACTUAL MSG: passes when ACTUAL matches the extended
# regular expression REGEX (bash =~).
assert_match() {
	if [[ $2 =~ $1 ]]; then
		pass "$3"
	else
		fail "$3: '$2' does not match /$1/"
	fi
}

# assert_lt A B MSG / assert_le A B MSG / assert_ge A B MSG: integer
# comparisons; a non-integer operand is a failure.
_assert_cmp() {
	local op=$1 a=$2 b=$3 msg=$4 int='^-?[0-9]+$'
	if [[ $a =~ $int && $b =~ $int ]] && test "$a" "$op" "$b"; then
		pass "$msg ($a $op $b)"
	else
		fail "$msg: expected '$a' $op '$b'"
	fi
}
assert_lt() { _assert_cmp -lt "$@"; }
assert_le() { _assert_cmp -le "$@"; }
assert_ge() { _assert_cmp -ge "$@"; }

# assert_true MSG CMD...: passes when CMD exits 0.
assert_true() {
	local msg=$1
	shift
	if "$@"; then
		pass "$msg"
	else
		fail "$msg: '$*' failed"
	fi
}

# e2e_finish: prints "N passed, M failed" and exits 0 only if nothing
# failed and at least one assertion ran (a test cannot pass vacuously).
e2e_finish() {
	echo "[$E2E_NAME] $E2E_PASSED passed, $E2E_FAILED failed"
	if [ "$E2E_FAILED" -ne 0 ] || [ "$E2E_PASSED" -eq 0 ]; then
		exit 1
	fi
	exit 0
}

# count_re REGEX FILE: prints how many lines of FILE match the extended
# REGEX (0 when none or when FILE does not exist).
count_re() {
	local n
	n=$(grep -cE -- "$1" "$2" 2>/dev/null) || true
	echo "${n:-0}"
}

# count_lines_eq TEXT STRING: prints how many lines of TEXT equal STRING.
count_lines_eq() {
	local n
	n=$(printf '%s\n' "$1" | grep -cxF -- "$2") || true
	echo "${n:-0}"
}

# --- time and waiting ---

# now_ms: wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# sleep_until MS: sleeps until the wall clock (now_ms) reaches MS; returns
# at once when it already has.
sleep_until() {
	local left=$(($1 - $(now_ms)))
	if [ "$left" -gt 0 ]; then
		sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
	fi
}

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds; returns
# 1 if it has not succeeded after SECONDS (bounded, never hangs).
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@"; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# _pid_alive PID: true while PID runs (a zombie counts as gone).
_pid_alive() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $s != Z* ]]
}

# _pid_gone PID: true once PID has exited.
_pid_gone() { ! _pid_alive "$1"; }

# stop_pid PID [SECONDS] [SIGNAL]: sends SIGNAL (default TERM), waits up
# to SECONDS (default 5) for PID to exit, then kills it with SIGKILL.
# Sets STOP_RC to the exit status when PID is a child of this shell.
# Returns 1 if PID needed SIGKILL.
stop_pid() {
	local pid=$1 secs=${2:-5} sig=${3:-TERM} rc=0
	STOP_RC=
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	if ! wait_for "$secs" _pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait_for 5 _pid_gone "$pid"
		rc=1
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	return "$rc"
}

# --- environment ---

# need_root_and_tools [TOOL...]: exits 77 (skip; run-e2e turns it into a
# failure under CI=true or POSTLB_NO_SKIP=1) unless running as root with
# postfix, redis-server, redis-cli, ss and every extra TOOL in PATH.
# Missing build products are a hard error (exit 99).
need_root_and_tools() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		echo "[$E2E_NAME] SKIP: needs root (private Postfix instance)" >&2
		exit 77
	fi
	for t in postfix postconf postqueue redis-server redis-cli ss "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "[$E2E_NAME] SKIP: '$t' is not installed" >&2
			exit 77
		fi
	done
	if ! id postfix >/dev/null 2>&1; then
		echo "[$E2E_NAME] SKIP: no 'postfix' user" >&2
		exit 77
	fi
	for t in "$POLICYD" "$POLCLIENT"; do
		if [ ! -x "$t" ]; then
			echo "[$E2E_NAME] ERROR: $t is not built (run make)" >&2
			exit 99
		fi
	done
}

# need_postfix_reach: for a test that runs the programs as user postfix:
# a hard error (exit 99) unless postfix can reach them, which a checkout
# below a private directory (mktemp -d makes it 0700) forbids.
need_postfix_reach() {
	if ! runuser -u postfix -- test -x "$POLICYD"; then
		echo "[$E2E_NAME] ERROR: user postfix cannot reach $POLICYD:" \
			"a directory above the build is not traversable by others" \
			"(chmod o+x it, or build elsewhere)" >&2
		exit 99
	fi
}

# The private temporary directory of this test: world-traversable (0755),
# because Postfix daemons and policyd run as the postfix user.  Removed on
# exit unless KEEP=1.
T=$(mktemp -d "${TMPDIR:-/tmp}/postlb-e2e.XXXXXX") || {
	echo "cannot create a temporary directory" >&2
	exit 99
}
chmod 755 "$T"
# RUN: where tests put policyd sockets; owned by postfix like a real
# socket directory, so policyd can remove its socket after dropping root.
RUN=$T/run
mkdir -p "$RUN"
chown postfix "$RUN" 2>/dev/null

# E2E_PORT_NEXT: ports are handed out from a base derived from the shell's
# pid, so concurrent runs start far apart; each is checked to be free.
E2E_PORT_NEXT=$((12000 + ($$ % 1400) * 10))

# _port_free PORT: true when nothing listens on TCP PORT.
_port_free() {
	[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# _port_listening PORT: true when something listens on 127.0.0.1:PORT.
_port_listening() { ! _port_free "$1"; }

# pick_port VAR: stores a free TCP port in the variable named VAR (not
# via $(...): the counter must advance in this shell).
pick_port() {
	# names no caller uses: a local named like VAR would hide it
	local _pp_i _pp_port
	for ((_pp_i = 0; _pp_i < 500; _pp_i++)); do
		_pp_port=$E2E_PORT_NEXT
		E2E_PORT_NEXT=$((E2E_PORT_NEXT + 1))
		if [ "$E2E_PORT_NEXT" -ge 30000 ]; then
			E2E_PORT_NEXT=12000
		fi
		if _port_free "$_pp_port"; then
			printf -v "$1" '%s' "$_pp_port"
			return 0
		fi
	done
	die "no free TCP port found"
}

# --- Redis ---

# start_redis [TCP_PORT]: starts a private redis-server listening on the
# unix socket $T/redis.sock (mode 777, so policyd can connect after it
# drops privileges) and, when TCP_PORT is given, on 127.0.0.1:TCP_PORT.
# hz 100 (see DESIGN.md), no persistence.  Sets REDIS_SOCK, REDIS_PID.
start_redis() {
	local port=${1:-0}
	REDIS_SOCK=$T/redis.sock
	REDIS_CONF=$T/redis.conf
	mkdir -p "$T/redis-data"
	cat >"$REDIS_CONF" <<EOF
port $port
bind 127.0.0.1
unixsocket $REDIS_SOCK
unixsocketperm 777
hz 100
save ""
appendonly no
daemonize no
dir $T/redis-data
logfile $T/redis.log
EOF
	_redis_launch
}

# _redis_launch: starts redis-server with $REDIS_CONF, waits for PING.
_redis_launch() {
	redis-server "$REDIS_CONF" &
	REDIS_PID=$!
	wait_for 10 redis_ping || die "redis-server did not start (see $T/redis.log)"
	log "redis-server pid $REDIS_PID on $REDIS_SOCK"
}

# redis_ping: true when the private Redis answers PONG.
redis_ping() {
	[ "$(timeout 2 redis-cli -s "$REDIS_SOCK" ping 2>/dev/null)" = PONG ]
}

# rcli ARGS...: redis-cli on the private Redis (bounded to 5 s).
rcli() {
	timeout 5 redis-cli -s "$REDIS_SOCK" "$@"
}

# stop_redis: stops the private Redis (SIGTERM, bounded).
stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	stop_pid "$REDIS_PID" 5
	REDIS_PID=
}

# kill_redis: kills the private Redis with SIGKILL (a crash: state lost).
kill_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill -KILL "$REDIS_PID"
	wait_for 5 _pid_gone "$REDIS_PID"
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}

# restart_redis: starts Redis again on the same socket and config.
restart_redis() {
	[ -z "$REDIS_PID" ] || die "restart_redis: Redis is still running"
	_redis_launch
}

# redis_quota_used PREFIX QUOTA SUBJECT LIMIT WINDOW_MS: prints how many
# units the GCRA state of (QUOTA, SUBJECT) holds now (0 when absent), the
# same formula as quota_used() in engine/quota.c.
redis_quota_used() {
	local key="$1q:$2:$3" limit=$4 win_us=$(($5 * 1000)) tat now t sec usec
	tat=$(rcli GET "$key") || return 1
	t=$(rcli TIME | tr '\n' ' ') || return 1
	read -r sec usec _ <<<"$t"
	now=$((sec * 1000000 + usec))
	if [ -z "$tat" ] || [ "$tat" -le "$now" ]; then
		echo 0
		return 0
	fi
	# ceil((tat - now) * limit / window)
	echo $((((tat - now) * limit + win_us - 1) / win_us))
}

# --- postlb-policyd ---

# policyd_conf FILE SOCK [FAIL_MODE] [BUDGET] [REDIS_ADDRESS]: writes a
# postlb-policyd config listening on unix:SOCK (mode 0666, user postfix)
# with the given fail mode (open) and budget (50ms), using the private
# Redis (prefix "postlb:").  The quotas and classes settings come from
# stdin, verbatim.
policyd_conf() {
	local file=$1 sock=$2 fm=${3:-open} budget=${4:-50ms}
	local raddr=${5:-unix:$REDIS_SOCK}
	{
		cat <<EOF
redis = { address = "$raddr"; prefix = "postlb:"; };
policyd = {
  listen = ["unix:$sock"];
  user = "postfix";
  socket_mode = "0666";
  budget = "$budget";
  fail_mode = "$fm";
};
EOF
		cat
	} >"$file"
}

# start_policyd NAME CONF: starts "postlb-policyd -f -c CONF" in the
# background, stderr to $T/policyd-NAME.log, and waits until it has bound
# its sockets and logged "started with".  Records POLICYD_PID[NAME].
start_policyd() {
	local name=$1 conf=$2 logf=$T/policyd-$1.log pid n
	# the log may hold an earlier start's lines: wait for a new one
	n=$(count_re 'started with' "$logf" 2>/dev/null || echo 0)
	"$POLICYD" -f -c "$conf" 2>>"$logf" &
	pid=$!
	POLICYD_PID[$name]=$pid
	if ! wait_for 10 _policyd_started "$logf" "$pid" "$((n + 1))"; then
		cat "$logf" >&2
		die "postlb-policyd $name did not start"
	fi
	log "postlb-policyd $name pid $pid ($conf)"
}

# _policyd_started LOG PID [N]: true once LOG holds N (default 1)
# "started with" lines (PID's is the last).
_policyd_started() {
	_pid_alive "$2" || die "postlb-policyd exited during startup"
	[ "$(count_re 'started with' "$1")" -ge "${3:-1}" ]
}

# policyd_log NAME: prints the path of policyd NAME's log.
policyd_log() { echo "$T/policyd-$1.log"; }

# wait_policyd_connected NAME [N] [SECONDS]: waits until policyd NAME has
# logged "redis: connected to" at least N times (default 1).
wait_policyd_connected() {
	local logf=$T/policyd-$1.log n=${2:-1} secs=${3:-10}
	wait_for "$secs" _log_count_ge "$logf" 'redis: connected to' "$n"
}

# _log_count_ge FILE REGEX N: true when FILE has at least N matching lines.
_log_count_ge() { [ "$(count_re "$2" "$1")" -ge "$3" ]; }

# wait_log NAME REGEX N [SECONDS]: waits until policyd NAME's log has at
# least N lines matching REGEX (default timeout 10 s).
wait_log() {
	wait_for "${4:-10}" _log_count_ge "$T/policyd-$1.log" "$2" "$3"
}

# daemon_stats LOG PID SIGNAL: sends SIGNAL to PID (a postlb daemon that
# logs its counters on it), waits for a new "stats:" line in LOG and
# prints it.
daemon_stats() {
	local n
	n=$(count_re 'stats: ' "$1")
	kill "-$3" "$2" || return 1
	wait_for 5 _log_count_ge "$1" 'stats: ' $((n + 1)) || return 1
	grep 'stats: ' "$1" | tail -n 1
}

# policyd_stats NAME: the counters of policyd NAME (SIGUSR1).
policyd_stats() { daemon_stats "$T/policyd-$1.log" "${POLICYD_PID[$1]}" USR1; }

# stat_of LINE KEY: prints the value of KEY=VALUE in a stats line.
stat_of() {
	local re="(^| )$2=([0-9]+)"
	[[ $1 =~ $re ]] && echo "${BASH_REMATCH[2]}"
}

# stop_policyd NAME: SIGTERM, bounded wait.  Sets STOP_RC to its exit
# status; returns 1 if it had to be killed.
stop_policyd() {
	local pid=${POLICYD_PID[$1]:-}
	unset "POLICYD_PID[$1]"
	stop_pid "$pid" 10
}

# --- postlb-milter ---

MILTER=$top_builddir/postlb-milter
CTL=$top_builddir/postlbctl
declare -A MILTER_PID=()

# start_milter NAME CONF SOCK: starts postlb-milter -f -c CONF, stderr to
# $T/milter-NAME.log, and waits for its socket.  Records MILTER_PID[NAME].
start_milter() {
	local name=$1 conf=$2 sock=$3
	"$MILTER" -f -c "$conf" 2>>"$T/milter-$name.log" &
	MILTER_PID[$name]=$!
	E2E_EXTRA_PIDS+=($!)
	wait_for 10 test -S "$sock" || {
		cat "$T/milter-$name.log" >&2
		die "postlb-milter $name did not start"
	}
	log "postlb-milter $name pid ${MILTER_PID[$name]}"
}

# milter_stats NAME: the counters of milter NAME (SIGUSR2).
milter_stats() { daemon_stats "$T/milter-$1.log" "${MILTER_PID[$1]}" USR2; }

# postlb_conf_head [MILTER_SOCK]: prints the settings most routing tests
# share: the private Redis, policyd and the milter on $RUN sockets as user
# postfix, and one generous sender quota (policyd refuses a config
# without quotas).
postlb_conf_head() {
	cat <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix"; socket_mode = "0666"; };
quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; } );
milter = { listen = "unix:${1:-$RUN/milter.sock}"; user = "postfix"; socket_mode = "0666"; };
EOF
}

# wire_postlb NAME PORT CONF RELAY_PORT: starts private Postfix NAME
# (start_postfix) relaying to RELAY_PORT and wires postlb into it exactly
# as "postlbctl -c CONF postfix-config" prints it (route and strip files
# in $T, member transports, the main.cf milter lines), then reloads it.
wire_postlb() {
	local d
	start_postfix "$1" "$2" "$RUN/policy.sock" "$4"
	d=${POSTFIX_DIR[$1]}
	for part in route strip; do
		"$CTL" -c "$3" postfix-config "$part" "$T" >"$T/postlb_$part.regexp"
	done
	"$CTL" -c "$3" postfix-config master "$T" >>"$d/master.cf"
	"$CTL" -c "$3" postfix-config main "$T" "$d" >>"$d/main.cf"
	timeout 30 postfix -c "$d" reload >/dev/null 2>&1 || die "postfix reload failed"
	sleep 1
}

# pol SOCK [-n N] ATTR=VALUE...: one polclient run against unix:SOCK;
# prints one action per line (bounded to 30 s).
pol() {
	local sock=$1
	shift
	timeout 30 "$POLCLIENT" -s "unix:$sock" "$@"
}

# pol_eom SOCK N SENDER [SIZE]: sends N END-OF-MESSAGE requests (one
# recipient, SIZE bytes, default 1000) on one connection, as smtpd does.
pol_eom() {
	pol "$1" -n "$2" protocol_state=END-OF-MESSAGE protocol_name=ESMTP \
		client_address=127.0.0.1 client_name=localhost "sender=$3" \
		recipient=rcpt@dest.example recipient_count=1 "size=${4:-1000}" \
		queue_id=4XyZ1Q2w instance=1a2b.5f3e4d.0
}

# pol_rcpt SOCK N SENDER [SIZE]: sends N RCPT requests (SIZE is the
# MAIL FROM SIZE= value, default 0) on one connection.
pol_rcpt() {
	pol "$1" -n "$2" protocol_state=RCPT protocol_name=ESMTP \
		client_address=127.0.0.1 client_name=localhost "sender=$3" \
		recipient=rcpt@dest.example recipient_count=0 "size=${4:-0}" \
		instance=1a2b.5f3e4d.0
}

# actions_rle TEXT: summarises polclient output, one action per line, as
# run-length tokens: "D" for DUNNO, "Q:NAME" for a 4.7.1 quota deferral
# naming quota NAME, "R:NAME" for a 5.7.1 quota rejection, "F" for the
# fail-closed 4.3.0 answer, "?" for anything else; e.g. "D*10 Q:burst*5".
actions_rle() {
	local line tok prev='' n=0 out=''
	local re_q='^DEFER_IF_PERMIT 4\.7\.1 Sending quota exceeded: .*\(quota ([^)]+)\); try again in [0-9]+ s$'
	local re_r='^REJECT 5\.7\.1 Sending quota exceeded: .*\(quota ([^)]+)\)'
	while IFS= read -r line; do
		if [ "$line" = DUNNO ]; then
			tok=D
		elif [[ $line =~ $re_q ]]; then
			tok=Q:${BASH_REMATCH[1]}
		elif [[ $line =~ $re_r ]]; then
			tok=R:${BASH_REMATCH[1]}
		elif [[ $line == "DEFER_IF_PERMIT 4.3.0 "* ]]; then
			tok=F
		else
			tok='?'
		fi
		if [ "$tok" = "$prev" ]; then
			n=$((n + 1))
		else
			[ -n "$prev" ] && out="$out $prev*$n"
			prev=$tok
			n=1
		fi
	done <<<"$1"
	[ -n "$prev" ] && out="$out $prev*$n"
	echo "${out# }"
}

# --- smtp-sink ---

# start_sink NAME PORT: starts smtp-sink on 127.0.0.1:PORT (running as
# postfix) appending every transaction to $T/sink-NAME/dump; waits until
# it listens.  Records SINK_PID[NAME].
start_sink() {
	local name=$1 port=$2 dir=$T/sink-$1
	mkdir -p "$dir"
	chown postfix "$dir"
	smtp-sink -u postfix -D "$dir/dump" "127.0.0.1:$port" 256 \
		>"$dir/stdout" 2>&1 &
	SINK_PID[$name]=$!
	SINK_DIR[$name]=$dir
	wait_for 10 _port_listening "$port" || die "smtp-sink $name did not start"
	log "smtp-sink $name pid ${SINK_PID[$name]} on 127.0.0.1:$port"
}

# sink_messages NAME: prints how many messages sink NAME received (one
# "X-Mail-Args:" line per transaction in the dump).
sink_messages() { count_re '^X-Mail-Args: ' "${SINK_DIR[$1]}/dump"; }

# sink_recipients NAME: prints how many recipients sink NAME accepted
# (one "X-Rcpt-Args:" line per recipient in the dump).
sink_recipients() { count_re '^X-Rcpt-Args: ' "${SINK_DIR[$1]}/dump"; }

# stop_sink NAME: stops smtp-sink NAME.
stop_sink() {
	local pid=${SINK_PID[$1]:-}
	unset "SINK_PID[$1]"
	stop_pid "$pid" 5
}

# --- private Postfix ---

# start_postfix NAME SMTP_PORT POLICY_SOCK RELAY_PORT: creates and starts
# a private Postfix instance in $T/postfix-NAME ("postfix -c DIR"): smtpd
# on 127.0.0.1:SMTP_PORT, everything relayed to [127.0.0.1]:RELAY_PORT,
# maillog in DIR/maillog, no chroot, no DNS, the policy service wired at
# RCPT and END-OF-MESSAGE exactly as a user would.  smtpd_error_sleep_time
# is 0 so that a 4xx answer does not stall the client for a second.  Sets POSTFIX_DIR[NAME].
start_postfix() {
	local name=$1 port=$2 sock=$3 relay=$4 d=$T/postfix-$1 pol
	mkdir -p "$d/queue" "$d/data"
	POSTFIX_DIR[$name]=$d
	pol="check_policy_service { unix:$sock, timeout=2s, default_action=DUNNO, try_limit=1 }"
	{
		postfix_main_cf "$d" "e2e-$name" "$relay" "$T"
		echo "smtpd_recipient_restrictions = $pol, permit_mynetworks, reject_unauth_destination"
		echo "smtpd_end_of_data_restrictions = $pol"
	} >"$d/main.cf"
	postfix_master_cf "$port" >"$d/master.cf"
	chown postfix "$d/data"
	timeout 60 postfix -c "$d" check >"$d/check.out" 2>&1 ||
		{ cat "$d/check.out" >&2; die "postfix -c $d check failed"; }
	chown postfix "$d/data"
	timeout 60 postfix -c "$d" start >"$d/start.out" 2>&1 ||
		{ cat "$d/start.out" >&2; die "postfix -c $d start failed"; }
	wait_for 20 _port_listening "$port" ||
		die "private Postfix $name does not listen on 127.0.0.1:$port"
	log "private Postfix $name in $d on 127.0.0.1:$port"
}

# postfix_maillog NAME: prints the path of Postfix NAME's maillog.
postfix_maillog() { echo "${POSTFIX_DIR[$1]}/maillog"; }

# _queue_empty DIR: true when "postqueue -c DIR -p" shows no mail.
_queue_empty() {
	timeout 10 postqueue -c "$1" -p 2>/dev/null | grep -q 'Mail queue is empty'
}

# wait_queue_empty NAME [SECONDS]: waits (default 60 s) until Postfix
# NAME's queue is empty; returns 1 if it is not.
wait_queue_empty() {
	wait_for "${2:-60}" _queue_empty "${POSTFIX_DIR[$1]}"
}

# stop_postfix NAME: "postfix -c DIR stop", then waits (bounded) for the
# master to exit and kills what is left of the instance.
stop_postfix() {
	local d=${POSTFIX_DIR[$1]:-} pid=
	unset "POSTFIX_DIR[$1]"
	[ -n "$d" ] || return 0
	[ -r "$d/queue/pid/master.pid" ] && pid=$(tr -d ' ' <"$d/queue/pid/master.pid")
	timeout 30 postfix -c "$d" stop >/dev/null 2>&1
	if [ -n "$pid" ] && ! wait_for 20 _pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
}

# --- cleanup ---

# e2e_cleanup: the EXIT trap.  Stops every Postfix instance, sink, policyd,
# extra process and Redis this test started; fails the test on a sanitizer
# report in a daemon's log; on failure prints the end of every log;
# removes $T unless KEEP=1.
e2e_cleanup() {
	local rc=$? n f
	trap - EXIT
	for n in "${!POSTFIX_DIR[@]}"; do stop_postfix "$n"; done
	for n in "${!SINK_PID[@]}"; do stop_sink "$n"; done
	for n in "${E2E_EXTRA_PIDS[@]}"; do stop_pid "$n" 5; done
	for n in "${!POLICYD_PID[@]}"; do stop_policyd "$n"; done
	stop_redis
	# a sanitizer report from a daemon (a sanitizer build writes it to
	# the daemon's log, at the error or, for leaks, at exit) fails the test
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			echo "[$E2E_NAME] FAIL: sanitizer report in $f:"
			grep -E -A 12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | head -n 40
			[ "$rc" -eq 0 ] && rc=1
		fi
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$T"/policyd-*.log "$T"/redis.log "$T"/postfix-*/maillog; do
			[ -f "$f" ] || continue
			echo "----- last lines of $f -----"
			tail -n 40 "$f"
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "[$E2E_NAME] kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP
