# health_rules.sh: response rules end to end.
#
# 1. respond.lua alone on a private Redis: a provider rule suspends
#    p:PROVIDER at its count (not before), taking the provider from the
#    relay, else from the learned PREFIX prov, else from the rule, else
#    s:DOMAIN; a member rule sets rs_until and rs_why; matches older than
#    the period do not count; nothing is counted while suspended; the
#    suspension is one event on ev:NAME.  Action throttle sets the same
#    targets with "t" before them (tp:, ts:, th) to "UNTIL RATE".  The
#    warm-up hold script: one claim a day with the window's counts, a
#    hold adds one held day (wh) and an event.
# 2. A private Postfix with two member transports (m1 -> smtp-sink, m2 ->
#    a scripted SMTP server answering "421 4.7.28 ... rate limited" to
#    recipients at gmail.com and ws.example, 250 to others) logging to its
#    maillog, followed by postlb-policyd with the gmail-4.7.28 rule at 3
#    matches: m2 is suspended for google only (p:google; ws.example is
#    google by a seeded PREFIX prov), not as a whole (no rs_until), m1
#    untouched, one log line and one event; mail to other domains still
#    reaches m2's server; gmail.com is learned as google from the rule.
# 3. Routing: a second private Postfix with postlb-milter routing a round
#    robin pool of m1 and m2 on the same Redis: while p:google is set on
#    m2, no message to gmail.com or ws.example is routed to m2 (they go to
#    m1's sink), while messages to another domain still are.
# The learning of domain -> provider from relay host names needs real MX
# names in the log; it is tested in tests/unit/test_respond.c.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source python3

LUA=$top_srcdir/engine/respond.lua

start_redis

# rule KEY4 SCOPE DOMAIN RELAYPROV RULEPROV COUNT PERIOD DURATION QID NAME
rule() {
	rcli --eval "$LUA" postlb:prov postlb:m:x postlb:ev:x "$1" , \
		"$2" "$3" "$4" "$5" "$6" "$7" "$8" 100 "$9" "${10}" "why ${10}"
}

# --- 1. the script ---
for i in 1 2; do
	assert_eq 0 "$(rule postlb:rc:x:g provider gmail.com google "" 3 60000 600000 q$i g)" \
		"match $i of 3 suspends nothing"
done
assert_eq "" "$(rcli HGET postlb:m:x p:google)" "no p:google before the count"
t0=$(now_ms)
u=$(rule postlb:rc:x:g provider gmail.com google "" 3 60000 600000 q3 g)
assert_ge "$u" $((t0 + 599000)) "the third match suspends for the duration"
assert_eq "$u" "$(rcli HGET postlb:m:x p:google)" "p:google = the returned end"
assert_eq 0 "$(rcli EXISTS postlb:rc:x:g:google)" "the counter is reset"
assert_eq 0 "$(rule postlb:rc:x:g provider gmail.com google "" 1 60000 600000 q4 g)" \
	"nothing counted while suspended"
assert_eq 0 "$(rcli EXISTS postlb:rc:x:g:google)" "no counter while suspended"
assert_match "^[0-9]+ rule g: suspended for google until $u: why g\$" \
	"$(rcli LINDEX postlb:ev:x 0)" "the suspension is an event"
assert_eq 1 "$(rcli LLEN postlb:ev:x)" "one event"
# provider learned in PREFIX prov, then the rule's, then the domain
rcli HSET postlb:prov ymail.com yahoo >/dev/null
assert_ge "$(rule postlb:rc:x:y provider ymail.com "" microsoft 1 60000 1000 q g2)" 1 \
	"a learned provider"
assert_ge "$(rcli HGET postlb:m:x p:yahoo)" 1 "the learned provider wins over the rule's"
assert_ge "$(rule postlb:rc:x:m provider corp.example "" microsoft 1 60000 1000 q g3)" 1 \
	"the rule's provider"
assert_ge "$(rcli HGET postlb:m:x p:microsoft)" 1 "p:microsoft from the rule"
assert_eq microsoft "$(rcli HGET postlb:prov corp.example)" "and learned for the domain"
assert_eq yahoo "$(rcli HGET postlb:prov ymail.com)" "a learned provider is not overwritten"
assert_ge "$(rule postlb:rc:x:d provider other.example "" "" 1 60000 1000 q g4)" 1 \
	"no provider at all"
