# redis_quota.sh: quota decisions of postlb-policyd against a real Redis.
#
# Drives postlb-policyd with polclient (no Postfix) and checks: a quota
# allows exactly its limit then defers, and refills on time; one subject
# over quota charges none of the other quotas of the request (the Lua
# script is all or nothing); two policyd processes sharing one Redis
# enforce one quota together; live overrides in Redis change limits
# without a restart; recipients are charged at RCPT, messages and bytes
# at END-OF-MESSAGE (bytes by the size attribute); units reserved ahead
# are given back as the time they took, so an override lowering a limit
# in between does not erase usage; policyd.count_only leaves inbound
# requests uncounted.
#
# Each section runs its own policyd with its own quotas (distinct quota
# names, so distinct Redis keys).  Windows are long (1 h) wherever time
# must not refill the bucket during the section; the refill section uses
# a 2 s emission interval, far above the few milliseconds a burst takes.

. "$(dirname "$0")/lib.sh"
need_root_and_tools

start_redis
WIN_1H=3600000
WIN_1D=86400000

# section NAME: starts policyd NAME on $RUN/NAME.sock with the quotas read
# from stdin and waits for its Redis connection.  Sets SOCK.
section() {
	SOCK=$RUN/$1.sock
	policyd_conf "$T/$1.conf" "$SOCK" open 250ms
	start_policyd "$1" "$T/$1.conf"
	wait_policyd_connected "$1" || die "policyd $1 did not connect to Redis"
	log "=== $1"
}

# --- A. exactly N allowed, then deferred; refill after window/limit ---
section limit <<'EOF'
quotas = ( { name = "burst"; subject = "sender"; unit = "messages"; limit = 10; window = "20s"; } );
EOF
t0=$(now_ms)
out=$(pol_eom "$SOCK" 15 a@q1.example)
assert_eq "D*10 Q:burst*5" "$(actions_rle "$out")" "10 of 15 allowed, then deferred"
assert_match '^DEFER_IF_PERMIT 4\.7\.1 Sending quota exceeded: sender a@q1\.example may send 10 messages per 20s \(quota burst\); try again in [12] s$' \
	"$(tail -n 1 <<<"$out")" "deferral text names subject, limit, window, quota, retry"
out=$(pol_eom "$SOCK" 3 A@Q1.EXAMPLE)
assert_eq "Q:burst*3" "$(actions_rle "$out")" "the sender subject is case-insensitive"
sleep_until $((t0 + 1000))
out=$(pol_eom "$SOCK" 1 a@q1.example)
assert_eq "Q:burst*1" "$(actions_rle "$out")" "no refill 1 s after the burst (interval 2 s)"
sleep_until $((t0 + 3000))
out=$(pol_eom "$SOCK" 2 a@q1.example)
assert_eq "D*1 Q:burst*1" "$(actions_rle "$out")" "one more allowed after window/limit (2 s), not two (at 3 s)"
out=$(pol_eom "$SOCK" 10 b@q1.example)
assert_eq "D*10" "$(actions_rle "$out")" "another sender has its own bucket"
stop_policyd limit

# --- B. atomicity: a check over quota charges none of the others ---
section atomic <<'EOF'
quotas = (
  { name = "dom"; subject = "sender_domain"; unit = "messages"; limit = 5; window = "1h"; },
  { name = "snd"; subject = "sender"; unit = "messages"; limit = 3; window = "1h"; }
);
EOF
out=$(pol_eom "$SOCK" 8 s1@atom.example)
assert_eq "D*3 Q:snd*5" "$(actions_rle "$out")" "s1: sender quota 3 reached"
assert_eq 3 "$(redis_quota_used postlb: dom atom.example 5 $WIN_1H)" \
	"domain quota charged only by the 3 allowed requests (state in Redis)"
assert_eq 3 "$(redis_quota_used postlb: snd s1@atom.example 3 $WIN_1H)" "s1 sender state"
out=$(pol_eom "$SOCK" 4 s2@atom.example)
assert_eq "D*2 Q:dom*2" "$(actions_rle "$out")" \
	"s2 gets exactly the 2 domain units left (s1's denials charged nothing)"
