# metrics_rules.sh: the shipped alert rules and Grafana dashboard.
#
# packaging/prometheus/postlb.rules.yml passes `promtool check rules` and
# its unit tests (postlb.rules.test.yml: every alert quiet, pending and
# firing with its labels and annotations); packaging/grafana/postlb.json
# is well-formed JSON with what an import needs (the datasource input,
# panels with queries, no fixed dashboard id), and every postlb metric
# the rules and the dashboard name is documented in README.md.  Needs
# promtool and python3; no servers.

. "$(dirname "$0")/lib.sh"
for t in promtool python3; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "[$E2E_NAME] SKIP: '$t' is not installed" >&2
		exit 77
	}
done
P=$top_srcdir/packaging

out=$(promtool check rules "$P/prometheus/postlb.rules.yml" 2>&1)
assert_true "promtool check rules: $(echo "$out" | tail -n 1)" \
	promtool check rules "$P/prometheus/postlb.rules.yml"
assert_match 'SUCCESS: 7 rules found' "$out" "the seven alert rules are there"
for a in PostlbRedisDown PostlbPolicydFailMode PostlbMemberDown PostlbPoolNoMember \
	PostlbPoolOverWarmupCap PostlbQuotaDeferralRateHigh PostlbDecisionLatencyHigh; do
	assert_eq 1 "$(grep -c "alert: $a\$" "$P/prometheus/postlb.rules.yml")" "rule $a"
	assert_ge "$(grep -c "alertname: $a\$" "$P/prometheus/postlb.rules.test.yml")" 2 \
		"rule $a has unit tests (quiet and firing)"
done
# promtool resolves rule_files relative to the test file
cp "$P/prometheus/postlb.rules.yml" "$P/prometheus/postlb.rules.test.yml" "$T/"
out=$(cd "$T" && promtool test rules postlb.rules.test.yml 2>&1)
rc=$?
assert_eq 0 "$rc" "promtool test rules postlb.rules.test.yml: $(echo "$out" | tail -n 1 | tr -s ' ')"

out=$(python3 - "$P/grafana/postlb.json" "$P/prometheus/postlb.rules.yml" \
	"$top_srcdir/README.md" <<'PY' 2>&1
import json, re, sys
dash = json.load(open(sys.argv[1]))
problems = []
if dash.get("id") is not None:
    problems.append("a fixed dashboard id")
if [i["name"] for i in dash.get("__inputs", [])] != ["DS_PROMETHEUS"]:
    problems.append("no DS_PROMETHEUS input")
exprs = []
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        problems.append("panel %r: datasource" % p["title"])
    if not p.get("targets"):
        problems.append("panel %r: no query" % p["title"])
    exprs += [t["expr"] for t in p.get("targets", [])]
titles = " ".join(p["title"] for p in dash["panels"]).lower()
for want in ("requests", "quota", "member", "states", "latency"):
    if want not in titles:
        problems.append("no panel about %s" % want)
text = " ".join(exprs) + open(sys.argv[2]).read()
readme = open(sys.argv[3]).read()
names = set(re.sub(r"_(bucket|sum|count)$", "", n)
            for n in re.findall(r"postlb_[a-z_]+", text))
for n in sorted(names):
    if "`%s`" % n not in readme:
        problems.append("%s is not in README.md's metric table" % n)
print("%d panels, %d queries, %d metrics" % (len(dash["panels"]), len(exprs), len(names)))
for pr in problems:
    print("PROBLEM:", pr)
sys.exit(1 if problems else 0)
PY
)
rc=$?
assert_eq 0 "$rc" "packaging/grafana/postlb.json imports as it is: $out"

e2e_finish
