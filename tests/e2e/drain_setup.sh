# shellcheck shell=bash
# drain_setup.sh: what the drain tests (tests/e2e/drain_*.sh) share,
# sourced after lib.sh: three relay members r1..r3 (smtp-sinks on ports
# R1..R3) behind a private Postfix wired exactly as `postlbctl
# postfix-config` prints it, plus the requeue path (pickup -> cleanup-rq,
# whose header_checks ask policyd's socketmap), postlb-requeue as root on
# a socket in a root-owned directory, and counting by Message-ID at the
# sinks.

REQUEUE=$top_builddir/postlb-requeue
[ -x "$REQUEUE" ] || { echo "[$E2E_NAME] ERROR: $REQUEUE is not built" >&2; exit 99; }

# drain_conf FILE SUFFIX [EXTRA]: writes a postlb.conf whose sockets end in
# SUFFIX ("" or "2", for a second host): policy, milter, socketmap and the
# requeue socket (in $T/rqSUFFIX, root-owned); members r1..r3 on R1..R3,
# pool relays (round robin) and pool pin (r1, fallback relays) for
# sender domain pin.example (mail relayed to [127.0.0.1]:R0, the
# default route, is postlb's to route); the drain at drain.rate $DRAIN_RATE (200)
# every 500 ms.  EXTRA is appended verbatim (health checks, ...).
drain_conf() {
	local f=$1 s=$2
	mkdir -p -m 0755 "$T/rq$s"
	cat >"$f" <<EOF
redis = { address = "unix:$REDIS_SOCK"; prefix = "postlb:"; };
policyd = { listen = ["unix:$RUN/policy$s.sock"]; user = "postfix"; socket_mode = "0666";
  socketmap = "unix:$RUN/reroute$s.sock"; };
quotas = ( { name = "big"; subject = "sender"; unit = "messages"; limit = 1000000; window = "1h"; } );
milter = { listen = "unix:$RUN/milter$s.sock"; user = "postfix"; socket_mode = "0666"; };
members = {
  r1 = { nexthop = "[127.0.0.1]:$R1"; };
  r2 = { nexthop = "[127.0.0.1]:$R2"; };
  r3 = { nexthop = "[127.0.0.1]:$R3"; };
};
pools = { relays = { members = ["r1", "r2", "r3"]; algorithm = "round_robin"; };
  pin = { members = ["r1"]; fallback = "relays"; }; };
rules = ( { name = "pin"; sender_domain = ["pin.example"]; pool = "pin"; } );
routing = { default_pool = "relays"; refresh = "100ms"; reserve_time = "100ms";
  takeover = { nexthops = ["[127.0.0.1]:$R0"]; }; };
drain = { requeue = "$T/rq$s/requeue"; rate = ${DRAIN_RATE:-200}; interval = "500ms"; };
${3:-}
EOF
}

# start_requeue NAME POSTFIX_DIR SOCK: postlb-requeue (root) for that
# Postfix instance, group postfix; log in $T/requeue-NAME.log.
start_requeue() {
	"$REQUEUE" -f -c "$2" -s "$3" -g postfix 2>>"$T/requeue-$1.log" &
	E2E_EXTRA_PIDS+=($!)
	wait_for 10 test -S "$3" || { cat "$T/requeue-$1.log" >&2; die "postlb-requeue $1 did not start"; }
	log "postlb-requeue $1 pid $! on $3"
}

# wire_requeue NAME CONF: replaces Postfix NAME's pickup line with the
# requeue path printed by `postlbctl postfix-config requeue` and reloads.
wire_requeue() {
	local d=${POSTFIX_DIR[$1]}
	sed -i '/^pickup /d' "$d/master.cf"
	"$CTL" -c "$2" postfix-config requeue >>"$d/master.cf" || die "postfix-config requeue"
	timeout 30 postfix -c "$d" reload >/dev/null 2>&1 || die "postfix reload failed"
	sleep 1
}