assert_eq 5 "$(redis_quota_used postlb: dom atom.example 5 $WIN_1H)" "domain state full"
assert_eq 2 "$(redis_quota_used postlb: snd s2@atom.example 3 $WIN_1H)" \
	"s2's denied requests did not charge its sender quota"
stop_policyd atomic

# --- C. two policyd processes sharing one Redis ---
policyd_conf "$T/shared.conf" "$RUN/p1.sock" open 250ms <<'EOF'
quotas = ( { name = "shared"; subject = "sender"; unit = "messages"; limit = 10; window = "1h"; } );
EOF
sed "s|$RUN/p1.sock|$RUN/p2.sock|" "$T/shared.conf" >"$T/shared2.conf"
start_policyd p1 "$T/shared.conf"
start_policyd p2 "$T/shared2.conf"
wait_policyd_connected p1 || die "p1 did not connect"
wait_policyd_connected p2 || die "p2 did not connect"
log "=== shared"
all1=''
all2=''
for i in $(seq 1 10); do
	all1+=$(pol_eom "$RUN/p1.sock" 1 s@shared.example)$'\n'
	all2+=$(pol_eom "$RUN/p2.sock" 1 s@shared.example)$'\n'
done
assert_eq "D*5 Q:shared*5" "$(actions_rle "${all1%$'\n'}")" "policyd 1: 5 allowed, then deferred"
assert_eq "D*5 Q:shared*5" "$(actions_rle "${all2%$'\n'}")" "policyd 2: 5 allowed, then deferred"
st1=$(policyd_stats p1)
st2=$(policyd_stats p2)
assert_eq 10 $(($(stat_of "$st1" allowed) + $(stat_of "$st2" allowed))) \
	"exactly 10 allowed in total by both processes"
assert_eq 10 $(($(stat_of "$st1" denied) + $(stat_of "$st2" denied))) "10 denied in total"
stop_policyd p1
stop_policyd p2

# --- D. live overrides in Redis, no restart ---
section ovr <<'EOF'
quotas = ( { name = "ovr"; subject = "sender"; unit = "messages"; limit = 2; window = "1h"; } );
EOF
pid=${POLICYD_PID[ovr]}
out=$(pol_eom "$SOCK" 4 base@ovr.example)
assert_eq "D*2 Q:ovr*2" "$(actions_rle "$out")" "configured limit 2"
rcli SET postlb:o:ovr:x@ovr.example "5 3600000" >/dev/null
out=$(pol_eom "$SOCK" 8 x@ovr.example)
assert_eq "D*5 Q:ovr*3" "$(actions_rle "$out")" "per-subject override raises x to 5"
assert_match 'may send 5 messages per 1h \(quota ovr\)' "$(tail -n 1 <<<"$out")" \
	"deferral text shows the overridden limit"
rcli SET 'postlb:o:ovr:*' "3 3600000" >/dev/null
out=$(pol_eom "$SOCK" 5 y@ovr.example)
assert_eq "D*3 Q:ovr*2" "$(actions_rle "$out")" "quota-wide override (o:ovr:*) sets 3"
rcli SET postlb:o:ovr:z@ovr.example unlimited >/dev/null
out=$(pol_eom "$SOCK" 20 z@ovr.example)
assert_eq "D*20" "$(actions_rle "$out")" "per-subject 'unlimited' beats the quota-wide override"
rcli SET postlb:o:ovr:w@ovr.example "0 3600000" >/dev/null
out=$(pol_eom "$SOCK" 2 w@ovr.example)
assert_eq "Q:ovr*2" "$(actions_rle "$out")" "override limit 0 blocks"
rcli SET postlb:o:ovr:x@ovr.example "1 10000" >/dev/null
out=$(pol_eom "$SOCK" 1 x2@ovr.example)
assert_eq "D*1" "$(actions_rle "$out")" "x2 unaffected by x's override (gets o:ovr:* = 3)"
rcli DEL 'postlb:o:ovr:*' >/dev/null
out=$(pol_eom "$SOCK" 4 v@ovr.example)
assert_eq "D*2 Q:ovr*2" "$(actions_rle "$out")" "override deleted: back to the configured 2"
assert_eq "$pid" "${POLICYD_PID[ovr]}" "same policyd process throughout"
assert_eq 1 "$(count_re 'started with' "$(policyd_log ovr)")" "policyd was not restarted"
assert_true "policyd still running" _pid_alive "$pid"
stop_policyd ovr

