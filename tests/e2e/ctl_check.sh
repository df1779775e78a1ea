# ctl_check.sh: postlbctl for people and scripts, against a private
# Postfix and Redis wired exactly as `postlbctl postfix-config` prints.
#
#  1. `postlbctl check` on the correctly wired instance: exit 0 and no
#     problem line (text and --json);
#  2. each problem broken one at a time, then repaired: the milter out of
#     smtpd_milters / non_smtpd_milters, the policy service out of
#     smtpd_recipient_restrictions / smtpd_end_of_data_restrictions or
#     after permit_mynetworks, a stale route regexp, a member transport
#     missing or bound to another address, a chrooted smtpd with the
#     sockets outside the queue directory, Redis unreachable, Redis older
#     than 6 (a scripted server), hz below 100, an evicting
#     maxmemory-policy: each gives its own line (id, fix) and exit 1;
#  3. --json of list, get, usage, pools, members, health, explain, check:
#     one document each, valid (python3 -m json.tool), with the keys and
#     values the README documents;
#  4. `postlbctl stats -w 1`: the routed and refused counts it reports add
#     up to the mail sent while it ran.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source python3

start_redis
pick_port SINK1
pick_port SINK2
pick_port SMTP_PORT
start_sink s1 "$SINK1"
start_sink s2 "$SINK2"
CONF=$T/postlb.conf
cat >"$CONF" <<EOC
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix"; socket_mode = "0666"; };
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix"; socket_mode = "0666"; };
quotas = ( { name = "tight"; subject = "sasl_user"; unit = "messages"; limit = 3; window = "1h"; } );
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.12"; };
  m3 = { nexthop = "[127.0.0.1]:$SINK2"; address = "127.0.0.13";
         warmup = { start = "$(date -u +%F)"; caps = [ 5, 10 ]; }; };
};
pools = { both = { members = ["m1", "m2"]; algorithm = "round_robin"; }; };
routing = { default_pool = "both"; refresh = "200ms"; budget = "100ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$SINK1"]; unresolved = "route"; }; };
EOC
start_policyd main "$CONF"
start_milter one "$CONF" "$RUN/milter.sock"
wire_postlb pf "$SMTP_PORT" "$CONF" "$SINK1"
D=${POSTFIX_DIR[pf]}
cp "$D/main.cf" "$T/main.cf.good"
cp "$D/master.cf" "$T/master.cf.good"
cp "$T/postlb_route.regexp" "$T/route.good"

# check [CONF]: runs postlbctl check on the instance; sets OUT and RC.
check() {
	OUT=$("$CTL" -c "${1:-$CONF}" check -C "$D" 2>&1)
	RC=$?
}

# problems: the problem lines of OUT ("ID: ...; fix: ...").
problems() { printf '%s\n' "$OUT" | grep -E '^[a-z-]+: .*; fix: ' || true; }

# expect_problem ID REGEX WHAT [CONF]: check finds exactly one problem,
# ID, whose line matches REGEX, and exits 1.
expect_problem() {
	check "${4:-}"
	assert_eq 1 "$RC" "$3: check exits 1"
	assert_eq 1 "$(problems | wc -l)" "$3: one problem line"
	assert_match "^$1: $2" "$(problems)" "$3: the line says so"
}

# restore: puts the good Postfix files and Redis settings back.
restore() {
	cp "$T/main.cf.good" "$D/main.cf"
	cp "$T/master.cf.good" "$D/master.cf"
	cp "$T/route.good" "$T/postlb_route.regexp"
	rcli CONFIG SET hz 100 >/dev/null
	rcli CONFIG SET maxmemory-policy noeviction >/dev/null
}

# --- 1. all well ---
check
assert_eq 0 "$RC" "check on the wired instance exits 0"
assert_eq "" "$(problems)" "no problem line"
assert_eq "no problem found" "$OUT" "it says so"
J=$("$CTL" -c "$CONF" --json check -C "$D")
assert_eq 0 "$?" "check --json exits 0"

