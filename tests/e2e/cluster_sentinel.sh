# cluster_sentinel.sh: three Postfix hosts as one behind Redis Sentinel.
#
# A Redis primary, one replica and three redis-sentinel processes on
# loopback (down-after 1 s); three private Postfix hosts a, b, c (own
# queue directories and ports; sites s1, s1, s2), each with its own
# postlb-policyd and postlb-milter configured with redis.sentinels and
# redis.master_name, each with a postlb.conf differing only in `host`.
# Members: ipa, ipb, ipc (one per host, bound to 127.0.0.21..23) in pool
# "ips"; relays r1, r2, r3 (weights 5, 3, 2) shared by every host in pool
# "relays" and, for the background load, in pool "bulk".  Steady injected
# load through all three hosts (smtp-source).  Checks:
#  1. a sender quota (300 messages per hour) is exact across the three
#     hosts: the permits are within the GCRA bound (limit + one per
#     emission interval elapsed) and at least 99% of it; every other
#     attempt is deferred with 4.7.1;
#  2. the shared pool "relays" keeps its weights across the hosts (±3% of
#     each relay's share over 300 messages);
#  3. each host's source-IP member receives mail only from that host
#     (X-Client-Addr and X-Helo-Args at its sink);
#  4. kill -9 of the primary mid-run: Sentinel promotes the replica; every
#     probe answer within the budget (plus slack) and no policy timeout in
#     any Postfix log; fail-mode answers stop within 5 s of the promotion
#     (each policyd's log: its reconnection to the new primary; a probe
#     rotating over the three policyd); accepted == delivered, no
#     Message-ID twice, no 5xx.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
need_root_and_tools smtp-sink smtp-source redis-sentinel

BUDGET_MS=100
HOSTS="a b c"
QLIMIT=300
QWIN_MS=3600000

# --- Redis primary, replica, three sentinels ---
start_sentinel_cluster
wait_for 30 _sentinels_ready || die "the sentinels did not see each other and the replica"
log "primary :$P1, replica :$P2, sentinels :$S1 :$S2 :$S3"

# --- sinks ---
for s in s0 ipa ipb ipc r1 r2 r3; do
	pick_port "PORT_$s"
	start_sink "$s" "$(eval echo "\$PORT_$s")"
done
SINKS="s0 ipa ipb ipc r1 r2 r3"

# conf HOST: the cluster's config as host HOST has it.
conf() {
	cat <<EOC
redis = { sentinels = [ "127.0.0.1:$S1", "127.0.0.1:$S2", "127.0.0.1:$S3" ];
  master_name = "pm"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy-$1.sock"]; user = "postfix"; socket_mode = "0666";
  budget = "${BUDGET_MS}ms"; fail_mode = "open"; reserve = false; };
classes = {
  probe = { subject = "sender"; members = [ "probe@probe.example" ]; };
  capped = { subject = "sender"; members = [ "q@ips.example" ]; };
};
quotas = (
  { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000; window = "366d"; },
  { name = "probe"; subject = "sender"; unit = "messages"; limit = 1; window = "30d"; class = "probe"; },
  { name = "q"; subject = "sender"; unit = "messages"; limit = $QLIMIT; window = "1h"; class = "capped"; }
);
milter = { listen = "unix:$RUN/milter-$1.sock"; user = "postfix"; socket_mode = "0666"; };
host = "$1";
hosts = ( { name = "a"; site = "s1"; }, { name = "b"; site = "s1"; }, { name = "c"; site = "s2"; } );
members = {
  ipa = { host = "a"; address = "127.0.0.21"; nexthop = "[127.0.0.1]:$PORT_ipa"; };
  ipb = { host = "b"; address = "127.0.0.22"; nexthop = "[127.0.0.1]:$PORT_ipb"; };
  ipc = { host = "c"; address = "127.0.0.23"; nexthop = "[127.0.0.1]:$PORT_ipc"; };
  r1 = { nexthop = "[127.0.0.1]:$PORT_r1"; site = "s1"; weight = 5; };
  r2 = { nexthop = "[127.0.0.1]:$PORT_r2"; site = "s2"; weight = 3; };
  r3 = { nexthop = "[127.0.0.1]:$PORT_r3"; site = "s2"; weight = 2; };
};
pools = {
  ips = { members = ["ipa", "ipb", "ipc"]; };
  relays = { members = ["r1", "r2", "r3"]; };
  bulk = { members = ["r1", "r2", "r3"]; };
};
rules = (
  { name = "ips"; sender_domain = ["ips.example"]; pool = "ips"; },
  { name = "relays"; sender_domain = ["relays.example"]; pool = "relays"; }
);
routing = { default_pool = "bulk"; refresh = "200ms"; budget = "100ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$PORT_s0"]; }; };
EOC
}

