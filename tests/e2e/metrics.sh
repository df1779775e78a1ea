# metrics.sh: both daemons' /metrics under load, through a private Postfix.
#
# smtp-source -> private Postfix (policy service and postlb-milter wired
# as postlbctl prints them) -> members m1, m2 (pool bulk) and m3 (pool tx,
# warm-up cap 5, fallback bulk) -> smtp-sinks.  Both daemons are scraped
# all through the load and every scrape passes `promtool check metrics`.
# Checks: routed counts per member equal the messages each sink received;
# the tx pool's cap and fallback show as paths; one route latency and one
# decision latency observation per message; quota denials by quota name
# equal the 4xx answers swaks saw; a drained member shows as drain; the
# active check of m1 counts; a reload that removes a member and a quota
# removes their series and keeps the others' counts; Redis killed: both
# say redis_up 0, and the exposition stays valid.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source swaks promtool python3

# scrape PORT: prints the /metrics of the daemon on 127.0.0.1:PORT.
scrape() {
	python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
		"http://127.0.0.1:$1/metrics"
}

# mval FILE SERIES: the value of SERIES (name{labels} as written), or
# nothing when absent.
mval() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }

# msum FILE NAME REGEX: the sum of NAME's samples whose labels match REGEX.
msum() {
	awk -v n="$2" -v re="$3" '
		{ split($1, a, "{") }
		a[1] == n && $1 ~ re { s += $2 }
		END { printf "%d\n", s }' "$1"
}

# check_exposition FILE WHAT: promtool check metrics says nothing of FILE.
check_exposition() {
	local out
	out=$(promtool check metrics <"$1" 2>&1)
	local rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		pass "promtool check metrics: $2"
	else
		fail "promtool check metrics: $2: rc $rc: $out"
	fi
}

write_conf() {
	local m2=$2 tight=$3
	cat >"$1" <<EOC
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix";
  socket_mode = "0666"; metrics = "127.0.0.1:$PMPORT"; };
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix";
  socket_mode = "0666"; metrics = "127.0.0.1:$MMPORT"; };
classes = { limited = { subject = "sender"; members = [ "limited@quota.example" ]; }; };
quotas = (
  { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; }
  $([ "$tight" = 1 ] && echo ', { name = "tight"; subject = "sender"; unit = "messages"; limit = 3; window = "1h"; class = "limited"; }')
);
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11";
         check = { interval = "500ms"; timeout = "2s"; }; };
  $([ "$m2" = 1 ] && echo "m2 = { nexthop = \"[127.0.0.1]:$SINK2\"; address = \"127.0.0.12\"; };")
  m3 = { nexthop = "[127.0.0.1]:$SINK3"; address = "127.0.0.13";
         warmup = { start = "$(date -u +%F)"; caps = [ 5 ]; }; };
};
pools = {
  bulk = { members = [ "m1" $([ "$m2" = 1 ] && echo ', "m2"') ]; algorithm = "round_robin"; };
  tx = { members = ["m3"]; fallback = "bulk"; };
};
rules = ( { name = "tx"; sender_domain = ["shop.example"]; pool = "tx"; } );
routing = { default_pool = "bulk"; refresh = "200ms"; budget = "200ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$SINK0"]; }; };
EOC
}

start_redis
for i in 0 1 2 3; do
	pick_port "SINK$i"
	start_sink "s$i" "$(eval echo "\$SINK$i")"
done
pick_port SMTP_PORT
pick_port PMPORT
pick_port MMPORT
write_conf "$T/postlb.conf" 1 1
assert_true "postlb-policyd -n accepts the metrics addresses" "$POLICYD" -n -c "$T/postlb.conf"
start_policyd main "$T/postlb.conf"
start_milter one "$T/postlb.conf" "$RUN/milter.sock"
wait_for 10 _port_listening "$PMPORT" || die "policyd /metrics does not listen"
wait_for 10 _port_listening "$MMPORT" || die "milter /metrics does not listen"
wire_postlb pf "$SMTP_PORT" "$T/postlb.conf" "$SINK0"

