# route_script.sh: the route script (ROUTE_LUA, printed by `postlbctl
# script route`) run by a real Redis, as postlb-milter runs it.
#
# Checks the reservation a milter takes under load (P picks in one call):
# the next P slots of the pool's shared rotation, exactly the weights over
# a whole cycle; the rotation goes on across calls and between a
# reservation and single picks; drained members are skipped; a member
# suspended for some domain is returned negated (the milter routes such a
# message with its own call, which sees the message's domains); warm-up
# caps are counted pick by pick inside one reservation; today's counts
# grow by the picks.  And the single pick: a member suspended for the
# message's domain is skipped, one suspended for another domain is not.
# Response rules (engine/health.h): a member with rs_until ahead is not
# picked; one with p:PROVIDER ahead is not picked for a message to a
# domain of that provider (PREFIX prov), is for others, and comes negated
# in a reservation; expired p: fields are deleted.  Throttles (tp:, ts:,
# th = "UNTIL RATE"): a throttled member takes at most RATE messages a
# minute of that scope, and comes negated in a reservation.
# A pool of 1000 members: the rotation stays exact and a pick reads only
# the candidates its walk reaches.  least_outstanding over 20 members:
# the window of 16 from the counter on, wrapping past the last member,
# picks one with the fewest outstanding messages, so 20 messages give
# each member one; entries older than the ttl do not count and are
# removed from the member that gets the message; the window's definition
# is read with three GETRANGEs.
# Time is Redis's: the caller passes none, and a suspension is live or
# expired by Redis's clock.  Expired suspension fields are deleted when a
# call sees them.

. "$(dirname "$0")/lib.sh"
need_root_and_tools

start_redis
rcli SCRIPT FLUSH >/dev/null
SCRIPT=$("$CTL" script route) || die "postlbctl script route failed"
SHA=$(rcli SCRIPT LOAD "$SCRIPT")
[[ $SHA =~ ^[0-9a-f]{40}$ ]] || die "SCRIPT LOAD failed: $SHA"

DAY=20240101
# cyc N...: the cycle argument: each 1-based candidate number N as two
# digits of base 255, each plus one (route.lua)
cyc() {
	local c out=
	for c in "$@"; do
		out+=$(printf '\\x%02x\\x%02x' $((c / 255 + 1)) $((c % 255 + 1)))
	done
	printf '%b' "$out"
}
CYCLE=$(cyc 1 2 1 3 1 2 1 2 1 3) # 5:3:2 over m1 m2 m3
KEYS=(t:rr:p t:prov t:rd:x)
# the plan's definition (route.lua): the cycle and the candidates'
# fixed-width fields: names, weights, today's caps
caps() { printf '%11d%11d%11d' "${1:--1}" "${2:--1}" "${3:--1}"; }
rcli SET t:rd:x:c "$CYCLE" >/dev/null
rcli SET t:rd:x:n "$(printf '%-32s%-32s%-32s' m1 m2 m3)" >/dev/null
rcli SET t:rd:x:w "$(printf '%5d%5d%5d' 5 3 2)" >/dev/null
rcli SET t:rd:x:k "$(caps)" >/dev/null
# redis_ms: Redis's clock in ms (the script's; the host's may differ).
redis_ms() {
	local t
	t=$(rcli TIME | tr '\n' ' ')
	read -r sec usec _ <<<"$t"
	echo $((sec * 1000 + usec / 1000))
}

# reserve P [CAP1 CAP2 CAP3]: a reservation of P picks; prints the reply,
# one number per line (the counter before, then the picks).
reserve() {
	local p=$1
	rcli SET t:rd:x:k "$(caps "${2:--1}" "${3:--1}" "${4:--1}")" >/dev/null
	rcli EVALSHA "$SHA" 3 "${KEYS[@]}" seq "" 600000 "" 0 3 10 t: "$DAY" "$p"
}
# single DOMAIN: the pick for one message to DOMAIN.
single() {
	rcli SET t:rd:x:k "$(caps)" >/dev/null
	rcli EVALSHA "$SHA" 3 "${KEYS[@]}" seq "" 600000 Q1 1 "$1" 3 10 t: "$DAY" 1
}
# tally LINES: "a b c" how many picks of candidates 1, 2, 3 (negated ones
# counted as their member), after the first line.
tally() {
	tail -n +2 <<<"$1" | awk '{ v = $1 < 0 ? -$1 : $1; n[v]++ }
		END { printf "%d %d %d", n[1], n[2], n[3] }'
}
wcount() { rcli GET "t:w:$1:$DAY"; }

