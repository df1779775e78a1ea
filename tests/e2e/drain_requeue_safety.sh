# drain_requeue_safety.sh: postlb-requeue, the root part of the drain,
# keeps to its narrow interface.
#
# It refuses to run as anyone but root, refuses a socket directory that
# others may write and an existing entry that is not a socket (never
# following a link); its socket is root's, group -g, mode 0660, so a user
# outside the group cannot connect.  Over the socket: malformed lines get
# "err ...", a line past RQ_LINE_MAX closes the connection, an id that is
# not in the deferred queue is skipped, and "list" of a member with no
# deferred mail is "ok 0".

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/drain_setup.sh"
need_root_and_tools python3 setpriv
need_postfix_reach

pick_port SMTP
pick_port R0
start_postfix pf "$SMTP" "$RUN/none.sock" "$R0"
D=${POSTFIX_DIR[pf]}

# --- refusals at startup ---
out=$(setpriv --reuid postfix --regid postfix --clear-groups \
	timeout 10 "$REQUEUE" -f -c "$D" -s "$T/x.sock" -g postfix 2>&1)
assert_eq 1 "$?" "refuses to run as postfix"
assert_match "must run as root" "$out" "says it must run as root"
mkdir -m 0777 "$T/open"
out=$(timeout 10 "$REQUEUE" -f -c "$D" -s "$T/open/rq" -g postfix 2>&1)
assert_eq 1 "$?" "refuses a socket directory others may write"
assert_match "writable" "$out" "says why: $out"
mkdir -m 0755 "$T/link"
ln -s /etc/passwd "$T/link/rq"
out=$(timeout 10 "$REQUEUE" -f -c "$D" -s "$T/link/rq" -g postfix 2>&1)
assert_eq 1 "$?" "refuses an entry that is not a socket"
assert_true "the link is left alone" test -L "$T/link/rq"
out=$(timeout 10 "$REQUEUE" -f -c "$D" -s "$T/y.sock" -g no-such-group-postlb 2>&1)
assert_eq 1 "$?" "refuses an unknown group"

# --- the socket ---
mkdir -m 0755 "$T/rq"
start_requeue pf "$D" "$T/rq/requeue"
assert_eq "srw-rw---- root postfix" "$(stat -c '%A %U %G' "$T/rq/requeue")" \
	"socket: root's, group postfix, mode 0660"

# talk AS_USER LINES...: sends each line, prints each reply line; a reply
# "closed" when the server closed the connection.
talk() {
	local who=$1
	shift
	setpriv --reuid "$who" --regid "$(id -g "$who")" --init-groups timeout 30 python3 - "$T/rq/requeue" "$@" 2>>"$T/talk.err" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + e.strerror); sys.exit(0)
f = s.makefile("rwb")
for line in sys.argv[2:]:
    try:
        if line == "LONG":
            f.write(b"list " + b"a" * 20000); f.flush()
        else:
            f.write(line.encode() + b"\n"); f.flush()
        r = f.readline()
    except OSError:
        r = b""
    print(r.decode().strip() if r else "closed", flush=True)
EOF
}
assert_eq "connect: Permission denied" "$(talk nobody 'list r1')" "a user outside the group cannot connect"
replies=$(talk postfix 'hello' 'list ../x' 'list r1 extra' 'requeue r1 A-B' 'requeue r1' \
	'list r1' 'requeue r1 ABCDEF123' 'LONG')
expected='err unknown command (list, requeue)
err bad member name
err malformed line
err bad queue id
err malformed line
ok 0
ok 0 1
closed'
assert_eq "$expected" "$replies" "malformed lines get err, an unknown id is skipped, a long line closes"
assert_true "postlb-requeue is still running" _pid_alive "${E2E_EXTRA_PIDS[-1]}"

e2e_finish
