# router_redis.sh: postlb-milter's routing across Redis outages, restarts
# and a reload onto another Redis, through a private Postfix.
#
# smtp-source -> private Postfix (smtpd_milters = postlb-milter, member
# transports from `postlbctl postfix-config`) -> members m1..m5 -> sinks
# s1..s5; Postfix's own relayhost is sink s0.  Checks:
#  1. Redis down: the last known states decide.  A drained member, a member
#     suspended for the recipient domain and a member at its warm-up cap
#     get nothing; a pool whose only member is drained falls back to its
#     fallback pool, and a pool with no usable member and no fallback
#     leaves the message to Postfix (routing.no_member = "default").  A
#     member suspended for a mailbox provider (p:PROVIDER) gets none of
#     the mail to a domain learned as that provider's (PREFIX prov).
#  2. Redis killed and restarted at once: once the milter has seen it
#     back, no message is routed locally (no stale pooled connection).
#  3. SIGUSR1 onto another redis-server: routing state and counters land
#     in the new one; the old one sees no command any more.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source

MILTER_LOG=$T/milter.log
ROUTER_MILTER_PID=

# write_conf FILE REDIS_SOCK: the routing config.
write_conf() {
	cat >"$1" <<EOC
redis = { address = "unix:$2"; prefix = "postlb:"; };
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix"; socket_mode = "0666"; };
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.12"; };
  m3 = { nexthop = "[127.0.0.1]:$SINK3"; address = "127.0.0.13"; };
  m4 = { nexthop = "[127.0.0.1]:$SINK4"; address = "127.0.0.14"; };
  m5 = { nexthop = "[127.0.0.1]:$SINK5"; address = "127.0.0.15";
         warmup = { start = "$(date -u +%F)"; caps = [ 5 ]; }; };
};
pools = {
  bulk = { members = ["m1", "m2", "m3"]; algorithm = "round_robin"; };
  solo = { members = ["m4"]; fallback = "bulk"; };
  warm = { members = ["m5"]; fallback = "bulk"; };
  lone = { members = ["m1"]; };
};
rules = (
  { name = "solo"; sender_domain = ["solo.example"]; pool = "solo"; },
  { name = "warm"; sender_domain = ["warm.example"]; pool = "warm"; },
  { name = "lone"; sender_domain = ["lone.example"]; pool = "lone"; }
);
# reserve = 1: every message asks Redis, so part 1 fills m5's warm-up cap
# exactly, however slow the machine (reserved picks that lapse unused hold
# cap slots until the refresher gives them back; milter_route.sh tests
# reservations)
routing = { default_pool = "bulk"; refresh = "200ms"; budget = "100ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$SINK0"]; }; };
EOC
}

# counts: the message counts of sinks s0..s5.
counts() {
	local n out=
	for n in 0 1 2 3 4 5; do out="$out $(sink_messages "s$n")"; done
	echo "${out# }"
}
_total_is() {
	local a s=0
	for a in $(counts); do s=$((s + a)); done
	[ "$s" -ge "$1" ]
}
# settle N: waits until the sinks hold N messages in all (bounded).
settle() {
	wait_for 60 _total_is "$1" || log "sinks hold $(counts), expected $1"
	wait_queue_empty pf 30 || log "the queue is not empty"
}
# send N FROM TO [SESSIONS]: N messages through Postfix.
send() {
	timeout 120 smtp-source -m "$1" -s "${4:-1}" -l 500 -f "$2" -t "$3" \
		"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
}
milter_lines() { wc -l <"$MILTER_LOG"; }
# new_lines FROM: the milter log after line FROM.
new_lines() { tail -n +$(($1 + 1)) "$MILTER_LOG"; }

start_redis
for i in 0 1 2 3 4 5; do
	pick_port "SINK$i"
	start_sink "s$i" "$(eval echo "\$SINK$i")"
done
pick_port SMTP_PORT
write_conf "$T/postlb.conf" "$REDIS_SOCK"
"$MILTER" -f -c "$T/postlb.conf" 2>>"$MILTER_LOG" &
ROUTER_MILTER_PID=$!
E2E_EXTRA_PIDS+=("$ROUTER_MILTER_PID")
wait_for 10 test -S "$RUN/milter.sock" || die "postlb-milter did not start"

