# postfix_quota.sh: sending quotas end to end through a private Postfix.
#
# smtp-source/swaks -> private Postfix (smtpd with check_policy_service at
# RCPT and END-OF-MESSAGE) -> postlb-policyd -> private Redis, and Postfix
# relays what it accepts to one smtp-sink.  Checks that a message quota
# lets exactly its limit through and defers the rest with 4.7.1 at
# END-OF-MESSAGE, that a recipient quota defers exactly the excess
# recipients at RCPT while the message goes to the others, and that no
# mail is lost or stuck in the queue.
#
# Windows are 10 minutes so that GCRA refills (30 s and 120 s per unit)
# cannot happen while the test runs; the test checks that the injection
# took less than one refill interval.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source swaks

start_redis
SOCK=$RUN/policy.sock
policyd_conf "$T/policyd.conf" "$SOCK" open 250ms <<'EOF'
classes = { bulk_domains = { subject = "sender_domain"; members = ["bulk.example"]; }; };
quotas = (
  { name = "snd"; subject = "sender"; unit = "messages"; limit = 20; window = "10m"; },
  { name = "rc"; subject = "sender_domain"; unit = "recipients"; limit = 5;
    window = "10m"; class = "bulk_domains"; }
);
EOF
start_policyd main "$T/policyd.conf"
wait_policyd_connected main || die "policyd did not connect to Redis"

pick_port SMTP_PORT
pick_port SINK_PORT
start_sink out "$SINK_PORT"
start_postfix pf "$SMTP_PORT" "$SOCK" "$SINK_PORT"
MAILLOG=$(postfix_maillog pf)

# --- 1. message quota: 50 messages, 20 allowed per 10 minutes ---
# smtp-source stops at the first 4xx after DATA ("fatal: end of data
# rejected", then it sleeps 1 s before exiting), so each message is one
# smtp-source run; 10 concurrent workers of 5 messages each, one SMTP
# session per message.
log "injecting 50 messages from sender@example.com (10 concurrent clients)"
t0=$(now_ms)
for w in 1 2 3 4 5 6 7 8 9 10; do
	(
		for i in 1 2 3 4 5; do
			res=$(timeout 30 smtp-source -m 1 -f sender@example.com \
				-t rcpt@dest.example "127.0.0.1:$SMTP_PORT" 2>&1)
			echo "rc=$? $res"
		done >"$T/inject-$w.out"
	) &
	E2E_EXTRA_PIDS+=($!)
done
for p in "${E2E_EXTRA_PIDS[@]}"; do
	wait "$p"
done
E2E_EXTRA_PIDS=()
t1=$(now_ms)
log "injection took $((t1 - t0)) ms"
assert_lt $((t1 - t0)) 30000 "injection finished within one refill interval (30 s)"

cat "$T"/inject-*.out >"$T/inject.out"
assert_eq 50 "$(count_re '^rc=' "$T/inject.out")" "smtp-source runs"
assert_eq 20 "$(count_re '^rc=0 ?$' "$T/inject.out")" "messages accepted by Postfix (250)"
assert_eq 30 "$(count_re '^rc=1 .*end of data rejected: 450 4\.7\.1 .*Sending quota exceeded: sender sender@example\.com may send 20 messages per 10m \(quota snd\)' "$T/inject.out")" \
	"messages deferred at the client with 450 4.7.1 naming quota snd"
assert_eq 0 "$(count_re ' 5[0-9][0-9] ' "$T/inject.out")" "no 5xx reached the client"

wait_queue_empty pf 60 || fail "the Postfix queue did not drain in 60 s"
assert_true "Postfix queue empty (none stuck)" _queue_empty "${POSTFIX_DIR[pf]}"
assert_eq 20 "$(sink_messages out)" "messages received by the sink"
assert_eq 20 "$(count_re 'status=sent' "$MAILLOG")" "status=sent lines in the maillog"
assert_eq 30 "$(count_re 'reject: END-OF-MESSAGE from .*: 450 4\.7\.1 .*Sending quota exceeded' "$MAILLOG")" \
	"END-OF-MESSAGE 450 4.7.1 deferrals in the maillog"
