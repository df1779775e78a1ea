# milter_takeover.sh: postlb routes only the mail that Postfix would send
# out by its default outbound route, and leaves the rest to Postfix.
#
# A private Postfix where local.test is in mydestination (local delivery),
# relay.test is in relay_domains (the relay transport), transport_maps
# sends partner.test to its own relay, and everything else goes to the
# relayhost; two members behind postlb-milter (smtpd_milters and
# non_smtpd_milters, wired as postlbctl prints them).  For SMTP mail and
# for sendmail mail: outbound mail leaves through a member; local mail is
# delivered locally; partner.test mail reaches the partner relay; relay.test
# mail takes the relay transport; a message that mixes outbound and local
# recipients is left to Postfix whole (each recipient delivered once, by
# Postfix's own route).  The milter logs why each message was left alone
# and postlbctl explain says the same.  Then a content filter (a second
# private Postfix standing in for the scanner, re-injecting on a second
# smtpd) is set up as postlbctl postfix-config prints it when main.cf has a
# content_filter: every message is scanned exactly once, then routed
# through a member.  Last, SIGTERM in the middle of a message stream stops
# the milter cleanly.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink swaks sendmail smtp-source

start_redis
for s in M1 M2 R P SMTP SCAN REINJ; do
	pick_port "$s"
done
start_sink m1 "$M1"
start_sink m2 "$M2"
start_sink relayhost "$R"
start_sink partner "$P"

{ postlb_conf_head; cat <<EOF; } >"$T/postlb.conf"
members = {
  m1 = { nexthop = "[127.0.0.1]:$M1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$M2"; address = "127.0.0.12"; };
};
pools = { out = { members = ["m1", "m2"]; algorithm = "round_robin"; }; };
routing = {
  default_pool = "out";
  takeover = { nexthops = ["[127.0.0.1]:$R"]; };
};
EOF
assert_true "postlb-milter -n accepts the takeover settings" "$MILTER" -n -c "$T/postlb.conf"
start_policyd main "$T/postlb.conf"
start_milter one "$T/postlb.conf" "$RUN/milter.sock"
start_postfix pf "$SMTP" "$RUN/policy.sock" "$R"
D=${POSTFIX_DIR[pf]}
MAILLOG=$(postfix_maillog pf)
mkdir -p "$D/mail" && chmod 1777 "$D/mail"
echo "partner.test smtp:[127.0.0.1]:$P" >"$D/transport"
postconf -c "$D" -e "mydestination = local.test" "relay_domains = relay.test" \
	"transport_maps = texthash:$D/transport" "mail_spool_directory = $D/mail" \
	"local_recipient_maps =" "alias_maps ="
"$CTL" -c "$T/postlb.conf" postfix-config route "$T" >"$T/postlb_route.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config strip "$T" >"$T/postlb_strip.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config master "$T" >>"$D/master.cf"
"$CTL" -c "$T/postlb.conf" postfix-config main "$T" "$D" >"$T/main.add"
cat "$T/main.add" >>"$D/main.cf"
assert_match "^smtpd_milters = " "$(grep -v '^#' "$T/main.add")" \
	"without a content filter, postfix-config puts the milter on every smtpd"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1

# smtp TAG RCPT...: one message with Subject TAG via SMTP.
smtp() {
	local tag=$1 to
	shift
	to=$(IFS=,; echo "$*")
	timeout 30 swaks -s 127.0.0.1 -p "$SMTP" -f app@sender.example -t "$to" \
		--header "Subject: $tag" --body "$tag" >>"$T/swaks.out" 2>&1 ||
		fail "swaks $tag was not accepted"
}
# local_submit TAG RCPT...: the same with sendmail (pickup, non_smtpd_milters).
local_submit() {
	local tag=$1
	shift
	printf 'Subject: %s\n\n%s\n' "$tag" "$tag" |
		timeout 30 sendmail -C "$D" -f app@sender.example "$@" ||
		fail "sendmail $tag failed"
}
# at SINK TAG: how many copies of message TAG sink SINK holds.
at() { count_re "^Subject: $2\$" "${SINK_DIR[$1]}/dump"; }
# members TAG: copies of TAG at the two member sinks.
members() { echo $(($(at m1 "$1") + $(at m2 "$1"))); }
# delivered_local TAG: copies of TAG in the local mailbox of nobody.
delivered_local() { count_re "^Subject: $1\$" "$D/mail/nobody"; }

