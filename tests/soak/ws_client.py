#!/usr/bin/python3
"""Soak client for an upgraded (WebSocket) connection: sends the upgrade request, waits for the
101, then until --stop exists sends frames of random bytes that also carry request-like text
("GET / HTTP/1.1\\r\\n", "traceparent: ...") and checks that the peer (tunnel_peer.py upgrade,
an echo) returns each byte for byte. A new connection every --reconnect frames. Writes
{"frames", "bytes", "mismatched", "failed", "errors"} as JSON to --out.
"""
import argparse, json, os, random, socket, time

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
BAIT = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"traceparent: 00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"]


def recv_exactly(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def connect(a):
    s = socket.create_connection((a.host, a.port), timeout=10)
    s.sendall(UPGRADE)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the 101")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError("no 101: %r" % head[:40])
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=7101)
    ap.add_argument("--reconnect", type=int, default=200)
    ap.add_argument("--max-frame", type=int, default=16384)
    ap.add_argument("--pause", type=float, default=0.01)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(7)
    res = {"frames": 0, "bytes": 0, "mismatched": 0, "failed": 0, "errors": []}
    s, n = None, 0
    while not os.path.exists(a.stop):
        try:
            if s is None or n % a.reconnect == 0:
                if s:
                    s.close()
                s = connect(a)
            n += 1
            frame = rnd.randbytes(rnd.randint(1, a.max_frame))
            at = rnd.randint(0, len(frame))
            frame = frame[:at] + rnd.choice(BAIT) + frame[at:]
            s.sendall(frame)
            got = recv_exactly(s, len(frame))
            res["frames"] += 1
            res["bytes"] += len(frame)
            if got != frame:
                res["mismatched"] += 1
                if len(res["errors"]) < 10:
                    res["errors"].append("frame %d of %d bytes differs" % (n, len(frame)))
        except (OSError, ConnectionError) as e:
            res["failed"] += 1
            if len(res["errors"]) < 10:
                res["errors"].append("%s frame %d: %r" % (time.strftime("%H:%M:%S"), n, e))
            if s:
                s.close()
            s = None
        if a.pause:
            time.sleep(a.pause)
    with open(a.out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
