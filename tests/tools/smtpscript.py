#!/usr/bin/env python3
"""smtpscript: a scripted SMTP server for tests, on 127.0.0.1 only.

usage: smtpscript.py PORT SECONDS [--rcpt-reply REPLY] [--bad DOMAIN
       REPLY]... [--accept-log FILE]

Serves for at most SECONDS (bounded reads, one thread per connection).
Every RCPT is answered 250 unless --rcpt-reply gives another reply for all
recipients, or --bad gives one for recipients of DOMAIN (a reply may hold
several lines separated by "|"; a 421 reply closes the connection after
it).  Messages after DATA are read to the final dot and answered 250; each
accepted message appends "accepted" to the --accept-log file.
"""
import socket
import sys
import threading
import time


def main(argv):
    port, deadline = int(argv[1]), time.time() + float(argv[2])
    rcpt_reply, bad, accept_log = b"250 2.1.5 Ok", [], None
    i = 3
    while i < len(argv):
        if argv[i] == "--rcpt-reply":
            rcpt_reply = argv[i + 1].encode(); i += 2
        elif argv[i] == "--bad":
            bad.append((("@" + argv[i + 1] + ">").upper().encode(),
                        argv[i + 2].encode())); i += 3
        elif argv[i] == "--accept-log":
            accept_log = argv[i + 1]; i += 2
        else:
            raise SystemExit(__doc__)

    def serve(c):
        c.settimeout(10)
        f = c.makefile("rb")
        ok = 0

        def say(reply):
            lines = reply.split(b"|")
            for n, l in enumerate(lines):
                sep = b"-" if n + 1 < len(lines) else b" "
                c.sendall(l[:3] + sep + l[4:] + b"\r\n")

        try:
            say(b"220 mx.example ESMTP")
            while time.time() < deadline:
                line = f.readline(1000).strip().upper()
                if not line:
                    return
                if line.startswith((b"EHLO", b"HELO")):
                    say(b"250 mx.example")
                elif line.startswith(b"RCPT"):
                    reply = rcpt_reply
                    for dom, r in bad:
                        if line.endswith(dom):
                            reply = r
                    say(reply)
                    if reply.startswith(b"421"):
                        return
                    ok += reply.startswith(b"2")
                elif line == b"DATA" and ok:
                    say(b"354 go")
                    while True:
                        d = f.readline(10000)
                        if not d or d in (b".\r\n", b".\n"):
                            break
                    say(b"250 2.0.0 Ok: queued")
                    ok = 0
                    if accept_log:
                        with open(accept_log, "a") as log:
                            log.write("accepted\n")
                elif line == b"QUIT":
                    say(b"221 2.0.0 Bye")
                    return
                elif line.startswith((b"MAIL", b"RSET", b"NOOP")):
                    ok = 0 if line.startswith(b"RSET") else ok
                    say(b"250 2.0.0 Ok")
                else:
                    say(b"503 5.5.1 Error: no valid recipients")
        except OSError:
            pass
        finally:
            c.close()

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    s.settimeout(0.5)
    while time.time() < deadline:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
