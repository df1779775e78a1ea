# milter_input.sh: postlb-milter sees every message as Postfix accepts
# it: headers as long as Postfix's header_size_limit, whole header
# values, every instance of a header, every recipient domain, and the
# message size (headers and body) for size rules.
#
# A private Postfix with postlb-milter; rules send matching mail to pool
# "b" (member mb), everything else to pool "a" (member ma).  Checks: a
# message with a 99 kB folded header is still routed; a 55 kB
# X-Mail-Class value that ends in "bulk" matches a rule anchored at its
# end; the 40th instance of a header is seen; a size rule compares the
# whole message size, headers included; a rule on the 17th of 20
# recipient domains matches, and a member suspended for that domain gets
# none of the messages to it.  Postfix 3.7 itself passes at
# most about 60 kB of one header (measured here, whatever
# header_size_limit says), so a raw milter-protocol client sends what
# Postfix could with other limits: one 90 kB header packet, above
# libmilter's default 64 kB packet limit, which the milter raises.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink python3

start_redis
for s in A B R SMTP; do pick_port "$s"; done
start_sink ma "$A"
start_sink mb "$B"
start_sink relayhost "$R"
{ postlb_conf_head; cat <<EOF; } >"$T/postlb.conf"
members = {
  ma = { nexthop = "[127.0.0.1]:$A"; };
  mb = { nexthop = "[127.0.0.1]:$B"; };
};
pools = { a = { members = ["ma"]; }; b = { members = ["mb"]; };
  ab = { members = ["ma", "mb"]; algorithm = "round_robin"; }; };
rules = (
  { name = "susp"; sender_domain = ["susp.example"]; pool = "ab"; },
  { name = "d17"; recipient_domain = ["d17.test"]; pool = "b"; },
  { name = "class"; header = "X-Mail-Class"; match = "bulk\$"; pool = "b"; },
  { name = "big"; sender_domain = ["size.example"]; size_min = 5000; pool = "b"; }
);
routing = { default_pool = "a"; takeover = { nexthops = ["[127.0.0.1]:$R"]; }; };
EOF
start_policyd main "$T/postlb.conf"
start_milter one "$T/postlb.conf" "$RUN/milter.sock"
wire_postlb pf "$SMTP" "$T/postlb.conf" "$R"
D=${POSTFIX_DIR[pf]}

# send.py PORT SENDER TAG KIND: one message, Subject TAG, shaped by KIND.
cat >"$T/send.py" <<'EOF'
import smtplib, sys
port, sender, tag, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
hdrs = ["From: <%s>" % sender, "To: <user@dest.example>", "Subject: %s" % tag]
body = "body\r\n"
rcpts = ["user@dest.example"]
if kind == "domains":          # 20 recipients in 20 domains, d17.test 17th
    rcpts = ["u@d%d.test" % i for i in range(1, 21)]
if kind == "long-header":      # 99 kB, folded into 1240 lines
    hdrs.append("X-Filler: " + "\r\n\t".join(["x" * 78] * 1240))
elif kind == "long-value":     # 55 kB value that ends in "bulk"
    hdrs.append("X-Mail-Class: " + "\r\n\t".join(["y" * 78] * 700) + " bulk")
elif kind == "many":           # the 40th instance matches
    hdrs += ["X-Mail-Class: other%d" % i for i in range(39)]
    hdrs.append("X-Mail-Class: bulk")
elif kind == "size-headers":   # 3000 body bytes + about 3000 header bytes
    hdrs += ["X-Pad-%d: %s" % (i, "p" * 90) for i in range(30)]
    body = ("b" * 98 + "\r\n") * 30
elif kind == "size-small":     # about 3300 bytes in all
    body = ("b" * 98 + "\r\n") * 30
msg = "\r\n".join(hdrs) + "\r\n\r\n" + body
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.sendmail(sender, rcpts, msg.encode())
EOF
send() { timeout 60 python3 "$T/send.py" "$SMTP" "$@" || fail "sending $2 failed"; }
at() { count_re "^Subject: $2\$" "${SINK_DIR[$1]}/dump"; }
where() { echo "$(at ma "$1") $(at mb "$1") $(at relayhost "$1")"; }

send app@x.example long-header long-header
send app@x.example long-value long-value
send app@x.example many many
send app@size.example size-headers size-headers
send app@size.example size-small size-small
# every recipient domain counts: a rule on the 17th, a suspension for it
send app@x.example domains domains
"$CTL" -c "$T/postlb.conf" member suspend ma d17.test 10m >/dev/null ||
	fail "postlbctl member suspend failed"
for i in 1 2 3 4 5 6; do send app@susp.example "susp-$i" domains; done
wait_for 60 _queue_empty "$D" || log "queue not empty after 60 s"
sleep 1
assert_eq "0 1 0" "$(where domains)" "a rule on the 17th recipient domain matches (pool b)"
n=0
for i in 1 2 3 4 5 6; do [ "$(where "susp-$i")" = "0 1 0" ] && n=$((n + 1)); done
assert_eq 6 "$n" "a member suspended for the 17th domain gets none of 6 messages"
assert_eq "1 0 0" "$(where long-header)" "a 99 kB header (Postfix passes its first 60 kB): still routed (pool a)"
assert_eq "0 1 0" "$(where long-value)" "a 55 kB header value matched at its end (pool b)"
assert_eq "0 1 0" "$(where many)" "the 40th instance of a header is seen (pool b)"
assert_eq "0 1 0" "$(where size-headers)" "size_min counts the headers too (pool b)"
assert_eq "1 0 0" "$(where size-small)" "a smaller message stays under size_min (pool a)"
assert_eq 0 "$(count_re 'milter.*(error|timeout|abort)' "$(postfix_maillog pf)")" "Postfix saw no milter error"

# The raw client: one 90 kB header packet straight to the milter.
MC="python3 $top_srcdir/tests/tools/milterclient.py $RUN/milter.sock"
out=$(timeout 30 $MC --rcpt u@dest.example smtp "[127.0.0.1]:$R" \
	--header-size X-Mail-Class 90000 " bulk")
assert_match "ADDHEADER X-Postlb-Route: mb " "$out" "a 90 kB header packet is read whole and matched (pool b)"
assert_match "ACCEPT" "$out" "... and the message is accepted"
out=$(timeout 30 $MC --rcpt u@dest.example smtp "[127.0.0.1]:$R" --header X-Mail-Class other)
assert_match "ADDHEADER X-Postlb-Route: ma " "$out" "the raw client's baseline: a short header, pool a"

e2e_finish