start_postfix pf "$SMTP_PORT" "$RUN/no-policy.sock" "$SINK0"
D=${POSTFIX_DIR[pf]}
postconf -c "$D" -e "smtpd_recipient_restrictions = permit_mynetworks, reject" \
	"smtpd_end_of_data_restrictions ="
"$CTL" -c "$T/postlb.conf" postfix-config route "$T" >"$T/postlb_route.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config strip "$T" >"$T/postlb_strip.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config master "$T" >>"$D/master.cf"
"$CTL" -c "$T/postlb.conf" postfix-config main "$T" >>"$D/main.cf"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1

# --- 1. Redis down: the last known states decide ---
send 5 ops@warm.example user@dest.example
settle 5
assert_eq "0 0 0 0 0 5" "$(counts)" "with Redis, m5 took its warm-up cap of 5"
"$CTL" -c "$T/postlb.conf" member drain m1 >/dev/null
"$CTL" -c "$T/postlb.conf" member drain m4 >/dev/null
"$CTL" -c "$T/postlb.conf" member suspend m2 dest.example 10m >/dev/null
# m3 suspended for provider google, which gmail.example belongs to (a
# learned provider): the milter keeps both for its local routing
rcli HSET postlb:prov gmail.example google >/dev/null
rcli HSET postlb:m:m3 p:google $(($(now_ms) + 600000)) >/dev/null
sleep 1 # several refreshes (200 ms)
kill_redis
l0=$(milter_lines)
log "Redis killed; m1 and m4 drained, m2 suspended for dest.example"
send 30 news@bulk.example user@dest.example 5
send 10 news@bulk.example user@other.example 5
settle 45
read -r a0 a1 a2 a3 a4 a5 <<<"$(counts)"
assert_eq 0 "$a1" "drained m1 received nothing while Redis was down"
assert_eq 40 "$((a2 + a3))" "m2 and m3 took all 40"
assert_eq 30 "$(count_re '^X-Rcpt-Args: .*@dest\.example' "$T/sink-s3/dump")" \
	"m3 took all the dest.example mail"
assert_eq 0 "$(count_re '^X-Rcpt-Args: .*@dest\.example' "$T/sink-s2/dump")" \
	"m2, suspended for dest.example, received none of its mail"
assert_eq 10 "$(($(count_re '^X-Rcpt-Args: .*@other\.example' "$T/sink-s2/dump") +
	$(count_re '^X-Rcpt-Args: .*@other\.example' "$T/sink-s3/dump")))" \
	"m2 and m3 took the other.example mail"
assert_ge "$(new_lines "$l0" | grep -c 'state=local')" 40 "those 40 were routed locally"
send 4 ops@solo.example user@dest.example
settle 49
read -r b0 b1 b2 b3 b4 b5 <<<"$(counts)"
assert_eq 0 "$b4" "drained m4 (pool solo) received nothing"
assert_eq 4 "$((b3 - a3))" "solo's mail fell back to bulk (m3)"
assert_eq 4 "$(new_lines "$l0" | grep -c 'rule=solo pool=solo member=m3 .*via=fallback')" \
	"the milter logged solo's fallback"
send 4 ops@warm.example user@other.example
settle 53
read -r c0 c1 c2 c3 c4 c5 <<<"$(counts)"
assert_eq 5 "$c5" "m5 at its warm-up cap took no more without Redis"
assert_eq 4 "$((c2 + c3 - b2 - b3))" "warm's mail fell back to bulk"
send 3 ops@lone.example user@dest.example
settle 56
read -r d0 d1 d2 d3 d4 d5 <<<"$(counts)"
assert_eq 3 "$((d0 - c0))" "lone (only m1, drained, no fallback): Postfix's relayhost took it"
assert_eq 0 "$d1" "drained m1 still received nothing"
assert_eq 3 "$(new_lines "$l0" | grep -c 'rule=lone pool=lone member=none')" \
	"the milter logged member=none for lone's mail"
