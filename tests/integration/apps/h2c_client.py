#!/usr/bin/python3
"""Test client: HTTP/2 with prior knowledge (h2c) on one blocking socket without a timeout, as
a simple synchronous client has it: COUNT GET requests for PATH, one at a time, PAUSE seconds
apart. Header blocks use HPACK's static table and literals without indexing only, so no dynamic
table is needed on either side. Prints one JSON line: requests answered, their statuses, reads
that failed with EAGAIN (counted and retried: the kernel's tcp_bpf bug, docs/kernel.md).

  h2c_client.py HOST PORT PATH [--count N] [--pause SECONDS]"""
import argparse
import json
import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.s.settimeout(None)
        self.buf = b""
        self.eagain = 0

    def read(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.s.recv(65536)
            except BlockingIOError:
                self.eagain += 1
                continue
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        head = self.read(9)
        length = int.from_bytes(head[:3], "big")
        ftype, flags = head[3], head[4]
        stream = struct.unpack(">I", head[5:])[0] & 0x7FFFFFFF
        return ftype, flags, stream, self.read(length)

    def send(self, ftype, flags, stream, payload=b""):
        self.s.sendall(len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + struct.pack(">I", stream) + payload)


def literal(name_index, value):
    """A literal header field without indexing, its name from the static table (RFC 7541 6.2.2)."""
    v = value.encode()
    assert name_index < 15 and len(v) < 127
    return bytes([name_index]) + bytes([len(v)]) + v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--pause", type=float, default=0.05)
    a = ap.parse_args()
    c = Conn(a.host, a.port)
    c.s.sendall(PREFACE)
    c.send(SETTINGS, 0, 0)
    statuses = {}
    stream = 1
    for _ in range(a.count):
        # :method GET (static 2), :scheme http (6), :path, :authority (names 4 and 1).
        block = b"\x82\x86" + literal(4, a.path) + literal(1, "%s:%d" % (a.host, a.port))
        c.send(HEADERS, END_STREAM | END_HEADERS, stream, block)
        status = None
        while True:
            ftype, flags, sid, payload = c.frame()
            if ftype == SETTINGS and not flags & ACK:
                c.send(SETTINGS, ACK, 0)
            elif ftype == PING and not flags & ACK:
                c.send(PING, ACK, 0, payload)
            elif ftype == GOAWAY:
                raise EOFError("GOAWAY")
            elif sid == stream and ftype == HEADERS and status is None:
                # nghttpd answers :status from the static table (indexed 8-14) or as a literal.
                b0 = payload[0]
                status = {0x88: 200, 0x89: 204, 0x8A: 206, 0x8B: 304, 0x8C: 400, 0x8D: 404, 0x8E: 500}.get(b0, 0)
            if sid == stream and (ftype == RST_STREAM or (ftype in (DATA, HEADERS) and flags & END_STREAM)):
                break
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        stream += 2
        time.sleep(a.pause)
    c.s.close()
    print(json.dumps({"answered": sum(statuses.values()), "statuses": statuses, "eagain": c.eagain}))


if __name__ == "__main__":
    main()