log "a reservation of 10 picks: one whole cycle"
out=$(reserve 10)
assert_eq 0 "$(head -n 1 <<<"$out")" "the counter stood at 0"
assert_eq 11 "$(wc -l <<<"$out")" "10 picks returned"
assert_eq "5 3 2" "$(tally "$out")" "the 10 picks follow the weights 5:3:2 exactly"
assert_eq "2 1 3 1 2 1 2 1 3 1" "$(tail -n +2 <<<"$out" | tr '\n' ' ' | sed 's/ $//')" \
	"the picks are the cycle's slots 1..10 in order"
assert_eq 10 "$(rcli GET t:rr:p)" "the shared counter moved by 10"
assert_eq "5 3 2" "$(wcount m1) $(wcount m2) $(wcount m3)" "today's counts grew by the picks"
assert_true "today's counts expire" test "$(rcli TTL "t:w:m1:$DAY")" -gt 0

log "the rotation goes on: a single pick, then 30 more reserved"
out=$(single dest.example)
assert_eq "10
2" "$out" "the single pick takes the next slot (11, m2)"
out=$(reserve 30)
assert_eq 11 "$(head -n 1 <<<"$out")" "the reservation starts after it"
assert_eq "15 9 6" "$(tally "$out")" "30 picks follow the weights"

log "a drained member is skipped"
rcli HSET t:m:m1 state drain >/dev/null
out=$(reserve 10)
assert_eq 0 "$(tally "$out" | cut -d' ' -f1)" "no pick of the drained m1"
assert_eq 10 "$(($(tally "$out" | tr ' ' '+')))" "all 10 slots picked among m2 and m3"
rcli HSET t:m:m1 state ready >/dev/null

log "suspensions, by Redis's clock"
NOW=$(redis_ms)
rcli HSET t:m:m2 s:dest.example $((NOW + 60000)) s:old.example $((NOW - 1)) >/dev/null
out=$(reserve 10)
assert_eq 3 "$(grep -c '^-2$' <<<"$out")" "in a reservation m2's 3 picks come negated (suspended for a domain)"
assert_eq 0 "$(grep -c '^2$' <<<"$out")" "and never plain"
for i in 1 2 3 4 5 6 7 8 9 10; do
	single dest.example | tail -n 1
done >"$T/single.out"
assert_eq 0 "$(grep -c '^2$' "$T/single.out")" "a message to dest.example never gets m2"
assert_eq 10 "$(grep -c '^[13]$' "$T/single.out")" "it gets m1 or m3"
for i in 1 2 3 4 5 6 7 8 9 10; do
	single other.example | tail -n 1
done >"$T/single.out"
assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "a message to another domain gets m2 in its 3 slots of 10"
assert_eq 0 "$(rcli HEXISTS t:m:m2 s:old.example)" \
	"the reservation deleted the expired suspension field (old.example)"
assert_eq 1 "$(rcli HEXISTS t:m:m2 s:dest.example)" "and kept the live one"
rcli HDEL t:m:m2 s:dest.example >/dev/null
rcli HSET t:m:m2 s:old.example $((NOW - 1)) >/dev/null
out=$(reserve 10)
assert_eq 0 "$(grep -c '^-' <<<"$out")" "an expired suspension (old.example) flags nothing"
assert_eq 0 "$(rcli HLEN t:m:m2)" "and its field is gone"

log "a single pick deletes the expired suspension of its domain only"
NOW=$(redis_ms)
rcli HSET t:m:m2 s:gone.example $((NOW - 1000)) s:other.example $((NOW - 1000)) >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
	single gone.example | tail -n 1
done >"$T/single.out"
assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "an expired suspension does not hold m2 back"
assert_eq "0 1" "$(rcli HEXISTS t:m:m2 s:gone.example) $(rcli HEXISTS t:m:m2 s:other.example)" \
	"the message's expired field went, another domain's was not read"
rcli DEL t:m:m2 >/dev/null

log "a suspension lasts by Redis's clock, not the caller's"
# 3 s ahead of Redis: live until Redis's clock passes it, whatever the
# host's clock says (the caller passes no time)
until_ms=$(($(redis_ms) + 3000))
rcli HSET t:m:m2 s:clock.example "$until_ms" >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
	single clock.example | tail -n 1
