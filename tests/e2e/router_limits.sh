# router_limits.sh: the routing limits as `postlb-milter -n` sees them.
#
# Configs of exactly CONFIG_POOLS_MAX pools, CONFIG_POOL_MEMBERS_MAX members
# in one pool, CONFIG_MEMBERS_MAX members in all and CONFIG_WARM_DAYS_MAX
# warm-up caps are accepted; one more of
# each is refused with "FILE:LINE: ..." and a non-zero exit, before any
# socket or thread exists.  Needs only the built postlb-milter: no Redis,
# no Postfix, no root.

. "$(dirname "$0")/lib.sh"

[ -x "$MILTER" ] || { echo "$MILTER is not built (run make)" >&2; exit 99; }
POOLS_MAX=64
MEMBERS_MAX=4096    # CONFIG_MEMBERS_MAX
POOL_MEMBERS_MAX=1024 # CONFIG_POOL_MEMBERS_MAX
WARM_MAX=366

# gen_conf FILE NMEMBERS NPOOLS POOL_MEMBERS WARM_DAYS: members m0.. one a
# line from line 2, "pools = {" on line NMEMBERS + 3, one pool a line.
gen_conf() {
	local f=$1 nm=$2 np=$3 pm=$4 wd=$5 i j caps=
	{
		echo "members = {"
		for ((i = 0; i < nm; i++)); do
			if [ "$i" -eq 0 ] && [ "$wd" -gt 0 ]; then
				caps=$(seq -s ', ' 1 "$wd")
				echo "  m$i = { warmup = { start = \"2024-01-01\"; caps = [ $caps ]; }; };"
			else
				echo "  m$i = { };"
			fi
		done
		echo "};"
		echo "pools = {"
		for ((i = 0; i < np; i++)); do
			printf '  p%d = { members = [' "$i"
			for ((j = 0; j < pm; j++)); do
				printf '%s"m%d"' "$([ "$j" -gt 0 ] && echo ', ')" $((j % nm))
			done
			echo ' ]; };'
		done
		echo "};"
		echo "routing = { default_pool = \"p0\"; };"
		echo "milter = { listen = \"unix:$RUN/milter.sock\"; user = \"postfix\"; };"
	} >"$f"
}

# check_ok NAME ARGS...: -n accepts the config.
check_ok() {
	local name=$1 out
	shift
	gen_conf "$T/$name.conf" "$@"
	out=$("$MILTER" -n -c "$T/$name.conf" 2>&1)
	assert_eq 0 "$?" "$name: postlb-milter -n accepts it"
	assert_match ": OK \(" "$out" "$name: -n says OK"
}

# check_refused NAME LINE PHRASE ARGS...: -n fails with FILE:LINE: PHRASE.
check_refused() {
	local name=$1 line=$2 phrase=$3 out rc
	shift 3
	gen_conf "$T/$name.conf" "$@"
	out=$("$MILTER" -n -c "$T/$name.conf" 2>&1)
	rc=$?
	assert_true "$name: postlb-milter -n fails (exit $rc)" [ "$rc" -ne 0 ]
	assert_match "$name\.conf:$line: $phrase" "$out" "$name: the error names file:line"
	assert_true "$name: no socket was created" [ ! -e "$RUN/milter.sock" ]
}

check_ok pools-max 1 "$POOLS_MAX" 1 0
check_refused pools-over 4 "more than $POOLS_MAX pools" 1 $((POOLS_MAX + 1)) 1 0
check_refused pools-200 4 "more than $POOLS_MAX pools" 1 200 1 0
check_ok pool-members-max "$POOL_MEMBERS_MAX" 2 "$POOL_MEMBERS_MAX" 0
check_refused pool-members-over $((POOL_MEMBERS_MAX + 5)) \
	"pool 'p0': more than $POOL_MEMBERS_MAX members" \
	$((POOL_MEMBERS_MAX + 1)) 1 $((POOL_MEMBERS_MAX + 1)) 0
check_ok members-max "$MEMBERS_MAX" 1 1 0
check_refused members-over 1 "more than $MEMBERS_MAX members" \
	$((MEMBERS_MAX + 1)) 1 1 0
check_ok warm-max 1 1 1 "$WARM_MAX"
check_refused warm-over 2 "member 'm0': warmup needs caps.*1\.\.$WARM_MAX integers" 1 1 1 $((WARM_MAX + 1))

e2e_finish
