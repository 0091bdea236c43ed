#!/usr/bin/python3
"""Test app for trace propagation: a thread-per-request server (python's ThreadingHTTPServer)
with no tracing SDK.

  GET /headers         -> the request's headers as JSON (name -> list of values)
  GET /relay?to=URL    -> calls URL with urllib from the handler thread, answers
                          {"received": <its own request's headers>, "downstream": <URL's JSON>},
                          or 502 when URL answered an error status
  GET /status/NNN      -> status NNN, an empty JSON object

--cert PEM serves HTTPS (python's ssl module, OpenSSL underneath).
"""
import argparse
import http.server
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from testserver import Server


def headers_of(msg):
    out = {}
    for k, v in msg.items():
        out.setdefault(k.lower(), []).append(v)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/relay":
            to = urllib.parse.parse_qs(url.query)["to"][0]
            try:
                with urllib.request.urlopen(to, timeout=5) as r:
                    down = json.loads(r.read())
            except urllib.error.HTTPError as e:
                e.read()
                self.reply({"downstream_status": e.code}, 502)
                return
            self.reply({"received": headers_of(self.headers), "downstream": down})
        elif url.path.startswith("/status/"):
            self.reply({}, int(url.path[len("/status/"):]))
        else:
            self.reply({"received": headers_of(self.headers)})

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--cert", help="serve HTTPS with this certificate (PEM, key included)")
    a = ap.parse_args()
    srv = Server(("0.0.0.0", a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
