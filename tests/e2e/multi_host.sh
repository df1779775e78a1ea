# multi_host.sh: members that belong to a host, shared relays and
# site-aware pools across two Postfix hosts on one Redis.
#
# Hosts a (site s1) and b (site s2): two private Postfix instances, each
# with its own postlb-milter, sharing one Redis and one postlb.conf but
# for its `host` line.  Members: ipa (host a, bound to 127.0.0.21), ipb
# (host b, 127.0.0.22), relays r1 (site s1, weight 3) and r2 (site s2,
# weight 1) shared by both.  Checks:
#  - postfix-config on each host prints only its own source-IP member
#    and the shared relays (transports and route regexp);
#  - pool "ips": each host's mail leaves through its own member only, bound
#    to its own address (X-Client-Addr at the sinks), never the other's;
#  - pool "relays" (shared): the rotation is one across both hosts, 3:1
#    exactly over 80 messages;
#  - pool "near" (prefer_site): each host's mail goes to the relay of its
#    site; with r1 drained, host a's spills to r2;
#  - postlbctl members shows each member's hosts and site;
#  - a config leaving a host no member of a pool without fallback, and a
#    member naming an undeclared host, are refused with file:line.

. "$(dirname "$0")/lib.sh"
need_root_and_tools smtp-sink smtp-source

start_redis
for s in s0 ipa ipb r1 r2; do
	pick_port "PORT_$s"
	start_sink "$s" "$(eval echo "\$PORT_$s")"
done
pick_port SMTP_A
pick_port SMTP_B

# conf HOST: the cluster's config as host HOST has it.
conf() {
	cat <<EOC
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
milter = { listen = "unix:$RUN/milter-$1.sock"; user = "postfix"; socket_mode = "0666"; };
host = "$1";
hosts = ( { name = "a"; site = "s1"; }, { name = "b"; site = "s2"; } );
members = {
  ipa = { host = "a"; address = "127.0.0.21"; nexthop = "[127.0.0.1]:$PORT_ipa"; };
  ipb = { host = "b"; address = "127.0.0.22"; nexthop = "[127.0.0.1]:$PORT_ipb"; };
  r1 = { nexthop = "[127.0.0.1]:$PORT_r1"; site = "s1"; weight = 3; };
  r2 = { nexthop = "[127.0.0.1]:$PORT_r2"; site = "s2"; weight = 1; };
};
pools = {
  ips = { members = ["ipa", "ipb"]; };
  relays = { members = ["r1", "r2"]; };
  near = { members = ["r1", "r2"]; prefer_site = true; };
};
rules = (
  { name = "ips"; sender_domain = ["ips.example"]; pool = "ips"; },
  { name = "near"; sender_domain = ["near.example"]; pool = "near"; }
);
routing = { default_pool = "relays"; refresh = "200ms"; reserve = 1;
  takeover = { nexthops = ["[127.0.0.1]:$PORT_s0"]; }; };
EOC
}

# wire HOST PORT: a private Postfix for HOST with its own milter, wired as
# its postfix-config says (its own regexp files).
wire() {
	local h=$1 d w=$T/wire-$1
	mkdir -p "$w"
	conf "$h" >"$T/postlb-$h.conf"
	start_milter "$h" "$T/postlb-$h.conf" "$RUN/milter-$h.sock"
	start_postfix "$h" "$2" "$RUN/no-policy.sock" "$PORT_s0"
	d=${POSTFIX_DIR[$h]}
	for part in route strip; do
		"$CTL" -c "$T/postlb-$h.conf" postfix-config "$part" "$w" >"$w/postlb_$part.regexp"
	done
	"$CTL" -c "$T/postlb-$h.conf" postfix-config master "$w" >"$w/master.part"
	cat "$w/master.part" >>"$d/master.cf"
	"$CTL" -c "$T/postlb-$h.conf" postfix-config main "$w" "$d" >>"$d/main.cf"
	postconf -c "$d" -e "smtpd_recipient_restrictions = permit_mynetworks, reject" \
		"smtpd_end_of_data_restrictions ="
	timeout 30 postfix -c "$d" reload >/dev/null 2>&1 || die "postfix reload failed"
}
wire a "$SMTP_A"
wire b "$SMTP_B"
sleep 1

log "postfix-config prints each host's own members and the shared ones"
assert_match "^ipa unix" "$(cat "$T/wire-a/master.part")" "host a defines ipa"
assert_eq 0 "$(grep -c '^ipb ' "$T/wire-a/master.part")" "host a does not define ipb"
assert_eq 2 "$(grep -c '^r[12] unix' "$T/wire-a/master.part")" "host a defines both relays"
assert_match "\(ipa\|r1\|r2\)" "$(cat "$T/wire-a/postlb_route.regexp")" "host a's route regexp: ipa, r1, r2"
assert_match "\(ipb\|r1\|r2\)" "$(cat "$T/wire-b/postlb_route.regexp")" "host b's: ipb, r1, r2"