# jget JSON EXPR: evaluates the python expression EXPR on the document d.
jget() {
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}
# jvalid JSON: python3 -m json.tool accepts it.
jvalid() { printf '%s' "$1" | python3 -m json.tool >/dev/null; }

assert_true "check --json is valid JSON" jvalid "$J"
assert_eq "True 0 []" "$(jget "$J" '"%s %s %s" % (d["ok"], d["count"], d["problems"])')" \
	"check --json: ok, count 0, no problems"

# --- 2. one problem at a time ---
postconf -c "$D" -e 'smtpd_milters ='
expect_problem milter-missing 'smtpd_milters does not name postlb-milter' "smtpd_milters empty"
restore
postconf -c "$D" -e 'non_smtpd_milters ='
expect_problem milter-missing 'non_smtpd_milters does not name postlb-milter' "non_smtpd_milters empty"
restore

pol="check_policy_service { unix:$RUN/policy.sock, timeout=2s, default_action=DUNNO, try_limit=1 }"
postconf -c "$D" -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination'
expect_problem policy-missing 'smtpd_recipient_restrictions has no check_policy_service' \
	"no policy service at RCPT"
restore
postconf -c "$D" -e "smtpd_recipient_restrictions = reject_unauth_pipelining, permit_mynetworks, $pol, reject_unauth_destination"
expect_problem policy-order 'check_policy_service comes after permit_mynetworks in smtpd_recipient_restrictions' \
	"policy service after permit_mynetworks"
assert_match 'fix: move check_policy_service before permit_mynetworks' "$(problems)" \
	"the fix says where it goes"
restore
postconf -c "$D" -e "smtpd_recipient_restrictions = reject_non_fqdn_recipient, $pol, permit_mynetworks, reject_unauth_destination"
check
assert_eq 0 "$RC" "a reject before the policy service is fine"
restore
postconf -c "$D" -e 'smtpd_end_of_data_restrictions ='
expect_problem policy-missing 'smtpd_end_of_data_restrictions has no check_policy_service' \
	"no policy service at END-OF-MESSAGE"
restore

# a second smtpd (like Debian's submission) whose overrides drop postlb
pick_port SMTP_PORT2
postconf -c "$D" -M "127.0.0.1:$SMTP_PORT2/inet = 127.0.0.1:$SMTP_PORT2 inet n - n - - smtpd"
cp "$D/master.cf" "$T/master.cf.sub"
postconf -c "$D" -P "127.0.0.1:$SMTP_PORT2/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,reject"
expect_problem policy-missing "smtpd_recipient_restrictions of 127.0.0.1:$SMTP_PORT2/inet has no check_policy_service" \
	"a service's restriction override without the policy service"
assert_match "fix: put check_policy_service .* first in the -o smtpd_recipient_restrictions override of 127.0.0.1:$SMTP_PORT2/inet in $D/master.cf" \
	"$(problems)" "the fix names the override"
cp "$T/master.cf.sub" "$D/master.cf"
postconf -c "$D" -P "127.0.0.1:$SMTP_PORT2/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,check_policy_service,unix:$RUN/policy.sock,reject"
expect_problem policy-order "check_policy_service comes after permit_sasl_authenticated in smtpd_recipient_restrictions of 127.0.0.1:$SMTP_PORT2/inet" \
	"a service's override with the policy service after permit_sasl_authenticated"
cp "$T/master.cf.sub" "$D/master.cf"
postconf -c "$D" -P "127.0.0.1:$SMTP_PORT2/inet/smtpd_milters=unix:$T/other.sock"
expect_problem milter-missing "service 127.0.0.1:$SMTP_PORT2/inet overrides smtpd_milters without postlb-milter" \
	"a service's smtpd_milters override without the milter"
cp "$T/master.cf.sub" "$D/master.cf"
postconf -c "$D" -P "127.0.0.1:$SMTP_PORT2/inet/smtpd_recipient_restrictions=reject_unauth_pipelining,check_policy_service,unix:$RUN/policy.sock,permit_sasl_authenticated,reject"
check
assert_eq 0 "$RC" "a service's override with the policy service first is fine"
restore

