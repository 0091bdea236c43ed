#!/usr/bin/env bash
# In-process propagation through a gRPC server: client -> relay -> backend, an agent on the
# client and the relay pods. The relay is grpc-js (no tracing SDK) calling the backend while it
# serves each call, over gRPC and over HTTP/1. One trace per call with the right parent chain:
# client's CLIENT span -> relay's SERVER span -> relay's CLIENT span -> what the backend received.
# Needs the thread hook (tp_btf/sock_recv_length, or fexit/tcp_recvmsg).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"

pod_create cli
pod_create relay
pod_create back
BACK=$(pod_ip back) RELAY=$(pod_ip relay)
APP=$ROOT/tests/integration/apps/grpc_app.py
pod_run back "$PY" "$APP" serve 50051 --log "$T/calls.log" >/dev/null
pod_run back "$PY" "$ROOT/tests/integration/apps/relay.py" --port 8080 >/dev/null
wait_port back 50051 && wait_port back 8080 || exit 1
for mode in grpc http; do
	dst=$BACK:50051
	[ $mode = http ] && dst=http://$BACK:8080/headers
	pod_run relay "${NODE:-node}" "$ROOT/tests/integration/node/grpc_relay.js" --port $([ $mode = grpc ] && echo 7001 || echo 7002) \
		"--$mode" "$dst" --port-file "$T/relay-$mode.port" >/dev/null
done
wait_port relay 7001 && wait_port relay 7002 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1
agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name client --app-metrics off || exit 1
agent_also 19304 --pod "$(pod_name relay)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name relay --app-metrics off || exit 1
"$OBSBPF" probe 2>/dev/null | grep -q '^yes  thread hook' || { log "no thread hook on $(uname -r): skipped"; ok "skipped"; finish; }

# One call at a time: the relay's one thread serves one request, then the next.
for port in 7001 7002; do
	pod_exec cli "$PY" "$APP" call "$RELAY:$port" "Relay:4" > "$T/c-$port.json" || fail "client :$port"
done
has_spans() { [ "$(grep -c . "$OUT" 2>/dev/null)" -ge "$1" ]; }
wait_for 20 has_spans 24 || fail "spans: $(grep -c . "$OUT" 2>/dev/null) of 24"
sleep 0.5
"$PY" - "$T/calls.log" "$OUT" <<'PYEOF' && ok "client -> relay -> backend: one trace per call, each span the next one's parent" || fail "relay chain"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
spans = [json.loads(l) for l in open(sys.argv[2])]
by_id = {s["span_id"]: s for s in spans}
svc = lambda s: s["resource"]["service.name"]
roots = [s for s in spans if svc(s) == "client"]
assert len(roots) == 8, len(roots)
grpc_tp = [c["metadata"]["traceparent"] for c in calls]
assert len(grpc_tp) == 4, grpc_tp
traces = set()
for root in roots:
    rs = [s for s in spans if s["parent_span_id"] == root["span_id"]]
    assert len(rs) == 1 and svc(rs[0]) == "relay" and rs[0]["kind"] == 2, ("relay server span of", root["name"])
    rc = [s for s in spans if s["parent_span_id"] == rs[0]["span_id"]]
    assert len(rc) == 1 and svc(rc[0]) == "relay" and rc[0]["kind"] == 3, ("relay client span of", rs[0]["name"])
    assert root["trace_id"] == rs[0]["trace_id"] == rc[0]["trace_id"]
    traces.add(root["trace_id"])
    if rc[0]["name"] == "shop.Cart/Add":
        tp = "00-%s-%s-01" % (root["trace_id"], rc[0]["span_id"])
        assert tp in grpc_tp, ("backend did not get", tp)
    else:
        assert rc[0]["name"].startswith("GET"), rc[0]["name"]
assert len(traces) == 8
assert sum(1 for s in spans if s["name"] == "shop.Cart/Add") == 4
PYEOF
expect_ge "relay: continued from the thread" "$(AGENT_ADDR=127.0.0.1:19304 metric_value obsbpf_trace_context_total 'outcome="continued_thread"')" 8
finish
