# health_feedback.sh: delivery-log feedback end to end.
#
# A private Postfix with two member transports wired by `postlbctl
# postfix-config master` (m1 -> smtp-sink, m2 -> a scripted SMTP server
# that answers 450 to every RCPT), logging to its maillog_file, and
# postlb-policyd following that file.  Checks: m2's breaker trips within
# its window (cb_until in the future, cb_why, an event on ev:m2, one log
# line) and m1 is untouched; the per-member and per-domain counters in
# Redis equal the status lines in the maillog, never counting one twice,
# also across a policyd restart (lines written while it was stopped are
# counted once), a crash with a state file that lags behind (the lines
# read again are not counted), a truncation and a rotation (mv + postfix
# reload); a
# delivery removes its queue id from lc:NAME; a failed half-open trial
# opens the breaker again with twice the backoff, a delivered one closes
# it; deferrals stamped before the breaker's window (a backlog) are
# counted but trip nothing; the systemd journal as the source (journal
# files written with systemd-journal-remote), resumed from its cursor.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source python3 /lib/systemd/systemd-journal-remote


SMTPSCRIPT=$top_srcdir/tests/tools/smtpscript.py

start_bad() {
	# 450 to every RCPT, for at most 290 s
	timeout 300 python3 "$SMTPSCRIPT" "$BAD" 290 \
		--rcpt-reply "450 4.7.1 Service unavailable, try again later" \
		>"$T/smtp450.log" 2>&1 &
	BAD_PID=$!
	E2E_EXTRA_PIDS+=("$BAD_PID")
	wait_for 10 _port_listening "$BAD" || die "the 450 server did not start"
}

start_redis
pick_port SINK1
pick_port BAD
pick_port SMTP_PORT
start_sink s1 "$SINK1"
start_bad

policyd_conf "$T/postlb.conf" "$RUN/policy.sock" <<EOC
quotas = ( { name = "all"; subject = "global"; unit = "messages"; limit = 1000000; window = "1h"; } );
members = {
  m1 = { nexthop = "[127.0.0.1]:$SINK1"; address = "127.0.0.11"; };
  m2 = { nexthop = "[127.0.0.1]:$BAD"; address = "127.0.0.12"; };
};
feedback = {
  log = "$T/postfix-pf/maillog";
  state_file = "$RUN/feedback.state";
  breaker = { window = "30s"; min_attempts = 5; error_rate = 50;
              backoff = "3s"; backoff_max = "8s"; };
};
EOC
start_postfix pf "$SMTP_PORT" "$RUN/policy.sock" "$SINK1"
D=${POSTFIX_DIR[pf]}
MAILLOG=$(postfix_maillog pf)
"$CTL" -c "$T/postlb.conf" postfix-config strip "$T" >"$T/postlb_strip.regexp"
"$CTL" -c "$T/postlb.conf" postfix-config master "$T" >>"$D/master.cf"
# a.example goes through m1, b.example through m2 (no milter here: the
# feedback is what is tested); retries only when the test flushes
cat >>"$D/main.cf" <<EOF2
transport_maps = inline:{ a.example=m1:[127.0.0.1]:$SINK1, b.example=m2:[127.0.0.1]:$BAD }
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
EOF2
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1
touch "$MAILLOG"
chmod 644 "$MAILLOG"
start_policyd main "$T/postlb.conf"
wait_log main 'follow: reading .*maillog' 1 || fail "policyd follows the maillog"

# send N DOMAIN: N messages to user@DOMAIN through Postfix.
send() {
	timeout 120 smtp-source -m "$1" -s 5 -f s@src.example -t "user@$2" \
		"127.0.0.1:$SMTP_PORT" >>"$T/source.out" 2>&1 ||
		fail "smtp-source sent $1 messages to $2"
}