for via in smtp local_submit; do
	"$via" "out-$via" user@out.test
	"$via" "local-$via" nobody@local.test
	"$via" "partner-$via" someone@partner.test
	"$via" "relay-$via" someone@relay.test
	"$via" "mixed-$via" user@out.test nobody@local.test
done
wait_for 60 _queue_empty "$D" || log "queue not empty after 60 s"
sleep 1

for via in smtp local_submit; do
	assert_eq "1 0 0" "$(delivered_local "local-$via") $(members "local-$via") $(at relayhost "local-$via")" \
		"$via: local mail delivered locally, not through a member"
	assert_eq "1 0 0" "$(at partner "partner-$via") $(members "partner-$via") $(at relayhost "partner-$via")" \
		"$via: transport_maps mail reached its own relay"
	assert_eq "1 0" "$(at relayhost "relay-$via") $(members "relay-$via")" \
		"$via: relay_domains mail took the relay transport"
	assert_eq "1 1 0" "$(at relayhost "mixed-$via") $(delivered_local "mixed-$via") $(members "mixed-$via")" \
		"$via: a mixed message is left to Postfix whole, each recipient delivered once"
done
assert_eq "1 0" "$(members out-smtp) $(at relayhost out-smtp)" \
	"smtp: outbound mail left through a member"
assert_eq "0 1" "$(members out-local_submit) $(at relayhost out-local_submit)" \
	"sendmail: Postfix does not say how it resolves the recipients, so by default the message is left to it"
ML=$T/milter-one.log
assert_eq 1 "$(count_re 'member=m[12]' "$ML")" "the milter routed exactly the one outbound SMTP message"
assert_eq 1 "$(count_re 'left to Postfix: not-outbound route=local:' "$ML")" \
	"local mail: the log says why (local transport)"
assert_eq 1 "$(count_re "left to Postfix: not-outbound route=smtp:\\[127.0.0.1\\]:$P" "$ML")" \
	"transport_maps mail: the log names its nexthop"
assert_eq 1 "$(count_re 'left to Postfix: not-outbound route=relay:' "$ML")" \
	"relay_domains mail: the log names the relay transport"
assert_eq 1 "$(count_re 'left to Postfix: mixed route=local:' "$ML")" \
	"mixed mail: the log says mixed"
assert_eq 5 "$(count_re 'left to Postfix: unknown' "$ML")" \
	"sendmail mail: the log says the route is unknown"
assert_eq 0 "$(count_re 'status=(bounced|deferred)' "$MAILLOG")" "nothing bounced or deferred"

# takeover.unresolved = "route": a host where everything submitted with
# sendmail is outbound routes it (reloaded with SIGUSR1).
sed -i 's|takeover = { nexthops|takeover = { unresolved = "route"; nexthops|' "$T/postlb.conf"
kill -USR1 "${MILTER_PID[one]}"
wait_for 10 _log_count_ge "$ML" 'reloaded' 1 || fail "the milter did not reload"
local_submit out-route user@out.test
wait_for 60 _queue_empty "$D" || log "queue not empty after 60 s"
sleep 1
assert_eq "1 0" "$(members out-route) $(at relayhost out-route)" \
	"sendmail with unresolved = route: routed through a member"