# --- 1. an idle scrape is valid and says what the config holds ---
scrape "$PMPORT" >"$T/p0.txt" || die "cannot scrape postlb-policyd"
scrape "$MMPORT" >"$T/m0.txt" || die "cannot scrape postlb-milter"
check_exposition "$T/p0.txt" "postlb-policyd, idle"
check_exposition "$T/m0.txt" "postlb-milter, idle"
# status PORT METHOD PATH: the HTTP status of one request.
status() {
	python3 -c 'import sys, urllib.error, urllib.request
r = urllib.request.Request("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[3]), method=sys.argv[2])
try:
    print(urllib.request.urlopen(r, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)' "$@"
}
assert_eq 404 "$(status "$PMPORT" GET /)" "policyd: a path other than /metrics is 404"
assert_eq 404 "$(status "$MMPORT" GET /metricsx)" "milter: a path other than /metrics is 404"
assert_eq 200 "$(status "$MMPORT" HEAD /metrics)" "HEAD /metrics is served"
assert_eq 501 "$(status "$PMPORT" POST /metrics)" "POST is refused"
assert_eq 1 "$(mval "$T/m0.txt" 'postlb_member_state{member="m2",state="ready"}')" "m2 starts ready"
assert_eq 5 "$(mval "$T/m0.txt" 'postlb_member_warmup_cap{member="m3"}')" "m3's warm-up cap is on /metrics"
assert_eq 2 "$(mval "$T/m0.txt" 'postlb_pool_members{pool="bulk"}')" "pool bulk has two members"

# --- 2. under load: scraped all along, every scrape valid ---
python3 -c 'import os, sys, time, urllib.request
t, pp, mp = sys.argv[1:]
for i in range(2000):
    if os.path.exists(t + "/load.done"):
        break
    for name, port in (("p", pp), ("m", mp)):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=10).read()
        except OSError:
            continue
        with open("%s/load-%s%d.txt" % (t, name, i), "wb") as f:
            f.write(body)
    time.sleep(0.05)' "$T" "$PMPORT" "$MMPORT" &
SCRAPER=$!
E2E_EXTRA_PIDS+=("$SCRAPER")
N_BULK=1000
N_TX=8
timeout 300 smtp-source -m "$N_BULK" -s 10 -l 1000 -f news@bulk.example \
	-t user@dest.example "127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1 &
BULK=$!
for i in $(seq "$N_TX"); do
	timeout 60 smtp-source -m 1 -s 1 -l 500 -f ops@shop.example \
		-t user@dest.example "127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1
done
wait "$BULK"
touch "$T/load.done"
wait "$SCRAPER"
TOTAL=$((N_BULK + N_TX))
_sinks_hold() {
	[ $(($(sink_messages s1) + $(sink_messages s2) + $(sink_messages s3))) -ge "$1" ]
}
wait_for 120 _sinks_hold "$TOTAL" || log "sinks hold $(sink_messages s1) $(sink_messages s2) $(sink_messages s3)"
wait_queue_empty pf 60 || log "the queue is not empty"
bad=0
n=0
for f in "$T"/load-*.txt; do
	[ -s "$f" ] || continue
	n=$((n + 1))
	out=$(promtool check metrics <"$f" 2>&1) && [ -z "$out" ] || {
		bad=$((bad + 1))
		log "$f: $out"
	}
done
assert_ge "$n" 6 "scraped both daemons at least three times under load"
assert_eq 0 "$bad" "every scrape under load passes promtool check metrics"
mid=0
for f in "$T"/load-m*.txt; do
	r=$(msum "$f" postlb_milter_routed_total .)
	[ "$r" -gt 0 ] && [ "$r" -lt "$TOTAL" ] && mid=$((mid + 1))
done
assert_ge "$mid" 1 "some milter scrapes were taken while mail was being routed"

sleep 1 # a refresh (200 ms) reads today's counts
scrape "$PMPORT" >"$T/p1.txt"
scrape "$MMPORT" >"$T/m1.txt"
check_exposition "$T/p1.txt" "postlb-policyd, after the load"
check_exposition "$T/m1.txt" "postlb-milter, after the load"
undocumented=$(cat "$T/p1.txt" "$T/m1.txt" | awk '$1 == "#" && $2 == "TYPE" { print $3 }' |
	while read -r name; do grep -q "^| \`$name\` |" "$top_srcdir/README.md" || echo "$name"; done)
assert_eq "" "$undocumented" "every metric family is in README.md's metric tables"
S1=$(sink_messages s1)
S2=$(sink_messages s2)
S3=$(sink_messages s3)
assert_eq "$TOTAL" $((S1 + S2 + S3)) "the members' sinks got every message"
assert_eq 0 "$(sink_messages s0)" "no message took the default route"
assert_eq "$S1" "$(msum "$T/m1.txt" postlb_milter_routed_total 'member="m1"')" "routed to m1 = what sink m1 got"
assert_eq "$S2" "$(msum "$T/m1.txt" postlb_milter_routed_total 'member="m2"')" "routed to m2 = what sink m2 got"
assert_eq "$S3" "$(msum "$T/m1.txt" postlb_milter_routed_total 'member="m3"')" "routed to m3 = what sink m3 got"
assert_eq 5 "$S3" "m3 took its warm-up cap of 5"
assert_eq $((N_TX - 5)) "$(msum "$T/m1.txt" postlb_milter_routed_total 'pool="tx",.*rule="tx",path="fallback"')" \
	"the tx messages over m3's cap are counted as fallback"
assert_eq "$N_BULK" "$(msum "$T/m1.txt" postlb_milter_routed_total 'pool="bulk",.*rule="",path="redis"')" \
	"bulk messages: the default pool (rule \"\"), routed through Redis"
assert_eq 0 "$(msum "$T/m1.txt" postlb_milter_routed_total 'path="none"')" "no message without a member"
assert_eq "$TOTAL" "$(mval "$T/m1.txt" postlb_milter_route_seconds_count)" "one route latency observation per message"
assert_eq "$TOTAL" "$(mval "$T/m1.txt" 'postlb_milter_route_seconds_bucket{le="+Inf"}')" "the +Inf bucket holds them all"
assert_eq 5 "$(mval "$T/m1.txt" 'postlb_member_sent_today{member="m3"}')" "m3's count today is on /metrics"
assert_eq 1 "$(mval "$T/m1.txt" 'postlb_pool_members_over_cap{pool="tx"}')" "pool tx: its one member is at the cap"
assert_eq 1 "$(mval "$T/m1.txt" postlb_milter_redis_up)" "the milter reaches Redis"
assert_ge "$(mval "$T/m1.txt" postlb_milter_redis_calls_total)" "$TOTAL" "one route script call per message at least (reserve = 1)"
assert_eq "$TOTAL" "$(mval "$T/p1.txt" 'postlb_policyd_requests_total{state="END-OF-MESSAGE",answer="dunno"}')" \
	"policyd answered DUNNO at END-OF-MESSAGE once per message"
assert_eq "$TOTAL" "$(mval "$T/p1.txt" 'postlb_policyd_requests_total{state="RCPT",answer="dunno"}')" \
	"policyd answered DUNNO at RCPT once per message"
assert_eq "$(msum "$T/p1.txt" postlb_policyd_requests_total .)" "$(mval "$T/p1.txt" postlb_policyd_decision_seconds_count)" \
	"one decision latency observation per request"
assert_eq 1 "$(mval "$T/p1.txt" postlb_policyd_redis_up)" "policyd reaches Redis"
assert_eq 0 "$(mval "$T/p1.txt" postlb_policyd_redis_errors_total)" "no Redis error"
assert_ge "$(mval "$T/p1.txt" postlb_policyd_connections_total)" 1 "smtpd connected to policyd"
assert_ge "$(mval "$T/p1.txt" 'postlb_health_checks_total{member="m1",result="ok"}')" 1 "m1's active checks pass and are counted"
assert_eq 1 "$(mval "$T/p1.txt" 'postlb_health_check_up{member="m1"}')" "m1 is up by its checks"

# --- 3. quota denials by quota name ---
deferred=0
for i in 1 2 3 4 5 6; do
	if ! timeout 30 swaks -s 127.0.0.1 -p "$SMTP_PORT" -f limited@quota.example \
		-t user@dest.example --body "limited $i" >"$T/swaks-$i.out" 2>&1; then
		grep -q '^<\*\* *4[0-9][0-9]' "$T/swaks-$i.out" && deferred=$((deferred + 1))
	fi
done
assert_eq 3 "$deferred" "swaks: 3 of 6 messages deferred by quota tight"
scrape "$PMPORT" >"$T/p2.txt"
check_exposition "$T/p2.txt" "postlb-policyd, after denials"
assert_eq 3 "$(mval "$T/p2.txt" 'postlb_policyd_quota_denied_total{quota="tight",answer="defer"}')" \
	"quota tight's denials are counted under its name"
assert_eq 3 "$(mval "$T/p2.txt" 'postlb_policyd_requests_total{state="END-OF-MESSAGE",answer="defer"}')" \
	"and as END-OF-MESSAGE defer answers"

# --- 4. a drained member shows as drain ---
"$CTL" -c "$T/postlb.conf" member drain m2 >/dev/null || fail "postlbctl member drain m2"
_drained() {
	scrape "$MMPORT" >"$T/m3.txt" 2>/dev/null &&
		[ "$(mval "$T/m3.txt" 'postlb_member_state{member="m2",state="drain"}')" = 1 ]
}
assert_true "m2 shows as drain on the milter's /metrics" wait_for 10 _drained
assert_eq 0 "$(mval "$T/m3.txt" 'postlb_member_state{member="m2",state="ready"}')" "and not as ready"
assert_eq 1 "$(mval "$T/m3.txt" 'postlb_pool_members_ready{pool="bulk"}')" "pool bulk has one ready member left"

# --- 5. a reload: series of removed names go, the others keep counting ---
M1_BEFORE=$(msum "$T/m3.txt" postlb_milter_routed_total 'member="m1"')
write_conf "$T/postlb.conf" 0 0
kill -HUP "${POLICYD_PID[main]}"
kill -USR1 "${MILTER_PID[one]}"
wait_log main 'reloaded' 1 || fail "policyd did not reload"
wait_for 10 _log_count_ge "$T/milter-one.log" 'reloaded' 1 || fail "the milter did not reload"
scrape "$PMPORT" >"$T/p4.txt"
scrape "$MMPORT" >"$T/m4.txt"
check_exposition "$T/p4.txt" "postlb-policyd, after a reload"
check_exposition "$T/m4.txt" "postlb-milter, after a reload"
assert_eq 0 "$(grep -c 'member="m2"' "$T/m4.txt")" "no series of m2 after it left the config"
assert_eq 0 "$(grep -c 'quota="tight"' "$T/p4.txt")" "no series of quota tight after it left the config"
assert_eq "$M1_BEFORE" "$(msum "$T/m4.txt" postlb_milter_routed_total 'member="m1"')" "m1's routed count survives the reload"
assert_eq 1 "$(mval "$T/m4.txt" 'postlb_pool_members{pool="bulk"}')" "pool bulk has one member by the new config"

# --- 6. Redis down: both say so ---
kill_redis
_redis_down_seen() {
	scrape "$PMPORT" >"$T/p5.txt" 2>/dev/null && scrape "$MMPORT" >"$T/m5.txt" 2>/dev/null &&
		[ "$(mval "$T/p5.txt" postlb_policyd_redis_up)" = 0 ] &&
		[ "$(mval "$T/m5.txt" postlb_milter_redis_up)" = 0 ]
}
# policyd notices at its next call: one request
pol_eom "$RUN/policy.sock" 1 someone@bulk.example >/dev/null
assert_true "both daemons say redis_up 0 with Redis down" wait_for 15 _redis_down_seen
check_exposition "$T/p5.txt" "postlb-policyd, Redis down"
check_exposition "$T/m5.txt" "postlb-milter, Redis down"

e2e_finish