done >"$T/single.out"
assert_eq 0 "$(grep -c '^2$' "$T/single.out")" "m2 is held back while Redis's clock is before the end"
_redis_past() { [ "$(redis_ms)" -gt "$1" ]; }
wait_for 10 _redis_past $((until_ms + 50)) ||
	fail "Redis's clock did not pass the suspension"
for i in 1 2 3 4 5 6 7 8 9 10; do
	single clock.example | tail -n 1
done >"$T/single.out"
assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "and takes its slots once Redis's clock passed it"

log "response rules: rs_until and p:PROVIDER"
NOW=$(redis_ms)
rcli HSET t:m:m2 rs_until $((NOW + 60000)) >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
	single any.example | tail -n 1
done >"$T/single.out"
assert_eq 0 "$(grep -c '^2$' "$T/single.out")" "a member suspended by a rule (rs_until) is not picked"
out=$(reserve 10)
assert_eq 0 "$(grep -c '^-\?2$' <<<"$out")" "nor reserved"
rcli HSET t:m:m2 rs_until $((NOW - 1)) >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
	single any.example | tail -n 1
done >"$T/single.out"
assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "an expired rs_until holds nothing back"
rcli DEL t:m:m2 >/dev/null
rcli HSET t:prov gmail.com google ws.example google ymail.com yahoo >/dev/null
rcli HSET t:m:m2 p:google $((NOW + 60000)) p:yahoo $((NOW - 1)) >/dev/null
for d in gmail.com ws.example; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		single $d | tail -n 1
	done >"$T/single.out"
	assert_eq 0 "$(grep -c '^2$' "$T/single.out")" "m2 suspended for google: no message to $d"
done
for d in ymail.com plain.example; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		single $d | tail -n 1
	done >"$T/single.out"
	assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "m2 takes its 3 slots of 10 for $d"
done
assert_eq 0 "$(rcli HEXISTS t:m:m2 p:yahoo)" "the expired p:yahoo was deleted"
out=$(reserve 10)
assert_eq 3 "$(grep -c '^-2$' <<<"$out")" "in a reservation m2's picks come negated (suspended for a provider)"
rcli DEL t:m:m2 t:prov >/dev/null

log "response rules of action throttle: tp:PROVIDER, ts:DOMAIN, th"
NOW=$(redis_ms)
MIN=$((NOW / 60000))
rcli HSET t:prov gmail.com google >/dev/null
rcli HSET t:m:m2 tp:google "$((NOW + 120000)) 2" >/dev/null
for i in $(seq 1 30); do single gmail.com | tail -n 1; done >"$T/single.out"
# the minute may turn during the 30 calls: then m2 gets 2 more
n2=$(grep -c '^2$' "$T/single.out")
if [ "$(($(redis_ms) / 60000))" = "$MIN" ]; then
	assert_eq 2 "$n2" "m2 throttled to 2/min for google takes exactly 2 of 30 messages to gmail.com"
else
	assert_true "m2 throttled to 2/min (minute turned) takes 2 to 4 of 30 ($n2)" test "$n2" -ge 2 -a "$n2" -le 4
fi
assert_eq 30 "$(($(grep -c '^[13]$' "$T/single.out") + n2))" "every other message goes to m1 or m3"
for i in 1 2 3 4 5 6 7 8 9 10; do single plain.example | tail -n 1; done >"$T/single.out"
assert_eq 3 "$(grep -c '^2$' "$T/single.out")" "the throttle is for google only: m2 takes its 3 slots of 10 for plain.example"
out=$(reserve 10)
assert_eq 3 "$(grep -c '^-2$' <<<"$out")" "in a reservation a throttled member's picks come negated (routed one by one)"
rcli HSET t:m:m2 tp:google "$((NOW - 1)) 2" >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do single gmail.com >/dev/null; done
assert_eq 0 "$(rcli HEXISTS t:m:m2 tp:google)" "an expired throttle is deleted (once a walk reaches m2)"
rcli HSET t:m:m2 ts:ymail.com "$((NOW + 120000)) 0" >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do single ymail.com | tail -n 1; done >"$T/single.out"
assert_eq 0 "$(grep -c '^2$' "$T/single.out")" "a domain throttle of 0/min keeps m2 from ymail.com"
rcli DEL t:m:m2 >/dev/null
rcli HSET t:m:m2 th "$((NOW + 120000)) 1" >/dev/null
for i in $(seq 1 20); do single any$i.example | tail -n 1; done >"$T/single.out"
n2=$(grep -c '^2$' "$T/single.out")
assert_true "m2 throttled to 1/min everywhere takes 1 of 20 (2 if the minute turned): $n2" test "$n2" -ge 1 -a "$n2" -le 2
rcli --scan --pattern 't:m:m2:th:*' >"$T/tk.out"
assert_true "the member's picks under the throttle are counted in MEMBERKEY:th:MINUTE" test -s "$T/tk.out"
ttl=$(rcli PTTL "$(head -n 1 "$T/tk.out")")
assert_true "and that counter expires within 2 minutes ($ttl ms)" test "$ttl" -gt 0 -a "$ttl" -le 120000
rcli DEL t:m:m2 t:prov >/dev/null
rcli --scan --pattern 't:m:m2:*' | xargs -r redis-cli -s "$REDIS_SOCK" DEL >/dev/null