# start_policyd_ts NAME CONF: start_policyd, but each line of the log is
# prefixed with the wall clock in microseconds, so that the log dates
# the fail-mode window.
start_policyd_ts() {
	local name=$1 conf=$2 logf=$T/policyd-$1.log pid
	"$POLICYD" -f -c "$conf" 2> >(while IFS= read -r l; do
		echo "${EPOCHREALTIME/[.,]/} $l"
	done >>"$logf") &
	pid=$!
	POLICYD_PID[$name]=$pid
	if ! wait_for 10 _policyd_started "$logf" "$pid"; then
		cat "$logf" >&2
		die "postlb-policyd $name did not start"
	fi
	log "postlb-policyd $name pid $pid ($conf)"
}

# wire HOST PORT: host HOST: its policyd and milter, and a private Postfix
# wired as its postfix-config says (its own regexp files); the policy
# service at END-OF-MESSAGE only (one policy request per message).
wire() {
	local h=$1 d w=$T/wire-$1 part
	mkdir -p "$w"
	conf "$h" >"$T/postlb-$h.conf"
	start_policyd_ts "$h" "$T/postlb-$h.conf"
	start_milter "$h" "$T/postlb-$h.conf" "$RUN/milter-$h.sock"
	start_postfix "$h" "$2" "$RUN/policy-$h.sock" "$PORT_s0"
	d=${POSTFIX_DIR[$h]}
	for part in route strip; do
		"$CTL" -c "$T/postlb-$h.conf" postfix-config "$part" "$w" >"$w/postlb_$part.regexp"
	done
	"$CTL" -c "$T/postlb-$h.conf" postfix-config master "$w" >>"$d/master.cf"
	"$CTL" -c "$T/postlb-$h.conf" postfix-config main "$w" "$d" >>"$d/main.cf"
	postconf -c "$d" -e "smtpd_recipient_restrictions = permit_mynetworks, reject"
	timeout 30 postfix -c "$d" reload >/dev/null 2>&1 || die "postfix reload failed"
}
for h in $HOSTS; do
	pick_port "SMTP_$h"
	wire "$h" "$(eval echo "\$SMTP_$h")"
done
for h in $HOSTS; do
	wait_policyd_connected "$h" 1 10 || die "policyd $h did not find the primary"
	assert_match "connected to primary 'pm' at 127\.0\.0\.1:$P1" \
		"$(grep 'redis: connected to' "$(policyd_log "$h")" | head -n 1)" \
		"policyd $h found the primary through the sentinels"
done
_clients_ge() { [ "$(rp "$P1" CLIENT LIST | grep -c .)" -ge "$1" ]; }
wait_for 10 _clients_ge 7 || log "fewer clients on the primary than expected"
sleep 1 # the reloaded Postfix instances settle

# --- load ---
smtp_port() { eval echo "\$SMTP_$1"; }