# postlbctl explain says the same.
ex=$("$CTL" -c "$T/postlb.conf" explain -T local:local.test -r nobody@local.test)
assert_match "left to Postfix" "$ex" "explain: a local recipient is left to Postfix"
ex=$("$CTL" -c "$T/postlb.conf" explain -T "smtp:[127.0.0.1]:$P" -r a@partner.test)
assert_match "left to Postfix.*transport_maps" "$ex" "explain: another nexthop is left to Postfix"
ex=$("$CTL" -c "$T/postlb.conf" explain -T "smtp:[127.0.0.1]:$R" -r a@out.test)
assert_match "next pick: m[12]" "$ex" "explain: the default route is postlb's"
ex=$("$CTL" -c "$T/postlb.conf" explain -T "smtp:[127.0.0.1]:$R" -r a@out.test -T local:local.test -r nobody@local.test)
assert_match "mixed" "$ex" "explain: a mixed message is left to Postfix"

# --- a content filter: postlb routes after the scan ---
# The scanner stand-in: a second private Postfix that receives on SCAN and
# hands every message back to the re-injection smtpd on REINJ.
start_postfix scan "$SCAN" "$RUN/policy.sock" "$REINJ"
postconf -c "$D" -e "content_filter = scan:[127.0.0.1]:$SCAN"
cat >>"$D/master.cf" <<EOF
scan unix - - n - - smtp
127.0.0.1:$REINJ inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
EOF
"$CTL" -c "$T/postlb.conf" postfix-config main "$T" "$D" >"$T/main.cf2"
assert_eq "" "$(grep -E '^(smtpd|non_smtpd)_milters' "$T/main.cf2")" \
	"with a content filter, postfix-config puts no milter on the first pass"
assert_match "content filter" "$(cat "$T/main.cf2")" "postfix-config says why"
postconf -c "$D" -X smtpd_milters non_smtpd_milters
rein=$("$CTL" -c "$T/postlb.conf" postfix-config reinject "$T" "$D")
assert_match "^127.0.0.1:$REINJ/inet/smtpd_milters=" "$rein" \
	"postfix-config finds the re-injection smtpd"
assert_match "receive_override_options=no_unknown_recipient_checks,no_header_body_checks$" "$rein" \
	"postfix-config takes no_milters off the re-injection smtpd"
while IFS= read -r line; do
	postconf -c "$D" -P "$line"
done <<<"$rein"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
wait_for 20 _port_listening "$REINJ" || die "the re-injection smtpd does not listen"
sleep 1
for i in 1 2 3 4 5 6; do smtp "cf-$i" "user$i@out.test"; done
for i in 7 8 9 10; do local_submit "cf-$i" "user$i@out.test"; done
wait_for 60 _queue_empty "$D" || log "queue not empty after 60 s"
wait_for 60 _queue_empty "${POSTFIX_DIR[scan]}" || log "scan queue not empty"
sleep 1
scanned=$(count_re 'postfix/smtpd.* client=' "$(postfix_maillog scan)")
assert_eq 10 "$scanned" "the scanner saw each of the 10 messages once"
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(members "cf-$i")" = 1 ] && [ "$(at relayhost "cf-$i")" = 0 ] && ok=$((ok + 1))
done
assert_eq 10 "$ok" "every scanned message left through a member exactly once"

# --- SIGTERM in the middle of a message stream: a clean stop ---
pid=${MILTER_PID[one]}
timeout 120 smtp-source -m 300 -s 5 -l 1000 -f app@sender.example \
	-t user@out.test "127.0.0.1:$REINJ" >>"$T/source.out" 2>&1 &
src=$!
n0=$(count_re 'member=m' "$ML")
wait_for 30 _log_count_ge "$ML" 'member=m' $((n0 + 20)) || log "fewer than 20 routed before SIGTERM"
kill -TERM "$pid"
wait_for 20 _pid_gone "$pid" || fail "the milter did not stop within 20 s of SIGTERM"
wait "$pid" 2>/dev/null
rc=$?
unset "MILTER_PID[one]"
assert_eq 0 "$rc" "SIGTERM: the milter exits 0 (not killed by the signal)"
assert_eq 1 "$(count_re 'postlb-milter: info: stopped' "$ML")" "SIGTERM: the milter logs 'stopped'"
wait "$src" 2>/dev/null

e2e_finish
