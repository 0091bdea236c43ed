#!/usr/bin/python3
"""Test app with its own Prometheus endpoint and health URL, both steered by files so that a
test can break and repair them while the app runs:

  GET /metrics  -> the file DIR/metrics (the path: --metrics-path) (status from DIR/metrics.status, default 200;
                   Content-Type from DIR/metrics.type, default Prometheus text 0.0.4)
  GET /healthz  -> status from DIR/health (default 200), body from DIR/health.body
"""
import argparse
import http.server
import os
from testserver import Server


def read(path, default):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        d = self.server.dir
        if self.path == self.server.metrics_path:
            code = int(read(os.path.join(d, "metrics.status"), b"200").strip())
            ctype = read(os.path.join(d, "metrics.type"), b"text/plain; version=0.0.4").decode().strip()
            self.reply(code, read(os.path.join(d, "metrics"), b""), ctype)
        elif self.path == "/healthz":
            code = int(read(os.path.join(d, "health"), b"200").strip())
            body = read(os.path.join(d, "health.body"), b"ok\n" if code < 400 else b"unhealthy\n")
            self.reply(code, body)
        else:
            self.reply(404, b"not found\n")

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--metrics-path", default="/metrics")
    a = ap.parse_args()
    s = Server((a.bind, a.port), Handler)
    s.dir = a.dir
    s.metrics_path = a.metrics_path
    s.serve_forever()


if __name__ == "__main__":
    main()
