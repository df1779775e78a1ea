# health_check.sh: active SMTP checks take a dead or stalled relay out of
# rotation by themselves and bring it back slowly.
#
# A private Postfix routes a steady stream through three relay members
# (smtp-sinks) in a round robin pool; postlb-policyd checks them (banner,
# EHLO, QUIT) every second, 250 ms while a member is changing.  Kill one
# sink: within 2 s Redis says it is down (with why, since when and an
# event), and no message is assigned to it once the mark-down is pushed
# to the milters: none 200 ms after it, though reserved picks may live
# 2 s (routing.reserve_time) and states are re-read every second: the
# push ends the reservations.
# Restart it: it
# comes back, and its share of the mail climbs along the slow-start ramp.
# A fourth member whose server accepts connections and never answers goes
# down by the check timeout.  A second host (its own Postfix and milter on
# the same Redis) sees the same change.  Reloads during checks do not stop
# them.  One host holds each member's lease; when it stops, a second
# policyd takes the checks over where it left off.
# postlbctl health shows it all.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source python3

start_redis
for s in R0 R1 R2 R3 R4 SMTP SMTP2; do pick_port "$s"; done
start_sink relayhost "$R0"
start_sink r1 "$R1"
start_sink r2 "$R2"
start_sink r3 "$R3"
# r4: accepts connections and never says a word (bounded: 120 s).
timeout 120 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
conns = []
end = time.time() + 110
s.settimeout(1)
while time.time() < end:
    try: conns.append(s.accept()[0])
    except socket.timeout: pass
' "$R4" &
E2E_EXTRA_PIDS+=($!)
wait_for 10 _port_listening "$R4" || die "the stalling server did not start"

{ postlb_conf_head; cat <<EOF; } >"$T/postlb.conf"
health = { check = { interval = "1s"; fastinter = "250ms"; timeout = "1s"; rise = 2; fall = 2; };
  slowstart = "6s"; slowstart_min = 10; };
members = {
  r1 = { nexthop = "[127.0.0.1]:$R1"; helo = "r1.postlb.example"; };
  r2 = { nexthop = "[127.0.0.1]:$R2"; helo = "r2.postlb.example"; };
  r3 = { nexthop = "[127.0.0.1]:$R3"; helo = "r3.postlb.example"; };
  r4 = { nexthop = "[127.0.0.1]:$R4"; };
};
pools = { relays = { members = ["r1", "r2", "r3"]; algorithm = "round_robin"; };
  stall = { members = ["r4"]; fallback = "relays"; }; };
rules = ( { name = "stall"; sender_domain = ["stall.example"]; pool = "stall"; } );
routing = { default_pool = "relays"; reserve_time = "2s";
  takeover = { nexthops = ["[127.0.0.1]:$R0"]; }; };
EOF
start_policyd main "$T/postlb.conf"
# A second host: its own milter (and Postfix, below) on the same Redis.
sed "s|$RUN/milter.sock|$RUN/milter2.sock|" "$T/postlb.conf" >"$T/postlb2.conf"

# start_ts_milter CONF SOCK LOG: a milter whose log lines get a time
# stamp (ms) as they are written.
start_ts_milter() {
	"$MILTER" -f -c "$1" 2> >(while IFS= read -r l; do
		t=${EPOCHREALTIME/[.,]/}
		printf '%s %s\n' "$((t / 1000))" "$l"
	done >>"$3") &
	E2E_EXTRA_PIDS+=($!)
	wait_for 10 test -S "$2" || die "postlb-milter ($1) did not start"
}
ML=$T/milter-ts.log
ML2=$T/milter2-ts.log
start_ts_milter "$T/postlb.conf" "$RUN/milter.sock" "$ML"
start_ts_milter "$T/postlb2.conf" "$RUN/milter2.sock" "$ML2"