head -n 1 "$T/route.good" | sed 's/(m1|m2)/(m1)/' >"$T/postlb_route.regexp"
expect_problem route-regexp-stale "$T/postlb_route.regexp does not hold the route lines" \
	"route regexp without m2"
restore
postconf -c "$D" -e 'milter_header_checks ='
expect_problem route-regexp-missing 'milter_header_checks names no readable regexp file' \
	"no milter_header_checks"
restore

postconf -c "$D" -MX m2/unix
expect_problem transport-missing "member m2 has no transport in $D/master.cf" "m2's transport removed"
restore
postconf -c "$D" -P m2/unix/smtp_bind_address=127.0.0.99
expect_problem transport-bind 'transport m2 binds to 127.0.0.99, member m2 has address 127.0.0.12' \
	"m2 bound to another address"
restore

postconf -c "$D" -F "127.0.0.1:$SMTP_PORT/inet/chroot=y"
check
assert_eq 1 "$RC" "chrooted smtpd: check exits 1"
assert_eq 2 "$(problems | grep -c '^socket-chroot: ')" \
	"chrooted smtpd: the milter and the policy socket are outside the queue"
assert_eq 2 "$(problems | wc -l)" "chrooted smtpd: nothing else"
assert_match "socket-chroot: service 127.0.0.1:$SMTP_PORT runs chrooted in $D/queue, and the milter socket unix:$RUN/milter.sock is outside it" \
	"$(problems)" "chrooted smtpd: the milter line"
restore

# sockets in the queue directory: named by their absolute paths (wrong
# for a chrooted smtpd), then relative to it (right)
Q=$D/queue
sed -e "s|unix:$RUN/milter.sock|unix:$Q/postlb/milter.sock|; s|unix:$RUN/policy.sock|unix:$Q/postlb/policy.sock|" \
	"$CONF" >"$T/inq.conf"
sed -i -e "s|unix:$RUN/milter.sock|unix:$Q/postlb/milter.sock|g; s|unix:$RUN/policy.sock|unix:$Q/postlb/policy.sock|g" \
	"$D/main.cf"
check "$T/inq.conf"
assert_eq 0 "$RC" "sockets in the queue by absolute path, no chroot: fine"
postconf -c "$D" -F "127.0.0.1:$SMTP_PORT/inet/chroot=y"
check "$T/inq.conf"
assert_eq 1 "$RC" "chrooted smtpd, absolute names: check exits 1"
assert_eq 3 "$(problems | grep -c '^socket-chroot: .* by its absolute path, which a chrooted smtpd looks up inside')" \
	"chrooted smtpd, absolute names: smtpd_milters and both restriction lists"
assert_match "socket-chroot: smtpd_milters names unix:$Q/postlb/milter.sock by its absolute path.*fix: name it unix:postlb/milter.sock in smtpd_milters in $D/main.cf" \
	"$(problems)" "the fix gives the relative name"
assert_eq 3 "$(problems | wc -l)" "chrooted smtpd, absolute names: nothing else"
sed -i -e "s|unix:$Q/postlb/|unix:postlb/|g" "$D/main.cf"
check "$T/inq.conf"
assert_eq 0 "$RC" "chrooted smtpd, names relative to the queue: fine"
postconf -c "$D" -e "non_smtpd_milters = { unix:$Q/postlb/milter.sock, default_action=accept }"
check "$T/inq.conf"
assert_eq 0 "$RC" "non_smtpd_milters by absolute path while cleanup is not chrooted: fine"
postconf -c "$D" -F "cleanup/unix/chroot=y"
expect_problem socket-chroot "non_smtpd_milters names unix:$Q/postlb/milter.sock by its absolute path, which a chrooted cleanup looks up" \
	"a chrooted cleanup, non_smtpd_milters by absolute path" "$T/inq.conf"
restore

