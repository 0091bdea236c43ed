#!/usr/bin/env bash
# Spans end to end: two pods, client -> server, an agent on each (the client's exporting over
# OTLP/HTTP, the server's over OTLP/gRPC) into one real OTLP receiver. Each request gives a CLIENT
# span and a SERVER span of one trace, the client span the server span's parent (the kernel
# injected the context on the client and continued it on the server). An incoming traceparent
# from the app is continued by both spans; an unsampled one gives no span and is counted. Pod-local requests over lo give
# both spans from one agent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
CHECK=$ROOT/tests/integration/check_e2e_spans.py
# Where tc may not call bpf_get_current_pid_tgid (6.1) server spans have no thread.id.
"$OBSBPF" probe 2>/dev/null | grep -q '^yes  bpf_get_current_pid_tgid in tc' || {
	export NO_SERVER_TID=1; log "server spans without thread.id on $(uname -r) (no bpf_get_current_pid_tgid in tc)"; }

pod_create srv
pod_create cli
SRV=$(pod_ip srv) CLI=$(pod_ip cli)
pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run cli "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 9090 >/dev/null
wait_port srv 8080 && wait_port cli 9090 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1

agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name client-svc || exit 1
# The server pod's agent: its own address on this run's bridge, the same port.
agent2_start srv --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc --otlp-flush-ms 100 \
	--service-name server-svc || finish

# spans_with N PATTERN: until the receiver holds N span lines matching PATTERN (15 s at most).
has_spans() { [ "$(grep -c -- "$2" "$OUT" 2>/dev/null)" -ge "$1" ]; }
spans_with() { wait_for 15 has_spans "$@"; }
# counted AGENT_ADDR NAME: the agent at AGENT_ADDR has a non-zero NAME.
counted() { [ "$(AGENT_ADDR=$1 metric_value "$2")" -ge 1 ]; }

# 1. five requests without context: five new traces, each client span the server span's parent
for i in $(seq 5); do pod_exec cli curl -fsS -o /dev/null "http://$SRV:8080/orders/$i"; done
spans_with 5 '"/orders/:id"' || fail "server spans did not arrive"
sleep 0.5
if r=$("$PY" "$CHECK" "$OUT" /orders/ 5 client-svc server-svc "$CLI" "$SRV" 8080); then
	ok "client -> server: one trace per request, client span parent of server span ($r)"
else
	fail "client -> server: $r"
fi
expect_eq "client spans over OTLP/HTTP" "$(grep '"kind":3' "$OUT" | grep -c '"proto":"http"')" 5
expect_eq "server spans over OTLP/gRPC" "$(grep '"kind":2' "$OUT" | grep -c '"proto":"grpc"')" 5

# 2. the app sends its own sampled traceparent: the kernel continues it and leaves the header
# alone (never replaced), so the client span and the server span are both children of the
# app's span, in the app's trace
TID=4bf92f3577b34da6a3ce929d0e0e4736 PID=00f067aa0ba902b7
pod_exec cli curl -fsS -o /dev/null -H "traceparent: 00-$TID-$PID-01" "http://$SRV:8080/continued/1"
spans_with 1 '"/continued/:id"' || fail "continued: server span did not arrive"
wait_for 5 has_spans 1 "\"parent_span_id\":\"$PID\",\"name\":\"GET\"" || fail "continued: client span did not arrive"
r=$("$PY" - "$OUT" "$TID" "$PID" <<'PYEOF'
import json, sys
out, tid, pid = sys.argv[1:]
spans = [json.loads(l) for l in open(out)]
srv = [s for s in spans if s["attributes"].get("http.route") == "/continued/:id"]
cli = [s for s in spans if s["kind"] == 3 and s["parent_span_id"] == pid]
bad = []
if len(srv) != 1 or len(cli) != 1:
    bad.append("%d server and %d client spans" % (len(srv), len(cli)))
for s in srv + cli:
    if s["trace_id"] != tid or s["parent_span_id"] != pid:
        bad.append("%s span in trace %s under %s" % ("server" if s["kind"] == 2 else "client", s["trace_id"], s["parent_span_id"]))
if srv and cli and srv[0]["span_id"] == cli[0]["span_id"]:
    bad.append("server and client span share the id " + srv[0]["span_id"])
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "app's traceparent continued by both spans, as the parent of each" "$r" ok

# 3. an unsampled incoming context: no span, counted on both sides
pod_exec cli curl -fsS -o /dev/null -H "traceparent: 00-$TID-$PID-00" "http://$SRV:8080/unsampled/1"
wait_for 5 counted "$AGENT_ADDR" obsbpf_trace_spans_not_sampled_total
wait_for 5 counted "$AGENT2" obsbpf_trace_spans_not_sampled_total
expect_ge "unsampled: counted by the client agent" "$(metric_value obsbpf_trace_spans_not_sampled_total)" 1
expect_ge "unsampled: counted by the server agent" \
	"$(AGENT_ADDR=$AGENT2 metric_value obsbpf_trace_spans_not_sampled_total)" 1

# 4. pod-local over lo: one agent sees both sides
for i in $(seq 3); do pod_exec cli curl -fsS -o /dev/null "http://127.0.0.1:9090/local/$i"; done
spans_with 3 '"/local/:id"' || fail "pod-local: server spans did not arrive"
sleep 0.5
if r=$("$PY" "$CHECK" "$OUT" /local/ 3 client-svc client-svc 127.0.0.1 127.0.0.1 9090); then
	ok "pod-local: both spans from one agent, parent and trace right ($r)"
else
	fail "pod-local: $r"
fi
expect_eq "no unsampled span exported" "$(grep -c '"/unsampled/' "$OUT")" 0
expect_eq "client agent: nothing dropped" "$(metric_value obsbpf_trace_spans_dropped_total)" 0

agent_stop
expect_eq "client agent exits 0" $? 0
agent2_stop
expect_eq "server agent exits 0" $? 0
finish