# logged KIND MEMBER: status lines of MEMBER with status=KIND in the maillog
# (the current file and the rotated one) and in the lines the test
# truncated away (kept in $T/truncated).
logged() {
	cat "$T/truncated" "$MAILLOG.1" "$MAILLOG" 2>/dev/null |
		grep -cE "postfix-$2/smtp\[[0-9]+\]: [0-9A-F]+: to=.*status=$1 " || true
}

# counted FIELD MEMBER: the sum of FIELD over MEMBER's minute hashes.
counted() {
	local k s=0 v
	for k in $(rcli --scan --pattern "postlb:fb:$2:*"); do
		v=$(rcli HGET "$k" "$1")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

_counted_is() { [ "$(counted "$1" "$2")" -eq "$3" ]; }
_logged_is() { [ "$(logged "$1" "$2")" -ge "$3" ]; }

# settle KIND MEMBER N: waits for N such lines in the log and in Redis.
settle() {
	wait_for 60 _logged_is "$1" "$2" "$3" || log "maillog has $(logged "$1" "$2") $1 lines of $2, expected $3"
	wait_for 10 _counted_is "$1" "$2" "$3" || true
	assert_eq "$3" "$(counted "$1" "$2")" "$4"
}

# --- 1. m2 answers 450: its breaker trips, m1 is untouched ---
t0=$(now_ms)
send 10 a.example
send 10 b.example
settle sent m1 10 "10 deliveries of m1 counted as sent"
settle deferred m2 10 "10 deferrals of m2 counted"
assert_eq 10 "$(counted sent:a.example m1)" "m1's sends counted for a.example"
assert_eq 10 "$(counted deferred:b.example m2)" "m2's deferrals counted for b.example"
assert_eq 0 "$(counted deferred m1)" "no deferral counted for m1"
until=$(rcli HGET postlb:m:m2 cb_until)
assert_ge "${until:-0}" "$t0" "m2's breaker is open (cb_until set)"
assert_eq 1 "$(rcli HGET postlb:m:m2 cb_trips)" "m2 tripped once"
assert_match 'failed 5 of 5 in 30s' "$(rcli HGET postlb:m:m2 cb_why)" "cb_why says why"
assert_match '^[0-9]+ feedback down: failed 5 of 5' "$(rcli LINDEX postlb:ev:m2 0)" \
	"the trip is an event on ev:m2"
ev_ms=$(rcli LINDEX postlb:ev:m2 0 | cut -d' ' -f1)
assert_eq $((ev_ms + 3000)) "$until" "open for the first backoff (3 s) from the trip, on Redis's clock"
assert_eq "$until" "$(rcli HGET postlb:m:m2 up_at)" "the slow start begins when the open time ends (up_at)"
assert_eq "" "$(rcli HGET postlb:m:m1 cb_until)" "m1's breaker is closed"
assert_eq 1 "$(count_re 'member m2 out of rotation' "$(policyd_log main)")" \
	"the trip is logged once"
out=$("$CTL" -c "$T/postlb.conf" health)
# (the breaker may have closed again already: it opens for 3 s)
assert_match "m2 +ready +- +- +(open [0-9]+s +- +100% of 10 +failed 5 of 5|closed +- +100% of 10)" "$out" \
	"postlbctl health: m2's breaker and its errors of 5 minutes"
assert_match "m1 +ready +- +- +closed +- +0% of 10 " "$out" "postlbctl health: m1 delivers"
out=$("$CTL" -c "$T/postlb.conf" health m2)
# the 1m window is the current minute only: it may hold fewer
assert_match "deliveries \(deferred and connection errors\): 1m (-|100% of [0-9]+); 5m 100% of 10; 60m 100% of 10" \
	"$out" "postlbctl health m2: error rates per window"
assert_match "b.example +100% of 10" "$out" "postlbctl health m2: the destination domains by error rate"

# --- 2. half-open: a failed trial reopens for twice the backoff ---
sleep_until $((until + 200))
timeout 10 postqueue -c "$D" -f
_trips_are() { [ "$(rcli HGET postlb:m:m2 cb_trips)" = "$1" ]; }
assert_true "a failed half-open trial opens the breaker again" wait_for 30 _trips_are 2
until2=$(rcli HGET postlb:m:m2 cb_until)
assert_match 'half-open trial failed, trip 2, open 6s' "$(rcli HGET postlb:m:m2 cb_why)" \
	"the second trip opens for twice the backoff"
ev_ms=$(rcli LINDEX postlb:ev:m2 0 | cut -d' ' -f1)
assert_eq $((ev_ms + 6000)) "$until2" "cb_until is 6 s after the second trip"

# --- 3. restart: lines written while policyd is stopped count once ---
stop_policyd main
send 6 a.example
wait_for 60 _logged_is sent m1 16
# the queue ids of those 6 are outstanding for m1 until their delivery
for q in $(grep -E 'postfix-m1/smtp.*status=sent' "$MAILLOG" | tail -n 6 |
	sed -E 's/.*: ([0-9A-F]+): to=.*/\1/'); do
	rcli ZADD postlb:lc:m1 1 "$q" >/dev/null
done
assert_eq 6 "$(rcli ZCARD postlb:lc:m1)" "6 queue ids outstanding for m1"
start_policyd main "$T/postlb.conf"
settle sent m1 16 "after a restart, 16 sends of m1: none lost, none twice"
_lc_empty() { [ "$(rcli ZCARD postlb:lc:m1)" = 0 ]; }
assert_true "their deliveries ended their least-outstanding assignment" wait_for 10 _lc_empty

# --- 3b. crash: a state file that lags behind does not count twice ---
cp "$RUN/feedback.state" "$T/old.state"
send 3 a.example
settle sent m1 19 "19 sends of m1"
pid=${POLICYD_PID[main]}
unset "POLICYD_PID[main]"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
cp "$T/old.state" "$RUN/feedback.state"
chown postfix "$RUN/feedback.state"
start_policyd main "$T/postlb.conf"
_fb_replayed() {
	kill -USR1 "${POLICYD_PID[main]}"
	sleep 0.2
	local l
	l=$(grep 'feedback: lines' "$(policyd_log main)" | tail -n 1)
	[ "$(stat_of "$l" replayed)" -ge "$1" ]
}
assert_true "after a crash, the 3 lines read again are recognised" wait_for 10 _fb_replayed 3
settle sent m1 19 "after a crash, still 19 sends of m1: none twice"

# --- 4. truncation and rotation ---
cp "$MAILLOG" "$T/truncated"
: >"$MAILLOG"
sleep 0.5
send 4 a.example
settle sent m1 23 "after a truncation, 23 sends of m1"
mv "$MAILLOG" "$MAILLOG.1"
timeout 30 postfix -c "$D" reload >/dev/null 2>&1 || die "postfix reload failed"
send 5 a.example
wait_for 30 test -s "$MAILLOG"
chmod 644 "$MAILLOG" 2>/dev/null
settle sent m1 28 "after a rotation, 28 sends of m1"
assert_eq 1 "$(count_re 'follow: .* rotated' "$(policyd_log main)")" "the rotation is logged once"

# --- 5. half-open: a delivered trial closes the breaker ---
kill "$BAD_PID" 2>/dev/null
wait_for 10 _port_free "$BAD"
start_sink s2 "$BAD"
sleep_until $((until2 + 200))
timeout 10 postqueue -c "$D" -f
_trips_are_0() { _trips_are 0; }
assert_true "a delivered half-open trial closes the breaker (its state kept across the restart)" \
	wait_for 30 _trips_are_0
assert_match '^[0-9]+ feedback up: half-open trial delivered' \
	"$(rcli LINDEX postlb:ev:m2 0)" "the close is an event on ev:m2"
assert_eq 1 "$(count_re 'member m2 back in rotation' "$(policyd_log main)")" \
	"the close is logged once"
# --- 6. a backlog of old deferrals is counted but does not trip ---
# (lines stamped 10 minutes ago, as after a long stop: outside the
# breaker's 30 s window); the same lines stamped now do trip
# fake_deferrals N STAMP TAG: N deferral lines of m1 stamped STAMP.
fake_deferrals() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf '%s e2e-pf postfix-m1/smtp[99]: F%s%04d: to=<x%d@a.example>, relay=127.0.0.1[127.0.0.1]:%s, delay=1, delays=1/0/0/0, dsn=4.7.1, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.7.1 Try again later (in reply to RCPT TO command))\n' \
			"$2" "$3" "$i" "$i" "$SINK1"
	done >>"$MAILLOG"
}
fake_deferrals 25 "$(date -d '-10 min' '+%b %d %H:%M:%S')" A
settle deferred m1 25 "25 old deferrals of m1 counted"
assert_eq "" "$(rcli HGET postlb:m:m1 cb_until)" "old deferrals do not trip m1's breaker"
fake_deferrals 25 "$(date '+%b %d %H:%M:%S')" B
settle deferred m1 50 "25 new deferrals of m1 counted"
assert_ge "$(rcli HGET postlb:m:m1 cb_until)" "$(now_ms)" "new deferrals trip m1's breaker"
log "$(grep 'feedback: lines' "$(policyd_log main)" | tail -n 1)"