# probe_loop: one END-OF-MESSAGE request for the probe sender (its quota
# spent: "deferred" when decided by Redis, DUNNO from the fail mode) every
# 100 ms, rotating over the three policyd; appends "MS HOST MAX_US TOKEN",
# MS when the answer was in (a probe sent just before the kill may be
# answered after it).
probe_loop() {
	local a h i=0 hs=(a b c)
	while [ ! -e "$T/probe.stop" ]; do
		h=${hs[i % 3]}
		i=$((i + 1))
		a=$(probe_once "$RUN/policy-$h.sock")
		echo "$(now_ms) $h $a" >>"$T/probe.out"
		sleep 0.1
	done
}
# bg_loop HOST: batches of 5 messages from f@load.example (pool bulk)
# through HOST until $T/bg.stop exists.
bg_loop() {
	while [ ! -e "$T/bg.stop" ]; do
		timeout 60 smtp-source -m 5 -s 1 -l 500 -f f@load.example \
			-t user@dest.example "127.0.0.1:$(smtp_port "$1")" >>"$T/bg-$1.out" 2>&1
		echo "rc=$?" >>"$T/bg.rc"
		sleep 0.2
	done
}
# quota_worker HOST N: one message per smtp-source run from q@ips.example
# (smtp-source stops at a 4xx after DATA) until the quota was seen
# exhausted and MIN_END has passed, or MAX_END; "rc=... OUTPUT" per run.
quota_worker() {
	local res
	while :; do
		[ "$(now_ms)" -lt "$Q_MAX_END" ] || break
		[ -e "$T/q.exhausted" ] && [ "$(now_ms)" -ge "$Q_MIN_END" ] && break
		res=$(timeout 30 smtp-source -m 1 -l 300 -f q@ips.example -t u@dest.example \
			"127.0.0.1:$(smtp_port "$1")" 2>&1)
		echo "rc=$? $(tr '\n' ' ' <<<"$res")" >>"$T/q-$1-$2.out"
		[[ $res == *" 4.7.1 "* ]] && touch "$T/q.exhausted"
	done
}
# relay_worker HOST: 100 messages from w@relays.example (pool relays)
# through HOST, in batches of 10.
relay_worker() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		timeout 60 smtp-source -m 10 -s 2 -l 300 -f w@relays.example \
			-t u@dest.example "127.0.0.1:$(smtp_port "$1")" >>"$T/relay-$1.out" 2>&1
		echo "rc=$?" >>"$T/relay.rc"
	done
}

spend_probe "$RUN/policy-a.sock"
probe_loop &
PROBE_PID=$!
E2E_EXTRA_PIDS+=("$PROBE_PID")
BG_PIDS=()
for h in $HOSTS; do
	bg_loop "$h" &
	BG_PIDS+=($!)
	E2E_EXTRA_PIDS+=($!)
done

# --- 1-3. quota, weights and source-IP members under the load ---
log "=== quota and relay load through a, b, c"
A_PIDS=()
Q_T0=$(now_ms)
Q_MIN_END=$((Q_T0 + 15000))
Q_MAX_END=$((Q_T0 + 45000))
for h in $HOSTS; do
	for n in 1 2; do
		quota_worker "$h" "$n" &
		A_PIDS+=($!)
		E2E_EXTRA_PIDS+=($!)
	done
	relay_worker "$h" &
	A_PIDS+=($!)
	E2E_EXTRA_PIDS+=($!)
done
for p in "${A_PIDS[@]}"; do wait "$p"; done
Q_T1=$(now_ms)
cat "$T"/q-*.out >"$T/q.out"
attempts=$(count_re '^rc=' "$T/q.out")
permits=$(count_re '^rc=0 ' "$T/q.out")
deferred=$(count_re '^rc=1 .*450 4\.7\.1 .*Sending quota exceeded: sender q@ips\.example may send 300 messages per 1h \(quota q\)' "$T/q.out")
# GCRA: the whole limit at once, then one unit per emission interval
# (window / limit) elapsed since the first charge
BOUND=$((QLIMIT + (Q_T1 - Q_T0) * QLIMIT / QWIN_MS))
log "figure: quota q: $attempts attempts in $((Q_T1 - Q_T0)) ms through three hosts:" \
	"$permits permitted, $deferred deferred; GCRA bound $BOUND"
assert_eq "$attempts" $((permits + deferred)) "every quota attempt permitted or deferred with 4.7.1 naming quota q"
assert_ge "$deferred" 1 "the quota was exhausted"
assert_le "$permits" "$BOUND" "permits within the GCRA bound"
assert_ge $((permits * 100)) $((BOUND * 99)) "permits at least 99% of the GCRA bound (x100)"
assert_eq 0 "$(cat "$T"/relay.rc | grep -vc '^rc=0$')" "every relay-pool batch accepted"