assert_ge "$(rcli HGET postlb:m:x s:other.example)" 1 "a domain suspension"
# member scope
assert_eq 0 "$(rule postlb:rc:x:r member a.example "" "" 2 60000 5000 q1 gen)" "1 of 2"
assert_ge "$(rule postlb:rc:x:r member b.example "" "" 2 60000 5000 q2 gen)" 1 "2 of 2"
assert_ge "$(rcli HGET postlb:m:x rs_until)" 1 "member scope: rs_until"
assert_eq "gen: why gen" "$(rcli HGET postlb:m:x rs_why)" "rs_why"
# the period: a match older than it does not count
assert_eq 0 "$(rule postlb:rc:x:p member a.example "" "" 2 300 5000 q1 per)" "1 of 2"
sleep 0.5
assert_eq 0 "$(rule postlb:rc:x:p member a.example "" "" 2 300 5000 q2 per)" \
	"a match after the period is the first again"

# action throttle: the same targets with "t" before them, "UNTIL RATE"
# trule KEY4 SCOPE DOMAIN RELAYPROV COUNT DURATION QID NAME RATE
trule() {
	rcli --eval "$LUA" postlb:prov postlb:m:t postlb:ev:t "$1" , \
		"$2" "$3" "$4" "" "$5" 60000 "$6" 100 "$7" "$8" "why $8" \
		throttle "$9"
}
rcli DEL postlb:m:t postlb:ev:t >/dev/null
assert_eq 0 "$(trule postlb:rc:t:g provider gmail.com google 2 600000 q1 tg 10)" \
	"throttle: match 1 of 2 does nothing"
t0=$(now_ms)
u=$(trule postlb:rc:t:g provider gmail.com google 2 600000 q2 tg 10)
assert_ge "$u" $((t0 + 599000)) "throttle: the second match throttles for the duration"
assert_eq "$u 10" "$(rcli HGET postlb:m:t tp:google)" "tp:google = \"UNTIL RATE\""
assert_eq "" "$(rcli HGET postlb:m:t p:google)" "a throttle is no suspension"
assert_eq 0 "$(trule postlb:rc:t:g provider gmail.com google 1 600000 q3 tg 10)" \
	"nothing counted while throttled"
assert_match "^[0-9]+ rule tg: throttled to 10/min for google until $u: why tg\$" \
	"$(rcli LINDEX postlb:ev:t 0)" "the throttle is an event"
assert_ge "$(trule postlb:rc:t:d provider other.example "" 1 1000 q tg2 5)" 1 \
	"throttle with no provider"
assert_match "^[0-9]+ 5\$" "$(rcli HGET postlb:m:t ts:other.example)" "a domain throttle"
assert_ge "$(trule postlb:rc:t:m member a.example "" 1 1000 q tg3 7)" 1 \
	"throttle of scope member"
assert_match "^[0-9]+ 7\$" "$(rcli HGET postlb:m:t th)" "th = \"UNTIL 7\""
assert_eq "" "$(rcli HGET postlb:m:t rs_until)" "a member throttle sets no rs_until"

# the warm-up hold (warmhold.lua): one claim a day, judged on the
# cluster's counters over the window, one held day per hold
WLUA=$top_srcdir/engine/warmhold.lua
rcli DEL postlb:m:w postlb:ev:w >/dev/null
min=$(($(now_ms) / 60000))
rcli HSET "postlb:fb:w:$min" sent 60 deferred 30 bounced 10 >/dev/null
rcli HSET "postlb:fb:w:$((min - 1))" sent 5 deferred 5 >/dev/null
rcli HSET "postlb:fb:w:$((min - 90))" deferred 1000 >/dev/null
out=$(rcli --eval "$WLUA" postlb:m:w postlb:ev:w , claim postlb:fb:w: 60 0 100000 | tr '\n' ' ')
day=$(($(now_ms) / 86400000))
assert_eq "$day 110 35 " "$out" "the claim: today, deliveries and deferrals of the last 60 minutes"
assert_eq "0 " "$(rcli --eval "$WLUA" postlb:m:w postlb:ev:w , claim postlb:fb:w: 60 0 100000 | tr '\n' ' ')" \
	"a second claim the same day gets nothing (one host judges a day)"
