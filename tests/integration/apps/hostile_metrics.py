#!/usr/bin/python3
"""An app whose /metrics is hostile, for test_hostile_appmetrics. What it serves is read from
DIR/mode at each request, so that a test can switch while the app (and the agent) run:

  good       a few valid series
  endless    200, no Content-Length, valid series streamed until the client goes away
  huge       Content-Length 1 GiB, valid series streamed (as many as the client reads)
  million    a million distinct series (about 14 MB), Content-Length set
  longlabel  three series whose label values are 1 MiB each
  badutf8    a series whose label value is not UTF-8
  trickle    Content-Length 1000, one byte a second
  gzipbomb   Content-Encoding gzip: 520 kB on the wire, 256 MiB once inflated
  longname   a series whose metric name is 1 MiB long

Each /metrics request appends the mode to DIR/requests, so that a test knows when the agent
has scraped it.
"""
import argparse
import zlib
import http.server
import os
import time
from testserver import Server

GOOD = b"# HELP hostile_ok_total A good series.\n# TYPE hostile_ok_total counter\nhostile_ok_total 1\n"
CHUNK = b"".join(b'hostile_stream_total{i="%d"} 1\n' % i for i in range(4000))  # ~130 KB
MILLION = None
LINE = b"hostile_bomb 1\n"
z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
BOMB = z.compress(LINE * ((256 << 20) // len(LINE))) + z.flush()


def million():
    global MILLION
    if MILLION is None:
        MILLION = b"".join(b'h{i="%d"} 1\n' % i for i in range(1000000))
    return MILLION


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def head(self, length=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if length is None:
            self.send_header("Connection", "close")  # the body ends when the connection does
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def body(self, b):
        self.head(len(b))
        self.wfile.write(b)

    def stream(self, length):
        self.head(length)
        try:
            while True:
                self.wfile.write(CHUNK)
        except OSError:
            self.close_connection = True

    def do_GET(self):
        d = self.server.dir
        if self.path != "/metrics":
            self.send_error(404)
            return
        try:
            with open(os.path.join(d, "mode")) as f:
                mode = f.read().strip()
        except FileNotFoundError:
            mode = "good"
        with open(os.path.join(d, "requests"), "a") as f:
            f.write(mode + "\n")
        if mode == "endless":
            self.stream(None)
        elif mode == "huge":
            self.stream(1 << 30)
        elif mode == "million":
            self.body(million())
        elif mode == "longlabel":
            v = b"v" * (1 << 20)
            self.body(b"".join(b'hostile_long{k="%d",v="%s"} 1\n' % (i, v) for i in range(3)))
        elif mode == "badutf8":
            self.body(GOOD + b'hostile_bad{v="\xff\xfe\xc3"} 1\n')
        elif mode == "gzipbomb":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(BOMB)))
            self.end_headers()
            self.wfile.write(BOMB)
        elif mode == "longname":
            self.body(b"hostile_" + b"n" * (1 << 20) + b" 1\n")
        elif mode == "trickle":
            self.head(1000)
            try:
                for i in range(1000):
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                self.close_connection = True
        else:
            self.body(GOOD)

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    million()  # built before listening: the first scrape must not wait for it
    s = Server((a.bind, a.port), Handler)
    s.dir = a.dir
    s.serve_forever()


if __name__ == "__main__":
    main()
