# router_push.sh: a change of a member is pushed to every milter and ends
# the picks it reserved ahead at once.
#
# A round robin pool m1, m2, m3 whose reserved picks may live 10 s
# (routing.reserve_time) while states are re-read every 10 s
# (routing.refresh): only the push can end a reservation early.  Two
# milters on one Redis route messages from a raw milter client until they
# reserve 32 picks at a time.  Then each change below is made the way
# postlb makes it, and once each milter has counted the push, the next 60
# messages of each avoid m2 (and come back to it when it is back):
#   - postlbctl member down m2 (and ready m2 again);
#   - a health check's verdict (the check script, as postlb-policyd runs it);
#   - a breaker trip (the breaker script, as the log follower runs it).
# A milter whose Redis user may not subscribe logs that once, keeps
# routing, and sees a change within reserve_time; the scripts still work
# for a user that may not publish.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3

start_redis
pick_port R
cat >"$T/members.conf" <<EOF
members = {
  m1 = { nexthop = "[127.0.0.1]:$R"; };
  m2 = { nexthop = "[127.0.0.1]:$R"; };
  m3 = { nexthop = "[127.0.0.1]:$R"; };
};
pools = { p = { members = ["m1", "m2", "m3"]; algorithm = "round_robin"; }; };
EOF
routing() {
	echo "routing = { default_pool = \"p\"; reserve = 32; $1
  takeover = { nexthops = [\"[127.0.0.1]:$R\"]; }; };"
}
{ postlb_conf_head "$RUN/m1.sock"; cat "$T/members.conf"
  routing 'reserve_time = "10s"; refresh = "10s";'; } >"$T/one.conf"
{ postlb_conf_head "$RUN/m2.sock"; cat "$T/members.conf"
  routing 'reserve_time = "10s"; refresh = "10s";'; } >"$T/two.conf"
start_milter one "$T/one.conf" "$RUN/m1.sock"
start_milter two "$T/two.conf" "$RUN/m2.sock"

MC="python3 $top_srcdir/tests/tools/milterclient.py"
declare -A SOCK=([one]=$RUN/m1.sock [two]=$RUN/m2.sock [three]=$RUN/m3.sock)
# route NAME N: N messages through milter NAME; prints the route headers.
route() {
	timeout 60 $MC "${SOCK[$1]}" --rcpt u@dest.example smtp "[127.0.0.1]:$R" \
		--count "$2" | grep '^ADDHEADER X-Postlb-Route: '
}
pushes() { stat_of "$(milter_stats "$1")" pushes; }
_pushes_gt() { [ "$(pushes "$1")" -gt "$2" ]; }
to_m2() { grep -c 'Route: m2 ' <<<"$1"; }

# warm both milters up: reservations grow to 32 picks
for m in one two; do
	out=$(route $m 100)
	assert_eq 100 "$(wc -l <<<"$out")" "milter $m routed 100 messages"
	assert_ge "$(to_m2 "$out")" 30 "... a third of them to m2"
	st=$(milter_stats $m)
	assert_le "$(stat_of "$st" calls)" 12 "milter $m reserved its picks (calls: $(stat_of "$st" calls))"
done

# change WHAT CMD...: runs CMD (a change of m2 out of rotation), waits
# until both milters counted its push, and checks that their next 60
# messages avoid m2.
change() {
	local what=$1 p1 p2 out m
	shift
	p1=$(pushes one)
	p2=$(pushes two)
	"$@" >/dev/null || fail "$what: the change failed"
	wait_for 5 _pushes_gt one "$p1" || fail "$what: milter one got no push"
	wait_for 5 _pushes_gt two "$p2" || fail "$what: milter two got no push"
	for m in one two; do
		out=$(route $m 60)
		assert_eq 60 "$(wc -l <<<"$out")" "$what: milter $m routed 60 messages"
		assert_eq 0 "$(to_m2 "$out")" "$what: milter $m sent nothing to m2 once the push was in"
	done
}
# back WHAT CMD...: m2 back in rotation; the milters use it again.
back() {
	local what=$1 p1 out
	shift
	p1=$(pushes one)
	"$@" >/dev/null || fail "$what: the change failed"
	wait_for 5 _pushes_gt one "$p1" || fail "$what: milter one got no push"
	out=$(route one 60)
	assert_ge "$(to_m2 "$out")" 15 "$what: milter one uses m2 again"
}

CTLC="$CTL -c $T/one.conf"
change "postlbctl member down m2" $CTLC member down m2
back "postlbctl member ready m2" $CTLC member ready m2
# the scripts as the daemons run them: KEYS , ARGV
check() { redis-cli -s "$REDIS_SOCK" --eval "$top_srcdir/engine/check.lua" \
	postlb:hl:m2 postlb:m:m2 postlb:ev:m2 , "$@"; }
check host:1 60000 lease >/dev/null
change "a health check's verdict down" check host:1 60000 report down "connect: refused" refused
back "a health check's verdict up" check host:1 60000 report up "220 ok" ok
breaker() { redis-cli -s "$REDIS_SOCK" --eval "$top_srcdir/engine/feedback_cb.lua" \
	postlb:m:m2 postlb:ev:m2 , "$@"; }
change "a breaker trip" breaker down 60000 1 "errors 9/10" 100

# --- a Redis user that may not subscribe (nor publish) ---
assert_eq OK "$(rcli ACL SETUSER nopush on '>pw' '~*' '+@all' resetchannels)" \
	"a user without channels"
sed -e 's|prefix = "postlb:";|prefix = "postlb:"; username = "nopush"; password = "pw";|' \
	-e "s|$RUN/m1.sock|$RUN/m3.sock|" "$T/one.conf" >"$T/three.conf"
sed -i 's|reserve_time = "10s"; refresh = "10s";|reserve_time = "500ms"; refresh = "200ms";|' "$T/three.conf"
rcli HDEL postlb:m:m2 cb_until >/dev/null
start_milter three "$T/three.conf" "$RUN/m3.sock"
wait_for 5 _log_count_ge "$T/milter-three.log" "no member change pushes" 1 ||
	fail "milter three did not say it gets no pushes"
out=$(route three 30)
assert_eq 30 "$(wc -l <<<"$out")" "without pushes the milter routes"
assert_ge "$(to_m2 "$out")" 9 "... m2 included"
nopush="redis-cli -s $REDIS_SOCK --user nopush --pass pw --no-auth-warning"
assert_match "^1" "$($nopush --eval "$top_srcdir/engine/check.lua" postlb:hl:m2 postlb:m:m2 \
	postlb:ev:m2 , host:1 60000 report down "x" x | head -n 1)" \
	"the check script runs for a user that may not publish"
sleep 0.8 # reserve_time and a refresh
out=$(route three 30)
assert_eq 0 "$(to_m2 "$out")" "without pushes, a change arrives within reserve_time"
assert_eq 1 "$(count_re 'no member change pushes' "$T/milter-three.log")" "logged once"

e2e_finish
