#!/usr/bin/env bash
# Trace context across three real pods, client -> relay -> echo, with an agent on each: the
# client's request gets a traceparent injected by sk_msg; the relay (python ThreadingHTTPServer,
# no SDK) calls the echo pod from its handler thread, and that call carries the same trace id
# with a new span id (in-process propagation). A context the app sends is continued, never
# replaced; an invalid one is left alone; --inject-to keeps headers from other destinations;
# the header styles combine. The agents export their spans (OTLP/HTTP and OTLP/gRPC) to a real
# OTLP decoder: the four spans of a chain request form one trace, each the parent of the next.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otlp_lib.sh"

pod_create client
pod_create relay
pod_create echo
APP=$ROOT/tests/integration/apps/relay.py
pod_run relay "$PY" "$APP" --port 8080 >/dev/null
pod_run echo "$PY" "$APP" --port 8080 >/dev/null
wait_port relay 8080 && wait_port echo 8080 || exit 1
RELAY=$(pod_ip relay)
ECHO=$(pod_ip echo)
P_RELAY=$((AGENT_PORT + 300))
P_ECHO=$((AGENT_PORT + 600))
SPANS=$T/spans.jsonl
otlp_recv_start "$SPANS" || exit 1
EXPORT=(--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100)
agent_start --pod "$(pod_name client)" --app-metrics off "${EXPORT[@]}" || exit 1
agent_also "$P_RELAY" --pod "$(pod_name relay)" --app-metrics off \
	--otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc --otlp-flush-ms 100 || exit 1
agent_also "$P_ECHO" --pod "$(pod_name echo)" --app-metrics off "${EXPORT[@]}" || exit 1

# chain [CURL ARGS...]: the client calls the relay, which calls the echo pod; prints the JSON.
chain() { pod_exec client curl -fsS "$@" "http://$RELAY:8080/relay?to=http://$ECHO:8080/headers"; }
# jget JSON EXPR: a python expression over the parsed JSON as j; prints the result.
jget() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
TP='^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$'

out=$(chain) || { fail "chain request failed"; finish; }
tp1=$(jget "$out" '",".join(j["received"].get("traceparent", []))')
tp2=$(jget "$out" '",".join(j["downstream"]["received"].get("traceparent", []))')
[[ $tp1 =~ $TP ]] && ok "relay received one injected traceparent ($tp1)" || fail "relay got traceparent '$tp1'"
[[ $tp2 =~ $TP ]] && ok "echo received one traceparent ($tp2)" || fail "echo got traceparent '$tp2'"
expect_eq "same trace id through the relay's thread" "${tp2:3:32}" "${tp1:3:32}"
[ "${tp2:36:16}" != "${tp1:36:16}" ] && ok "the relay's call has its own span id" || fail "span id reused: $tp1 / $tp2"
expect_eq "sampled (default --sample-ratio 1)" "${tp1: -2}" 01