rcli CONFIG SET hz 10 >/dev/null
expect_problem redis-hz 'Redis runs with hz 10' "hz 10"
restore
for p in allkeys-lru volatile-lru volatile-ttl; do
	rcli CONFIG SET maxmemory-policy "$p" >/dev/null
	expect_problem redis-eviction "maxmemory-policy is $p" "maxmemory-policy $p"
	restore
done

sed "s|unix:$REDIS_SOCK|unix:$T/no-redis.sock|" "$CONF" >"$T/noredis.conf"
expect_problem redis-unreachable 'cannot connect to redis' "Redis unreachable" "$T/noredis.conf"

# an old Redis: a scripted server that answers INFO as Redis 5 would
cat >"$T/redis5.py" <<'EOPY'
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
info = {b"server": b"# Server\r\nredis_version:5.0.14\r\nhz:100\r\nconfigured_hz:100\r\n",
        b"memory": b"# Memory\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n"}
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            break
        n = int(line[1:])
        args = []
        for _ in range(n):
            ln = int(f.readline()[1:])
            args.append(f.read(ln + 2)[:-2])
        if args[0].upper() == b"INFO":
            body = info.get(args[1].lower() if len(args) > 1 else b"server", b"")
            c.sendall(b"$%d\r\n%s\r\n" % (len(body), body))
        else:
            c.sendall(b"+OK\r\n")
    c.close()
EOPY
python3 "$T/redis5.py" "$T/redis5.sock" &
E2E_EXTRA_PIDS+=($!)
wait_for 10 test -S "$T/redis5.sock" || die "the scripted Redis 5 did not start"
sed "s|unix:$REDIS_SOCK|unix:$T/redis5.sock|" "$CONF" >"$T/redis5.conf"
expect_problem redis-version 'Redis 5.0.14 is older than 6' "Redis 5" "$T/redis5.conf"

check
assert_eq 0 "$RC" "all repaired: check exits 0 again"

# several problems at once: each on its own line, and --json lists them
postconf -c "$D" -e 'smtpd_milters ='
rcli CONFIG SET hz 10 >/dev/null
J=$("$CTL" -c "$CONF" --json check -C "$D")
assert_eq 1 "$?" "check --json with two problems exits 1"
assert_true "check --json with problems is valid JSON" jvalid "$J"
assert_eq "False 2 milter-missing,redis-hz" \
	"$(jget "$J" '"%s %s %s" % (d["ok"], d["count"], ",".join(p["id"] for p in d["problems"]))')" \
	"check --json lists both problems"
assert_eq "True" "$(jget "$J" 'all(p["fix"] and p["problem"] for p in d["problems"])')" \
	"each problem has its text and fix"
restore

# --- 3. --json of the reading commands ---
"$CTL" -c "$CONF" set tight alice 50 >/dev/null
pol "$RUN/policy.sock" -n 2 protocol_state=END-OF-MESSAGE protocol_name=ESMTP \
	client_address=127.0.0.1 sender=a@x.example sasl_username=alice \
	recipient=r@dest.example recipient_count=1 size=100 >/dev/null

J=$("$CTL" -c "$CONF" --json list)
assert_true "list --json is valid JSON" jvalid "$J"
assert_eq "tight sasl_user 3 3600000 messages defer None" \
	"$(jget "$J" '" ".join(str(d["quotas"][0][k]) for k in ("name", "subject_type", "limit", "window_ms", "unit", "action", "class"))')" \
	"list --json: the quota"
assert_eq "tight alice 50 3600000" \
	"$(jget "$J" '" ".join(str(d["overrides"][0][k]) for k in ("quota", "subject", "limit", "window_ms"))')" \
	"list --json: the live override"

J=$("$CTL" -c "$CONF" get tight alice --json)
assert_true "get --json is valid JSON" jvalid "$J"
assert_eq "tight sasl_user alice 50 False override messages" \
	"$(jget "$J" '" ".join(str(d[k]) for k in ("quota", "subject_type", "subject", "limit", "unlimited", "source", "unit"))')" \
	"get --json: the override"