wire_postlb pf "$SMTP" "$T/postlb.conf" "$R0"
wire_postlb pf2 "$SMTP2" "$T/postlb2.conf" "$R0"
D=${POSTFIX_DIR[pf]}

hc() { rcli HGET "postlb:m:$1" hc; }
_hc_is() { [ "$(hc "$1")" = "$2" ]; }

# --- the stalling member goes down by the timeout ---
wait_for 10 _hc_is r4 down || fail "r4 (never answers) did not go down within 10 s"
assert_match "timeout after 1000 ms waiting for the banner" "$(rcli HGET postlb:m:r4 hc_why)" \
	"r4: Redis says why (timeout waiting for the banner)"
timeout 30 smtp-source -m 5 -s 1 -l 300 -f a@stall.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1
wait_for 30 _queue_empty "$D" || log "queue not empty"
assert_eq 5 "$(count_re 'rule=stall pool=stall member=r[123] .*via=fallback' "$ML")" \
	"mail for the stalled member's pool took the fallback pool"
for m in r1 r2 r3; do
	assert_eq "" "$(hc "$m")$(rcli HGET "postlb:m:$m" hc_since)" "$m: never marked down"
done
assert_match ":[0-9]+$" "$(rcli GET postlb:hl:r1)" "r1's lease is held by one host (HOST:PID)"

# --- kill r2 under a steady load ---
timeout 200 smtp-source -m 3000 -s 2 -l 300 -f a@load.example -t u@dest.example \
	"127.0.0.1:$SMTP" >>"$T/source.out" 2>&1 &
src=$!
timeout 200 smtp-source -m 1000 -s 1 -l 300 -f a@load.example -t u@dest.example \
	"127.0.0.1:$SMTP2" >>"$T/source.out" 2>&1 &
src2=$!
wait_for 30 _log_count_ge "$ML" 'member=r2' 30 || fail "r2 got no mail before the kill"
wait_for 30 _log_count_ge "$ML2" 'member=r2' 10 || fail "r2 got no mail from the second host"
t_kill=$(now_ms)
stop_sink r2
wait_for 10 _hc_is r2 down || fail "r2 was not marked down within 10 s"
t_down=$(now_ms)
log "r2 marked down $((t_down - t_kill)) ms after its death"
assert_le $((t_down - t_kill)) 2000 "r2 left rotation within 2 s of its death"
t_mark=$(rcli HGET postlb:m:r2 hc_since)
after=$(awk -v t="$((t_mark + 200))" '$1 > t && /member=r2/' "$ML" | wc -l)
raw=$(awk -v t="$t_mark" '$1 > t && /member=r2/' "$ML" | wc -l)
log "assignments to r2 after the mark-down: $raw (after it + 200 ms: $after)"
assert_eq 0 "$after" "no message assigned to r2 once the mark-down was pushed to the milter"
# the second host routes 20 more messages now, whatever its stream did
# (from past the cutoff below, so all 20 are counted)
sleep_until $((t_down + 200))
timeout 60 smtp-source -m 20 -s 1 -l 300 -f a@load.example -t u@dest.example \
	"127.0.0.1:$SMTP2" >>"$T/source.out" 2>&1
after2=$(awk -v t="$((t_mark + 200))" '$1 > t && /member=r2/' "$ML2" | wc -l)
n2=$(awk -v t="$((t_mark + 200))" '$1 > t && /member=r[13]/' "$ML2" | wc -l)
assert_eq 0 "$after2" "the second host's milter saw the same change: nothing for r2"
assert_ge "$n2" 20 "... while it kept routing to r1 and r3"
assert_match "connect: Connection refused|connection closed" "$(rcli HGET postlb:m:r2 hc_why)" \
	"r2: Redis says why"
assert_match " check down: " "$(rcli LINDEX postlb:ev:r2 0)" "r2: the change is an event"
assert_eq 1 "$(count_re 'health: member r2 is down' "$(policyd_log main)")" "logged once"

