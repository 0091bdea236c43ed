#!/usr/bin/env bash
# Trace context over gRPC (HTTP/2), in the kernel, no SDK: a python3-grpcio client pod and
# server pod, an agent on each exporting spans into a real OTLP receiver. The client's agent
# appends a traceparent to each call's header block (an HPACK literal); the server's metadata
# shows exactly that one; the CLIENT span and the SERVER span make one trace, the client span the
# server span's parent. A client that sends its own traceparent is continued, not duplicated.
# Payloads arrive unchanged (sha256 of every request on both ends), with request-like text in
# them. Failing calls give ERROR spans named service/method with their gRPC code.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"

pod_create srv
pod_create cli
SRV=$(pod_ip srv)
APP=$ROOT/tests/integration/apps/grpc_app.py
pod_run srv "$PY" "$APP" serve 50051 --log "$T/calls.log" >/dev/null
wait_port srv 50051 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1
agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name cart-client --app-metrics off || exit 1
agent_also 19303 --pod "$(pod_name srv)" --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc \
	--otlp-flush-ms 100 --service-name cart-server --app-metrics off || exit 1

pod_exec cli "$PY" "$APP" call "$SRV:50051" "Add:10,Fail:2:14" > "$T/c1.json" || fail "client"
has_spans() { [ "$(grep -c -- "$2" "$OUT" 2>/dev/null)" -ge "$1" ]; }
wait_for 20 has_spans 24 '"shop.Cart/' || fail "spans did not arrive ($(grep -c . "$OUT" 2>/dev/null))"
sleep 0.5

"$PY" - "$T/calls.log" "$OUT" "$T/c1.json" <<'EOF' && ok "one traceparent per call, as the client span; server span its child; payloads intact" || fail "trace chain"
import hashlib, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
spans = [json.loads(l) for l in open(sys.argv[2])]
client = json.load(open(sys.argv[3]))
assert client["calls"] == {"Add/OK": 10, "Fail/UNAVAILABLE": 2}, client
assert len(calls) == 12, len(calls)
cs = {s["span_id"]: s for s in spans if s["kind"] == 3}
ss = [s for s in spans if s["kind"] == 2]
assert len(cs) == 12 and len(ss) == 12, (len(cs), len(ss))
seen = set()
for i, c in enumerate(calls):
    tp = c["metadata"].get("traceparent")
    assert tp, c
    v, tid, sid, fl = tp.split("-")
    assert v == "00" and len(tid) == 32 and len(sid) == 16 and fl == "01", tp
    assert sid in cs, ("no client span for", tp)
    cspan = cs[sid]
    assert cspan["trace_id"] == tid and cspan["resource"]["service.name"] == "cart-client"
    assert not cspan["parent_span_id"], ("a new trace's client span is a root", cspan)
    srv = [s for s in ss if s["parent_span_id"] == sid]
    assert len(srv) == 1 and srv[0]["trace_id"] == tid, ("server span of", tp)
    assert srv[0]["resource"]["service.name"] == "cart-server"
    seen.add(tid)
    if c["method"] == "Add":
        want = b"payload %d GET / HTTP/1.1\r\ntraceparent: x\r\n" % (i if i < 10 else 0)
        assert c["sha"] == hashlib.sha256(want).hexdigest(), ("payload altered", i)
assert len(seen) == 12
for s in spans:
    a = s["attributes"]
    assert a["rpc.system"] == "grpc" and a["rpc.service"] == "shop.Cart", a
    assert s["name"] in ("shop.Cart/Add", "shop.Cart/Fail"), s["name"]
    assert a["network.protocol.version"] == "2"
    if a["rpc.method"] == "Fail":
        assert a["rpc.grpc.status_code"] == 14 and s["status_code"] == 2, s
    else:
        assert a["rpc.grpc.status_code"] == 0 and s["status_code"] == 0, s
EOF
expect_eq "client: every call got a header" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" 12

# A client that propagates itself: its traceparent is continued, never a second one added.
: > "$T/calls.log"
: > "$OUT"
pod_exec cli "$PY" - "$SRV:50051" <<'EOF' || fail "own-context client"
import sys, grpc
ch = grpc.insecure_channel(sys.argv[1])
add = ch.unary_unary("/shop.Cart/Add")
for i in range(5):
    tp = "00-%032x-%016x-01" % (0xabc0 + i, 0x1230 + i)
    add(b"own %d" % i, metadata=(("traceparent", tp),), timeout=10)
EOF
wait_for 20 has_spans 10 '"shop.Cart/Add"' || fail "own-context spans"
sleep 0.5
"$PY" - "$T/calls.log" "$OUT" <<'EOF' && ok "an app's own traceparent: one per call, continued by both spans" || fail "own context"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
spans = [json.loads(l) for l in open(sys.argv[2])]
assert len(calls) == 5
for i, c in enumerate(calls):
    tp = c["metadata"]["traceparent"]
    assert tp == "00-%032x-%016x-01" % (0xabc0 + i, 0x1230 + i), tp
cl = [s for s in spans if s["kind"] == 3]
assert len(cl) == 5
for s in cl:
    assert int(s["trace_id"], 16) in range(0xabc0, 0xabc5) and int(s["parent_span_id"], 16) in range(0x1230, 0x1235), s
EOF
expect_eq "no header added to a call that had one" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" 12
# The kernel continues the first call's header; with the app propagating itself sk_msg has
# nothing to insert and stops walking the connection's sends (it asks to leave the sockhash), so
# the later calls' contexts are continued by the spans alone (checked above).
expect_ge "the app's context continued in the kernel" "$(metric_value obsbpf_trace_context_total 'outcome="continued_header"')" 1
finish