# --- 4. kill -9 of the primary mid-run ---
sleep 2 # the background load and the probe run on, against the primary
log "=== kill -9 of the primary"
T_KILL=$(now_ms)
kill_redis
_promoted() { [ "$(role_of "$P2")" = master ]; }
wait_for 30 _promoted || die "Sentinel did not promote the replica within 30 s"
T_PROMO=$(now_ms)
log "figure: replica promoted $((T_PROMO - T_KILL)) ms after the kill"
for h in $HOSTS; do
	wait_policyd_connected "$h" 2 15 || fail "policyd $h did not connect to the new primary"
done
# the load runs on for 8 s after the promotion
sleep_until $((T_PROMO + 8000))
touch "$T/bg.stop" "$T/probe.stop"
for p in "${BG_PIDS[@]}" "$PROBE_PID"; do wait "$p" 2>/dev/null; done
log "load done: $(grep -c . "$T/bg.rc") background batches"

# fail-mode window from each policyd's log: down at the kill, back on the
# new primary within 5 s of the promotion
for h in $HOSTS; do
	lf=$(policyd_log "$h")
	down=$(grep -c 'answering from the fail mode' "$lf")
	back=$(awk -v k=$((T_KILL * 1000)) -v p="127.0.0.1:$P2" \
		'$1 >= k && /redis: connected to/ && index($0, p) { print substr($1, 1, length($1) - 3); exit }' "$lf")
	assert_ge "$down" 1 "policyd $h went to its fail mode after the kill"
	if [ -n "$back" ]; then
		log "figure: policyd $h on the new primary $((back - T_PROMO)) ms after the promotion"
		assert_le $((back - T_PROMO)) 5000 "policyd $h: fail-mode answers stop within 5 s of the promotion (ms)"
	else
		fail "policyd $h never logged its connection to the new primary 127.0.0.1:$P2"
	fi
done
# the same window from the answers: the probe rotates over the three
# policyd; a DUNNO before the budget ran out is the store being down
B_US=$((BUDGET_MS * 1000))
last_d=$(awk -v k="$T_KILL" -v b="$B_US" '$1 >= k && $4 == "D" && $3 < b { t = $1 } END { print t }' "$T/probe.out")
n_d=$(awk -v k="$T_KILL" -v b="$B_US" '$1 >= k && $4 == "D" && $3 < b' "$T/probe.out" | wc -l)
assert_eq 0 "$(awk -v k="$T_KILL" -v b="$B_US" '$1 < k && $4 == "D" && $3 < b' "$T/probe.out" | wc -l)" \
	"no store-down answer before the kill"
assert_ge "$n_d" 1 "the probe saw fail-mode answers after the kill"
if [ -n "$last_d" ]; then
	log "figure: last fail-mode probe answer $((last_d - T_PROMO)) ms after the promotion ($n_d probes)"
	assert_le $((last_d - T_PROMO)) 5000 "probe: fail-mode answers stop within 5 s of the promotion (ms)"
fi
for h in $HOSTS; do
	assert_ge "$(awk -v p="$T_PROMO" -v h="$h" '$1 > p && $2 == h && $4 == "Q"' "$T/probe.out" | wc -l)" 3 \
		"policyd $h decides from Redis again after the promotion"
done
assert_eq 0 "$(awk '$4 == "?"' "$T/probe.out" | wc -l)" "every probe got an answer"
PMAX=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$T/probe.out")
log "figure: slowest probe answer $((PMAX / 1000)) ms (budget $BUDGET_MS ms), $(grep -c . "$T/probe.out") probes"
assert_lt "$PMAX" $(((BUDGET_MS + 400) * 1000)) "every probe answer within the budget plus scheduling slack (us)"
for h in $HOSTS; do
	log "policyd $h: $(policyd_stats "$h")"
	assert_eq 0 "$(count_re 'problem talking to server|policy.*timeout|timeout.*policy|warning: .*policy' "$(postfix_maillog "$h")")" \
		"Postfix $h saw no policy timeout or error"
done

