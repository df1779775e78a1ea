# metrics_prometheus.sh: a real Prometheus server scrapes both daemons.
#
# A private redis-server, postlb-policyd and postlb-milter with /metrics
# on loopback ports, and Prometheus (Debian's prometheus package) with
# its own temporary storage on its own loopback port, scraping both every
# second.  Checks through Prometheus's HTTP API: both targets are up, the
# policy requests sent are counted, both daemons report Redis up, the
# milter's member states arrive, the alert rules load, every query of
# the Grafana dashboard runs, and no alert fires while all is well.

. "$(dirname "$0")/lib.sh"
need_root_and_tools prometheus promtool python3

# query EXPR: prints the value of the first sample of the instant query
# EXPR (nothing when the result is empty or the query fails).
query() {
	python3 - "http://127.0.0.1:$PROM_PORT/api/v1/query" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
try:
    r = json.load(urllib.request.urlopen(url, timeout=5))
except OSError:
    sys.exit(0)
res = r.get("data", {}).get("result", [])
if r.get("status") == "success" and res:
    print(res[0]["value"][1])
EOF
}

# query_is EXPR VALUE: true when EXPR's first sample is VALUE.
query_is() { [ "$(query "$1")" = "$2" ]; }

start_redis
pick_port PMPORT
pick_port MMPORT
pick_port PROM_PORT
cat >"$T/postlb.conf" <<EOC
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix";
  socket_mode = "0666"; metrics = "127.0.0.1:$PMPORT"; };
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix";
  socket_mode = "0666"; metrics = "127.0.0.1:$MMPORT"; };
quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; } );
members = {
  m1 = { nexthop = "[127.0.0.1]:2525"; };
  m2 = { nexthop = "[127.0.0.1]:2526"; };
};
pools = { bulk = { members = ["m1", "m2"]; algorithm = "round_robin"; }; };
routing = { default_pool = "bulk"; refresh = "200ms"; };
EOC
start_policyd main "$T/postlb.conf"
start_milter one "$T/postlb.conf" "$RUN/milter.sock"
wait_for 10 _port_listening "$PMPORT" || die "policyd /metrics does not listen"
wait_for 10 _port_listening "$MMPORT" || die "milter /metrics does not listen"
"$CTL" -c "$T/postlb.conf" member maint m2 >/dev/null || fail "postlbctl member maint m2"
pol_eom "$RUN/policy.sock" 7 someone@example.com >"$T/answers"
assert_eq 7 "$(grep -c '^DUNNO$' "$T/answers")" "policyd answered the 7 requests"

mkdir -p "$T/prom"
cp "$top_srcdir/packaging/prometheus/postlb.rules.yml" "$T/postlb.rules.yml"
cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$T/postlb.rules.yml"]
scrape_configs:
  - job_name: postlb-policyd
    static_configs: [ { targets: ["127.0.0.1:$PMPORT"] } ]
  - job_name: postlb-milter
    static_configs: [ { targets: ["127.0.0.1:$MMPORT"] } ]
EOC
assert_true "promtool check config accepts the scrape config and rules" \
	promtool check config "$T/prometheus.yml"
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prometheus.log" 2>&1 &
E2E_EXTRA_PIDS+=($!)
wait_for 30 _port_listening "$PROM_PORT" || die "prometheus does not listen"
log "prometheus on 127.0.0.1:$PROM_PORT"

assert_true "Prometheus scrapes postlb-policyd (up = 1)" \
	wait_for 60 query_is 'up{job="postlb-policyd"}' 1
assert_true "Prometheus scrapes postlb-milter (up = 1)" \
	wait_for 60 query_is 'up{job="postlb-milter"}' 1
assert_true "the 7 END-OF-MESSAGE requests reach Prometheus" \
	wait_for 30 query_is 'postlb_policyd_requests_total{state="END-OF-MESSAGE",answer="dunno"}' 7
assert_true "policyd reports Redis up" wait_for 30 query_is postlb_policyd_redis_up 1
assert_true "the milter reports Redis up" wait_for 30 query_is postlb_milter_redis_up 1
assert_true "m2 in maint arrives as a member state" \
	wait_for 30 query_is 'postlb_member_state{member="m2",state="maint"}' 1
assert_true "one ready member in pool bulk" \
	wait_for 30 query_is 'postlb_pool_members_ready{pool="bulk"}' 1
p99=$(query 'histogram_quantile(0.99, sum by (le) (postlb_policyd_decision_seconds_bucket))')
assert_match '^[0-9.e+-]+$' "$p99" "the decision latency p99 is a number ($p99 s)"
rules=$(python3 - "http://127.0.0.1:$PROM_PORT/api/v1/rules" <<'EOF'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
print(sum(len(g["rules"]) for g in r["data"]["groups"]))
EOF
)
assert_ge "$rules" 7 "Prometheus loaded the alert rules ($rules)"
# every query of the Grafana dashboard runs on this Prometheus
bad=$(python3 - "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	"$top_srcdir/packaging/grafana/postlb.json" <<'EOF'
import json, sys, urllib.error, urllib.parse, urllib.request
n = bad = 0
for p in json.load(open(sys.argv[2]))["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$instance", ".*").replace("$__rate_interval", "1m")
        n += 1
        try:
            r = json.load(urllib.request.urlopen(
                sys.argv[1] + "?" + urllib.parse.urlencode({"query": e}), timeout=5))
            ok = r.get("status") == "success"
        except (OSError, ValueError):
            ok = False
        if not ok:
            bad += 1
            print("query failed:", e, file=sys.stderr)
print("%d of %d" % (bad, n))
EOF
)
assert_match '^0 of [1-9]' "$bad" "Prometheus runs every dashboard query (failed: $bad)"
firing=$(query 'count(ALERTS{alertstate="firing"})')
assert_eq "" "$firing" "no alert fires while all is well"

e2e_finish
