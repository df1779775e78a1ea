# policyd_gcra.sh: the quota script (engine/quota.lua, run by a real
# Redis with redis-cli --eval, as a reader of the file would) and its C
# mirror (quota_gcra, quota_give_back, through tests/tools/gcra) agree on
# a table of cases: fresh and charged buckets, fractional emission
# intervals, costs above the whole quota, limit 0, large bytes quotas,
# and give-backs in time.
#
# The script reads Redis TIME itself, a little after the test does, so
# the TAT is set relative to the time read: where the result does not
# depend on now (a TAT ahead of it), the new TAT must be equal to the
# microsecond; where it does (a fresh bucket, a retry time), the script
# may differ from the C result only by the moments between the two reads
# (under 500 ms), in the direction time moves.

. "$(dirname "$0")/lib.sh"
need_root_and_tools
GCRA=$top_builddir/tests/tools/gcra
[ -x "$GCRA" ] || die "$GCRA is not built"
LUA=$top_srcdir/engine/quota.lua

start_redis

# redis_now: Redis TIME in microseconds.
redis_now() {
	local sec usec
	read -r sec usec _ <<<"$(rcli TIME | tr '\n' ' ')"
	echo $((sec * 1000000 + usec))
}

# check NAME LIMIT WINDOW_MS COST OFFSET_US: one check, its bucket's TAT
# at now + OFFSET_US ("-" for no state), script against C.
N=0
check() {
	local name=$1 limit=$2 win=$3 cost=$4 off=$5 key now tat=0 out lua c
	local l_ok l_tat l_retry c_ok c_tat c_retry d
	N=$((N + 1))
	key=postlb:q:g$N:s
	rcli DEL "$key" >/dev/null
	now=$(redis_now)
	if [ "$off" != - ]; then
		tat=$((now + off))
		rcli SET "$key" "$tat" >/dev/null
	fi
	out=$(timeout 5 redis-cli -s "$REDIS_SOCK" --eval "$LUA" "$key" \
		"postlb:o:g$N:s" "postlb:o:g$N:*" , "$limit" "$win" "$cost" 0)
	l_ok=$(head -n 1 <<<"$out")
	l_tat=$(rcli GET "$key")
	read -r c_ok c_tat c_retry <<<"$("$GCRA" "$limit" $((win * 1000)) "$cost" "$tat" "$now")"
	if [ "$c_ok" = 1 ]; then
		assert_eq 1 "$l_ok" "$name: allowed by both"
		if [ "$tat" -gt "$now" ]; then
			assert_eq "$c_tat" "$l_tat" "$name: the same new TAT"
		else
			d=$((l_tat - c_tat))
			assert_true "$name: the same new TAT but for the time between reads ($d us)" \
				test "$d" -ge 0 -a "$d" -lt 500000
		fi
	else
		assert_eq 0 "$l_ok" "$name: denied by both"
		l_retry=$(sed -n 3p <<<"$out")
		d=$((c_retry - l_retry))
		assert_true "$name: the same retry but for the time between reads ($d us)" \
			test "$d" -ge 0 -a "$d" -lt 500000
		assert_eq "${tat#0}" "$l_tat" "$name: the denied call wrote nothing"
	fi
}

# give_back NAME OFFSET_US BACK_US: a give-back of BACK_US on a TAT at
# now + OFFSET_US, under whatever limit.
give_back() {
	local name=$1 off=$2 back=$3 key now tat want got
	N=$((N + 1))
	key=postlb:q:g$N:s
	now=$(redis_now)
	tat=$((now + off))
	rcli SET "$key" "$tat" >/dev/null
	timeout 5 redis-cli -s "$REDIS_SOCK" --eval "$LUA" "$key" \
		"postlb:o:g$N:s" "postlb:o:g$N:*" , 1000 60000 "-$back" 0 >/dev/null
	got=$(rcli GET "$key")
	want=$("$GCRA" -b "$tat" "$now" "$back")
	[ "$want" = 0 ] && want=
	assert_eq "$want" "$got" "$name"
}

log "=== quota_gcra and quota.lua"
check "fresh bucket" 10 60000 1 -
check "nine of ten used" 10 60000 1 54000000
check "ten used" 10 60000 1 60000000
check "over by one interval" 10 60000 1 55000000
check "fractional interval (7 per minute)" 7 60000 1 1000000
check "fractional, several units" 7 60000 3 20000000
check "cost 600 of 1000 per day" 1000 86400000 600 10000000
check "cost 401 with 600 used" 1000 86400000 401 51840000000
check "cost above the quota, empty bucket" 10 60000 25 -
check "cost above the quota, bucket in use" 10 60000 25 1000000
check "limit 0" 0 60000 1 -
check "a terabyte a day, 123456789 bytes" 1000000000000 86400000 123456789 1000000000
check "a bucket drained in the past" 10 60000 1 -30000000

log "=== give-backs in time"
give_back "give back part of the charge" 30000000 7000000
give_back "give back all of it" 5000000 5000000
give_back "give back more than is charged" 5000000 9000000
give_back "a fractional charge" 20000000 8571428

e2e_finish
