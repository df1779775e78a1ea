# milter_route.sh: per-message routing end to end through a private Postfix.
#
# smtp-source/swaks/sendmail -> private Postfix (smtpd_milters and
# non_smtpd_milters = postlb-milter, milter_header_checks and member
# transports from `postlbctl postfix-config`) -> four member transports
# bound to 127.0.0.11..14 -> four smtp-sinks.  Checks: weights 5:3:2 hold
# over 3,000 messages (within 3%); transactional mail (by sender and by
# header) and bulk mail use disjoint pools; the route header never reaches
# a sink; a client-supplied route header routes nothing; a drained member
# gets no new message; a member suspended for a domain gets none of its
# mail; a warm-up cap holds exactly; sendmail submissions are routed; two milter
# processes sharing one Redis keep one rotation; Redis killed mid-run: mail
# keeps flowing, nothing lost, nothing tempfailed.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source swaks sendmail


# counts: prints the message counts of sinks s1..s4 (members m1..m4).
counts() {
	echo "$(sink_messages s1) $(sink_messages s2) $(sink_messages s3) $(sink_messages s4)"
}

# send_bulk N PORT [SESSIONS]: N bulk messages through Postfix on PORT.
send_bulk() {
	timeout 300 smtp-source -m "$1" -s "${3:-20}" -l 2000 -f news@bulk.example \
		-t user@dest.example "127.0.0.1:$2" >>"$T/source.out" 2>&1
}

# settle N: waits until the sinks hold N messages in all and the queue is
# empty (bounded).
_total_is() {
	local a b c d
	read -r a b c d <<<"$(counts)"
	[ $((a + b + c + d)) -ge "$1" ]
}
settle() {
	wait_for 120 _total_is "$1" || log "sinks hold $(counts), expected $1 in all"
	wait_queue_empty pf 60 || log "the queue is not empty"
}

# within PCT EXPECTED ACTUAL MSG: |ACTUAL - EXPECTED| <= PCT% of EXPECTED.
within() {
	local lo=$(($2 - $2 * $1 / 100)) hi=$(($2 + $2 * $1 / 100))
	if [ "$3" -ge "$lo" ] && [ "$3" -le "$hi" ]; then
		pass "$4 ($3, expected $2 +-$1%)"
	else
		fail "$4: $3 is outside $lo..$hi"
	fi
}

# write_conf FILE MILTER_SOCK: the routing config shared by both milters.
write_conf() {
	cat >"$1" <<EOC
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix"; socket_mode = "0666"; };
milter = { listen = "unix:$2"; user = "postfix"; socket_mode = "0666"; };
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; helo = "m1.postlb.example"; weight = 5; };
  m2 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.12"; helo = "m2.postlb.example"; weight = 3; };
  m3 = { nexthop = "[127.0.0.1]:$SINK3"; address = "127.0.0.13"; helo = "m3.postlb.example"; weight = 2; };
  m4 = { nexthop = "[127.0.0.1]:$SINK4"; address = "127.0.0.14"; helo = "m4.postlb.example"; };
  m5 = { nexthop = "[127.0.0.1]:$SINK5"; address = "127.0.0.15";
         warmup = { start = "$(date -u +%F)"; caps = [ 10 ]; }; };
};
pools = {
  bulk = { members = ["m1", "m2", "m3"]; algorithm = "weighted"; };
  transactional = { members = ["m4"]; algorithm = "round_robin"; };
  warm = { members = ["m5", "m4"]; algorithm = "round_robin"; };
  lc = { members = ["m2", "m3"]; algorithm = "least_outstanding"; };
  hashed = { members = ["m1", "m2", "m3"]; algorithm = "hash"; hash_key = "sender_domain"; };
};
rules = (
  { name = "tx-sender"; sender_domain = ["shop.example"]; pool = "transactional"; },
  { name = "tx-header"; header = "X-Mail-Class"; match = "^transactional\$"; pool = "transactional"; },
  { name = "warm"; sender_domain = ["warm.example"]; pool = "warm"; },
  { name = "lc"; sender_domain = ["lc.example"]; pool = "lc"; },
  { name = "hashed"; sender_domain = [".hash.example"]; pool = "hashed"; }
);
routing = { default_pool = "bulk"; refresh = "200ms"; budget = "100ms";
  takeover = { nexthops = ["[127.0.0.1]:$SINK1"]; unresolved = "route"; }; };
quotas = ( { name = "all"; subject = "global"; unit = "messages"; limit = 1000000; window = "1h"; } );
EOC
}

start_redis
for i in 1 2 3 4 5; do
	pick_port "SINK$i"
done
start_sink s5 "$SINK5"
start_sink s1 "$SINK1"
start_sink s2 "$SINK2"
start_sink s3 "$SINK3"
start_sink s4 "$SINK4"
pick_port SMTP_PORT
pick_port SMTP_PORT2