# --- restart r2: it comes back along the slow-start ramp ---
sleep 1
start_sink r2 "$R2"
wait_for 10 _hc_is r2 up || fail "r2 did not come back within 10 s"
t_up=$(now_ms)
sleep 6.5
# r2's share of routed mail in the three 2-second windows after it came back
share() {
	awk -v a="$1" -v b="$2" '$1 > a && $1 <= b && /member=r[123]/ {
		n++; if (/member=r2/) k++ } END { printf "%d", n ? 100 * k / n : -1 }' "$ML"
}
s1=$(share "$t_up" $((t_up + 2000)))
s3=$(share $((t_up + 4000)) $((t_up + 6000)))
log "r2's share after it came back: ${s1}% (0-2 s), $(share $((t_up + 2000)) $((t_up + 4000)))% (2-4 s), ${s3}% (4-6 s)"
assert_lt "$s1" 25 "r2 starts with a small share (slow start, full share 33%)"
assert_lt "$s1" "$s3" "r2's share climbs along the ramp"
assert_eq 1 "$(count_re 'health: member r2 is up again' "$(policyd_log main)")" "the return is logged once"
kill "$src" "$src2" 2>/dev/null
wait "$src" "$src2" 2>/dev/null

# --- postlbctl health ---
out=$("$CTL" -c "$T/postlb.conf" health)
assert_match "r4 +ready +down" "$out" "postlbctl health: r4 is down by its check"
assert_match "timeout after 1000 ms" "$out" "postlbctl health: says why"
out=$("$CTL" -c "$T/postlb.conf" health r2)
assert_match "check down: " "$out" "postlbctl health r2: its events"

# --- a reload while checks are in flight: they go on ---
for i in 1 2 3 4 5; do
	kill -HUP "${POLICYD_PID[main]}"
	sleep 0.3
done
wait_log main 'reloaded' 5 10 || fail "policyd did not reload 5 times"
sleep 2
assert_match "^ok [0-9]+ms$" "$(rcli HGET postlb:m:r1 hc_last)" "r1 is checked after five reloads"
assert_true "policyd still runs after reloads during checks" _pid_alive "${POLICYD_PID[main]}"

# --- the lease: a second policyd checks nothing until the first stops ---
sed "s|$RUN/policy.sock|$RUN/policy2.sock|" "$T/postlb.conf" >"$T/policyd2.conf"
start_policyd second "$T/policyd2.conf"
holder=$(rcli GET postlb:hl:r1)
sleep 3
assert_eq "$holder" "$(rcli GET postlb:hl:r1)" "the lease stays with the first host while it checks"
stop_policyd main
_taken_over() { local h; h=$(rcli GET postlb:hl:r1); [ -n "$h" ] && [ "$h" != "$holder" ]; }
t0=$(now_ms)
wait_for 15 _taken_over || fail "the second policyd did not take over r1's checks"
log "r1's checks taken over $(($(now_ms) - t0)) ms after the first policyd stopped"
assert_le $(($(now_ms) - t0)) 2500 "a clean stop gives the lease up: taken over at the next check"
sleep 2
assert_match "^ok [0-9]+ms$" "$(rcli HGET postlb:m:r1 hc_last)" "the second host reports r1's checks"
assert_eq "down" "$(hc r4)" "r4 is still down under the new holder"
# a crash gives nothing up: the lease lapses (3 intervals + the timeout)
holder=$(rcli GET postlb:hl:r1)
kill -KILL "${POLICYD_PID[second]}"
unset "POLICYD_PID[second]"
start_policyd third "$T/postlb.conf"
t0=$(now_ms)
wait_for 15 _taken_over || fail "the third policyd did not take over after a crash"
log "r1's checks taken over $(($(now_ms) - t0)) ms after a crash"
assert_le $(($(now_ms) - t0)) 7000 "after a crash, taken over once the lease lapsed (4 s) and a check"

e2e_finish