J=$("$CTL" -c "$CONF" --json get tight bob)
assert_eq "3 config" "$(jget "$J" '"%s %s" % (d["limit"], d["source"])')" "get --json: the config limit"

J=$("$CTL" -c "$CONF" --json usage tight alice)
assert_true "usage --json is valid JSON" jvalid "$J"
assert_eq "2 50 True" "$(jget "$J" '"%s %s %s" % (d["used"], d["limit"], d["full_s"] > 0)')" \
	"usage --json: 2 of 50 used"

J=$("$CTL" -c "$CONF" --json pools)
assert_true "pools --json is valid JSON" jvalid "$J"
assert_eq "both True round_robin m1,m2" \
	"$(jget "$J" '"%s %s %s %s" % (d["pools"][0]["name"], d["pools"][0]["default"], d["pools"][0]["algorithm"], ",".join(m["name"] for m in d["pools"][0]["members"]))')" \
	"pools --json"

"$CTL" -c "$CONF" member suspend m2 'Ex"ample.com' 1h >/dev/null
J=$("$CTL" -c "$CONF" --json members)
assert_true "members --json is valid JSON (a suspended domain with a quote)" jvalid "$J"
assert_eq "m1 ready 127.0.0.11 [127.0.0.1]:$SINK1 None" \
	"$(jget "$J" '" ".join(str(d["members"][0][k]) for k in ("name", "state", "address", "nexthop", "warmup"))')" \
	"members --json: m1"
assert_eq 'ex"ample.com True' \
	"$(jget "$J" '"%s %s" % (d["members"][1]["suspended"][0]["domain"], d["members"][1]["suspended"][0]["remaining_s"] > 3500)')" \
	"members --json: m2's suspension, escaped"
"$CTL" -c "$CONF" member resume m2 'ex"ample.com' >/dev/null
assert_eq "m3 active 5 0" \
	"$(jget "$J" '" ".join(str(x) for x in (d["members"][2]["name"], d["members"][2]["warmup"]["status"], d["members"][2]["warmup"]["cap"], d["members"][2]["warmup"]["held_days"]))')" \
	"members --json: m3's warm-up, day 1"
read -r sec _ <<<"$(rcli TIME | tr '\n' ' ')"
args=()
for i in $(seq 1 40); do args+=("s:d$i.example" $(((sec + 3600) * 1000))); done
rcli HSET postlb:m:m2 "${args[@]}" >/dev/null
J=$("$CTL" -c "$CONF" --json members)
assert_eq 40 "$(jget "$J" 'len(d["members"][1]["suspended"])')" "members --json: all 40 suspensions"
rcli DEL postlb:m:m2 >/dev/null

J=$("$CTL" -c "$CONF" --json health)
assert_true "health --json is valid JSON" jvalid "$J"
assert_eq "m1,m2,m3 ready None False" \
	"$(jget "$J" '"%s %s %s %s" % (",".join(m["name"] for m in d["members"]), d["members"][0]["state"], d["members"][0]["check"], d["members"][0]["breaker"]["open"])')" \
	"health --json: members, state, no check, breaker closed"
assert_eq "1 2 0 5" \
	"$(jget "$J" '" ".join(str(d["members"][2]["warmup"][k]) for k in ("day", "days", "held_days", "cap"))')" \
	"health --json: m3's warm-up"
J=$("$CTL" -c "$CONF" --json health m2)
assert_eq "1 True" "$(jget "$J" '"%s %s" % (len(d["members"]), isinstance(d["members"][0]["events"], list))')" \
	"health NAME --json: one member with its events"

J=$("$CTL" -c "$CONF" --json explain -s a@x.example -T "smtp:[127.0.0.1]:$SINK1" -r b@dest.example)
assert_true "explain --json is valid JSON" jvalid "$J"
assert_eq "True None both 2 None" \
	"$(jget "$J" '"%s %s %s %s %s" % (d["routed_by_postlb"], d["rule"], d["pools"][0]["name"], len(d["pools"][0]["members"]), d["no_member"])')" \
	"explain --json: no rule, pool both, two members"
