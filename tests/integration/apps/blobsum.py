#!/usr/bin/python3
"""Test app: a small binary protocol (not HTTP) of large sends and blocking reads.

serve PORT: for each 8-byte big-endian length and that many bytes, answers the bytes' SHA-256
(32 bytes). A thread per connection. A connection may start with one record that looks like TLS
(first byte 0x16, a 5-byte header with its length): it is skipped.

send HOST PORT: a client on blocking sockets without a timeout, as plain socket code (or a
library without a timeout) has them: per connection, ROUNDS times a blob of SIZE bytes sent in
one sendall, then its digest read with recv(); optionally first a TLS-looking record (--tls) and a
small round followed by a pause (--hello: a protocol's greeting, then the app's think time).
A send larger than the socket's send buffer makes
the kernel's tcp_bpf receive path (a socket in a sockmap) fail that read with EAGAIN when the ACKs
wake it; here each EAGAIN is counted and the read retried. Prints one JSON line: rounds, good
digests, eagain count, errors."""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time


def recv_exact(conn, n, counts):
    buf = b""
    while len(buf) < n:
        try:
            chunk = conn.recv(n - len(buf))
        except BlockingIOError:  # EAGAIN on a blocking socket: the kernel's tcp_bpf bug
            counts["eagain"] += 1
            continue
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_conn(conn):
    counts = {"eagain": 0}
    with conn:
        if conn.recv(1, socket.MSG_PEEK) == b"\x16":
            head = recv_exact(conn, 5, counts)
            if head is None or recv_exact(conn, struct.unpack(">H", head[3:])[0], counts) is None:
                return
        while True:
            head = recv_exact(conn, 8, counts)
            if head is None:
                return
            (n,) = struct.unpack(">Q", head)
            h = hashlib.sha256()
            left = n
            while left:
                chunk = conn.recv(min(left, 1 << 20))
                if not chunk:
                    return
                h.update(chunk)
                left -= len(chunk)
            conn.sendall(h.digest())


def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def round_trip(c, msg, want, counts):
    c.sendall(msg)
    return recv_exact(c, 32, counts) == want


def send(a):
    counts = {"rounds": 0, "good": 0, "eagain": 0, "errors": 0, "conns": 0}
    blob = os.urandom(a.size)
    want = hashlib.sha256(blob).digest()
    msg = struct.pack(">Q", len(blob)) + blob
    hello = os.urandom(64)
    for _ in range(a.conns):
        try:
            c = socket.create_connection((a.host, a.port))
            c.settimeout(None)  # blocking, no timeout
            if a.sndbuf:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, a.sndbuf)
            counts["conns"] += 1
            if a.tls:
                c.sendall(b"\x16\x03\x01\x00\x04ping")
            if a.hello is not None:
                if not round_trip(c, struct.pack(">Q", len(hello)) + hello, hashlib.sha256(hello).digest(), counts):
                    counts["errors"] += 1
                time.sleep(a.hello)
            for _ in range(a.rounds):
                good = round_trip(c, msg, want, counts)
                counts["rounds"] += 1
                if good:
                    counts["good"] += 1
                else:
                    counts["errors"] += 1
                if a.pause:
                    time.sleep(a.pause)
            c.close()
        except OSError as e:
            counts["errors"] += 1
            print(f"blobsum: {e}", file=sys.stderr)
    print(json.dumps(counts))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("port", type=int)
    sd = sub.add_parser("send")
    sd.add_argument("host")
    sd.add_argument("port", type=int)
    sd.add_argument("--conns", type=int, default=1)
    sd.add_argument("--rounds", type=int, default=20)
    sd.add_argument("--size", type=int, default=1 << 20)
    sd.add_argument("--sndbuf", type=int, default=0, help="SO_SNDBUF (0: the kernel's)")
    sd.add_argument("--pause", type=float, default=0, help="seconds between rounds")
    sd.add_argument("--hello", type=float, help="a 64-byte round first, then this many seconds' pause")
    sd.add_argument("--tls", action="store_true", help="start with a record that looks like TLS")
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a.port)
    else:
        send(a)


if __name__ == "__main__":
    main()