# start_relay_4xx NAME PORT: an smtp-sink that answers every RCPT with a
# 4xx reply (mail routed to it stays deferred; health checks see it up).
start_relay_4xx() {
	mkdir -p "$T/sink-$1" && chown postfix "$T/sink-$1"
	smtp-sink -u postfix -r rcpt -D "$T/sink-$1/dump" "127.0.0.1:$2" 256 \
		>"$T/sink-$1/stdout" 2>&1 &
	SINK_PID[$1]=$!
	SINK_DIR[$1]=$T/sink-$1
	wait_for 10 _port_listening "$2" || die "smtp-sink $1 (4xx) did not start"
}

# queue_count NAME QUEUE: files in Postfix NAME's queue QUEUE (deferred,
# active, maildrop, incoming).
queue_count() {
	find "${POSTFIX_DIR[$1]}/queue/$2" -type f 2>/dev/null | wc -l
}
_queue_count_ge() { [ "$(queue_count "$1" "$2")" -ge "$3" ]; }

# sink_ids NAME...: the Message-IDs the sinks received, one a line.
sink_ids() {
	local n
	for n in "$@"; do
		[ -f "${SINK_DIR[$n]}/dump" ] && grep -i '^Message-Id: ' "${SINK_DIR[$n]}/dump"
	done | sed 's/^[^:]*: *//'
}

# assert_exactly_once N WHAT SINK...: the sinks together received N
# Message-IDs, all distinct (smtp-source numbers each run's messages).
assert_exactly_once() {
	local n=$1 what=$2 total uniq
	shift 2
	total=$(sink_ids "$@" | wc -l)
	uniq=$(sink_ids "$@" | sort -u | wc -l)
	assert_eq "$n" "$uniq" "$what: $n distinct messages delivered through $*"
	assert_eq "$uniq" "$total" "$what: no message delivered twice ($total deliveries)"
}

# drained POLICYD_NAME MEMBER: the total the drain logged as moved.
drained() {
	grep -o "drain: $2 ([^)]*): moved [0-9]*" "$T/policyd-$1.log" |
		awk '{ s += $NF } END { print s + 0 }'
}

# _drained_ge POLICYD_NAME MEMBER N: the drain logged at least N moved
# (a pass logs once it has ended, which may be after the mail is gone).
_drained_ge() { [ "$(drained "$1" "$2")" -ge "$3" ]; }

# _hc_is MEMBER VALUE: the member's hc field is VALUE.
_hc_is() { [ "$(rcli HGET "postlb:m:$1" hc)" = "$2" ]; }

# drain_start_sinks [PORTS...]: the private Redis, ports R0 R1 R2 R3 SMTP
# (and PORTS), the default relay (R0), r1's 4xx relay and the r2, r3 sinks.
drain_start_sinks() {
	local p
	start_redis
	for p in R0 R1 R2 R3 SMTP "$@"; do pick_port "$p"; done
	start_sink relayhost "$R0"
	start_relay_4xx r1 "$R1"
	start_sink r2 "$R2"
	start_sink r3 "$R3"
}

# drain_start_host NAME PF SMTP_PORT SUFFIX: policyd and milter NAME on
# $T/postlbSUFFIX.conf (written by drain_conf), Postfix PF on SMTP_PORT
# wired to them, with the requeue path and postlb-requeue.
drain_start_host() {
	local conf=$T/postlb$4.conf
	start_policyd "$1" "$conf"
	start_milter "$1" "$conf" "$RUN/milter$4.sock"
	wire_postlb "$2" "$3" "$conf" "$R0"
	wire_requeue "$2" "$conf"
	start_requeue "$2" "${POSTFIX_DIR[$2]}" "$T/rq$4/requeue"
}

# pin_deferred N RCPT [PORT]: N messages of sender a@pin.example (pool
# pin: r1, whose relay answers 4xx) to RCPT through Postfix on PORT
# (default $SMTP).
pin_deferred() {
	timeout 120 smtp-source -m "$1" -s 5 -l 300 -f a@pin.example -t "$2" \
		"127.0.0.1:${3:-$SMTP}" >>"$T/source.out" 2>&1 ||
		fail "smtp-source ($1 to $2) failed"
}