write_conf "$T/postlb.conf" "$RUN/milter.sock"
write_conf "$T/postlb2.conf" "$RUN/milter2.sock"
assert_true "postlb-milter -n accepts the config" "$MILTER" -n -c "$T/postlb.conf"

start_policyd main "$T/postlb.conf"
start_milter one "$T/postlb.conf" "$RUN/milter.sock"
start_milter two "$T/postlb2.conf" "$RUN/milter2.sock"
start_postfix pf "$SMTP_PORT" "$RUN/policy.sock" "$SINK1"
D=${POSTFIX_DIR[pf]}
MAILLOG=$(postfix_maillog pf)

# Wire the members exactly as postlbctl prints them.
"$CTL" -c "$T/postlb.conf" postfix-config route "$T" >"$T/postlb_route.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config strip "$T" >"$T/postlb_strip.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config master "$T" >>"$D/master.cf"
"$CTL" -c "$T/postlb.conf" postfix-config main "$T" >>"$D/main.cf"
printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_milters=unix:%s\n' \
	"$SMTP_PORT2" "$RUN/milter2.sock" >>"$D/master.cf"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
wait_for 20 _port_listening "$SMTP_PORT2" || die "the second smtpd does not listen"
assert_match "unix:$RUN/milter.sock" "$(postconf -c "$D" -h smtpd_milters)" \
	"smtpd_milters comes from postlbctl postfix-config"

# --- 1. weights over 3,000 messages ---
log "3000 bulk messages, 20 sessions"
send_bulk 3000 "$SMTP_PORT"
assert_eq 0 "$?" "smtp-source sent 3000 messages without an error"
settle 3000
read -r c1 c2 c3 c4 <<<"$(counts)"
log "counts after 3000: $c1 $c2 $c3 $c4"
st=$(milter_stats one)
log "milter: $st"
assert_eq 3000 "$(stat_of "$st" routed)" "the milter routed 3000 messages"
assert_eq 0 "$(stat_of "$st" local)" "all of them with Redis"
assert_ge 1000 "$(stat_of "$st" calls)" \
	"under load picks are reserved: at most 1000 Redis calls for 3000 messages"
# picks reserved and not used are taken off today's counts by the
# refresher once their reservation expires (reserve_time 200 ms, refresh
# 200 ms): the counts come back to what was routed
_today_sum_is() {
	local d s=0
	d=$(date -u +%Y%m%d)
	for m in m1 m2 m3; do s=$((s + $(rcli GET "postlb:w:$m:$d"))); done
	[ "$s" -eq "$1" ]
}
wait_for 5 _today_sum_is 3000 || true
assert_true "today's counts of m1..m3 add up to the 3000 routed" _today_sum_is 3000
log "reserved picks left unused and given back: $(stat_of "$(milter_stats one)" unused)"
within 3 1500 "$c1" "m1 (weight 5) share of 3000"
within 3 900 "$c2" "m2 (weight 3) share of 3000"
within 3 600 "$c3" "m3 (weight 2) share of 3000"
assert_eq 0 "$c4" "no bulk message used the transactional pool"
assert_eq 3000 "$(count_re 'postfix-m[123]/smtp.*status=sent' "$MAILLOG")" \
	"every bulk message left through a member transport"
for s in s1 s2 s3; do
	assert_eq 0 "$(count_re '^X-Postlb-Route' "$T/sink-$s/dump")" \
		"no route header reached sink $s"
done

# --- 2. transactional mail uses its own pool ---
log "transactional mail by sender and by header"
timeout 60 smtp-source -m 40 -s 5 -f receipts@shop.example -t buyer@dest.example \
	"127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
for i in 1 2 3 4 5; do
	timeout 30 swaks -s 127.0.0.1 -p "$SMTP_PORT" -f app@other.example \
		-t user@dest.example --header "X-Mail-Class: transactional" \
		--body "reset $i" >/dev/null 2>&1
done
settle 3045
read -r d1 d2 d3 d4 <<<"$(counts)"
assert_eq 45 "$((d4 - c4))" "45 transactional messages went to the transactional pool"
assert_eq "$c1 $c2 $c3" "$d1 $d2 $d3" "the bulk members got none of them"
assert_eq 0 "$(count_re '^X-Postlb-Route' "$T/sink-s4/dump")" "no route header reached sink s4"

# --- 2b. postlbctl explains a decision and lists pools ---
out=$("$CTL" -c "$T/postlb.conf" explain -s receipts@shop.example -r buyer@dest.example)
assert_match "rule 'tx-sender' .*matched on: sender_domain" "$out" "explain names the matching rule"
assert_match "next pick: m4" "$out" "explain names the member of the transactional pool"
assert_match "header: X-Postlb-Route: m4 \\[127\\.0\\.0\\.1\\]:$SINK4" "$out" "explain shows the route header"
printf 'From: a@b\nX-Mail-Class: Transactional\n\nbody\n' >"$T/msg.eml"
assert_match "rule 'tx-header'" "$("$CTL" -c "$T/postlb.conf" explain -s x@other.example -m "$T/msg.eml")" \
	"explain reads the headers of a message file"
