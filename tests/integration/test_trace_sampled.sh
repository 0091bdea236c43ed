#!/usr/bin/env bash
# --propagate sampled (issue 20): only the requests of sampled traces get a header inserted.
# Three pods, cli -> srv and cli -> mid (relay) -> srv, relay.py echoing the headers it
# received, an agent on each exporting to the real OTLP decoder (node/otlp_recv.js):
#   cli: --sample-ratio 0.1 --propagate sampled: of N requests without context, the sampled ones
#        (~10%) carry one traceparent and give a client span with exactly its ids; the others
#        carry nothing and give no span; metrics count all N, the skipped ones are counted;
#        exemplars name sampled traces only.
#   srv: --sample-ratio 0: every span it exports continues a sampled traceparent, as the child of
#        the client span; new roots (the requests that came without header) are not sampled.
#   mid: --sample-ratio 0 --propagate sampled: a request arriving with a sampled traceparent has
#        its downstream call continued and inserted as with always; one arriving unsampled has
#        its downstream call left as sent (no push; counted), and gives no span anywhere.
# An app's own traceparent passes unchanged whatever its flag, never duplicated. The same for
# HTTP/2: gRPC calls (python grpcio) get the field appended to their HEADERS only when sampled.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otlp_lib.sh"

N=${SAMPLED_REQUESTS:-200}
pod_create cli
pod_create mid
pod_create srv
APP=$ROOT/tests/integration/apps/relay.py
pod_run mid "$PY" "$APP" --port 8080 >/dev/null
pod_run srv "$PY" "$APP" --port 8080 >/dev/null
GRPC=$ROOT/tests/integration/apps/grpc_app.py
pod_run srv "$PY" "$GRPC" serve 50051 --log "$T/calls.log" >/dev/null
wait_port mid 8080 && wait_port srv 8080 && wait_port srv 50051 || exit 1
MID=$(pod_ip mid)
SRV=$(pod_ip srv)
P_MID=19310
P_SRV=19311
SPANS=$T/spans.jsonl
otlp_recv_start "$SPANS" || exit 1
HTTP=(--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100)
agent_start --pod "$(pod_name cli)" --app-metrics off --sample-ratio 0.1 --propagate sampled \
	--service-name cli-svc "${HTTP[@]}" || exit 1
agent_also "$P_MID" --pod "$(pod_name mid)" --app-metrics off --sample-ratio 0 --propagate sampled \
	--service-name mid-svc --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc \
	--otlp-flush-ms 100 || exit 1
agent_also "$P_SRV" --pod "$(pod_name srv)" --app-metrics off --sample-ratio 0 --service-name srv-svc \
	"${HTTP[@]}" || exit 1
CLI_AGENT=$AGENT_ADDR
at() { local a=$1; shift; AGENT_ADDR=$a "$@"; } # at ADDR CMD...: CMD against that agent

expect_eq "status: traces.propagate" \
	"$(agent_status --json | json 'print(d["pods"][0]["traces"]["propagate"])')" sampled

# 1. N requests without context on one keep-alive connection; what srv received, one JSON list of
# traceparent values per request.
pod_exec cli "$PY" - "$SRV" "$N" > "$T/received.jsonl" <<'PYEOF' || fail "client requests failed"
import http.client, json, sys
host, n = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, 8080, timeout=5)
for i in range(n):
    c.request("GET", "/headers")
    r = c.getresponse()
    print(json.dumps(json.loads(r.read())["received"].get("traceparent", [])))
PYEOF
expect_eq "every request answered" "$(wc -l < "$T/received.jsonl")" "$N"
carried=$(grep -c '^\["' "$T/received.jsonl")
log "$carried of $N requests carried a traceparent"
expect_eq "no request carried two traceparents" "$(grep -c '", "' "$T/received.jsonl")" 0
expect_ge "some requests sampled (expected ~10%)" "$carried" 1
[ "$carried" -le $((N * 3 / 10)) ] && ok "most requests left as sent ($carried of $N carried one)" ||
	fail "$carried of $N requests carried a traceparent at --sample-ratio 0.1"