assert_match '^(m1|m2) X-Postlb-Route: (m1|m2) ' \
	"$(jget "$J" '"%s %s" % (d["pools"][0]["next_pick"], "X-Postlb-Route: " + d["pools"][0]["header"])')" \
	"explain --json: the next pick and its header"
"$CTL" -c "$CONF" member down m1 >/dev/null
"$CTL" -c "$CONF" member down m2 >/dev/null
J=$("$CTL" -c "$CONF" --json explain -s a@x.example -T "smtp:[127.0.0.1]:$SINK1" -r b@dest.example)
assert_eq "None default_transport False" \
	"$(jget "$J" '"%s %s %s" % (d["pools"][0]["next_pick"], d["no_member"], d["pools"][0]["members"][0]["usable"])')" \
	"explain --json: no member left"
"$CTL" -c "$CONF" member ready m1 >/dev/null
"$CTL" -c "$CONF" member ready m2 >/dev/null

# --- 4. stats ---
# the counters before: refusals of this minute may exist from part 3
"$CTL" -c "$CONF" --json stats -w 1 -n 20 >"$T/stats.out" 2>"$T/stats.err" &
STATS_PID=$!
E2E_EXTRA_PIDS+=($STATS_PID)
sleep 0.5
timeout 120 smtp-source -m 20 -s 4 -l 500 -f news@bulk.example -t user@dest.example \
	"127.0.0.1:$SMTP_PORT" >"$T/source.out" 2>&1
assert_eq 0 "$?" "smtp-source sent 20 messages"
# alice's override is 50: bob has the config limit 3, so 7 of 10 refused
pol "$RUN/policy.sock" -n 10 protocol_state=END-OF-MESSAGE protocol_name=ESMTP \
	client_address=127.0.0.1 sender=b@x.example sasl_username=bob \
	recipient=r@dest.example recipient_count=1 size=100 >"$T/bob.out"
assert_eq "D*3 Q:tight*7" "$(actions_rle "$(cat "$T/bob.out")")" "bob: 3 allowed, 7 deferred"
_sinks_hold() { [ $(($(sink_messages s1) + $(sink_messages s2))) -ge 20 ]; }
wait_for 60 _sinks_hold || log "the sinks hold fewer than 20 messages"
wait_for 30 _pid_gone "$STATS_PID" || fail "stats -n 20 did not end"
wait "$STATS_PID"
assert_eq 0 "$?" "stats exits 0"
assert_eq 20 "$(wc -l <"$T/stats.out")" "stats -n 20 printed 20 reports"
assert_true "each report is valid JSON" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$T/stats.out"
SUMS=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
routed = {}
for x in r:
    for m in x["members"]:
        routed[m["name"]] = routed.get(m["name"], 0) + m["routed"]
refused = sum(q["refused"] for x in r for q in x["quotas"] if q["name"] == "tight")
peak = max(m["routed_per_s"] for x in r for m in x["members"])
ok = all(0.5 < x["interval_s"] < 5 for x in r)
print(routed["m1"] + routed["m2"], routed["m1"], routed["m2"], refused, peak > 0, ok)' "$T/stats.out")
log "stats sums: $SUMS"
read -r s_all s_m1 s_m2 s_ref s_peak s_ok <<<"$SUMS"
assert_eq 20 "$s_all" "stats: 20 messages routed while it ran"
assert_eq 10 "$s_m1" "stats: 10 by m1 (round robin)"
assert_eq 10 "$s_m2" "stats: 10 by m2"
assert_eq 7 "$s_ref" "stats: 7 refusals by quota tight"
assert_eq True "$s_peak" "stats: a positive rate at some point"
assert_eq True "$s_ok" "stats: each interval about a second"
OUT=$("$CTL" -c "$CONF" stats)
assert_match 'routed/s' "$OUT" "stats without -w: one text report"
assert_match "tight +[0-9.]+ +[0-9]+" "$OUT" "stats: the quota line"

e2e_finish