# --- E. recipients at RCPT, messages at END-OF-MESSAGE ---
section units <<'EOF'
quotas = (
  { name = "msgs"; subject = "sender"; unit = "messages"; limit = 3; window = "1h"; },
  { name = "rcpts"; subject = "sender"; unit = "recipients"; limit = 4; window = "1h"; }
);
EOF
S=e@units.example
for st in CONNECT EHLO HELO MAIL DATA VRFY ETRN; do
	out=$(pol "$SOCK" -n 3 "protocol_state=$st" client_address=127.0.0.1 \
		"sender=$S" recipient=r@dest.example size=500 instance=x)
	assert_eq "D*3" "$(actions_rle "$out")" "$st requests are not charged"
done
assert_eq 0 "$(rcli EXISTS postlb:q:msgs:$S postlb:q:rcpts:$S)" \
	"no quota state after non-RCPT/EOM requests"
out=$(pol_rcpt "$SOCK" 10 "$S")
assert_eq "D*4 Q:rcpts*6" "$(actions_rle "$out")" "RCPT: recipient quota 4"
assert_eq 0 "$(rcli EXISTS postlb:q:msgs:$S)" "RCPT requests did not touch the messages quota"
out=$(pol_eom "$SOCK" 5 "$S")
assert_eq "D*3 Q:msgs*2" "$(actions_rle "$out")" \
	"END-OF-MESSAGE: all 3 messages available after 10 RCPTs"
assert_eq 4 "$(redis_quota_used postlb: rcpts $S 4 $WIN_1H)" \
	"END-OF-MESSAGE did not charge the recipients quota"
stop_policyd units

# --- F. bytes quota charged by size at END-OF-MESSAGE ---
# A day's window: one byte refills every 8.64 s, so none does between the
# requests and the checks of used bytes, however slow the machine.
section bytes <<'EOF'
quotas = ( { name = "by"; subject = "sender"; unit = "bytes"; limit = 10000; window = "1d"; } );
EOF
S=b@bytes.example
out=$(pol_rcpt "$SOCK" 3 "$S" 50000)
assert_eq "D*3" "$(actions_rle "$out")" "RCPT with SIZE=50000 is not charged"
assert_eq 0 "$(rcli EXISTS postlb:q:by:$S)" "no bytes state after RCPT"
out=$(pol_eom "$SOCK" 2 "$S" 4000)
assert_eq "D*2" "$(actions_rle "$out")" "2 x 4000 bytes allowed"
# a day's window: one byte drains every 8.6 s, so a slow run reads exact use
assert_eq 8000 "$(redis_quota_used postlb: by $S 10000 $WIN_1D)" "8000 bytes used"
out=$(pol_eom "$SOCK" 1 "$S" 4000)
assert_eq "Q:by*1" "$(actions_rle "$out")" "4000 more bytes deferred (12000 > 10000)"
assert_match 'may send 10000 bytes per 1d \(quota by\)' "$out" "bytes deferral text"
out=$(pol_eom "$SOCK" 1 "$S" 2000)
assert_eq "D*1" "$(actions_rle "$out")" "2000 bytes fill the quota exactly"
out=$(pol_eom "$SOCK" 1 "$S" 1000)
assert_eq "Q:by*1" "$(actions_rle "$out")" "nothing left"
assert_eq 10000 "$(redis_quota_used postlb: by $S 10000 $WIN_1D)" "10000 bytes used"
stop_policyd bytes

