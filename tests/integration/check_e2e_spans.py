#!/usr/bin/env python3
"""Pairs the CLIENT and SERVER spans of real requests, as an OTLP receiver decoded them
(node/otlp_recv.js JSON lines), and checks that each pair is one trace with the client span as
the server span's parent, nested in time, with the addresses of the two pods.
The requests carried no trace context, so each client span is a root of its own trace.
Usage: check_e2e_spans.py OUT ROUTE_PREFIX N CLIENT_SVC SERVER_SVC CLIENT_IP SERVER_IP PORT
Prints one line per problem and exits 1 if any; prints "ok N" otherwise."""
import json
import os
import sys

out, prefix, n, csvc, ssvc, cip, sip, port = sys.argv[1:9]
n, port = int(n), int(port)
spans = [json.loads(line) for line in open(out)]
problems = []

servers = [s for s in spans if s["kind"] == 2 and s["resource"]["service.name"] == ssvc
           and s["attributes"].get("http.route", "").startswith(prefix)]
clients = {s["span_id"]: s for s in spans if s["kind"] == 3 and s["resource"]["service.name"] == csvc
           and s["attributes"].get("server.port") == port and s["attributes"].get("server.address") == sip}
if len(servers) != n:
    problems.append("%d server spans for %s*, want %d" % (len(servers), prefix, n))
traces = set()
NO_SERVER_TID = os.environ.get("NO_SERVER_TID") == "1"
SLACK = 2 * 10**6  # two agents convert monotonic times with offsets measured apart
for s in servers:
    c = clients.get(s["parent_span_id"])
    if c is None:
        problems.append("server span %s: parent %r is no client span of %s" % (s["span_id"], s["parent_span_id"], csvc))
        continue
    if c["trace_id"] != s["trace_id"]:
        problems.append("server span %s: trace %s, its client span's %s" % (s["span_id"], s["trace_id"], c["trace_id"]))
    traces.add(s["trace_id"])
    if c["parent_span_id"]:
        problems.append("client span %s has a parent %s but the request carried no context" % (c["span_id"], c["parent_span_id"]))
    if not (int(c["start"]) - SLACK <= int(s["start"]) and int(s["end"]) <= int(c["end"]) + SLACK):
        problems.append("server span %s [%s, %s] not inside client span [%s, %s]" %
                        (s["span_id"], s["start"], s["end"], c["start"], c["end"]))
    if s["attributes"].get("client.address") != cip or s["attributes"].get("server.port") != port:
        problems.append("server span %s: client.address %r server.port %r" %
                        (s["span_id"], s["attributes"].get("client.address"), s["attributes"].get("server.port")))
    if s["name"] != "GET " + s["attributes"]["http.route"] or c["name"] != "GET":
        problems.append("names %r / %r" % (c["name"], s["name"]))
    # Server spans carry the thread only where tc may call bpf_get_current_pid_tgid (not 6.1).
    if not ((NO_SERVER_TID or s["attributes"].get("thread.id", 0) > 0) and c["attributes"].get("thread.id", 0) > 0):
        problems.append("thread.id %r / %r" % (c["attributes"].get("thread.id"), s["attributes"].get("thread.id")))
    if s["flags"] != 1 or c["flags"] != 1:
        problems.append("flags %r / %r, want sampled" % (c["flags"], s["flags"]))
if len(traces) != len(servers):
    problems.append("%d distinct traces for %d requests" % (len(traces), len(servers)))
for p in problems[:20]:
    print(p)
if not problems:
    print("ok %d" % len(servers))
sys.exit(1 if problems else 0)
