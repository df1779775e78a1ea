# redis_sentinel.sh: every postlb client behind Redis Sentinel.
#
# A Redis primary, one replica and three redis-sentinel processes on
# loopback (down-after 1 s), a private Postfix with postlb-policyd (quota
# at END-OF-MESSAGE, fail_mode open, budget 100 ms) and postlb-milter
# (pool of two members), all configured with redis.sentinels and
# redis.master_name (and an ACL user, redis.username; the sentinels
# require a password, redis.sentinel_password), under steady load
# (smtp-source).  A probe sender whose quota (1 per 30 days) is spent
# answers "deferred" while policyd decides from Redis and DUNNO from the
# fail mode, which timestamps the fail-mode window.  Checks:
#  1. replication lag under the load (INFO replication offsets), for the
#     bound on quota units a failover can lose (README "Failover and soft
#     state");
#  2. kill -9 of the primary mid-run: Sentinel promotes the replica;
#     every probe answer comes within the budget (plus slack), no policy
#     timeout in Postfix; fail-mode answers stop within 5 s of the
#     promotion; accepted == delivered, no Message-ID twice, no 5xx;
#     postlbctl reads and writes the new primary; the units charged on
#     the old primary and missing on the new one are counted;
#  0. a wrong sentinel_password: postlbctl and policyd say that the
#     sentinels refused it (AUTH), and policyd answers from its fail mode;
#     with no sentinel reachable it says the connection was refused;
#  3. the primary demoted by hand (REPLICAOF): policyd, the milter and
#     postlbctl leave it (READONLY / ROLE slave) and write nothing to it;
#     promoted again (REPLICAOF NO ONE), all resume on their own.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
need_root_and_tools smtp-sink smtp-source redis-sentinel

CONF=$T/postlb.conf
BUDGET_MS=100

# --- Redis primary, replica, three sentinels (with a password) ---
SENTINEL_PASS=pw-sentinel
start_sentinel_cluster
# postlb authenticates as an ACL user (redis.username); ACLs are not
# replicated, so both servers get it (the sentinels use the default user)
for p in "$P1" "$P2"; do
	[ "$(rp "$p" ACL SETUSER postlb on '>pw-postlb' '~*' '&*' '+@all')" = OK ] ||
		die "ACL SETUSER failed on :$p"
done
wait_for 30 _sentinels_ready || die "the sentinels did not see each other and the replica"
log "primary :$P1, replica :$P2, sentinels :$S1 :$S2 :$S3"

# --- postlb: one config for policyd, the milter and postlbctl ---
for i in 0 1 2; do
	pick_port "SINK$i"
	start_sink "s$i" "$(eval echo "\$SINK$i")"
done
pick_port SMTP_PORT
cat >"$CONF" <<EOF
redis = { sentinels = [ "127.0.0.1:$S1", "127.0.0.1:$S2", "127.0.0.1:$S3" ];
  master_name = "pm"; prefix = "postlb:"; username = "postlb"; password = "pw-postlb";
  sentinel_password = "$SENTINEL_PASS"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix"; socket_mode = "0666";
  budget = "${BUDGET_MS}ms"; fail_mode = "open"; reserve = false; };
classes = { probe = { subject = "sender"; members = [ "probe@probe.example" ]; }; };
quotas = (
  { name = "big"; subject = "sender"; unit = "messages"; limit = 100000; window = "366d"; },
  { name = "probe"; subject = "sender"; unit = "messages"; limit = 1; window = "30d"; class = "probe"; }
);
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix"; socket_mode = "0666"; };
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.12"; };
};
pools = { bulk = { members = ["m1", "m2"]; algorithm = "round_robin"; }; };
routing = { default_pool = "bulk"; refresh = "200ms"; budget = "100ms";
  takeover = { nexthops = ["[127.0.0.1]:$SINK0"]; }; };
EOF
start_policyd pd "$CONF"
wait_policyd_connected pd 1 10 || die "policyd did not find the primary"
assert_match "connected to primary 'pm' at 127\.0\.0\.1:$P1" \
	"$(grep 'redis: connected to' "$(policyd_log pd)" | head -n 1)" \
	"policyd found the primary through the sentinels"
# a wrong sentinel password: refused, and said so
sed -e 's|sentinel_password = "[^"]*"|sentinel_password = "wrong"|' \
	-e "s|$RUN/policy.sock|$RUN/policy-bad.sock|" "$CONF" >"$T/bad.conf"
