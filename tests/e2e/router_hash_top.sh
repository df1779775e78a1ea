# router_hash_top.sh: a big hash pool picks from the top of its order
# first, and from the whole order when none of the top can take the
# message: the pick is the one `postlbctl explain` predicts (which always
# walks the whole order), through Redis and without it.
#
# A hash pool of 40 members keyed by the recipient domain; a raw milter
# client sends messages to u@dest.example.  After each step, the member
# that got them is suspended for dest.example, so the next step goes one
# place further down the order.  For each of 20 steps, two messages
# (the second from the plan the milter kept): the milter's member is
# explain's next pick and was not suspended; in the first 16 steps the
# second message costs one route call (the top holds a usable member),
# in the next 4 two (the top of 16 is all suspended: the whole order
# decides).  Then Redis stops: the milter picks from its last
# known suspensions, again the member explain named.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3

N=40
TOP=16 # ROUTE_ORDER_TOP
start_redis
pick_port R
{
	postlb_conf_head
	echo "members = {"
	for ((i = 1; i <= N; i++)); do
		echo "  h$i = { nexthop = \"[127.0.0.1]:$R\"; weight = $((i % 3 + 1)); };"
	done
	echo "};"
	printf 'pools = { p = { algorithm = "hash"; hash_key = "recipient_domain"; members = ['
	for ((i = 1; i <= N; i++)); do printf '%s"h%d"' "$([ $i -gt 1 ] && echo ', ')" "$i"; done
	echo ' ]; }; };'
	echo "routing = { default_pool = \"p\"; refresh = \"200ms\";
  takeover = { nexthops = [\"[127.0.0.1]:$R\"]; }; };"
} >"$T/hash.conf"
start_milter one "$T/hash.conf" "$RUN/milter.sock"
CTLC="$CTL -c $T/hash.conf"

# route: one message to u@dest.example; prints the member it got.
route() {
	timeout 30 python3 "$top_srcdir/tests/tools/milterclient.py" "$RUN/milter.sock" \
		--rcpt u@dest.example smtp "[127.0.0.1]:$R" |
		sed -n 's/^ADDHEADER X-Postlb-Route: \([a-z0-9]*\) .*/\1/p'
}
predicted() { $CTLC explain -r u@dest.example | sed -n 's/^ *next pick: //p'; }
calls() { stat_of "$(milter_stats one)" calls; }

declare -A SUSPENDED=()
for ((k = 1; k <= 20; k++)); do
	want=$(predicted)
	[ -n "$want" ] || fail "message $k: explain names no pick"
	# the first message after a change may plan the pool anew (a
	# plan ranks the whole order); the second uses the kept plan
	got=$(route)
	assert_eq "$want" "$got" "message $k: the milter picked explain's member"
	c0=$(calls)
	got=$(route)
	c1=$(calls)
	assert_eq "$want" "$got" "message $k again: the same member from the kept plan"
	[ -z "${SUSPENDED[$got]:-}" ] || fail "message $k: $got is suspended for dest.example"
	if [ "$k" -le "$TOP" ]; then
		assert_eq 1 "$((c1 - c0))" "message $k: one route call (a usable member in the top $TOP)"
	else
		assert_eq 2 "$((c1 - c0))" "message $k: two route calls (the top $TOP suspended, then the whole order)"
	fi
	$CTLC member suspend "$got" dest.example 1h >/dev/null || fail "suspend $got"
	SUSPENDED[$got]=1
done

# without Redis: the last known suspensions decide, over the whole order
want=$(predicted)
[ -n "$want" ] && [ -z "${SUSPENDED[$want]:-}" ] || fail "explain's pick '$want' after 20 suspensions"
sleep 1 # the refresher reads the last suspension (refresh 200 ms)
stop_redis
got=$(route)
assert_eq "$want" "$got" "Redis down: the milter picked explain's member from what it knew"
st=$(milter_stats one)
assert_ge "$(stat_of "$st" local)" 1 "... and it was a local pick"

e2e_finish
