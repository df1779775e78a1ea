#!/bin/bash
# feedback-bench.sh: how fast postlb-policyd follows and counts Postfix's
# delivery log (delivery feedback), against `grep -c` over the same file
# as the floor, and whether it lags behind a steady 1,000 msg/s log.
#
# Usage: bench/feedback-bench.sh [BUILD_DIR] [LINES]
#   BUILD_DIR  holds postlb-policyd (default: ./build)
#   LINES      lines of the replayed log (default 1000000)
#
# 1. A synthetic Postfix 3.7 maillog of LINES lines, five per message as
#    Postfix writes them (smtpd connect, cleanup, qmgr from, the member
#    transport's status line, qmgr removed): 90% sent, 8% deferred, 2%
#    bounced over 4 members and 100 recipient domains.
# 2. Floor: `grep -c 'status='` over it (a page-cached read, best of 3).
# 3. postlb: policyd follows an empty log; the file is appended at once;
#    the time until its SIGUSR1 counters say every line was read and
#    every delivery counted in Redis.  Lines/s, the ratio to grep, RSS.
# 4. Lag: a writer appends 1,000 messages/s (5,000 lines/s) for 10 s; the
#    lag is the time from the writer's end until all are counted.
# Runs as root; private Redis and policyd on loopback/unix sockets only;
# everything it starts is stopped on exit.  A benchmark, not a test.
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${1:-$top_srcdir/build}" && pwd)
LINES=${2:-1000000}
export top_srcdir top_builddir
# shellcheck source=../tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
need_root_and_tools python3

echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "busiest processes before:"
ps -eo pcpu,comm --sort=-pcpu | head -n 4 | sed 's/^/  /'

cat >"$T/gen.py" <<'EOF'
import sys, random, time
n, rate = int(sys.argv[1]), float(sys.argv[2])  # messages, msg/s (0: all)
seq = int(sys.argv[3]) if len(sys.argv) > 3 else 0
random.seed(7 + seq)
out = sys.stdout
t0 = time.time()
for i in range(n):
    ts = time.strftime("%b %d %H:%M:%S")
    q = "%X%06X" % (seq + 1, i)
    m = "m%d" % (i % 4 + 1)
    d = "d%d.example" % random.randrange(100)
    r = random.random()
    if r < 0.90:
        st = "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XYZ)"
    elif r < 0.98:
        st = ("dsn=4.7.28, status=deferred (host mx.%s[192.0.2.1] said: "
              "421-4.7.28 rate limited (in reply to end of DATA command))" % d)
    else:
        st = ("dsn=5.1.1, status=bounced (host mx.%s[192.0.2.1] said: "
              "550 5.1.1 no such user (in reply to RCPT TO command))" % d)
    out.write(
        "%s h postfix/smtpd[100]: %s: client=app[192.0.2.9]\n"
        "%s h postfix/cleanup[101]: %s: message-id=<%d@app.example>\n"
        "%s h postfix/qmgr[102]: %s: from=<a@app.example>, size=2000, nrcpt=1 (queue active)\n"
        "%s h postfix-%s/smtp[103]: %s: to=<u%d@%s>, relay=mx.%s[192.0.2.1]:25, "
        "delay=0.5, delays=0.1/0/0.2/0.2, %s\n"
        "%s h postfix/qmgr[102]: %s: removed\n"
        % (ts, q, ts, q, i, ts, q, ts, m, q, i, d, d, st, ts, q))
    if rate > 0:
        out.flush()
        late = t0 + (i + 1) / rate - time.time()
        if late > 0:
            time.sleep(late)
EOF
MSGS=$((LINES / 5))
python3 "$T/gen.py" "$MSGS" 0 >"$T/replay.log"
log "replay log: $(wc -l <"$T/replay.log") lines, $(du -h "$T/replay.log" | cut -f1)"