# The spans: cli's client spans and srv's server spans, exactly one of each per carried header.
has_spans() { [ "$(grep -c "$2" "$SPANS" 2>/dev/null)" -ge "$1" ]; }
wait_for 15 has_spans "$carried" '"service.name":"srv-svc"' || fail "srv's spans did not arrive"
wait_for 5 has_spans "$carried" '"service.name":"cli-svc"' || fail "cli's spans did not arrive"
sleep 0.5 # a span too many would arrive now
r=$("$PY" - "$SPANS" "$T/received.jsonl" <<'PYEOF'
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
tps = [json.loads(l) for l in open(sys.argv[2])]
sent = {}
bad = []
for v in tps:
    if not v:
        continue
    _, tid, sid, flags = v[0].split("-")
    if flags != "01":
        bad.append("unsampled header inserted: " + v[0])
    sent[(tid, sid)] = True
cli = [s for s in spans if s["resource"].get("service.name") == "cli-svc"]
srv = [s for s in spans if s["resource"].get("service.name") == "srv-svc"]
got = {(s["trace_id"], s["span_id"]) for s in cli}
if any(s["kind"] != 3 for s in cli):
    bad.append("cli exported a span that is not CLIENT")
if len(cli) != len(sent) or got != set(sent):
    bad.append("%d client spans for %d inserted headers, %d of them match"
               % (len(cli), len(sent), len(got & set(sent))))
par = {(s["trace_id"], s["parent_span_id"]) for s in srv}
if any(s["kind"] != 2 for s in srv):
    bad.append("srv exported a span that is not SERVER")
if len(srv) != len(sent) or par != set(sent):
    bad.append("%d server spans, %d of them children of an inserted client span"
               % (len(srv), len(par & set(sent))))
if any(not (s["flags"] & 1) for s in cli + srv):
    bad.append("an exported span is not sampled")
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "spans: a client span per inserted header (its ids), its server span the child; none else" "$r" ok

# Exemplars link only to sampled traces: those whose header went in.
curl -fsS -H 'Accept: application/openmetrics-text;version=1.0.0' "http://$AGENT_ADDR/metrics" |
	grep '^http_client_request_duration_seconds_bucket' | grep -o 'trace_id="[0-9a-f]*"' | cut -d'"' -f2 |
	sort -u > "$T/exemplars"
grep -o '"00-[0-9a-f]*' "$T/received.jsonl" | cut -c5- | sort -u > "$T/sampled"
expect_ge "cli: exemplars on the client histogram" "$(wc -l < "$T/exemplars")" 1
expect_eq "cli: every exemplar is a sampled (inserted) trace" "$(comm -23 "$T/exemplars" "$T/sampled" | wc -l)" 0

# Metrics count every request; the skipped insertions are counted as such.
srv_count=$(at 127.0.0.1:$P_SRV metric_value http_server_request_duration_seconds_count)
cli_count=$(metric_value http_client_request_duration_seconds_count)
expect_eq "cli: every request in the client histogram" "$cli_count" "$N"
expect_eq "srv: every request in the server histogram" "$srv_count" "$N"
expect_eq "cli: insertions counted" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" "$carried"
expect_eq "cli: skipped insertions counted not_sampled" \
	"$(metric_value obsbpf_trace_inject_skipped_total 'reason="not_sampled"')" $((N - carried))
wait_until 5 '[ "$(metric_value obsbpf_trace_spans_not_sampled_total)" -ge $((N - carried)) ]'
expect_eq "cli: unsampled requests counted, not exported" \
	"$(metric_value obsbpf_trace_spans_not_sampled_total)" $((N - carried))
# The kernel sends events for the sampled exchanges only (spans are exported, nobody observes).
expect_eq "cli: ring buffer events for the sampled requests only" "$(metric_value obsbpf_events_read_total)" "$carried"
wait_until 5 '[ "$(at 127.0.0.1:$P_SRV metric_value obsbpf_trace_spans_not_sampled_total)" -ge $((N - carried)) ]'
expect_eq "srv: the requests that came without header are unsampled roots there" \
	"$(at 127.0.0.1:$P_SRV metric_value obsbpf_trace_spans_not_sampled_total)" $((N - carried))

# 2. The app's own traceparent, sampled or not: passed as sent, never a second one.
TID=4bf92f3577b34da6a3ce929d0e0e4736 PID=00f067aa0ba902b7
TID0=5c0a1b2c3d4e5f60718293a4b5c6d7e8 PID0=1122334455667788
h1=$(pod_exec cli curl -fsS -H "traceparent: 00-$TID-$PID-01" "http://$SRV:8080/headers")
h0=$(pod_exec cli curl -fsS -H "traceparent: 00-$TID0-$PID0-00" "http://$SRV:8080/headers")
expect_eq "app's sampled traceparent passed as sent" \
	"$(echo "$h1" | json 'print(",".join(d["received"]["traceparent"]))')" "00-$TID-$PID-01"
expect_eq "app's unsampled traceparent passed as sent" \
	"$(echo "$h0" | json 'print(",".join(d["received"]["traceparent"]))')" "00-$TID0-$PID0-00"
wait_for 10 has_spans 2 "\"trace_id\":\"$TID\"" || fail "app's sampled context: spans did not arrive"

# 3. Through mid's handler thread (in-process propagation): a sampled incoming context is
# continued and inserted downstream, an unsampled one is not inserted (no push) and leaves no span.
relay() { pod_exec cli curl -fsS -H "traceparent: 00-$1-$2-$3" "http://$MID:8080/relay?to=http://$SRV:8080/headers"; }
TID2=6a7b8c9d0e1f20314253647586970a1b TID3=7b8c9d0e1f2031425364758697a0b1c2
j=$(relay "$TID2" "$PID" 01)
down=$(echo "$j" | json 'print(",".join(d["downstream"]["received"].get("traceparent", [])))')
[[ $down =~ ^00-$TID2-[0-9a-f]{16}-01$ ]] && ok "sampled context: mid's call continued it ($down)" ||
	fail "sampled context: mid's call carried '$down'"
j=$(relay "$TID3" "$PID" 00)
expect_eq "unsampled context: mid's call left as sent (no traceparent)" \
	"$(echo "$j" | json 'print(",".join(d["downstream"]["received"].get("traceparent", [])))')" ""
expect_ge "mid: skipped insertion counted not_sampled" \
	"$(at 127.0.0.1:$P_MID metric_value obsbpf_trace_inject_skipped_total 'reason="not_sampled"')" 1
# mid server + mid client + srv server (cli's curl request carried the app's header: its span too)
wait_for 10 has_spans 4 "\"trace_id\":\"$TID2\"" || fail "sampled relay: its spans did not arrive"
sleep 0.5
expect_eq "sampled relay: cli, mid (server, client) and srv spans in the trace" \
	"$(grep -c "\"trace_id\":\"$TID2\"" "$SPANS")" 4