rcli DEL postlb:m:w2 >/dev/null
assert_eq "0 " "$(rcli --eval "$WLUA" postlb:m:w2 postlb:ev:w , claim postlb:fb:w: 60 "$day" 3 | tr '\n' ' ')" \
	"no claim on the schedule's start day (nothing to advance to)"
assert_eq "0 " "$(rcli --eval "$WLUA" postlb:m:w2 postlb:ev:w , claim postlb:fb:w: 60 $((day - 4)) 3 | tr '\n' ' ')" \
	"no claim once the schedule is done"
assert_eq 3 "$(rcli --eval "$WLUA" postlb:m:w2 postlb:ev:w , claim postlb:fb:w: 60 $((day - 3)) 3 | wc -l)" \
	"a claim on the day the schedule ends (the step to no cap)"
assert_eq 1 "$(rcli --eval "$WLUA" postlb:m:w postlb:ev:w , hold "$day" 100 'deferred 35 of 110')" \
	"a hold adds a held day"
assert_eq 1 "$(rcli HGET postlb:m:w wh)" "wh = 1"
assert_match "^[0-9]+ hold warm-up held 1 day\(s\): deferred 35 of 110\$" \
	"$(rcli LINDEX postlb:ev:w 0)" "the hold is an event"
assert_eq 0 "$(rcli --eval "$WLUA" postlb:m:w postlb:ev:w , hold $((day - 1)) 100 x)" \
	"a hold for a day no longer claimed does nothing"
assert_eq 1 "$(rcli HGET postlb:m:w wh)" "still 1 day"

# --- 2. through Postfix and postlb-policyd ---
rcli FLUSHALL >/dev/null

SMTPSCRIPT=$top_srcdir/tests/tools/smtpscript.py

pick_port SINK1
pick_port BAD
pick_port SMTP_PORT
start_sink s1 "$SINK1"
G421="421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.|421 4.7.28 mail has been temporarily rate limited."
timeout 300 python3 "$SMTPSCRIPT" "$BAD" 290 --bad gmail.com "$G421" \
	--bad ws.example "$G421" --accept-log "$T/accepted" >"$T/smtp421.log" 2>&1 &
E2E_EXTRA_PIDS+=("$!")
wait_for 10 _port_listening "$BAD" || die "the 421 server did not start"

policyd_conf "$T/postlb.conf" "$RUN/policy.sock" <<EOC
quotas = ( { name = "all"; subject = "global"; unit = "messages"; limit = 1000000; window = "1h"; } );
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$BAD"; address = "127.0.0.12"; };
};
feedback = {
  log = "$T/postfix-pf/maillog";
  breaker = false;
  rules = ( { name = "gmail-4.7.28"; count = 3; period = "1m"; duration = "10m"; } );
};
EOC
start_postfix pf "$SMTP_PORT" "$RUN/policy.sock" "$SINK1"
D=${POSTFIX_DIR[pf]}
MAILLOG=$(postfix_maillog pf)
"$CTL" -c "$T/postlb.conf" postfix-config strip "$T" >"$T/postlb_strip.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config master "$T" >>"$D/master.cf"
# without the milter here, transport_maps sends these domains to m2
cat >>"$D/main.cf" <<EOF2
transport_maps = inline:{ a.example=m1:[127.0.0.1]:$SINK1, gmail.com=m2:[127.0.0.1]:$BAD, ws.example=m2:[127.0.0.1]:$BAD, other.example=m2:[127.0.0.1]:$BAD }
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
EOF2
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1
touch "$MAILLOG"
chmod 644 "$MAILLOG"
rcli HSET postlb:prov ws.example google >/dev/null
start_policyd main "$T/postlb.conf"
wait_log main 'follow: reading .*maillog' 1 || fail "policyd follows the maillog"

send() {
	timeout 120 smtp-source -m "$1" -s 5 -f s@src.example -t "user@$2" \
		"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1 ||
		fail "smtp-source sent $1 messages to $2"
}
deferred() { grep -cE "postfix-m2/smtp\[[0-9]+\]: [0-9A-F]+: to=<user@$1>.*dsn=4\.7\.28, status=deferred" "$MAILLOG" || true; }
_deferred_ge() { [ "$(deferred "$1")" -ge "$2" ]; }
_field_set() { [ -n "$(rcli HGET postlb:m:m2 "$1")" ]; }