# send HOST PORT N FROM: N messages through host HOST.
send() {
	timeout 120 smtp-source -m "$3" -s 2 -l 300 -f "$4" -t u@dest.example \
		"127.0.0.1:$2" >>"$T/source.out" 2>&1
}
_total_is() {
	local s n=0
	for s in s0 ipa ipb r1 r2; do n=$((n + $(sink_messages "$s"))); done
	[ "$n" -ge "$1" ]
}
settle() {
	wait_for 60 _total_is "$1" || log "the sinks hold less than $1"
	wait_queue_empty a 30 || log "host a's queue is not empty"
	wait_queue_empty b 30 || log "host b's queue is not empty"
}

log "source-IP members: each host uses its own"
send a "$SMTP_A" 20 x@ips.example
send b "$SMTP_B" 20 x@ips.example
settle 40
assert_eq 20 "$(sink_messages ipa)" "ipa took host a's 20"
assert_eq 20 "$(sink_messages ipb)" "ipb took host b's 20"
assert_eq 20 "$(count_re '^X-Client-Addr: 127\.0\.0\.21$' "$T/sink-ipa/dump")" \
	"all of ipa's left from 127.0.0.21"
assert_eq 20 "$(count_re '^X-Helo-Args: e2e-a\.' "$T/sink-ipa/dump")" "all from host a"
assert_eq 20 "$(count_re '^X-Client-Addr: 127\.0\.0\.22$' "$T/sink-ipb/dump")" \
	"all of ipb's left from 127.0.0.22"
assert_eq 20 "$(count_re '^X-Helo-Args: e2e-b\.' "$T/sink-ipb/dump")" "all from host b"

log "a shared pool: one rotation across both hosts"
send a "$SMTP_A" 40 x@relays.example
send b "$SMTP_B" 40 x@relays.example
settle 120
assert_eq 60 "$(sink_messages r1)" "r1 (weight 3) took 60 of 80"
assert_eq 20 "$(sink_messages r2)" "r2 (weight 1) took 20 of 80"
assert_ge "$(count_re '^X-Helo-Args: e2e-a\.' "$T/sink-r1/dump")" 1 "host a used r1"
assert_ge "$(count_re '^X-Helo-Args: e2e-b\.' "$T/sink-r1/dump")" 1 "host b used r1"

log "prefer_site: each host's own site first, the other when none is left"
send a "$SMTP_A" 10 x@near.example
send b "$SMTP_B" 10 x@near.example
settle 140
assert_eq 70 "$(sink_messages r1)" "host a's 10 went to r1 (site s1)"
assert_eq 30 "$(sink_messages r2)" "host b's 10 went to r2 (site s2)"
"$CTL" -c "$T/postlb-a.conf" member drain r1 >/dev/null
sleep 1
send a "$SMTP_A" 5 x@near.example
settle 145
assert_eq 70 "$(sink_messages r1)" "r1 drained: nothing more to it"
assert_eq 35 "$(sink_messages r2)" "host a's mail spilled to r2"
assert_eq 0 "$(sink_messages s0)" "nothing went to the default route"
"$CTL" -c "$T/postlb-a.conf" member ready r1 >/dev/null

out=$("$CTL" -c "$T/postlb-a.conf" members)
assert_match "ipb +ready +1 +[0-9]+ +- +b " "$out" "postlbctl members shows ipb on host b"
assert_match "r1 +ready +3 +[0-9]+ +- +all \(s1\)" "$out" "and r1 on every host, site s1"

log "configs that leave a host without a member are refused"
conf a | sed '/ipb = /d; s/"ipa", "ipb"/"ipa"/' >"$T/bad1.conf"
out=$("$MILTER" -n -c "$T/bad1.conf" 2>&1)
assert_true "no member of ips for host b: refused" [ $? -ne 0 ]
assert_match "bad1\.conf:[0-9]+: pool 'ips': no member for host 'b' and no fallback pool" "$out" \
	"the error names file:line, the pool and the host"
conf a | sed 's/host = "b"; address/host = "c"; address/' >"$T/bad2.conf"
out=$("$MILTER" -n -c "$T/bad2.conf" 2>&1)
assert_match "bad2\.conf:[0-9]+: member 'ipb': host 'c' is not among 'hosts'" "$out" \
	"a member naming an undeclared host is refused"

e2e_finish