# --- G. units reserved ahead for a busy subject ---
# A quota of 100000 per 7 days (one unit refills every 6 s, so none does
# during the section) lets one policyd reserve up to 1000 units (1%)
# while the subject's bucket stays at most half full.  2000 messages on
# one connection: all allowed, most of them from reserved units, and once
# the reservations lapse (200 ms) the unused units are given back, so
# Redis holds exactly the 2000 used.
WIN_7D=$((7 * 86400000))
section reserve <<'EOF'
quotas = ( { name = "busy"; subject = "sender"; unit = "messages"; limit = 100000; window = "7d"; } );
EOF
S=r@busy.example
rcli CONFIG RESETSTAT >/dev/null
out=$(pol_eom "$SOCK" 2000 "$S")
assert_eq "D*2000" "$(actions_rle "$out")" "2000 messages allowed"
st=$(policyd_stats reserve)
log "$st"
assert_ge "$(stat_of "$st" reserved)" 1500 "at least 1500 of them answered from reserved units"
calls=$(rcli INFO commandstats | awk -F'[=,:]' '/^cmdstat_evalsha:/ { print $3 }')
assert_ge 500 "${calls:-0}" "at most 500 quota script calls for 2000 messages ($calls)"
_used_is() { [ "$(redis_quota_used postlb: "$1" "$2" "$3" "$WIN_7D")" -eq "$4" ]; }
wait_for 3 _used_is busy "$S" 100000 2000 || true
assert_eq 2000 "$(redis_quota_used postlb: busy $S 100000 $WIN_7D)" \
	"after the reservations lapse, Redis holds exactly the 2000 used"
assert_ge "$(stat_of "$(policyd_stats reserve)" given_back)" 1 "unused units were given back"

# A live override reaches a subject holding units within reserve_time.
out=$(pol_eom "$SOCK" 300 o@busy.example)
assert_eq "D*300" "$(actions_rle "$out")" "300 messages allowed"
"$CTL" -c "$T/reserve.conf" set busy o@busy.example 0 >/dev/null
sleep 0.3
out=$(pol_eom "$SOCK" 3 o@busy.example)
assert_eq "Q:busy*3" "$(actions_rle "$out")" "blocked (override 0) 300 ms after the override"

# A stop gives back what the policyd still holds.
out=$(pol_eom "$SOCK" 300 s@busy.example)
assert_eq "D*300" "$(actions_rle "$out")" "300 messages allowed"
stop_policyd reserve
assert_eq 300 "$(redis_quota_used postlb: busy s@busy.example 100000 $WIN_7D)" \
	"after a stop Redis holds exactly the 300 used"

# Near the limit every request is checked in Redis: with 4000 of 10000
# used, reservations stop at half the quota, and 6100 more messages let
# exactly 6000 through.
section near <<'EOF'
quotas = ( { name = "near"; subject = "sender"; unit = "messages"; limit = 10000; window = "7d"; } );
EOF
read -r sec usec _ <<<"$(rcli TIME | tr '\n' ' ')"
rcli SET postlb:q:near:n@near.example $((sec * 1000000 + usec + 4000 * (WIN_7D * 1000 / 10000))) >/dev/null
out=$(pol_eom "$SOCK" 6100 n@near.example)
assert_eq "D*6000 Q:near*100" "$(actions_rle "$out")" \
	"exactly the remaining 6000 allowed, then deferred"
st=$(policyd_stats near)
assert_ge "$(stat_of "$st" reserved)" 1 "some of them from reserved units (below half the quota)"
stop_policyd near

