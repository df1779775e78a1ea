# socket_safety.sh: the unix sockets of postlb-policyd and postlb-milter
# are created without following a link or changing anything by a path
# that the daemon's less privileged user can swap.
#
# Checks, for both daemons: a socket in a directory owned by the daemon's
# user gets the configured mode and owner; a stale socket is replaced; a
# symlink or a regular file at the socket path is refused and left alone
# (its target untouched); a socket directory writable by others or owned
# by another account is refused; in a root-owned directory the socket is
# still given to the daemon's user; without a user, running as root is
# refused before any file is created.  Last, the attack itself: the
# daemon's user replaces the socket path with a symlink to a root-owned
# file in a tight loop while the daemon starts again and again, and the
# file's owner, mode and content stay as they were.

. "$(dirname "$0")/lib.sh"
need_root_and_tools python3

# A root-owned file the attacker would like to own.
TARGET=$T/secret
echo "root only" >"$TARGET"
chmod 600 "$TARGET"
target_state() { stat -c '%U:%G %a %s' "$TARGET"; }
TARGET0=$(target_state)

# conf_policyd FILE SOCK [USER]: a policyd config with one quota.
conf_policyd() {
	local user=${3-postfix}
	cat >"$1" <<EOF
redis = { address = "unix:$T/no-redis.sock"; prefix = "postlb:"; };
policyd = { listen = ["unix:$2"]; ${user:+user = \"$user\";} socket_mode = "0660"; };
quotas = ( { name = "q"; subject = "sender"; unit = "messages"; limit = 10; window = "1h"; } );
EOF
}

# conf_milter FILE SOCK: a milter config with one member.
conf_milter() {
	cat >"$1" <<EOF
redis = { address = "unix:$T/no-redis.sock"; prefix = "postlb:"; };
milter = { listen = "unix:$2"; user = "postfix"; socket_mode = "0660"; };
members = { m1 = { nexthop = "[127.0.0.1]:2525"; }; };
pools = { p = { members = ["m1"]; algorithm = "round_robin"; }; };
routing = { default_pool = "p"; };
EOF
}

# run_daemon KIND CONF SOCK LOG: starts the daemon in the foreground and
# waits (RUN_WAIT seconds, default 10) until it has created SOCK or exited.  Prints "up" or
# "exit"; a daemon that came up is stopped again.
run_daemon() {
	local kind=$1 conf=$2 sock=$3 logf=$4 bin pid
	bin=$POLICYD
	[ "$kind" = milter ] && bin=$MILTER
	"$bin" -f -c "$conf" 2>>"$logf" &
	pid=$!
	if wait_for "${RUN_WAIT:-10}" _up_or_gone "$sock" "$pid" && _pid_alive "$pid"; then
		echo up
		stop_pid "$pid" 10
	else
		stop_pid "$pid" 5
		echo exit
	fi
}
_up_or_gone() { [ -S "$1" ] || _pid_gone "$2"; }

sock_state() { stat -c '%F %U %a' "$1" 2>/dev/null; }

for kind in policyd milter; do
	conf=$T/$kind.conf
	logf=$T/$kind.log

	# A directory owned by the daemon's user (like /var/spool/postfix/postlb).
	d=$T/$kind-run
	mkdir -m 755 "$d" && chown postfix "$d"
	s=$d/$kind.sock
	"conf_$kind" "$conf" "$s"
	"$(if [ "$kind" = milter ]; then echo "$MILTER"; else echo "$POLICYD"; fi)" \
		-f -c "$conf" 2>>"$logf" &
	pid=$!
	wait_for 10 test -S "$s" || fail "$kind: no socket at $s"
	assert_eq "socket postfix 660" "$(sock_state "$s")" "$kind: socket mode and owner"
	assert_eq "$(id -G postfix | tr ' ' '\n' | sort -n | xargs)" \
		"$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$pid/status" | tr ' ' '\n' | sort -n | xargs)" \
		"$kind: runs with the user's own supplementary groups, none of root's"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	assert_true "$kind: a killed daemon leaves its socket behind" test -S "$s"
	assert_eq up "$(run_daemon "$kind" "$conf" "$s" "$logf")" "$kind: starts over a stale socket"

	# A symlink at the socket path: refused, the target untouched.
	rm -f "$s"
	ln -s "$TARGET" "$s"
	assert_eq exit "$(run_daemon "$kind" "$conf" "$s" "$logf")" "$kind: refuses a symlink at the socket path"
	assert_true "$kind: the symlink is left" test -L "$s"
	assert_eq "$TARGET0" "$(target_state)" "$kind: symlink target untouched"
	rm -f "$s"

	# A regular file at the socket path: refused and kept.
	echo data >"$s"
	assert_eq exit "$(run_daemon "$kind" "$conf" "$s" "$logf")" "$kind: refuses a regular file at the socket path"
	assert_eq data "$(cat "$s")" "$kind: the file is kept"
	rm -f "$s"

	# Directories others may write, or another account owns: refused.
	for mode in 777 1777 775; do
		chmod "$mode" "$d"
		chgrp nogroup "$d"
		assert_eq exit "$(run_daemon "$kind" "$conf" "$s" "$logf")" "$kind: refuses a socket directory of mode $mode"
	done
	chmod 755 "$d"
	chown nobody "$d"
	assert_eq exit "$(run_daemon "$kind" "$conf" "$s" "$logf")" "$kind: refuses a socket directory owned by another user"
	assert_true "$kind: no socket in a refused directory" test ! -e "$s"
	assert_match "writable by others" "$(cat "$logf")" "$kind: says the directory is writable by others"
	assert_match "must belong to root or to the daemon's user" "$(cat "$logf")" "$kind: says who must own the directory"

	# A root-owned directory: root binds, the socket is given to postfix.
	chown root "$d"
	"$(if [ "$kind" = milter ]; then echo "$MILTER"; else echo "$POLICYD"; fi)" \
		-f -c "$conf" 2>>"$logf" &
	pid=$!
	wait_for 10 test -S "$s" || fail "$kind: no socket in a root-owned directory"
	assert_eq "socket postfix 660" "$(sock_state "$s")" "$kind: socket owner in a root-owned directory"
	stop_pid "$pid" 10
	chown postfix "$d"
done

# No user while root: refused before the socket is created.
d=$T/policyd-run
rm -f "$d/policyd.sock"
conf_policyd "$T/nouser.conf" "$d/policyd.sock" ""
assert_eq exit "$(run_daemon policyd "$T/nouser.conf" "$d/policyd.sock" "$T/nouser.log")" "policyd: refuses to run as root without a user"
assert_true "no socket created by a daemon that refuses root" test ! -e "$d/policyd.sock"
assert_match "refusing to run as root" "$(cat "$T/nouser.log")" "says why"

# The attack: the daemon's user swaps the socket for a symlink to a root
# file, as fast as it can, while the daemon starts 15 times.
cat >"$T/swap.py" <<'EOF'
import os, pwd, sys, time
path, target, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
pw = pwd.getpwnam("postfix")
os.setgid(pw.pw_gid)
os.setuid(pw.pw_uid)
tmp = path + ".swap"
end = time.monotonic() + secs
n = 0
while time.monotonic() < end:
    try:
        os.symlink(target, tmp)
        os.rename(tmp, path)
    except OSError:
        pass
    n += 1
    if n % 4 == 0:  # now and then let the daemon get past its checks
        try:
            os.unlink(path)
        except OSError:
            pass
EOF
for kind in policyd milter; do
	d=$T/$kind-run
	s=$d/$kind.sock
	rm -f "$s"
	chown root:root "$TARGET" && chmod 600 "$TARGET"
	timeout 120 python3 "$T/swap.py" "$s" "$TARGET" 60 &
	swp=$!
	ups=0
	for i in $(seq 1 15); do
		[ "$(RUN_WAIT=1 run_daemon "$kind" "$T/$kind.conf" "$s" "$T/race-$kind.log")" = up ] && ups=$((ups + 1))
		[ "$(target_state)" = "$TARGET0" ] || break
	done
	kill "$swp" 2>/dev/null
	wait "$swp" 2>/dev/null
	assert_eq "$TARGET0" "$(target_state)" "$kind: target untouched while the socket is swapped ($ups of $i starts came up)"
done

e2e_finish