out=$("$CTL" -c "$T/postlb.conf" explain -s news@bulk.example -r user@dest.example)
assert_match "no rule matched: default pool" "$out" "explain: bulk mail takes the default pool"
assert_match "next pick: m[123]" "$out" "explain picks a bulk member"
assert_match "bulk \\(default\\): algorithm weighted" "$("$CTL" -c "$T/postlb.conf" pools)" \
	"postlbctl pools shows the default pool and its algorithm"

# --- 3. a client-supplied route header routes nothing ---
timeout 30 swaks -s 127.0.0.1 -p "$SMTP_PORT" -f news@bulk.example -t user@dest.example \
	--header "X-Postlb-Route: m4 [127.0.0.1]:$SINK4" --body spoof >/dev/null 2>&1
settle 3046
read -r e1 e2 e3 e4 <<<"$(counts)"
assert_eq "$d4" "$e4" "a client's X-Postlb-Route header did not route to m4"
assert_eq 1 "$((e1 + e2 + e3 - d1 - d2 - d3))" "the message went through the bulk pool"
assert_eq 0 "$(count_re '^X-Postlb-Route' "$T/sink-s1/dump" "$T/sink-s2/dump" "$T/sink-s3/dump")" \
	"the client's route header was stripped too"

# --- 4. a drained member gets no new mail ---
# (once routing.reserve_time, 200 ms, has passed: picks a milter reserved
# before the drain are not used after it)
"$CTL" -c "$T/postlb.conf" member drain m1 >/dev/null
sleep 0.3
assert_match "m1 +drain" "$("$CTL" -c "$T/postlb.conf" members)" "postlbctl members shows m1 draining"
send_bulk 500 "$SMTP_PORT"
settle 3546
read -r f1 f2 f3 f4 <<<"$(counts)"
assert_eq "$e1" "$f1" "drained m1 received no new message"
assert_eq 500 "$((f2 + f3 - e2 - e3))" "m2 and m3 took all 500"
within 10 300 "$((f2 - e2))" "m2's share while m1 drains (3 of 5)"
"$CTL" -c "$T/postlb.conf" member ready m1 >/dev/null

# --- 4b. a member suspended for a domain gets none of that domain's mail ---
"$CTL" -c "$T/postlb.conf" member suspend m2 dest.example 10m >/dev/null
sleep 0.3
assert_match "m2 .*dest\.example" "$("$CTL" -c "$T/postlb.conf" members)" \
	"postlbctl members shows m2 suspended for dest.example"
send_bulk 100 "$SMTP_PORT" 5
settle 3646
read -r j1 j2 j3 j4 <<<"$(counts)"
assert_eq "$f2" "$j2" "m2, suspended for dest.example, received none of its mail"
assert_eq 100 "$((j1 + j3 - f1 - f3))" "m1 and m3 took all 100"
"$CTL" -c "$T/postlb.conf" member resume m2 dest.example >/dev/null

# --- 4c. a warm-up cap of 10 messages today holds exactly ---
timeout 60 smtp-source -m 30 -s 3 -f ops@warm.example -t user@dest.example \
	"127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
settle 3666
wait_for 30 test "$(sink_messages s5)" -ge 10 || true
read -r k1 k2 k3 k4 <<<"$(counts)"
assert_eq 10 "$(sink_messages s5)" "m5 took exactly its warm-up cap of 10"
assert_eq 20 "$((k4 - j4))" "the pool's other member took the other 20"
assert_match "m5 +ready +1 +10 +10/day" "$("$CTL" -c "$T/postlb.conf" members)" \
	"postlbctl members shows m5's count and cap"

# --- 4d. least outstanding and consistent hash pools ---
timeout 60 smtp-source -m 20 -s 2 -f ops@lc.example -t user@dest.example \
	"127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
settle 3686
read -r q1 q2 q3 q4 <<<"$(counts)"
assert_eq "12 8" "$((q2 - k2)) $((q3 - k3))" \
	"least outstanding per weight (3:2, nothing done yet): m2 took 12, m3 8"
for d in a b; do
	timeout 60 smtp-source -m 12 -s 3 -f "ops@$d.hash.example" -t user@dest.example \
		"127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
done
settle 3710
read -r u1 u2 u3 u4 <<<"$(counts)"
per="$((u1 - q1)) $((u2 - q2)) $((u3 - q3))"
assert_match "^(24 0 0|0 24 0|0 0 24|12 12 0|12 0 12|0 12 12)$" "$per" \
	"hash on sender domain: each domain's 12 messages stayed on one member ($per)"
