# demo-run.sh: the postlb demo scenario (started by tools/demo.sh, or by
# `make demo` from a build directory).  Uses the end-to-end harness
# (tests/e2e/lib.sh) to start private servers, then:
#   - receipts@shop.example sends 10 receipts: rule tx-sender routes them to
#     the transactional pool (member tx1);
#   - news@bulk.example sends 30 newsletters: the sender quota (20 per 10
#     minutes) defers 10 of them with 4.7.1; the 20 accepted are spread
#     over the bulk pool's members out1..out3 by weight 5:3:2;
#   - crm@corp.example sends one message to 20 recipients at
#     bigmail.example: the recipient-domain quota (15 per 10 minutes) defers
#     5 recipients at RCPT, the message goes to the other 15.
# Then it prints a summary from the Postfix maillog and the milter log.

. "$top_srcdir/tests/e2e/lib.sh"
E2E_NAME=demo
need_root_and_tools smtp-sink smtp-source swaks

MILTER=$top_builddir/postlb-milter

start_redis
for s in out1 out2 out3 tx1; do
	pick_port port
	start_sink "$s" "$port"
	eval "PORT_$s=$port"
done
pick_port SMTP_PORT
cat >"$T/postlb.conf" <<EOC
redis = { address = "unix:$REDIS_SOCK"; };
policyd = { listen = ["unix:$RUN/policy.sock"]; user = "postfix"; socket_mode = "0666"; };
milter = { listen = "unix:$RUN/milter.sock"; user = "postfix"; socket_mode = "0666"; };
classes = { big_providers = { subject = "recipient_domain"; members = ["bigmail.example"]; }; };
quotas = (
  { name = "sender-msg"; subject = "sender"; unit = "messages"; limit = 20; window = "10m"; },
  { name = "bigmail-rcpt"; subject = "recipient_domain"; unit = "recipients"; limit = 15;
    window = "10m"; class = "big_providers"; }
);
members = {
  out1 = { nexthop = "[127.0.0.1]:$PORT_out1"; address = "127.0.0.11"; weight = 5; };
  out2 = { nexthop = "[127.0.0.1]:$PORT_out2"; address = "127.0.0.12"; weight = 3; };
  out3 = { nexthop = "[127.0.0.1]:$PORT_out3"; address = "127.0.0.13"; weight = 2; };
  tx1 = { nexthop = "[127.0.0.1]:$PORT_tx1"; address = "127.0.0.14"; };
};
pools = {
  bulk = { members = ["out1", "out2", "out3"]; algorithm = "weighted"; };
  transactional = { members = ["tx1"]; algorithm = "round_robin"; fallback = "bulk"; };
};
rules = ( { name = "tx-sender"; sender_domain = ["shop.example"]; pool = "transactional"; } );
routing = { default_pool = "bulk"; takeover = { nexthops = ["[127.0.0.1]:$PORT_out1"]; }; };
EOC
start_policyd demo "$T/postlb.conf"
"$MILTER" -f -c "$T/postlb.conf" 2>>"$T/milter.log" &
E2E_EXTRA_PIDS+=($!)
wait_for 10 test -S "$RUN/milter.sock" || die "postlb-milter did not start"
wire_postlb pf "$SMTP_PORT" "$T/postlb.conf" "$PORT_out1"
D=${POSTFIX_DIR[pf]}

send() { # FROM TO...
	local from=$1
	shift
	timeout 30 swaks -s 127.0.0.1 -p "$SMTP_PORT" -f "$from" -t "$(echo "$@" | tr ' ' ',')" \
		--body "demo" >/dev/null 2>&1 || true
}
log "sending: 10 receipts, 30 newsletters, 1 message to 20 recipients"
for i in $(seq 1 10); do send receipts@shop.example "buyer$i@dest.example"; done
for i in $(seq 1 30); do send news@bulk.example "reader$i@dest.example"; done
send crm@corp.example $(for i in $(seq 1 20); do echo "user$i@bigmail.example"; done)
wait_queue_empty pf 60 || log "the queue is not empty yet"
MAILLOG=$(postfix_maillog pf)
# picks the milter reserved and did not use leave today's counts within
# routing.reserve_time (200 ms) plus one routing.refresh (1 s)
sleep 1.5

echo
echo "================ postlb demo summary ================"
echo
echo "Deferred by quota (4.7.1 at SMTP; the client retries later):"
grep -o 'reject: [A-Z-]* from [^:]*: 450 4.7.1 .*(quota [a-z-]*)' "$MAILLOG" |
	sed -E 's/.*reject: ([A-Z-]+) from .*: 450 4.7.1 .*: ([a-z_]+) ([^ ]+) may send ([0-9]+ [a-z]+ per [0-9a-z]+) \(quota ([a-z-]+)\)/\5|\2 \3|\4|\1/' |
	sort | uniq -c |
	awk -F'|' '{ split($1, a, " "); printf "  %-14s %-30s %4d deferred at %-15s (limit %s)\n", a[2], $2, a[1], $4, $3 }'
echo
echo "Delivered, by sender and member (member = source IP / relay):"
awk '
	# maillog: "Mon DD HH:MM:SS host program[pid]: QUEUEID: ..."
	$5 ~ /qmgr\[/ && $7 ~ /^from=</ {
		q = $6; sub(/:$/, "", q); f = $7; gsub(/^from=<|>,$/, "", f); from[q] = f
	}
	$5 ~ /^postfix-.*\/smtp\[/ && /status=sent/ {
		q = $6; sub(/:$/, "", q); m = $5; sub(/^postfix-/, "", m); sub(/\/smtp.*/, "", m)
		n[from[q] "|" m]++
	}
	END { for (k in n) { split(k, p, "|"); printf "  %-24s -> %-6s %4d recipient(s)\n", p[1], p[2], n[k] } }
' "$MAILLOG" | sort
echo
echo "Routing decisions (postlb-milter log, one line per message):"
sed -n 's/.*info: \([0-9A-F]*: rule=.*\)/  \1/p' "$T/milter.log" | head -n 5
echo "  ... $(count_re 'rule=' "$T/milter.log") in all"
echo
echo "Quota usage now (postlbctl usage):"
"$CTL" -c "$T/postlb.conf" usage sender-msg news@bulk.example | sed 's/^/  /'
"$CTL" -c "$T/postlb.conf" usage bigmail-rcpt bigmail.example | sed 's/^/  /'
echo
echo "Members (postlbctl members):"
"$CTL" -c "$T/postlb.conf" members | sed 's/^/  /'
echo "====================================================="
pass "demo ran"
e2e_finish