log "warm-up caps inside one reservation"
rcli DEL "t:w:m1:$DAY" "t:w:m2:$DAY" "t:w:m3:$DAY" >/dev/null
out=$(reserve 20 -1 -1 1)
assert_eq 1 "$(grep -c '^3$' <<<"$out")" "m3 with a cap of 1 gets exactly 1 of 20 picks"
assert_eq 1 "$(wcount m3)" "m3's count is 1"
out=$(reserve 20 -1 -1 1)
assert_eq 0 "$(grep -c '^3$' <<<"$out")" "m3 at its cap gets none of the next 20"
assert_eq 20 "$(($(tally "$out" | tr ' ' '+')))" "the others take every slot"
rcli DEL "t:w:m1:$DAY" "t:w:m2:$DAY" "t:w:m3:$DAY" >/dev/null
out=$(reserve 10 0 0 0)
assert_eq "0 0 0" "$(tally "$out")" "every member capped: all 10 picks are 0"

log "a pool of 1000: the rotation is exact, and only the candidates reached are read"
BIGN=1000
rcli SET t:rd:big:n "$(for ((i = 1; i <= BIGN; i++)); do printf '%-32s' "b$i"; done)" >/dev/null
rcli SET t:rd:big:w "$(for ((i = 1; i <= BIGN; i++)); do printf '%5d' 1; done)" >/dev/null
rcli SET t:rd:big:k "$(for ((i = 1; i <= BIGN; i++)); do printf '%11d' -1; done)" >/dev/null
rcli SET t:rd:big:c "$(cyc $(seq 1 $BIGN))" >/dev/null
big() { # big P [DOMAIN]: P picks (1: one message to DOMAIN)
	if [ "$1" -gt 1 ]; then
		rcli EVALSHA "$SHA" 3 t:rr:big t:prov t:rd:big seq "" 600000 "" 0 \
			$BIGN $BIGN t: "$DAY" "$1"
	else
		rcli EVALSHA "$SHA" 3 t:rr:big t:prov t:rd:big seq "" 600000 Q1 1 "$2" \
			$BIGN $BIGN t: "$DAY" 1
	fi
}
rcli HSET t:m:b300 state drain >/dev/null
for i in 1 2 3 4; do big 250 | tail -n +2; done >"$T/big.out"
assert_eq 999 "$(sort -u "$T/big.out" | wc -l)" "1000 picks reach 999 distinct members"
assert_eq 0 "$(grep -c '^300$' "$T/big.out")" "the drained b300 is skipped"
assert_eq 2 "$(grep -c '^301$' "$T/big.out")" "its slot goes to the next one, b301"
assert_eq "2 3 4" "$(head -n 3 "$T/big.out" | tr '\n' ' ' | sed 's/ $//')" "in cycle order (from slot 1)"
assert_eq 1 "$(tail -n 1 "$T/big.out")" "the 1000th pick wraps to slot 0 (b1)"
assert_eq 1 "$(rcli GET "t:w:b1000:$DAY")" "the 1000th member's count is 1"
hm0=$(rcli INFO commandstats | grep -o 'cmdstat_hmget:calls=[0-9]*' | cut -d= -f2)
out=$(big 1 x.example | tail -n 1)
hm1=$(rcli INFO commandstats | grep -o 'cmdstat_hmget:calls=[0-9]*' | cut -d= -f2)
assert_eq 2 "$out" "one message: the next slot (b2)"
assert_eq 2 "$((hm1 - hm0))" "it read the providers and one candidate's state, not 1000"
getr0=$(rcli INFO commandstats | grep -o 'cmdstat_getrange:calls=[0-9]*' | cut -d= -f2)
big 1 x.example >/dev/null
getr1=$(rcli INFO commandstats | grep -o 'cmdstat_getrange:calls=[0-9]*' | cut -d= -f2)
assert_eq 4 "$((getr1 - getr0))" "and read one slot and one candidate's name, weight and cap of the definition"
rcli DEL t:rd:big:k >/dev/null
c0=$(rcli GET t:rr:big)
assert_eq "-1" "$(big 1 x.example)" "a missing definition: the script answers -1"
assert_eq "$c0" "$(rcli GET t:rr:big)" "and does nothing (the counter stays)"
rcli --scan --pattern 't:*b*' | xargs -r redis-cli -s "$REDIS_SOCK" DEL >/dev/null

