#!/usr/bin/env python3
"""TLS that starts inside a plaintext HTTP/1.1 connection, for test_tls_passthrough.

server --port P --cert PEM --out FILE
    Per connection: reads a plaintext request head (byte by byte: what follows it stays in the
    socket for TLS), answers it (101 when it asked for Upgrade: TLS/1.2, else 200), then does a
    TLS handshake on the same socket and answers every HTTP/1.1 request inside TLS with the
    SHA-256 of the exact bytes received. Appends one JSON line per connection to FILE: the case,
    the plaintext head and everything received inside TLS (hex).

client --host H --port P --ca CRT --case upgrade|starttls|midmessage --out FILE
    upgrade: asks for Upgrade: TLS/1.2, gets 101, then TLS; starttls: a plain request and its
    200, then TLS; midmessage: the plain request and the TLS ClientHello in one send (a TLS
    record starting mid-message). Inside TLS: three requests, one with a body that starts like a
    request line. Writes one JSON line: what it sent inside TLS (hex) and the digests received.
"""
import argparse
import hashlib
import json
import socket
import ssl
import sys
import threading

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
INNER = [
    b"GET /inner/1 HTTP/1.1\r\nHost: web\r\n\r\n",
    b"POST /inner/2 HTTP/1.1\r\nHost: web\r\nContent-Length: %d\r\n\r\n%s" % (len(SMUGGLED), SMUGGLED),
    b"GET /inner/3 HTTP/1.1\r\nHost: web\r\ntraceparent: 00-11111111111111111111111111111111-2222222222222222-01\r\n\r\n",
]


def read_head(read1):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = read1()
        if not c:
            raise EOFError("closed in a head")
        head += c
    return head


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v.strip())
    return 0


def serve_conn(conn, ctx, out, lock):
    rec = {}
    try:
        head = read_head(lambda: conn.recv(1))
        rec["plain_head"] = head.decode("latin-1")
        upgrade = b"upgrade: tls/1.2" in head.lower()
        rec["case"] = "upgrade" if upgrade else "starttls"
        if upgrade:
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.2, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        tls = ctx.wrap_socket(conn, server_side=True)
        got = b""
        buf = b""
        for _ in INNER:
            while b"\r\n\r\n" not in buf:
                d = tls.recv(65536)
                if not d:
                    raise EOFError("closed inside TLS")
                buf += d
            h, _, rest = buf.partition(b"\r\n\r\n")
            h += b"\r\n\r\n"
            n = content_length(h)
            while len(rest) < n:
                rest += tls.recv(65536)
            msg, buf = h + rest[:n], rest[n:]
            got += msg
            body = hashlib.sha256(msg).hexdigest().encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        rec["inner"] = got.hex()
        tls.close()
    except Exception as e:  # recorded: the test fails on it
        rec["error"] = repr(e)
    with lock:
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")


def server(a):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", a.port))
    s.listen(16)
    lock = threading.Lock()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_conn, args=(c, ctx, a.out, lock), daemon=True).start()


class Pump:
    """TLS over a socket through memory BIOs: the first flight can go out with plaintext bytes
    in front of it, in one send."""

    def __init__(self, sock, ctx, host):
        self.sock = sock
        self.inc, self.outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.outb, server_hostname=host)

    def flush(self, prefix=b""):
        data = prefix + self.outb.read()
        if data:
            self.sock.sendall(data)

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("closed inside TLS")
        self.inc.write(d)

    def handshake(self, prefix=b""):
        while True:
            try:
                self.obj.do_handshake()
                self.flush(prefix)
                return
            except ssl.SSLWantReadError:
                self.flush(prefix)
                prefix = b""
                self.fill()

    def send(self, data):
        self.obj.write(data)
        self.flush()

    def response(self):
        buf = b""
        while True:
            try:
                buf += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.fill()
                continue
            if b"\r\n\r\n" in buf:
                h, _, body = buf.partition(b"\r\n\r\n")
                n = content_length(h + b"\r\n\r\n")
                if len(body) >= n:
                    return h, body[:n]


def client(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    s = socket.create_connection((a.host, a.port))
    p = Pump(s, ctx, a.host)
    if a.case == "upgrade":
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: web\r\nUpgrade: TLS/1.2\r\nConnection: Upgrade\r\n\r\n")
        head = read_head(lambda: s.recv(1))
        assert head.startswith(b"HTTP/1.1 101 "), head
        p.handshake()
    elif a.case == "starttls":
        s.sendall(b"GET /starttls HTTP/1.1\r\nHost: web\r\n\r\n")
        head = read_head(lambda: s.recv(1))
        assert head.startswith(b"HTTP/1.1 200 ") and s.recv(2) == b"ok", head
        p.handshake()
    else:
        # the ClientHello right behind the plain request, in one send
        try:
            p.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = p.outb.read()
        s.sendall(b"GET /midmessage HTTP/1.1\r\nHost: web\r\n\r\n" + hello)
        head = read_head(lambda: s.recv(1))
        assert head.startswith(b"HTTP/1.1 200 ") and s.recv(2) == b"ok", head
        p.handshake()
    digests = []
    for m in INNER:
        p.send(m)
        h, body = p.response()
        assert h.startswith(b"HTTP/1.1 200 "), h
        digests.append(body.decode())
    s.close()
    with open(a.out, "a") as f:
        f.write(json.dumps({"case": a.case, "sent": b"".join(INNER).hex(), "digests": digests,
                            "want": [hashlib.sha256(m).hexdigest() for m in INNER]}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--ca")
    ap.add_argument("--case")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    (server if a.mode == "server" else client)(a)


if __name__ == "__main__":
    sys.exit(main())
