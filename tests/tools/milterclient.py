#!/usr/bin/env python3
"""milterclient: a raw milter protocol (version 6) client for tests.

Plays the MTA side of one message against a milter on a unix socket, the
way Postfix does, with packets the test chooses, and prints what the
milter answered at end of message: one line per header it added
("ADDHEADER Name: value") and the final verdict ("ACCEPT", "TEMPFAIL",
"CONTINUE", ...), or "CLOSED" when the milter closed the connection.

usage: milterclient.py SOCKET [--rcpt ADDR MAILER HOST]... [--header NAME
       VALUE]... [--header-size NAME BYTES SUFFIX] [--qid ID] [--body N]
       [--count N]

--count N sends N such messages one after the other on the one
connection (as Postfix does for a session with several transactions),
each with its own queue id, and prints the lines of each.
"""
import socket
import struct
import sys

SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT = 0x1, 0x2, 0x4, 0x8
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR = 0x10, 0x20, 0x40, 0x80
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "L": SMFIP_NR_HDR,
      "N": 0x40000, "B": 0x80000}
NO = {"C": SMFIP_NOCONNECT, "H": SMFIP_NOHELO, "M": SMFIP_NOMAIL,
      "R": SMFIP_NORCPT, "L": SMFIP_NOHDRS, "N": SMFIP_NOEOH, "B": SMFIP_NOBODY}
VERDICT = {b"a": "ACCEPT", b"c": "CONTINUE", b"t": "TEMPFAIL", b"r": "REJECT",
           b"d": "DISCARD", b"y": "REPLYCODE"}


class Closed(Exception):
    pass


def z(*parts):
    return b"".join(p.encode() + b"\0" for p in parts)


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.proto = 0

    def send(self, cmd, data=b""):
        try:
            self.s.sendall(struct.pack("!I", len(data) + 1) + cmd.encode() + data)
        except (BrokenPipeError, ConnectionResetError):
            raise Closed()

    def recv(self):
        hdr = self.read(4)
        (n,) = struct.unpack("!I", hdr)
        body = self.read(n)
        return body[:1], body[1:]

    def read(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except (ConnectionResetError, socket.timeout):
                raise Closed()
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def negotiate(self):
        self.send("O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF))
        cmd, data = self.recv()
        assert cmd == b"O", cmd
        _, _, self.proto = struct.unpack("!III", data[:12])

    def event(self, cmd, data):
        """Sends one event unless the milter declined it; waits for its
        reply unless the milter said it sends none."""
        if self.proto & NO.get(cmd, 0):
            return
        self.send(cmd, data)
        if not self.proto & NR.get(cmd, 0):
            rc, _ = self.recv()
            if rc != b"c":
                raise SystemExit("unexpected reply %r to %s" % (rc, cmd))


def message(c, rcpts, headers, body, qid):
    """One transaction: MAIL to end of message; prints what came back."""
    c.send("D", b"M" + z("{auth_authen}", ""))
    c.event("M", z("<app@sender.example>"))
    for addr, mailer, host in rcpts:
        c.send("D", b"R" + z("{rcpt_mailer}", mailer, "{rcpt_host}", host))
        c.event("R", z("<%s>" % addr))
    for name, value in headers:
        c.event("L", z(name, value))
    c.event("N", b"")
    if body:
        c.event("B", b"x" * body)
    c.send("D", b"E" + z("i", qid))
    c.send("E")
    while True:
        rc, data = c.recv()
        if rc == b"h":
            name, value = data.split(b"\0")[:2]
            print("ADDHEADER %s: %s" % (name.decode(), value.decode()))
            continue
        print(VERDICT.get(rc, "OTHER %r" % rc))
        break


def main(argv):
    path, args = argv[1], argv[2:]
    rcpts, headers, qid, body, count = [], [], "4ABCD12345", 100, 1
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--rcpt":
            rcpts.append(args[i + 1:i + 4]); i += 4
        elif a == "--header":
            headers.append((args[i + 1], args[i + 2])); i += 3
        elif a == "--header-size":
            n = int(args[i + 2])
            headers.append((args[i + 1], "v" * (n - len(args[i + 3])) + args[i + 3])); i += 4
        elif a == "--qid":
            qid = args[i + 1]; i += 2
        elif a == "--body":
            body = int(args[i + 1]); i += 2
        elif a == "--count":
            count = int(args[i + 1]); i += 2
        else:
            raise SystemExit(__doc__)
    c = Client(path)
    try:
        c.negotiate()
        c.send("D", b"C" + z("j", "mta.example"))
        c.event("C", z("client.example") + b"4" + struct.pack("!H", 25) + z("192.0.2.1"))
        c.event("H", z("client.example"))
        for k in range(count):
            message(c, rcpts, headers, body, qid if k == 0 else "%s%X" % (qid[:4], k))
        c.send("Q")
    except Closed:
        print("CLOSED")


if __name__ == "__main__":
    main(sys.argv)
