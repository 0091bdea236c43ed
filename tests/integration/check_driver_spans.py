#!/usr/bin/env python3
"""Checks the spans an OTLP receiver decoded (node/otlp_recv.js JSON lines) against what
tests/drivers/otlp_driver.c sent: span i for every i in [0, N), each exactly once, with the
ids, parent, name, kind, status, attributes and resource the driver's events imply.
Usage: check_driver_spans.py OUT N SERVICE_NAME. Prints one line per problem; exit 1 if any."""
import json
import re
import sys
import time

out, n, service = sys.argv[1], int(sys.argv[2]), sys.argv[3]
problems = []
seen = {}
for line in open(out):
    s = json.loads(line)
    sid = s["span_id"]
    if not sid.startswith("5b000000"):
        problems.append("unexpected span id " + sid)
        continue
    i = int(sid[8:], 16) - 1
    if i in seen:
        problems.append("span %d received twice" % i)
    seen[i] = s

missing = [i for i in range(n) if i not in seen]
if missing:
    problems.append("%d spans missing (first %s)" % (len(missing), missing[:5]))
extra = [i for i in seen if i >= n or i < 0]
if extra:
    problems.append("unexpected spans %s" % extra[:5])

now_ns = time.time_ns()
for i, s in sorted(seen.items()):
    if i >= n:
        continue
    tr = i - 1 if i % 2 else i
    want = {
        "trace_id": "0b5bbf00" + "0" * 16 + "%08x" % tr,
        "kind": 3 if i % 2 else 2,
        "name": "POST" if i % 2 else "GET /users/:id",
        "flags": 1,
        "status_code": 2 if (i % 10 == 4 or (i % 2 and i % 10 == 5)) else 0,
    }
    if i % 2:
        want["parent_span_id"] = "5b000000%08x" % i
    elif i % 4:
        want["parent_span_id"] = "ab000000%08x" % i
    else:
        want["parent_span_id"] = ""
    status = 503 if i % 10 == 4 else 404 if i % 10 == 5 else 200
    a = s["attributes"]
    want_attrs = {
        "http.request.method": "POST" if i % 2 else "GET",
        "http.response.status_code": status,
        "server.address": "10.9.8.7" if i % 2 else "10.1.2.3",
        "server.port": 8080,
        "network.peer.address": "10.9.8.7",
        "network.peer.port": 8080 if i % 2 else 40000 + i,
        "network.protocol.version": "1.1",
        "url.scheme": "http",
        "thread.id": 1000 + i,
    }
    # OpenTelemetry HTTP semantic conventions 1.26: the scheme, the path (server) or the URL
    # (client; the driver gives client events no route: the path is "/"), error.type on a
    # server's 5xx and a client's 4xx and 5xx.
    want_attrs["url.scheme"] = "http"
    if status >= (400 if i % 2 else 500):
        want_attrs["error.type"] = str(status)
    if not i % 2:
        want_attrs["http.route"] = "/users/:id"
        want_attrs["client.address"] = "10.9.8.7"
        want_attrs["url.path"] = "/users/:id"
    else:
        want_attrs["url.full"] = "http://10.9.8.7:8080/"
    for k, v in want.items():
        if s[k] != v:
            problems.append("span %d: %s = %r, want %r" % (i, k, s[k], v))
    for k, v in want_attrs.items():
        if a.get(k) != v:
            problems.append("span %d: attribute %s = %r, want %r" % (i, k, a.get(k), v))
    if set(a) - set(want_attrs):
        problems.append("span %d: unexpected attributes %s" % (i, sorted(set(a) - set(want_attrs))))
    start, end = int(s["start"]), int(s["end"])
    if not (0 < end - start < 10**9 and abs(now_ns - end) < 300 * 10**9):
        problems.append("span %d: times %d..%d not a recent sub-second interval" % (i, start, end))
    r = s["resource"]
    want_res = {"service.name": service, "k8s.pod.name": "driver-pod", "k8s.namespace.name": "drv-ns",
                "k8s.node.name": "drv-node", "telemetry.sdk.name": "obsbpf", "telemetry.sdk.language": "c"}
    # the build's version (Makefile VERSION), as obsbpf --version prints it
    version = r.get("telemetry.sdk.version", "")
    r = {k: v for k, v in r.items() if k != "telemetry.sdk.version"}
    if r != want_res or not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", version):
        problems.append("span %d: resource %r" % (i, r))
    if s["scope"] != "obsbpf":
        problems.append("span %d: scope %r" % (i, s["scope"]))
    if len(problems) > 20:
        break

for p in problems[:20]:
    print(p)
sys.exit(1 if problems else 0)
