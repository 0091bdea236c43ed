#!/usr/bin/python3
"""An OTLP/HTTP trace sink for `make bench`'s verify run: accepts every POST, answers 200 with an
empty ExportTraceServiceResponse, keeps nothing, counts requests, body bytes and spans (a walk of
the protobuf wire format down to the `spans` fields, skipping each span's bytes unread: ~1 us a
span in Python, too slow to sit next to the measured runs, which export to an nginx sink). After
every request it rewrites COUNT_FILE with "requests bytes spans". Writes its port to --port-file
once listening.
"""
import argparse
import gzip
import http.server
import os
import threading

lock = threading.Lock()
totals = [0, 0, 0]  # requests, bytes, spans


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf, start, end):
    """Yields (field number, wire type, value start, value end) of one message's fields; the
    value range is the payload of length-delimited fields (wire type 2) and empty otherwise."""
    i = start
    while i < end:
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(buf, i)
            yield num, wt, i, i
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = varint(buf, i)
            yield num, wt, i, i + n
            i += n
        else:
            raise ValueError("wire type %d" % wt)


def count_spans(buf):
    # ExportTraceServiceRequest.resource_spans = 1 -> ResourceSpans.scope_spans = 2
    # -> ScopeSpans.spans = 2 (opentelemetry/proto/trace/v1/trace.proto).
    n = 0
    for f, wt, s, e in fields(buf, 0, len(buf)):
        if f != 1 or wt != 2:
            continue
        for f2, wt2, s2, e2 in fields(buf, s, e):
            if f2 != 2 or wt2 != 2:
                continue
            n += sum(1 for f3, wt3, _, _ in fields(buf, s2, e2) if f3 == 2 and wt3 == 2)
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter expects

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        size = len(body)
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        try:
            spans = count_spans(body)
        except (ValueError, IndexError):
            spans = 0
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
        with lock:
            totals[0] += 1
            totals[1] += size
            totals[2] += spans
            tmp = self.server.count_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d %d %d\n" % tuple(totals))
            os.replace(tmp, self.server.count_file)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--count-file", required=True)
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.count_file = args.count_file
    with open(args.count_file, "w") as f:
        f.write("0 0 0\n")
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