ctl_out=$("$CTL" -c "$T/bad.conf" members 2>&1)
assert_eq 1 "$?" "postlbctl with a wrong sentinel password fails"
assert_match "sentinel 127\.0\.0\.1:[0-9]+: AUTH: WRONGPASS" "$ctl_out" \
	"... and says the sentinels refused the password"
start_policyd bad "$T/bad.conf"
wait_for 10 _log_count_ge "$(policyd_log bad)" "no sentinel named the primary: sentinel AUTH: WRONGPASS" 1 ||
	fail "policyd with a wrong sentinel password did not say why it has no Redis"
assert_eq DUNNO "$(pol_eom "$RUN/policy-bad.sock" 1 probe@probe.example 2>&1)" \
	"... and answers from its fail mode (open)"
stop_policyd bad
# sentinels that do not answer at all: said so too
pick_port DEAD
sed -e "s|sentinels = \[[^]]*\]|sentinels = [ \"127.0.0.1:$DEAD\" ]|" \
	-e "s|$RUN/policy.sock|$RUN/policy-dead.sock|" "$CONF" >"$T/dead.conf"
start_policyd dead "$T/dead.conf"
wait_for 10 _log_count_ge "$(policyd_log dead)" "no sentinel named the primary: sentinel: Connection refused" 1 ||
	fail "policyd with no sentinel reachable did not say why it has no Redis"
stop_policyd dead
start_milter mt "$CONF" "$RUN/milter.sock"
start_postfix pf "$SMTP_PORT" "$RUN/policy.sock" "$SINK0"
D=${POSTFIX_DIR[pf]}
MAILLOG=$(postfix_maillog pf)
# the quota is charged at END-OF-MESSAGE only: one policy request per message
postconf -c "$D" -e "smtpd_recipient_restrictions = permit_mynetworks, reject"
for part in route strip; do
	"$CTL" -c "$CONF" postfix-config "$part" "$T" >"$T/postlb_$part.regexp"
done
"$CTL" -c "$CONF" postfix-config master "$T" >>"$D/master.cf"
"$CTL" -c "$CONF" postfix-config main "$T" >>"$D/main.cf"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1