# --- least_outstanding over 20 members ---
LN=20
rcli SET t:rd:lo:n "$(for ((i = 1; i <= LN; i++)); do printf '%-32s' "l$i"; done)" >/dev/null
rcli SET t:rd:lo:w "$(for ((i = 1; i <= LN; i++)); do printf '%5d' 1; done)" >/dev/null
rcli SET t:rd:lo:k "$(for ((i = 1; i <= LN; i++)); do printf '%11d' -1; done)" >/dev/null
rcli SET t:rd:lo:c "$(cyc $(seq 1 $LN))" >/dev/null
least() { # least QID: the pick for one message with queue id QID
	rcli EVALSHA "$SHA" 3 t:rr:lo t:prov t:rd:lo least "" 60000 "$1" 1 x.example \
		$LN $LN t: "$DAY" 1 | tail -n 1
}
rcli SET t:rr:lo 10 >/dev/null # windows start at members 11..20 and wrap
for ((q = 1; q <= LN; q++)); do least "QL$q"; done >"$T/least.out"
assert_eq $LN "$(sort -u "$T/least.out" | wc -l)" "20 messages: each of the 20 members takes one"
for ((i = 1; i <= LN; i++)); do
	[ "$(rcli ZCARD "t:lc:l$i")" = 1 ] || fail "l$i holds $(rcli ZCARD "t:lc:l$i") outstanding, not 1"
done
# l1 also holds 5 entries older than the ttl (60 s): they do not count
old=$(($(redis_ms) - 120000))
for q in 1 2 3 4 5; do rcli ZADD t:lc:l1 "$old" "OLD$q" >/dev/null; done
# with every member at one, give all but l1 a second message
for ((i = 2; i <= LN; i++)); do rcli ZADD t:lc:l$i "$(redis_ms)" "QX$i" >/dev/null; done
rcli SET t:rr:lo 19 >/dev/null # the next window starts at l1
getr0=$(rcli INFO commandstats | grep -o 'cmdstat_getrange:calls=[0-9]*' | cut -d= -f2)
assert_eq 1 "$(least QNEW)" "the old entries do not count: l1 (one live) is the least"
getr1=$(rcli INFO commandstats | grep -o 'cmdstat_getrange:calls=[0-9]*' | cut -d= -f2)
assert_eq 3 "$((getr1 - getr0))" "the window's names, weights and caps: one GETRANGE each"
assert_eq 2 "$(rcli ZCARD t:lc:l1)" "the old entries were removed from l1, which got the message"
rcli --scan --pattern 't:*l*' | xargs -r redis-cli -s "$REDIS_SOCK" DEL >/dev/null

log "the script is engine/route.lua, built in, and runs with redis-cli --eval"
assert_eq "$(cat "$top_srcdir/engine/route.lua")" "$SCRIPT" \
	"postlbctl script route prints engine/route.lua"
rcli DEL t:rr:p >/dev/null
rcli SET t:rd:x:k "$(caps)" >/dev/null
out=$(timeout 5 redis-cli -s "$REDIS_SOCK" --eval "$top_srcdir/engine/route.lua" \
	"${KEYS[@]}" , seq "" 600000 Q1 1 x.example 3 10 t: "$DAY" 1)
assert_eq "0
2" "$out" "redis-cli --eval engine/route.lua picks the first slot (m2)"

e2e_finish