t0=$(now_ms)
send 2 gmail.com
wait_for 60 _deferred_ge gmail.com 2 || fail "2 deferrals for gmail.com logged"
sleep 1
assert_eq "" "$(rcli HGET postlb:m:m2 p:google)" "2 matches of 3: not suspended yet"
send 1 ws.example
wait_for 60 _deferred_ge ws.example 1 || fail "1 deferral for ws.example logged"
assert_true "the third 4.7.28 suspends m2 for google" wait_for 10 _field_set p:google
u=$(rcli HGET postlb:m:m2 p:google)
assert_ge "$u" $((t0 + 590000)) "for the rule's 10 minutes"
assert_eq "" "$(rcli HGET postlb:m:m2 rs_until)" "m2 is not suspended as a whole"
assert_eq "" "$(rcli HGET postlb:m:m2 s:ws.example)" "nor by domain"
assert_eq 0 "$(rcli HLEN postlb:m:m1)" "m1 untouched"
assert_eq google "$(rcli HGET postlb:prov gmail.com)" "gmail.com learned as google from the rule"
assert_match "^[0-9]+ rule gmail-4.7.28: suspended for google until $u: " \
	"$(rcli LINDEX postlb:ev:m2 0)" "an event on ev:m2"
assert_eq 1 "$(count_re 'member m2 suspended by rule gmail-4.7.28 \(provider scope' "$(policyd_log main)")" \
	"the suspension is logged once"
assert_match "suspended for provider\(s\): google [0-9]+s" "$("$CTL" -c "$T/postlb.conf" health)" \
	"postlbctl health shows the provider suspension"
# more 4.7.28 while suspended: no second suspension, no second log line
send 2 gmail.com
wait_for 60 _deferred_ge gmail.com 4 || fail "2 more deferrals logged"
sleep 1
assert_eq "$u" "$(rcli HGET postlb:m:m2 p:google)" "the suspension is not extended"
assert_eq 1 "$(count_re 'member m2 suspended by rule' "$(policyd_log main)")" "still one log line"
# other providers' mail still reaches m2's server
send 2 other.example
_accepted() { [ "$(count_re accepted "$T/accepted")" -ge "$1" ]; }
assert_true "m2 still delivers other domains" wait_for 60 _accepted 2
send 2 a.example
_sink_has() { [ "$(sink_messages s1)" -ge "$1" ]; }
assert_true "m1 delivers" wait_for 60 _sink_has 2

# --- 3. the milter routes around the provider suspension ---
pick_port SMTP2
{ postlb_conf_head; cat <<EOF; } >"$T/route.conf"
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; };
  m2 = { nexthop = "[127.0.0.1]:$BAD"; };
};
pools = { p = { members = ["m1", "m2"]; algorithm = "round_robin"; }; };
routing = { default_pool = "p"; refresh = "100ms"; reserve_time = "100ms";
  takeover = { nexthops = ["[127.0.0.1]:$SINK1"]; }; };
EOF
start_milter r "$T/route.conf" "$RUN/milter.sock"
wire_postlb pr "$SMTP2" "$T/route.conf" "$SINK1"
ML=$T/milter-r.log
send2() {
	timeout 120 smtp-source -m "$1" -s 2 -f s@src.example -t "user@$2" \
		"127.0.0.1:$SMTP2" >>"$T/source.out" 2>&1 ||
		fail "smtp-source sent $1 messages to $2 (milter)"
}
routed() { count_re "pool=p member=$1" "$ML"; }
_routed_ge() { [ "$(($(routed m1) + $(routed m2)))" -ge "$1" ]; }
assert_eq "$u" "$(rcli HGET postlb:m:m2 p:google)" "m2 still suspended for google"
s1_before=$(sink_messages s1)
send2 10 gmail.com
send2 10 ws.example
wait_for 30 _routed_ge 20 || fail "20 messages routed"
assert_eq 0 "$(routed m2)" "no message to a google domain is routed to m2"
assert_eq 20 "$(routed m1)" "all 20 go to m1"
assert_true "m1's sink receives them" wait_for 60 _sink_has $((s1_before + 20))
acc_before=$(count_re accepted "$T/accepted")
send2 10 other.example
wait_for 30 _routed_ge 30 || fail "10 more messages routed"
assert_ge "$(routed m2)" 1 "messages to another domain are still routed to m2"
assert_true "and m2 delivers them" wait_for 60 _accepted $((acc_before + $(routed m2)))
stop_policyd main
e2e_finish