# --- floor: grep -c, best of 3 ---
best=
for i in 1 2 3; do
	t0=$(now_ms)
	grep -c 'status=' "$T/replay.log" >/dev/null
	d=$(($(now_ms) - t0))
	if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
done
GREP_MS=$((best > 0 ? best : 1))

# --- postlb ---
start_redis
: >"$T/mail.log"
chmod 644 "$T/mail.log"
policyd_conf "$T/postlb.conf" "$RUN/policy.sock" <<EOF
quotas = ( { name = "all"; subject = "global"; unit = "messages"; limit = 1000000; window = "1h"; } );
members = { m1 = { }; m2 = { }; m3 = { }; m4 = { }; };
feedback = { log = "$T/mail.log"; state_file = "$RUN/feedback.state"; };
EOF
start_policyd main "$T/postlb.conf"
sleep 1
PID=${POLICYD_PID[main]}

# fb_lines: the feedback's "lines=" counter (SIGUSR1).
fb_lines() {
	local n
	n=$(grep -c 'feedback: lines' "$(policyd_log main)")
	kill -USR1 "$PID"
	wait_for 5 _log_count_ge "$(policyd_log main)" 'feedback: lines' $((n + 1)) || return 1
	grep 'feedback: lines' "$(policyd_log main)" | tail -n 1 |
		sed -E 's/.*feedback: lines=([0-9]+).*/\1/'
}
# counted_all N: true when Redis holds N deliveries in the minute counters.
counted() {
	rcli --scan --pattern 'postlb:fb:*' | while read -r k; do
		rcli HMGET "$k" sent deferred bounced conn_error
	done | awk '{ s += $1 } END { print s + 0 }'
}
_read_all() { [ "$(fb_lines)" -ge "$1" ]; }
_counted_all() { [ "$(counted)" -ge "$1" ]; }

t0=$(now_ms)
cat "$T/replay.log" >>"$T/mail.log"
wait_for 600 _read_all "$LINES" || log "not all lines read after 600 s"
READ_MS=$(($(now_ms) - t0))
wait_for 600 _counted_all "$MSGS" || log "not all deliveries counted after 600 s"
POSTLB_MS=$(($(now_ms) - t0))
N=$(counted)
RSS=$(awk '/VmRSS/ { print $2 }' "/proc/$PID/status")
HWM=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")

# --- lag under 1,000 msg/s ---
python3 "$T/gen.py" 10000 1000 1 >>"$T/mail.log"
t1=$(now_ms)
wait_for 60 _counted_all $((MSGS + 10000)) || log "the lag run was not counted in 60 s"
LAG_MS=$(($(now_ms) - t1))
N2=$(counted)

echo
echo "== feedback-bench: $(date -u +%FT%TZ), command: $0 $*"
printf '%-44s %s\n' "replayed log" "$LINES lines, $MSGS deliveries"
printf '%-44s %s ms (%s lines/s)\n' "grep -c (floor, best of 3)" "$GREP_MS" "$((LINES * 1000 / GREP_MS))"
printf '%-44s %s ms\n' "postlb-policyd: every line read" "$READ_MS"
printf '%-44s %s ms (%s lines/s)\n' "postlb-policyd: read and counted in Redis" "$POSTLB_MS" "$((LINES * 1000 / (POSTLB_MS > 0 ? POSTLB_MS : 1)))"
printf '%-44s %s\n' "postlb / grep (time)" "$(awk -v a="$POSTLB_MS" -v b="$GREP_MS" 'BEGIN { printf "%.1f", a / b }')"
printf '%-44s %s of %s\n' "deliveries counted in Redis" "$N" "$MSGS"
printf '%-44s %s kB (VmHWM %s kB)\n' "policyd RSS after the replay" "$RSS" "$HWM"
printf '%-44s %s ms after the writer ended (%s of %s more counted)\n' "lag at 1,000 msg/s for 10 s" "$LAG_MS" "$((N2 - N))" 10000
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
ps -eo pcpu,comm --sort=-pcpu | head -n 4 | sed 's/^/  /'
