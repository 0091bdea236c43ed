#!/usr/bin/python3
"""Test app: a threading HTTP/1.1 server (python's http.server) that writes the status line and
headers in one write and the body in another, like most python apps.

  GET  /status/NNN  -> status NNN
  POST /echo        -> the request body, byte for byte
  GET  /metrics     -> the app's own Prometheus metrics (requests it handled)
  GET  /hints       -> 103 Early Hints and then 200, in one write (one segment, two messages)
  GET  anything     -> 200 "hello <path>"

--cert PEM serves HTTPS (python's ssl module, OpenSSL underneath).
"""
import argparse
import http.server
import ssl
import threading
from testserver import Server


HANDLED = {}
LOCK = threading.Lock()


def count(method):
    with LOCK:
        HANDLED[method] = HANDLED.get(method, 0) + 1


def app_metrics():
    with LOCK:
        lines = ["# HELP demo_app_requests_total Requests the app handled, by its own count.",
                 "# TYPE demo_app_requests_total counter"]
        lines += ['demo_app_requests_total{method="%s"} %d' % kv for kv in sorted(HANDLED.items())]
    return ("\n".join(lines) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    close_delimited = False

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if not self.close_delimited:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code not in (204, 304):
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/metrics":
            self.reply(200, app_metrics(), "text/plain; version=0.0.4")
            return
        count(self.command)
        if self.path == "/hints":
            body = b"hinted\n"
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                             b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            self.reply(code, b"" if code in (204, 304) else f"status {code}\n".encode())
        else:
            self.reply(200, f"hello {self.path}\n".encode())

    do_HEAD = do_GET

    def do_POST(self):
        count("POST")
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.reply(200, body, "application/octet-stream")

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--http10", action="store_true",
                    help="answer HTTP/1.0, no keep-alive, body delimited by the close")
    ap.add_argument("--cert", help="serve HTTPS with this certificate (PEM, key included)")
    a = ap.parse_args()
    if a.http10:
        Handler.protocol_version = "HTTP/1.0"
        Handler.close_delimited = True
    srv = Server((a.bind, a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
