# warmup_hold.sh: the warm-up hold end to end.
#
# Member m1 is on day 1 of a warm-up schedule (caps 2, then 6) and the
# cluster's delivery counters in Redis say receivers deferred 50% of its
# mail over the last hour; m3 is on the same schedule with 1% deferred.
# postlb-policyd (feedback on) judges the hold at its start: m1 is held
# back one day (field wh = 1, one event, one log line), m3 is not.  A
# restart the same day holds nothing more (one judgement a day).  Then
# through a private Postfix with postlb-milter: m1 takes only its day-0
# cap of 2 of 6 messages (the rest falls back to m2), m3 takes its day-1
# cap of 6; postlbctl health and members show the hold.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source

start_redis
for i in 0 1 2 3; do
	pick_port "SINK$i"
	start_sink "s$i" "$(eval echo "\$SINK$i")"
done
pick_port SMTP_PORT
YESTERDAY=$(date -u -d yesterday +%F)
: >"$T/maillog"
{
	postlb_conf_head
	cat <<EOC
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11";
         warmup = { start = "$YESTERDAY"; caps = [ 2, 6 ]; }; };
  m2 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.12"; };
  m3 = { nexthop = "[127.0.0.1]:$SINK3"; address = "127.0.0.13";
         warmup = { start = "$YESTERDAY"; caps = [ 2, 6 ]; }; };
};
pools = {
  warm = { members = ["m1"]; fallback = "bulk"; };
  warm3 = { members = ["m3"]; fallback = "bulk"; };
  bulk = { members = ["m2"]; };
};
rules = ( { name = "w3"; sender_domain = ["three.example"]; pool = "warm3"; } );
routing = { default_pool = "warm"; refresh = "200ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$SINK0"]; }; };
feedback = { log = "$T/maillog";
  warmup_hold = { window = "1h"; min_attempts = 10; deferral_rate = 20; }; };
EOC
} >"$T/postlb.conf"

MIN=$(($(now_ms) / 60000))
rcli HSET "postlb:fb:m1:$MIN" sent 10 deferred 10 >/dev/null
rcli HSET "postlb:fb:m1:$((MIN - 30))" sent 5 deferred 5 >/dev/null
rcli HSET "postlb:fb:m3:$MIN" sent 99 deferred 1 >/dev/null

log "the hold is judged once a day, on the cluster's counters"
start_policyd p "$T/postlb.conf"
_field_set() { [ -n "$(rcli HGET "postlb:m:$1" "$2")" ]; }
wait_for 15 _field_set m1 wh || log "m1 has no wh yet"
assert_eq 1 "$(rcli HGET postlb:m:m1 wh)" "m1 (deferred 15 of 30) is held back one day"
wait_for 10 _field_set m3 wh_day || log "m3 has no wh_day yet"
assert_eq "" "$(rcli HGET postlb:m:m3 wh)" "m3 (deferred 1 of 100) is not held"
assert_eq "$(($(now_ms) / 86400000))" "$(rcli HGET postlb:m:m3 wh_day)" "m3 was judged today"
assert_eq "" "$(rcli HGET postlb:m:m2 wh_day)" "m2 (no warm-up) is never judged"
assert_match "hold warm-up held 1 day\(s\): deferred 15 of 30 \(50%\) in 3600s" \
	"$(rcli LINDEX postlb:ev:m1 0)" "the hold is an event of m1"
wait_log p 'member m1 warm-up held' 1 || true
assert_eq 1 "$(count_re 'member m1 warm-up held' "$(policyd_log p)")" "one log line"
stop_policyd p
start_policyd p2 "$T/postlb.conf"
sleep 3
assert_eq 1 "$(rcli HGET postlb:m:m1 wh)" "a restart the same day holds nothing more"
stop_policyd p2

log "routing: m1 takes its day-0 cap, m3 its day-1 cap"
start_milter m "$T/postlb.conf" "$RUN/milter.sock"
wire_postlb pf "$SMTP_PORT" "$T/postlb.conf" "$SINK0"
D=${POSTFIX_DIR[pf]}
postconf -c "$D" -e "smtpd_recipient_restrictions = permit_mynetworks, reject" \
	"smtpd_end_of_data_restrictions ="
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1
timeout 120 smtp-source -m 6 -s 1 -l 500 -f ops@one.example -t u@dest.example \
	"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
timeout 120 smtp-source -m 6 -s 1 -l 500 -f ops@three.example -t u@dest.example \
	"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
_all_in() { [ $(($(sink_messages s1) + $(sink_messages s2) + $(sink_messages s3))) -ge 12 ]; }
wait_for 60 _all_in || log "sinks: $(sink_messages s1) $(sink_messages s2) $(sink_messages s3)"
assert_eq 2 "$(sink_messages s1)" "m1, held on day 0, took its cap of 2"
assert_eq 6 "$(sink_messages s3)" "m3 on day 1 took all 6 (its cap is 6)"
assert_eq 4 "$(sink_messages s2)" "m1's other 4 fell back to m2"
assert_eq 0 "$(sink_messages s0)" "nothing went to the default route"

out=$("$CTL" -c "$T/postlb.conf" health m1)
assert_match "warm-up: day 1 of 2 \(held back 1 day\(s\)\), cap 2/day, today 2" "$out" \
	"postlbctl health shows the hold"
out=$("$CTL" -c "$T/postlb.conf" members)
assert_match "m1 +ready +1 +2 +2/day" "$out" "postlbctl members shows the held cap"
assert_match "m3 +ready +1 +6 +6/day" "$out" "and m3's day-1 cap"

e2e_finish