assert_eq 0 "$(count_re 'status=(deferred|bounced)' "$MAILLOG")" "no deferred or bounced delivery"
assert_eq 0 "$(count_re 'warning: .*policy' "$MAILLOG")" "no policy service warning in the maillog"
st=$(policyd_stats main)
assert_eq 30 "$(stat_of "$st" denied)" "policyd denied count"
assert_eq 0 "$(stat_of "$st" failmode)" "policyd never answered from the fail mode"
assert_eq 0 "$(stat_of "$st" bad)" "policyd saw no bad request"

# --- 2. recipient quota: one message to 8 recipients, 5 per 10 minutes ---
rcpts=r1@dest.example
for i in 2 3 4 5 6 7 8; do rcpts="$rcpts,r$i@dest.example"; done
log "one message from s@bulk.example to 8 recipients"
timeout 60 swaks --server "127.0.0.1:$SMTP_PORT" --from s@bulk.example \
	--to "$rcpts" --header "Subject: eight" >"$T/swaks.out" 2>&1
log "swaks exit status $?"
assert_eq 8 "$(count_re '^ *-> RCPT TO:' "$T/swaks.out")" "RCPT commands sent by swaks"
assert_eq 5 "$(grep -A1 -E '^ *-> RCPT TO:' "$T/swaks.out" | grep -cE '^ *<- +250 ')" \
	"recipients accepted with 250"
assert_eq 3 "$(grep -A1 -E '^ *-> RCPT TO:' "$T/swaks.out" | grep -cE '^ *<\*\* +450 4\.7\.1 .*Sending quota exceeded: sender_domain bulk\.example may send 5 recipients per 10m \(quota rc\)')" \
	"recipients deferred with 450 4.7.1 naming quota rc"
for i in 6 7 8; do
	assert_eq 1 "$(count_re "^ *<\*\* +450 4\.7\.1 <r$i@dest\.example>" "$T/swaks.out")" \
		"recipient r$i deferred"
done
assert_eq 0 "$(count_re '^ *<\*\* +5[0-9][0-9] ' "$T/swaks.out")" "no 5xx reached swaks"
assert_eq 1 "$(count_re '^ *<- +250 .*queued as' "$T/swaks.out")" "the message was accepted after DATA"

wait_queue_empty pf 60 || fail "the Postfix queue did not drain in 60 s"
assert_eq 21 "$(sink_messages out)" "messages at the sink (20 + 1)"
assert_eq 1 "$(count_re '^X-Mail-Args: <s@bulk\.example>' "${SINK_DIR[out]}/dump")" \
	"the 8-recipient message reached the sink once"
assert_eq 25 "$(sink_recipients out)" "recipients at the sink (20 + 5)"
for i in 1 2 3 4 5; do
	assert_eq 1 "$(count_re "^X-Rcpt-Args: <r$i@dest\.example>" "${SINK_DIR[out]}/dump")" \
		"r$i delivered once"
done
assert_eq 0 "$(count_re '^X-Rcpt-Args: <r[678]@dest\.example>' "${SINK_DIR[out]}/dump")" \
	"r6..r8 not delivered"
assert_eq 3 "$(count_re 'reject: RCPT from .*: 450 4\.7\.1 <r[678]@dest\.example>: .*Sending quota exceeded' "$MAILLOG")" \
	"RCPT 450 4.7.1 deferrals in the maillog"
assert_eq 25 "$(count_re 'status=sent' "$MAILLOG")" "status=sent lines in the maillog (20 + 5)"
assert_true "Postfix queue empty at the end" _queue_empty "${POSTFIX_DIR[pf]}"
st=$(policyd_stats main)
assert_eq 33 "$(stat_of "$st" denied)" "policyd denied count (30 + 3)"

e2e_finish