# --- 7. the systemd journal as the source ---
# a second postlb-policyd (own prefix) reads journal files in $T/journal,
# written by systemd-journal-remote from the export format, with Postfix
# lines of this run as messages
J=$T/journal
mkdir -p "$J"
chown postfix "$J"
sed -e 's/prefix = "postlb:"/prefix = "pj:"/' \
	-e "s|log = \"$MAILLOG\"|log = \"journal:$J\"|" \
	-e "s|$RUN/feedback.state|$RUN/journal.state|" \
	-e "s|$RUN/policy.sock|$RUN/policy-j.sock|" "$T/postlb.conf" >"$T/postlb-j.conf"
# journal_entries N: N entries of the last "sent" line of m1, each with
# its own queue id, into the journal.
journal_entries() {
	local i msg usec
	msg=$(grep -E 'postfix-m1/smtp.*status=sent' "$MAILLOG.1" | tail -n 1 |
		sed -E 's/.*postfix-m1\/smtp\[[0-9]+\]: [0-9A-F]+: //')
	usec=$(date +%s%6N)
	for ((i = 0; i < $1; i++)); do
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=postfix-m1/smtp\n_PID=77\nSYSLOG_FACILITY=2\nMESSAGE=J%s%04d: %s\n\n' \
			$((usec + i)) $((i + 1)) "$2" "$i" "$msg"
	done >"$T/entries.export"
	/lib/systemd/systemd-journal-remote -o "$J/remote.journal" "$T/entries.export" \
		>>"$T/journal-remote.out" 2>&1 || fail "systemd-journal-remote wrote the entries"
	chmod 644 "$J"/*.journal
}
journal_entries 1 A # history: not counted
start_policyd jr "$T/postlb-j.conf"
journal_entries 7 B
_jcounted_is() {
	local k s=0 v
	for k in $(rcli --scan --pattern 'pj:fb:m1:*'); do
		v=$(rcli HGET "$k" sent)
		s=$((s + ${v:-0}))
	done
	[ "$s" -eq "$1" ]
}
assert_true "7 journal entries counted as sends of m1" wait_for 10 _jcounted_is 7
stop_policyd jr
journal_entries 3 C
start_policyd jr "$T/postlb-j.conf"
assert_true "after a restart, 10: the journal resumes after its cursor" wait_for 10 _jcounted_is 10
sleep 1
assert_true "... and counts nothing twice" _jcounted_is 10
e2e_finish