# --- delivery: accepted == delivered, no Message-ID twice, no 5xx ---
# accepted: the queue files committed, each once: qmgr's first "from=" for
# a queue ID until qmgr says it is "removed" (a short queue ID,
# microseconds and inode number, can come back for a later message;
# cleanup's message-id lines would count the messages the quota deferred
# at end of data too)
accepted_of() {
	grep -oE 'postfix/qmgr\[[0-9]+\]: [0-9A-F]+: (from=|removed)' "$(postfix_maillog "$1")" |
		awk '$3 == "removed" { delete live[$2]; next }
		     !($2 in live) { live[$2] = 1; n++ }
		     END { print n + 0 }'
}
accepted_all() {
	local h n=0
	for h in $HOSTS; do n=$((n + $(accepted_of "$h"))); done
	echo "$n"
}
delivered_all() {
	local s n=0
	for s in $SINKS; do n=$((n + $(sink_messages "$s"))); done
	echo "$n"
}
_all_delivered() { [ "$(delivered_all)" -ge "$(accepted_all)" ]; }
for h in $HOSTS; do
	wait_queue_empty "$h" 60 || log "host $h's queue is not empty"
done
wait_for 30 _all_delivered || log "sinks hold fewer messages than accepted"
accepted=$(accepted_all)
delivered=$(delivered_all)
log "accepted $accepted, delivered $delivered ($(for s in $SINKS; do printf '%s %s, ' "$s" "$(sink_messages "$s")"; done))"
assert_ge "$accepted" 700 "messages accepted under load"
assert_eq "$accepted" "$delivered" "accepted == delivered"
assert_eq "$delivered" "$(grep -ih '^message-id:' "$T"/sink-*/dump | wc -l)" \
	"every delivered message has its Message-ID"
assert_eq 0 "$(grep -ih '^message-id:' "$T"/sink-*/dump | sort | uniq -d | wc -l)" \
	"no Message-ID delivered twice"
assert_eq 0 "$(cat "$T"/bg-*.out "$T"/relay-*.out "$T/q.out" | grep -cE '(^|[^0-9.])5[0-9][0-9][ -]')" \
	"no 5xx reached a client"
for h in $HOSTS; do
	assert_eq 0 "$(count_re 'reject: .*: 5[0-9][0-9] |status=bounced' "$(postfix_maillog "$h")")" \
		"Postfix $h rejected with 5xx or bounced nothing"
done
assert_eq 0 "$(grep -vc '^rc=0$' "$T/bg.rc")" "every background batch accepted, also during the failover"

# 1. the quota's permits are what reached the source-IP members
q_delivered=0
for s in ipa ipb ipc; do
	q_delivered=$((q_delivered + $(count_re '^X-Mail-Args: <q@ips\.example>' "${SINK_DIR[$s]}/dump")))
done
assert_eq "$permits" "$q_delivered" "every permitted quota message delivered, through a source-IP member"

# 2. the shared relay pool's weights across the three hosts
w_total=0
for s in r1 r2 r3; do
	eval "w_$s=\$(count_re '^X-Mail-Args: <w@relays\.example>' \"\${SINK_DIR[$s]}/dump\")"
	w_total=$((w_total + $(eval echo "\$w_$s")))
done
assert_eq 300 "$w_total" "the relay pool's 300 messages reached its relays"
log "figure: pool relays across a, b, c: r1 $w_r1, r2 $w_r2, r3 $w_r3 of $w_total (weights 5:3:2)"
for rw in r1:5 r2:3 r3:2; do
	r=${rw%:*}
	w=${rw#*:}
	got=$(eval echo "\$w_$r")
	want=$((w_total * w)) # x10 (the weights sum to 10)
	d=$((got * 10 - want))
	assert_le $((${d#-} * 100)) $((want * 3)) "$r (weight $w) got $got, within ±3% of its share"
done

# 3. each host's source-IP member: mail from that host only, bound to its
# own address
i=1
for h in $HOSTS; do
	dump=${SINK_DIR[ip$h]}/dump
	n=$(sink_messages "ip$h")
	assert_ge "$n" 20 "ip$h took host $h's share of the quota sender's mail"
	assert_eq "$n" "$(count_re "^X-Client-Addr: 127\.0\.0\.2$i\$" "$dump")" \
		"every message at ip$h came from 127.0.0.2$i"
	assert_eq "$n" "$(count_re "^X-Helo-Args: e2e-$h\.postlb\.example\$" "$dump")" \
		"every message at ip$h came from host $h"
	assert_eq "$n" "$(count_re '^X-Mail-Args: <q@ips\.example>' "$dump")" \
		"ip$h took only pool ips's mail"
	i=$((i + 1))
done
e2e_finish