# The spans, as the OTLP decoder received them.
trace=${tp1:3:32}
has_chain() { [ "$(grep -c "\"trace_id\":\"$trace\"" "$SPANS" 2>/dev/null)" -ge 4 ]; }
wait_for 15 has_chain || fail "the chain's four spans did not arrive"
if r=$("$PY" "$ROOT/tests/integration/check_chain_spans.py" "$SPANS" "$trace" "$(pod_name client)" \
	"$(pod_name relay)" "$(pod_name echo)" 2>&1); then
	ok "spans: client -> relay server -> relay client -> echo server, one trace ($r)"
else
	fail "span chain: $r"
fi

AGENT_ADDR=127.0.0.1:$P_RELAY
expect_ge "relay: incoming context continued (tc)" "$(metric_value obsbpf_trace_context_total 'outcome="continued_header"')" 1
expect_ge "relay: its call continued the served request (tp_btf)" "$(metric_value obsbpf_trace_context_total 'outcome="continued_thread"')" 1
AGENT_ADDR=127.0.0.1:$AGENT_PORT
expect_ge "client: header injected" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" 1

# A valid context sent by the app is continued: passed unchanged, and the trace goes on.
mine=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
out=$(chain -H "traceparent: $mine" -H "tracestate: vendor=abc") || fail "chain with context failed"
expect_eq "app's traceparent passed unchanged, not replaced" "$(jget "$out" '",".join(j["received"]["traceparent"])')" "$mine"
expect_eq "tracestate passed through" "$(jget "$out" '",".join(j["received"]["tracestate"])')" "vendor=abc"
tp2=$(jget "$out" '",".join(j["downstream"]["received"].get("traceparent", []))')
expect_eq "echo continues the app's trace" "${tp2:3:32}" 4bf92f3577b34da6a3ce929d0e0e4736

# An invalid context (version ff) is treated as absent: not replaced on the way out, and the
# relay starts a new trace for what it calls.
bad=ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
out=$(chain -H "traceparent: $bad") || fail "chain with invalid context failed"
expect_eq "invalid traceparent left alone, no second header" "$(jget "$out" '",".join(j["received"]["traceparent"])')" "$bad"
tp2=$(jget "$out" '",".join(j["downstream"]["received"].get("traceparent", []))')
[[ $tp2 =~ $TP && ${tp2:3:32} != 4bf92f3577b34da6a3ce929d0e0e4736 ]] && ok "relay started a new trace ($tp2)" \
	|| fail "after an invalid context the echo got '$tp2'"
AGENT_ADDR=127.0.0.1:$P_RELAY
expect_ge "relay counted the invalid header" "$(metric_value obsbpf_trace_context_total 'outcome="invalid_header"')" 1
AGENT_ADDR=127.0.0.1:$AGENT_PORT

# Styles combined: one context in three header styles.
agent_stop
agent_start --pod "$(pod_name client)" --app-metrics off --propagation w3c,xtrace,b3 || exit 1
out=$(chain) || fail "chain with all styles failed"
tp1=$(jget "$out" '",".join(j["received"].get("traceparent", []))')
expect_eq "x-trace-id = traceparent's trace id" "$(jget "$out" '",".join(j["received"].get("x-trace-id", []))')" "${tp1:3:32}"
expect_eq "x-span-id = traceparent's span id" "$(jget "$out" '",".join(j["received"].get("x-span-id", []))')" "${tp1:36:16}"
expect_eq "no x-parent-span on a root span" "$(jget "$out" 'len(j["received"].get("x-parent-span", []))')" 0
expect_eq "b3 = trace-span-sampled" "$(jget "$out" '",".join(j["received"].get("b3", []))')" "${tp1:3:32}-${tp1:36:16}-1"

# The allow-list: the relay is outside it, so nothing is injected toward it.
agent_stop
agent_start --pod "$(pod_name client)" --app-metrics off --inject-to 192.0.2.0/24 || exit 1
out=$(chain) || fail "chain with allow-list failed"
expect_eq "no header toward a destination outside --inject-to" "$(jget "$out" 'len(j["received"].get("traceparent", []))')" 0
expect_ge "counted as not_allowed" "$(metric_value obsbpf_trace_inject_skipped_total 'reason="not_allowed"')" 1

# --sample-ratio 0: new traces are not sampled, and say so downstream (flags 00).
agent_stop
agent_start --pod "$(pod_name client)" --app-metrics off --sample-ratio 0 || exit 1
out=$(chain) || fail "chain unsampled failed"
tp1=$(jget "$out" '",".join(j["received"].get("traceparent", []))')
tp2=$(jget "$out" '",".join(j["downstream"]["received"].get("traceparent", []))')
expect_eq "--sample-ratio 0: flags 00" "${tp1: -2}" 00
expect_eq "the unsampled flag is honoured downstream" "${tp2: -2}" 00

# --propagation none: nothing injected, metrics still measured.
agent_stop
agent_start --pod "$(pod_name client)" --app-metrics off --propagation none || exit 1
out=$(chain) || fail "chain without tracing failed"
expect_eq "--propagation none injects nothing" "$(jget "$out" 'len(j["received"].get("traceparent", []))')" 0
sleep 0.3
expect_ge "request still measured" "$(metric_value http_client_request_duration_seconds_count)" 1

agent_stop; expect_eq "client agent exits 0" $? 0
agent_also_stop "$P_RELAY"; expect_eq "relay agent exits 0" $? 0
agent_also_stop "$P_ECHO"; expect_eq "echo agent exits 0" $? 0
finish