expect_eq "unsampled contexts: no span exported anywhere" \
	"$(grep -c -e "\"trace_id\":\"$TID3\"" -e "\"trace_id\":\"$TID0\"" "$SPANS")" 0
# 4. HTTP/2: gRPC calls on one connection, the field appended only to the sampled ones' HEADERS.
NC=${SAMPLED_CALLS:-100}
inj0=$(metric_value obsbpf_trace_context_total 'outcome="injected"')
skip0=$(metric_value obsbpf_trace_inject_skipped_total 'reason="not_sampled"')
pod_exec cli "$PY" "$GRPC" call "$SRV:50051" "Add:$NC" > "$T/calls.json" || fail "gRPC client"
wait_until 10 '[ "$(grep -c . "$T/calls.log")" -ge "$NC" ]'
gcarried=$(grep -c '"traceparent"' "$T/calls.log")
log "$gcarried of $NC gRPC calls carried a traceparent"
expect_ge "gRPC: some calls sampled" "$gcarried" 1
[ "$gcarried" -le $((NC * 3 / 10)) ] && ok "gRPC: most calls left as sent ($gcarried of $NC carried one)" ||
	fail "gRPC: $gcarried of $NC calls carried a traceparent at --sample-ratio 0.1"
expect_eq "gRPC: insertions counted" \
	$(($(metric_value obsbpf_trace_context_total 'outcome="injected"') - inj0)) "$gcarried"
expect_eq "gRPC: skipped insertions counted not_sampled" \
	$(($(metric_value obsbpf_trace_inject_skipped_total 'reason="not_sampled"') - skip0)) $((NC - gcarried))
wait_for 15 has_spans $((2 * gcarried)) '"shop.Cart/Add"' || fail "gRPC spans did not arrive"
sleep 0.5
r=$("$PY" - "$SPANS" "$T/calls.log" <<'PYEOF'
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1]) if '"shop.Cart/Add"' in l]
calls = [json.loads(l) for l in open(sys.argv[2])]
sent = set()
bad = []
for c in calls:
    tp = c["metadata"].get("traceparent")
    if tp is None:
        continue
    _, tid, sid, flags = tp.split("-")
    if flags != "01":
        bad.append("unsampled field inserted: " + tp)
    sent.add((tid, sid))
cli = [s for s in spans if s["resource"].get("service.name") == "cli-svc"]
srv = [s for s in spans if s["resource"].get("service.name") == "srv-svc"]
if {(s["trace_id"], s["span_id"]) for s in cli} != sent or len(cli) != len(sent):
    bad.append("%d client spans for %d inserted fields" % (len(cli), len(sent)))
if {(s["trace_id"], s["parent_span_id"]) for s in srv} != sent or len(srv) != len(sent):
    bad.append("%d server spans for %d inserted fields" % (len(srv), len(sent)))
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "gRPC spans: a client span per inserted field, its server span the child; none else" "$r" ok
expect_eq "gRPC: every call in the client histogram" "$(metric_value rpc_client_duration_seconds_count)" "$NC"
expect_eq "gRPC: every call in the server histogram" \
	"$(at 127.0.0.1:$P_SRV metric_value rpc_server_duration_seconds_count)" "$NC"

for a in "$CLI_AGENT" 127.0.0.1:$P_MID 127.0.0.1:$P_SRV; do
	expect_eq "$a: nothing dropped" "$(at "$a" metric_value obsbpf_trace_spans_dropped_total)" 0
done

agent_stop
expect_eq "cli agent exits 0" $? 0
agent_also_stop $P_MID
expect_eq "mid agent exits 0" $? 0
agent_also_stop $P_SRV
expect_eq "srv agent exits 0" $? 0
finish
