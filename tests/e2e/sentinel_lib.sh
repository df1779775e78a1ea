# shellcheck shell=bash
# sentinel_lib.sh: a Redis primary, one replica and three redis-sentinel
# processes on loopback for the Sentinel tests (redis_sentinel.sh,
# cluster_sentinel.sh); sourced after lib.sh.
#
# start_sentinel_cluster: picks the ports P1 (primary, the private
# start_redis), P2 (replica), S1..S3 (sentinels monitoring "pm" with a
# quorum of 2, down-after 1 s), starts them and waits until the replica
# is in sync.  With SENTINEL_PASS set, the sentinels require that
# password (requirepass, and sentinel-pass among themselves).  rp PORT
# CMD...: redis-cli on 127.0.0.1:PORT (with SENTINEL_PASS for a
# sentinel); role_of PORT: its ROLE; _sentinels_ready: every sentinel
# sees the quorum and the replica.

start_sentinel_cluster() {
	local i port
	pick_port P1
	pick_port P2
	pick_port S1
	pick_port S2
	pick_port S3
	start_redis "$P1"
	mkdir -p "$T/replica-data"
	cat >"$T/replica.conf" <<EOF
port $P2
bind 127.0.0.1
hz 100
save ""
appendonly no
daemonize no
dir $T/replica-data
logfile $T/replica.log
replicaof 127.0.0.1 $P1
EOF
	redis-server "$T/replica.conf" &
	E2E_EXTRA_PIDS+=($!)
	for i in 1 2 3; do
		port=$(eval echo "\$S$i")
		mkdir -p "$T/sentinel-$i"
		cat >"$T/sentinel-$i/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $T/sentinel-$i
logfile $T/sentinel-$i.log
sentinel monitor pm 127.0.0.1 $P1 2
sentinel down-after-milliseconds pm 1000
sentinel failover-timeout pm 6000
sentinel parallel-syncs pm 1
EOF
		[ -z "${SENTINEL_PASS:-}" ] ||
			printf 'requirepass %s\nsentinel sentinel-pass %s\n' \
				"$SENTINEL_PASS" "$SENTINEL_PASS" >>"$T/sentinel-$i/sentinel.conf"
		redis-sentinel "$T/sentinel-$i/sentinel.conf" &
		E2E_EXTRA_PIDS+=($!)
	done
	wait_for 20 _replica_synced || die "the replica did not sync"
}

rp() {
	case " $S1 $S2 $S3 " in
	*" $1 "*)
		if [ -n "${SENTINEL_PASS:-}" ]; then
			timeout 5 redis-cli -p "$1" -a "$SENTINEL_PASS" --no-auth-warning "${@:2}"
			return
		fi
		;;
	esac
	timeout 5 redis-cli -p "$1" "${@:2}"
}
role_of() { rp "$1" ROLE 2>/dev/null | head -n 1; }
_replica_synced() {
	rp "$P2" INFO replication 2>/dev/null | grep -q '^master_link_status:up'
}
_sentinels_ready() {
	local s
	for s in "$S1" "$S2" "$S3"; do
		rp "$s" SENTINEL ckquorum pm 2>/dev/null | grep -q '^OK 3 usable' || return 1
		[ "$(rp "$s" SENTINEL replicas pm 2>/dev/null | grep -c "^$P2\$")" -ge 1 ] || return 1
	done
}

# probe_once SOCK: one END-OF-MESSAGE request of the probe sender
# (probe@probe.example, whose quota is spent) to the policy socket SOCK;
# prints "MAX_US TOKEN", TOKEN Q (decided by Redis: over quota), D (DUNNO:
# the fail mode) or ? (no answer).
probe_once() {
	local sum tok='?'
	sum=$(timeout 5 "$POLCLIENT" -s "unix:$1" -L -c 1 -n 1 \
		protocol_state=END-OF-MESSAGE client_address=127.0.0.1 \
		sender=probe@probe.example recipient=r@dest.example \
		recipient_count=1 size=1000 queue_id=4P1 instance=p1)
	[ "$(stat_of "$sum" dunno)" = 1 ] && tok=D
	[ "$(stat_of "$sum" other)" = 1 ] && tok=Q
	echo "$(stat_of "$sum" max_us) $tok"
}

# spend_probe SOCK: spends the probe sender's one unit through policy
# socket SOCK, until Redis refuses the probe (a spending request answered
# from the fail mode would leave the unit, and a later probe would pass
# for a fail-mode answer).
_probe_refused() { [ "$(probe_once "$1" | cut -d' ' -f2)" = Q ]; }
spend_probe() {
	wait_for 10 _probe_refused "$1" || die "the probe's quota was not spent through Redis"
}