assert_eq 0 "$(count_re '^X-Postlb-Route' "$T/sink-s0/dump")" "no route header reached the relayhost"
send 6 news@bulk.example user@gmail.example 2
settle 62
assert_eq 6 "$(count_re '^X-Rcpt-Args: .*@gmail\.example' "$T/sink-s2/dump")" \
	"without Redis, m2 took all the gmail.example mail"
assert_eq 0 "$(count_re '^X-Rcpt-Args: .*@gmail\.example' "$T/sink-s3/dump")" \
	"m3, suspended for provider google, took none of it"

# --- 2. Redis killed and restarted at once: no stale pooled connection ---
restart_redis
wait_for 10 _log_count_ge "$MILTER_LOG" 'reachable again' 1 ||
	fail "the milter did not see Redis back"
# the picks made without Redis are added to today's counts (Redis lost
# them), and a count so created expires like any other
today=$(date -u +%Y%m%d)
local3=$(new_lines "$l0" | grep -c 'member=m3 .*state=local')
_count_is() { [ "$(rcli GET "postlb:w:$1:$today")" = "$2" ]; }
wait_for 5 _count_is m3 "$local3" || true
assert_eq "$local3" "$(rcli GET "postlb:w:m3:$today")" \
	"m3's count holds its $local3 picks made without Redis"
assert_true "that count expires" test "$(rcli TTL "postlb:w:m3:$today")" -gt 0
send 40 news@bulk.example user@other.example 10 # fills the connection pool
settle 102
back=$(count_re 'reachable again' "$MILTER_LOG")
kill_redis
restart_redis
log "Redis killed and restarted at once"
wait_for 10 _log_count_ge "$MILTER_LOG" 'reachable again' $((back + 1)) ||
	fail "the milter did not see Redis come back after the restart"
sleep 0.3
l1=$(milter_lines)
send 15 news@bulk.example user@other.example
settle 117
assert_eq 15 "$(new_lines "$l1" | grep -c 'member=m')" "15 messages routed after the restart"
assert_eq 0 "$(new_lines "$l1" | grep -c 'state=local')" \
	"none of them routed locally (no stale pooled connection)"

# --- 3. SIGUSR1 onto another redis-server ---
REDIS2_SOCK=$T/redis2.sock
sed -e "s#$REDIS_SOCK#$REDIS2_SOCK#" -e "s#^dir .*#dir $T/redis2-data#" \
	-e "s#^logfile .*#logfile $T/redis2.log#" -e 's/^port .*/port 0/' \
	"$REDIS_CONF" >"$T/redis2.conf"
mkdir -p "$T/redis2-data"
redis-server "$T/redis2.conf" &
E2E_EXTRA_PIDS+=($!)
r2() { timeout 5 redis-cli -s "$REDIS2_SOCK" "$@"; }
_r2_up() { [ "$(r2 ping 2>/dev/null)" = PONG ]; }
wait_for 10 _r2_up || die "the second redis-server did not start"
# cmdstats CLI...: the commands a Redis has run (INFO itself left out).
cmdstats() { "$@" INFO commandstats | grep -v '^cmdstat_info:' | sed 's/,usec=.*//' | tr -d '\r'; }
write_conf "$T/postlb.conf" "$REDIS2_SOCK"
n=$(count_re 'reloaded' "$MILTER_LOG")
kill -USR1 "$ROUTER_MILTER_PID"
wait_for 10 _log_count_ge "$MILTER_LOG" 'reloaded' $((n + 1)) || fail "the milter did not reload"
sleep 1 # in-flight calls end, the refresher reconnects
before=$(cmdstats rcli)
send 20 news@bulk.example user@other.example 5
settle 137
sleep 1 # five refreshes
after=$(cmdstats rcli)
assert_eq "$before" "$after" "the first Redis ran no command after the reload"
assert_ge "$(r2 GET postlb:rr:bulk)" 20 "the pool's counter lives in the second Redis"
assert_match 'cmdstat_hgetall:calls=[1-9]' "$(cmdstats r2)" \
	"the refresher reads member states from the second Redis"
assert_eq 0 "$(tail -n 20 "$MILTER_LOG" | grep -c 'state=local')" "the last messages were routed with Redis"

e2e_finish