assert_eq 24 "$(count_re 'rule=hashed pool=hashed member=m[123] algorithm=hash' "$T/milter-one.log")" \
	"24 messages were routed by the hash pool"

# --- 5. sendmail submissions are routed (non_smtpd_milters) ---
for i in 1 2 3 4 5 6 7 8 9 10; do
	printf 'Subject: local %s\n\nbody\n' "$i" |
		timeout 30 sendmail -C "$D" -f news@bulk.example user@dest.example
done
settle 3720
assert_eq 3730 "$(count_re 'postfix-m[12345]/smtp.*status=sent' "$MAILLOG")" \
	"sendmail submissions left through member transports"

# --- 6. two milters sharing one Redis keep one rotation ---
read -r g1 g2 g3 g4 <<<"$(counts)"
log "1000 + 1000 messages through two smtpd listeners with a milter each"
send_bulk 1000 "$SMTP_PORT" 10 &
p1=$!
send_bulk 1000 "$SMTP_PORT2" 10 &
p2=$!
wait "$p1"
wait "$p2"
settle 5720
read -r h1 h2 h3 h4 <<<"$(counts)"
assert_ge "$(count_re 'member=m' "$T/milter-two.log")" 1000 \
	"the second milter routed the second listener's mail"
within 3 1000 "$((h1 - g1))" "m1's share of 2000 across two milters"
within 3 600 "$((h2 - g2))" "m2's share of 2000 across two milters"
within 3 400 "$((h3 - g3))" "m3's share of 2000 across two milters"

# --- 6b. SIGUSR1 reloads the config; a broken one is refused ---
cp "$T/postlb.conf" "$T/postlb.conf.good"
sed -i 's/sender_domain = \["shop.example"\]/sender_domain = ["shop2.example"]/' "$T/postlb.conf"
kill -USR1 "${MILTER_PID[one]}"
wait_for 10 _log_count_ge "$T/milter-one.log" 'reloaded' 1 || true
assert_eq 1 "$(count_re 'reloaded' "$T/milter-one.log")" "SIGUSR1 reloaded the milter's config"
timeout 30 swaks -s 127.0.0.1 -p "$SMTP_PORT" -f receipts@shop2.example -t b@dest.example \
	--body reloaded >/dev/null 2>&1
settle 5721
read -r l1 l2 l3 l4 <<<"$(counts)"
assert_eq 1 "$((l4 - h4))" "the reloaded rule routes shop2.example to the transactional pool"
echo 'rules = ( { pool = "nosuch"; sender = ["x"]; } );' >>"$T/postlb.conf"
kill -USR1 "${MILTER_PID[one]}"
wait_for 10 _log_count_ge "$T/milter-one.log" 'reload failed' 1 || true
assert_match "reload failed, keeping the running config: .*postlb.conf:[0-9]+:" \
	"$(grep 'reload failed' "$T/milter-one.log")" "a broken config is refused with file:line"
cp "$T/postlb.conf.good" "$T/postlb.conf"
h1=$l1 h2=$l2 h3=$l3

# --- 7. Redis killed mid-run: mail keeps flowing ---
# Redis is killed once the milter has routed 100 messages of a 1200-message
# run (not after a fixed sleep, which a fast machine outruns), then 200 more
# are sent while it is down, so local routing is certain to be exercised.
log "1200 messages, Redis killed after 100 routed, then 200 more"
m0=$(count_re 'member=' "$T/milter-one.log")
send_bulk 1200 "$SMTP_PORT" 10 &
p1=$!
wait_for 60 _log_count_ge "$T/milter-one.log" 'member=' $((m0 + 100)) ||
	die "the milter routed fewer than 100 messages in 60 s"
kill_redis
log "Redis killed after $(($(count_re 'member=' "$T/milter-one.log") - m0)) routed"
wait "$p1"
assert_eq 0 "$?" "smtp-source got no error while Redis was killed mid-run"
send_bulk 200 "$SMTP_PORT" 10
assert_eq 0 "$?" "smtp-source got no error while Redis was down"
settle $((5721 + 1400))
read -r i1 i2 i3 i4 <<<"$(counts)"
assert_eq 1400 "$((i1 + i2 + i3 - h1 - h2 - h3))" "all 1400 messages were delivered by bulk members"
assert_eq 0 "$(count_re 'reject:|milter-reject|4\.4\.3' "$MAILLOG")" "nothing was rejected or tempfailed"
assert_ge "$(count_re 'state=local' "$T/milter-one.log")" 1 "the milter routed locally while Redis was down"
assert_eq 1 "$(count_re 'routing from last known' "$T/milter-one.log")" \
	"the milter logged the outage once"
assert_true "the queue is empty" wait_queue_empty pf 30

e2e_finish