# probe: one END-OF-MESSAGE request for the probe sender every 100 ms;
# appends "MS MAX_US TOKEN" to $T/probe.out, MS when the answer was in (a
# probe sent just before the kill may be answered after it), TOKEN Q
# (decided by Redis: over quota) or D (DUNNO: the fail mode).
probe_loop() {
	local a
	while [ ! -e "$T/probe.stop" ]; do
		a=$(probe_once "$RUN/policy.sock")
		echo "$(now_ms) $a" >>"$T/probe.out"
		sleep 0.1
	done
}
# load_loop END_MS: batches of 10 messages (LOAD_SESSIONS sessions) until
# END_MS.
LOAD_SESSIONS=2
load_loop() {
	while [ "$(now_ms)" -lt "$1" ]; do
		timeout 60 smtp-source -m 10 -s "$LOAD_SESSIONS" -l 500 -f load@load.example \
			-t user@dest.example "127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
		echo "rc=$?" >>"$T/source.rc"
	done
}
# info_offset FD FIELD: INFO replication over the open connection FD
# (RESP by hand: no process per sample, so a sample costs a round trip,
# not a redis-cli start); sets OFFSET to FIELD's value.
info_offset() {
	local line body
	printf 'INFO replication\r\n' >&"$1"
	IFS= read -r -t 5 line <&"$1" || return 1
	line=${line%$'\r'}
	IFS= read -r -t 5 -N $((${line#\$} + 2)) body <&"$1" || return 1
	[[ $body =~ $2:([0-9]+) ]] || return 1
	OFFSET=${BASH_REMATCH[1]}
}
# lag: reads the primary's replication offset (fd 7), then polls the
# replica (fd 8) until it has it; sets LAG_US (time to catch up) and
# LAG_BYTES (bytes behind at the first look).
lag() {
	local t0 o
	t0=${EPOCHREALTIME/[.,]/}
	info_offset 7 master_repl_offset || return 1
	o=$OFFSET
	LAG_BYTES=
	while :; do
		info_offset 8 slave_repl_offset || return 1
		[ -n "$LAG_BYTES" ] || LAG_BYTES=$((o > OFFSET ? o - OFFSET : 0))
		[ "$OFFSET" -ge "$o" ] && break
		[ $((${EPOCHREALTIME/[.,]/} - t0)) -lt 5000000 ] || return 1
	done
	LAG_US=$((${EPOCHREALTIME/[.,]/} - t0))
}

spend_probe "$RUN/policy.sock"
probe_loop &
PROBE_PID=$!
E2E_EXTRA_PIDS+=("$PROBE_PID")
LOAD_T0=$(now_ms)
load_loop $((LOAD_T0 + 20000)) &
LOAD_PID=$!
E2E_EXTRA_PIDS+=("$LOAD_PID")

# --- 1. replication lag under the load ---
sleep 1
a0=$(stat_of "$(policyd_stats pd)" allowed)
t_a0=$(now_ms)
lags=()
bytes=()
exec 7<>"/dev/tcp/127.0.0.1/$P1" 8<>"/dev/tcp/127.0.0.1/$P2"
for i in $(seq 1 50); do
	if lag; then
		lags+=("$LAG_US")
		bytes+=("$LAG_BYTES")
	fi
	sleep 0.05
done
exec 7>&- 8>&-
a1=$(stat_of "$(policyd_stats pd)" allowed)
RATE=$(((a1 - a0) * 1000 / ($(now_ms) - t_a0)))
LAG_MAX=$(printf '%s\n' "${lags[@]}" | sort -n | tail -n 1)
LAG_MED=$(printf '%s\n' "${lags[@]}" | sort -n | sed -n "$(((${#lags[@]} + 1) / 2))p")
BYTES_MAX=$(printf '%s\n' "${bytes[@]}" | sort -n | tail -n 1)
log "figure: replication lag under load: median ${LAG_MED} us, max ${LAG_MAX} us" \
	"(${#lags[@]} samples, round trips included), at most ${BYTES_MAX} bytes behind;" \
	"quota decisions ${RATE}/s"
assert_ge "${#lags[@]}" 40 "lag samples taken"
assert_ge "$RATE" 5 "steady load: quota decisions per second"

assert_ge "$(rp "$P1" CLIENT LIST | grep -c ' user=postlb ')" 2 \
	"policyd and the milter authenticated as ACL user postlb"

# --- 2. kill -9 of the primary mid-run ---
log "=== kill -9 of the primary"
T_KILL=$(now_ms)
kill_redis
_promoted() { [ "$(role_of "$P2")" = master ]; }
wait_for 30 _promoted || die "Sentinel did not promote the replica within 30 s"
T_PROMO=$(now_ms)
log "figure: replica promoted $((T_PROMO - T_KILL)) ms after the kill"
wait_policyd_connected pd 2 15 || fail "policyd did not connect to the new primary"
_acl_clients_ge() { [ "$(rp "$1" CLIENT LIST | grep -c ' user=postlb ')" -ge "$2" ]; }
assert_true "policyd and the milter on the new primary, as ACL user postlb too" \
	wait_for 10 _acl_clients_ge "$P2" 2
assert_match "connected to primary 'pm' at 127\.0\.0\.1:$P2" \
	"$(grep 'redis: connected to' "$(policyd_log pd)" | tail -n 1)" \
	"policyd found the new primary through the sentinels"
wait "$LOAD_PID" 2>/dev/null
touch "$T/probe.stop"
wait "$PROBE_PID" 2>/dev/null
log "load done: $(grep -c . "$T/source.rc") batches"

# the fail-mode window, from the probe's answers: DUNNO before the budget
# ran out is the store being down (a DUNNO at the budget is one slow
# call, counted by policyd's timeouts; the machine is shared)
B_US=$((BUDGET_MS * 1000))
first_d=$(awk -v k="$T_KILL" -v b="$B_US" '$1 >= k && $3 == "D" && $2 < b { print $1; exit }' "$T/probe.out")
last_d=$(awk -v k="$T_KILL" -v b="$B_US" '$1 >= k && $3 == "D" && $2 < b { t = $1 } END { print t }' "$T/probe.out")
n_d=$(awk -v k="$T_KILL" -v b="$B_US" '$1 >= k && $3 == "D" && $2 < b' "$T/probe.out" | wc -l)
log "probe answers at the budget (slow calls): $(awk -v b="$B_US" '$3 == "D" && $2 >= b' "$T/probe.out" | wc -l)"
assert_ge "$n_d" 1 "the probe saw fail-mode answers after the kill (the failover was felt)"
assert_eq 0 "$(awk -v k="$T_KILL" -v b="$B_US" '$1 < k && $3 == "D" && $2 < b' "$T/probe.out" | wc -l)" \
	"no store-down answer before the kill"
if [ -n "$last_d" ]; then
	log "figure: fail-mode answers from +$((first_d - T_KILL)) ms to +$((last_d - T_KILL)) ms" \
		"after the kill ($n_d probes), the last $((last_d - T_PROMO)) ms after the promotion"
	assert_le $((last_d - T_PROMO)) 5000 "fail-mode answers stop within 5 s of the promotion (ms)"
fi
assert_ge "$(awk -v p="$T_PROMO" '$1 > p && $3 == "Q"' "$T/probe.out" | wc -l)" 5 \
	"decisions from Redis resumed after the promotion"
assert_eq 0 "$(awk '$3 == "?"' "$T/probe.out" | wc -l)" "every probe got an answer"
PMAX=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/probe.out")
log "figure: slowest probe answer $((PMAX / 1000)) ms (budget $BUDGET_MS ms)"
assert_lt "$PMAX" $(((BUDGET_MS + 400) * 1000)) "every probe answer within the budget plus scheduling slack (us)"
st=$(policyd_stats pd)
log "policyd: $st"
assert_eq 0 "$(count_re 'problem talking to server|policy.*timeout|timeout.*policy' "$MAILLOG")" \
	"Postfix saw no policy timeout or error"

# accepted == delivered, no Message-ID twice, no 5xx
accepted=$(count_re 'postfix/cleanup\[[0-9]+\]: [0-9A-F]+: message-id=' "$MAILLOG")
_all_delivered() {
	[ $(($(sink_messages s0) + $(sink_messages s1) + $(sink_messages s2))) -ge "$accepted" ]
}
wait_for 60 _all_delivered || log "sinks hold fewer messages than accepted"
wait_queue_empty pf 60 || log "the queue is not empty"
accepted=$(count_re 'postfix/cleanup\[[0-9]+\]: [0-9A-F]+: message-id=' "$MAILLOG")
delivered=$(($(sink_messages s0) + $(sink_messages s1) + $(sink_messages s2)))
log "accepted $accepted, delivered $delivered (m1 $(sink_messages s1), m2 $(sink_messages s2), relayhost $(sink_messages s0))"
assert_ge "$accepted" 200 "messages accepted under load"
assert_eq "$accepted" "$delivered" "accepted == delivered"
assert_eq 0 "$(grep -ih '^message-id:' "$T"/sink-s*/dump | sort | uniq -d | wc -l)" \
	"no Message-ID delivered twice"
assert_eq "$delivered" "$(grep -ih '^message-id:' "$T"/sink-s*/dump | wc -l)" \
	"every delivered message has its Message-ID"
assert_eq 0 "$(count_re ' 5[0-9][0-9][ -]' "$T/source.out")" "smtp-source saw no 5xx"
assert_eq 0 "$(count_re 'reject: | status=bounced' "$MAILLOG")" "Postfix rejected or bounced nothing"
assert_eq 0 "$(grep -vc '^rc=0$' "$T/source.rc")" "every smtp-source batch succeeded"
ms=$(milter_stats mt)
log "milter: $ms"
assert_match 'redis=up' "$ms" "the milter routes with shared state again"

# units charged on the old primary and lost with it: policyd's allowed
# decisions (the probe's 1 aside) against the new primary's state
sleep 1 # the load's last messages are charged
st=$(policyd_stats pd)
used=$("$CTL" -c "$CONF" usage big load@load.example 2>&1)
assert_match '^[^ ]' "$used" "postlbctl usage against the new primary"
used_n=$(sed -n '1s/^big sender load@load\.example: \([0-9][0-9]*\) of .*/\1/p' <<<"$used")
allowed=$(stat_of "$st" allowed)
if [ -n "$used_n" ]; then
	# charged but answered DUNNO: a verdict after the budget, and a call
	# the old primary ran and replicated whose reply died with it (one
	# per load session at the most: each waits for its answer)
	late=$(stat_of "$st" timeouts)
	lost=$((allowed - 1 - used_n))
	log "figure: quota units charged $((allowed - 1)) (+ up to $late late and $LOAD_SESSIONS in flight at the kill)," \
		"on the new primary $used_n: $lost lost in the failover (bound: ${RATE}/s x max lag ${LAG_MAX} us + calls in flight)"
	assert_ge "$lost" "-$((late + LOAD_SESSIONS))" "no unit counted twice"
	assert_le "$lost" $((RATE * LAG_MAX / 1000000 + 5)) "units lost within rate x replication lag (+5 in flight)"
else
	fail "postlbctl usage printed no used count: $used"
fi
"$CTL" -c "$CONF" member drain m2 >/dev/null
assert_eq 0 "$?" "postlbctl member drain m2 against the new primary"
assert_match drain "$(rp "$P2" HGETALL postlb:m:m2 | tr '\n' ' ')" "the drain is on the new primary"
"$CTL" -c "$CONF" member ready m2 >/dev/null
assert_eq 0 "$?" "postlbctl member ready m2"

# --- 3. the primary demoted by hand: READONLY, ROLE slave ---
log "=== the new primary demoted by hand"
for s in "$S1" "$S2" "$S3"; do # the sentinels stay out of this part
	rp "$s" SENTINEL SET pm down-after-milliseconds 600000 >/dev/null
done
pd_log=$(policyd_log pd)
n_conn=$(count_re 'redis: connected to' "$pd_log")
mt_l0=$(wc -l <"$T/milter-mt.log")
ro0=$(rp "$P2" INFO errorstats | sed -n 's/^errorstat_READONLY:count=\([0-9]*\).*/\1/p')
assert_eq OK "$(rp "$P2" REPLICAOF 127.0.0.1 1)" "REPLICAOF: the primary is a replica now"
out=$(pol_eom "$RUN/policy.sock" 3 probe@probe.example)
_pd_left() { [ "$(count_re 'READONLY|not the primary' "$pd_log")" -ge 1 ]; }
assert_true "policyd leaves the demoted primary (READONLY or ROLE)" wait_for 5 _pd_left
out=$(pol_eom "$RUN/policy.sock" 3 probe@probe.example)
assert_eq "D*3" "$(actions_rle "$out")" "policyd answers from its fail mode meanwhile"
timeout 60 smtp-source -m 10 -s 2 -l 500 -f ro@load.example -t user@dest.example \
	"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
_mt_left() { tail -n +$((mt_l0 + 1)) "$T/milter-mt.log" | grep -qE 'READONLY|not the primary'; }
assert_true "the milter leaves the demoted primary" wait_for 5 _mt_left
ctl_out=$("$CTL" -c "$CONF" member drain m1 2>&1)
assert_eq 1 "$([ $? -ne 0 ] && echo 1)" "postlbctl refuses to write to a replica"
assert_match 'not the primary' "$ctl_out" "postlbctl says why"
assert_eq "" "$(rp "$P2" HGET postlb:m:m1 state)" "m1's state was not written"
ro1=$(rp "$P2" INFO errorstats | sed -n 's/^errorstat_READONLY:count=\([0-9]*\).*/\1/p')
log "READONLY errors on the demoted primary: $((${ro1:-0} - ${ro0:-0}))"
assert_le $((${ro1:-0} - ${ro0:-0})) 20 "a handful of READONLY replies, not one per message"
assert_eq OK "$(rp "$P2" REPLICAOF NO ONE)" "REPLICAOF NO ONE: the primary again"
wait_policyd_connected pd $((n_conn + 1)) 10 || fail "policyd did not come back on its own"
out=$(pol_eom "$RUN/policy.sock" 2 probe@probe.example)
assert_eq "Q:probe*2" "$(actions_rle "$out")" "policyd decides from Redis again"
_mt_back() { tail -n +$((mt_l0 + 1)) "$T/milter-mt.log" | grep -q 'reachable again'; }
assert_true "the milter routes with shared state again on its own" wait_for 10 _mt_back
"$CTL" -c "$CONF" member drain m1 >/dev/null
assert_eq 0 "$?" "postlbctl writes again"
"$CTL" -c "$CONF" member ready m1 >/dev/null
accepted=$(count_re 'postfix/cleanup\[[0-9]+\]: [0-9A-F]+: message-id=' "$MAILLOG")
wait_for 60 _all_delivered || log "sinks hold fewer messages than accepted"
delivered=$(($(sink_messages s0) + $(sink_messages s1) + $(sink_messages s2)))
assert_eq "$accepted" "$delivered" "accepted == delivered, also across the demotion"
e2e_finish
