#!/usr/bin/python3
"""Sends requests in the awkward shapes the kernel must handle to a rawecho.py server and checks
byte for byte what arrived: exactly the bytes sent, plus at most one traceparent line right after
the request line. Prints one line per case: "<case> <requests> <exact> <injected> <ids distinct>".

Cases: pipelined requests in one send, a head split across sends, a head then its body in later
sends (a body that starts like a request), a 4 MiB body, keep-alive reuse, a chunked body with a
chunk that looks like a request, concurrent threads.

The sockets are blocking without a timeout, and the client's connections are in obsbpf's
sockhash, where the kernel's tcp_bpf receive path fails such a read with EAGAIN when the ACKs of
a large send wake it (docs/kernel.md): Python's buffered reader would take that for the end of
the data. That is not what this client checks: each EAGAIN is counted, the read retried, and the
count printed last ("eagain <n>")."""
import argparse
import io
import re
import socket
import threading
import time

TP = re.compile(rb"traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]\r\n")


def read_response(f):
    status = f.readline()
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    assert status.startswith(b"HTTP/1.1 200"), status
    return f.read(length)


def check(sent, got):
    """Returns (exact, injected span id or None)."""
    if got == sent:
        return True, None
    nl = sent.index(b"\r\n") + 2
    m = TP.match(got, nl)
    if m and got[:nl] == sent[:nl] and got[m.end():] == sent[nl:]:
        return True, m.group(1) + m.group(2)
    return False, None


EAGAIN = [0]
EAGAIN_LOCK = threading.Lock()


class RetryingReader(io.RawIOBase):
    """A socket's reads, an EAGAIN on the blocking socket counted and retried."""

    def __init__(self, sock):
        self.sock = sock

    def readable(self):
        return True

    def readinto(self, b):
        while True:
            try:
                return self.sock.recv_into(b)
            except BlockingIOError:
                with EAGAIN_LOCK:
                    EAGAIN[0] += 1


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = io.BufferedReader(RetryingReader(self.s))

    def close(self):
        self.f.close()
        self.s.close()


def req(method, path, body=b"", extra=b""):
    head = b"%s %s HTTP/1.1\r\nHost: echo\r\nUser-Agent: stress\r\n%s" % (method, path, extra)
    if body or method == b"POST":
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


class Result:
    def __init__(self, name):
        self.name, self.n, self.exact, self.injected, self.ids = name, 0, 0, 0, set()
        self.lock = threading.Lock()

    def add(self, sent, got):
        ok, sid = check(sent, got)
        with self.lock:
            self.n += 1
            self.exact += ok
            if sid:
                self.injected += 1
                self.ids.add(sid)
            elif not ok:
                print("MISMATCH %s: sent %r... got %r..." % (self.name, sent[:80], got[:160]), flush=True)

    def line(self):
        return "%s %d %d %d %d" % (self.name, self.n, self.exact, self.injected, len(self.ids))


def pipelined(h, p):
    r = Result("pipelined")
    c = Conn(h, p)
    for _ in range(20):
        reqs = [req(b"GET", b"/a"), req(b"POST", b"/b", b"GET /x HTTP/1.1\r\n\r\n"), req(b"GET", b"/c")]
        c.s.sendall(b"".join(reqs))
        for s in reqs:
            r.add(s, read_response(c.f))
    c.close()
    return r


def split_head(h, p):
    r = Result("split_head")
    c = Conn(h, p)
    for _ in range(10):
        s = req(b"GET", b"/split", extra=b"X-Pad: " + b"p" * 40 + b"\r\n")
        cut = s.index(b"X-Pad")
        c.s.sendall(s[:cut])
        time.sleep(0.02)
        c.s.sendall(s[cut:])
        r.add(s, read_response(c.f))
    c.close()
    return r


def body_later(h, p):
    r = Result("body_later")
    c = Conn(h, p)
    for i in range(10):
        body = b"GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n" * (i + 1)
        s = req(b"POST", b"/upload", body)
        head_len = len(s) - len(body)
        c.s.sendall(s[:head_len])
        time.sleep(0.01)
        c.s.sendall(body[:20])
        time.sleep(0.01)
        c.s.sendall(body[20:])
        r.add(s, read_response(c.f))
    c.close()
    return r


def big_body(h, p):
    r = Result("big_body")
    c = Conn(h, p)
    body = bytes(range(256)) * (4 * 4096)  # 4 MiB
    s = req(b"POST", b"/big", body)
    c.s.sendall(s)
    r.add(s, read_response(c.f))
    c.close()
    return r


def keepalive(h, p):
    r = Result("keepalive")
    c = Conn(h, p)
    for i in range(200):
        s = req(b"POST", b"/k/%d" % i, b"HEAD / HTTP/1.1\r\n" * (i % 5)) if i % 2 else req(b"GET", b"/k/%d" % i)
        c.s.sendall(s)
        r.add(s, read_response(c.f))
    c.close()
    return r


def chunked(h, p):
    r = Result("chunked")
    c = Conn(h, p)
    for _ in range(5):
        head = b"POST /chunked HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"GET /inside-a-chunk HTTP/1.1\r\nHost: x\r\n\r\n"
        parts = [head, b"%x\r\n" % len(chunk), chunk + b"\r\n", b"0\r\n\r\n"]
        for part in parts:
            c.s.sendall(part)
            time.sleep(0.01)
        r.add(b"".join(parts), read_response(c.f))
    c.close()
    return r


def concurrent(h, p):
    r = Result("concurrent")

    def worker(t):
        c = Conn(h, p)
        for i in range(50):
            s = req(b"POST", b"/t/%d/%d" % (t, i), b"x" * (i * 37 % 900))
            c.s.sendall(s)
            r.add(s, read_response(c.f))
        c.close()

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    a = ap.parse_args()
    for case in (pipelined, split_head, body_later, big_body, keepalive, chunked, concurrent):
        print(case(a.host, a.port).line(), flush=True)
    print("eagain %d" % EAGAIN[0], flush=True)


if __name__ == "__main__":
    main()
