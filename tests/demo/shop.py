#!/usr/bin/python3
"""The demo's app, with no tracing SDK: a thread-per-request HTTP/1.1 server that logs one
logfmt line per request to --log (with the request's traceparent, when it had one).

  GET /checkout/N  -> calls --downstream's /price/N and /stock/N from the handler thread, one
                      after the other; 200 when both answered 2xx, else 502
  GET /price/N     -> 200
  GET /stock/N     -> 200, or 503 when N is a multiple of --fail-every
  GET /status/NNN  -> status NNN
  GET /metrics     -> the app's own Prometheus metrics
  GET anything     -> 200
"""
import argparse
import datetime
import http.server
import os
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "apps"))
from testserver import Server  # noqa: E402

LOCK = threading.Lock()
HANDLED = {}
OPT = None


def log(level, msg, traceparent):
    if not OPT.log:
        return
    ts = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    line = '%s level=%s msg="%s"' % (ts, level, msg)
    if traceparent:
        line += " traceparent=%s" % traceparent
    with LOCK, open(OPT.log, "a") as f:
        f.write(line + "\n")


def call(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/metrics":
            with LOCK:
                lines = ["# TYPE demo_app_requests_total counter"]
                lines += ['demo_app_requests_total{code="%d"} %d' % kv for kv in sorted(HANDLED.items())]
            self.reply(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")
            return
        parts = self.path.split("/")
        n = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
        code = 200
        if parts[1] == "checkout" and OPT.downstream:
            got = [call("%s/price/%d" % (OPT.downstream, n)), call("%s/stock/%d" % (OPT.downstream, n))]
            code = 200 if all(200 <= c < 300 for c in got) else 502
        elif parts[1] == "stock" and OPT.fail_every and n % OPT.fail_every == 0:
            code = 503
        elif parts[1] == "status" and n >= 100:
            code = n
        with LOCK:
            HANDLED[code] = HANDLED.get(code, 0) + 1
        log("error" if code >= 500 else "info", "%s %s %d" % (self.command, self.path, code),
            self.headers.get("traceparent"))
        self.reply(code, ("%s %s\n" % (OPT.name, self.path)).encode())

    def log_message(self, fmt, *args):
        pass


def main():
    global OPT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--name", default="shop")
    ap.add_argument("--downstream", help="base URL /checkout calls")
    ap.add_argument("--log", help="append one logfmt line per request here")
    ap.add_argument("--fail-every", type=int, default=0)
    OPT = ap.parse_args()
    Server(("0.0.0.0", OPT.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