# --- H. a give-back returns the time reserved, not units at today's price ---
# 410 messages under 10,000 per day, most of them from reserved units,
# then `postlbctl set` lowers the subject's limit to 1,000 per day before
# the unused reserved units go back.  Usage is time (GCRA): the 410 sends
# took 410 x 8.64 s, which is 41 units at the new price, so exactly 959
# more may pass.  Giving back units priced at 86.4 s each (the override's
# price) erased all usage and let 1,000 more through.
# reserve_time 5 s: the override surely lands while the units are held.
policyd_conf "$T/gb.conf" "$RUN/gb.sock" open 250ms <<'EOF'
quotas = ( { name = "gb"; subject = "sender"; unit = "messages"; limit = 10000; window = "1d"; } );
EOF
sed -i 's/fail_mode = "open";/fail_mode = "open"; reserve_time = "5s";/' "$T/gb.conf"
SOCK=$RUN/gb.sock
start_policyd gb "$T/gb.conf"
wait_policyd_connected gb || die "policyd gb did not connect to Redis"
log "=== gb"
S=g@gb.example
out=$(pol_eom "$SOCK" 410 "$S")
assert_eq "D*410" "$(actions_rle "$out")" "410 messages allowed"
"$CTL" -c "$T/gb.conf" set gb "$S" 1000 1d >/dev/null
st=$(policyd_stats gb)
assert_ge "$(stat_of "$st" reserved)" 100 "most of them from reserved units"
assert_eq 0 "$(stat_of "$st" given_back)" "none given back yet (override set while units are held)"
_back_done() { [ "$(stat_of "$(policyd_stats gb)" given_back)" -gt 0 ]; }
assert_true "the unused reserved units were given back" wait_for 15 _back_done
_used_at() { [ "$(redis_quota_used postlb: "$1" "$2" "$3" "$4")" -eq "$5" ]; }
wait_for 3 _used_at gb "$S" 1000 "$WIN_1D" 41 || true
assert_eq 41 "$(redis_quota_used postlb: gb $S 1000 $WIN_1D)" \
	"after the give-back the 410 sends count 41 units at 1,000/d"
stop_policyd gb
sed 's/fail_mode = "open";/fail_mode = "open"; reserve = false;/' "$T/gb.conf" >"$T/gb2.conf"
start_policyd gb2 "$T/gb2.conf"
wait_policyd_connected gb2 || die "policyd gb2 did not connect to Redis"
out=$(pol_eom "$SOCK" 1000 "$S")
assert_eq "D*959 Q:gb*41" "$(actions_rle "$out")" "exactly 959 more allowed at 1,000/d (not 1,000)"
stop_policyd gb2

# --- I. policyd.count_only: only outbound requests are counted ---
# On a host that is also an MX, requests of clients neither authenticated
# nor in the listed networks (inbound mail) get DUNNO and charge nothing.
policyd_conf "$T/scope.conf" "$RUN/scope.sock" open 250ms <<'EOF'
quotas = ( { name = "sc"; subject = "sender"; unit = "messages"; limit = 3; window = "1h"; } );
EOF
sed -i 's|fail_mode = "open";|fail_mode = "open"; count_only = { sasl = true; networks = [ "192.0.2.0/24" ]; };|' "$T/scope.conf"
SOCK=$RUN/scope.sock
start_policyd scope "$T/scope.conf"
wait_policyd_connected scope || die "policyd scope did not connect to Redis"
log "=== scope"
# eom_from CLIENT SASL SENDER N: N END-OF-MESSAGE requests
eom_from() {
	pol "$SOCK" -n "$4" protocol_state=END-OF-MESSAGE "client_address=$1" \
		"sasl_username=$2" "sender=$3" recipient=r@dest.example \
		recipient_count=1 size=100 queue_id=4Q1 instance=i1
}
out=$(eom_from 203.0.113.5 "" forged@customer.example 10)
assert_eq "D*10" "$(actions_rle "$out")" "inbound (anonymous, not listed): DUNNO, never deferred"
assert_eq 0 "$(rcli EXISTS postlb:q:sc:forged@customer.example)" "and nothing counted in Redis"
out=$(eom_from 203.0.113.5 alice forged@customer.example 4)
assert_eq "D*3 Q:sc*1" "$(actions_rle "$out")" \
	"authenticated: counted, all 3 units still there after the inbound mail"
out=$(eom_from 192.0.2.7 "" app@customer.example 4)
assert_eq "D*3 Q:sc*1" "$(actions_rle "$out")" "from a listed network: counted"
stop_policyd scope

e2e_finish
