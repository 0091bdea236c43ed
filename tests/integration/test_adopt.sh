#!/usr/bin/env bash
# Connections opened before attach: a client pod opens a keep-alive connection to a server pod
# and sends a request on it, then the agents attach to both pods, then it sends five more on the
# same connection. The agents find the connection established (an iterator over the pods' TCP
# sockets) and follow it from then on: the server measures all five, the client measures all
# five and traces them, inserting a traceparent from the second on (the first after attach is
# not known to start a request until its answer is seen). Every response arrives intact.
. "$(dirname "$0")/lib.sh"

pod_create web
pod_create cli
WEB=$(pod_ip web)
pod_run web "$PY" "$ROOT/tests/integration/apps/relay.py" --port 8080 >/dev/null
wait_port web 8080 || exit 1
cat > "$T/client.py" <<'PYEOF'
import http.client, json, os, sys, time
host, go, out = sys.argv[1:]
c = http.client.HTTPConnection(host, 8080)
def get(path):
    c.request("GET", path)
    r = c.getresponse()
    return r.status, json.loads(r.read())
before = get("/headers")
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
after = [get("/headers?n=%d" % i) for i in range(5)]
json.dump({"before": before, "after": after, "port": c.sock.getsockname()[1]}, open(out, "w"))
PYEOF
pod_run cli "$PY" "$T/client.py" "$WEB" "$T/go" "$T/client.json" >/dev/null
wait_for 10 test -e "$T/client.json.ready" || fail "client not connected"
agent_start --pod "$(pod_name cli)" --propagation w3c --inject-to "$SUBNET.0/24" --app-metrics off || exit 1
agent_also 19305 --pod "$(pod_name web)" --app-metrics off || exit 1
SRV_METRICS() { curl -fsS http://127.0.0.1:19305/metrics; }
touch "$T/go"
wait_for 10 test -s "$T/client.json" || fail "client did not finish"
sleep 0.5

r=$("$PY" - "$T/client.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
tps = [a[1]["received"].get("traceparent") for a in d["after"]]
if any(a[0] != 200 for a in d["after"]) or d["before"][0] != 200:
    bad.append("statuses %r" % [a[0] for a in d["after"]])
if d["before"][1]["received"].get("traceparent"):
    bad.append("a header before attach")
if tps[0]:
    bad.append("a header on the first request after attach")
if not all(tps[1:]) or len({t[0] for t in tps[1:]}) != 4:
    bad.append("headers after the first answer: %r" % tps)
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "one connection from before attach: no header before the first answer, one on each later request" "$r" ok
C=http_client_request_duration_seconds_count
expect_eq "client: the five requests after attach measured" "$(metric_value $C 'http_route="/headers"')" 5
expect_eq "client: one outbound connection adopted" "$(metric_value obsbpf_connections_adopted_total 'direction="outbound"')" 1
expect_eq "client: four headers inserted" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" 4
expect_eq "client: the first one skipped, as adopted" "$(metric_value obsbpf_trace_inject_skipped_total 'reason="adopted"')" 1
S=http_server_request_duration_seconds_count
expect_eq "server: the five requests after attach measured" "$(SRV_METRICS | awk -v s="$S" '$1 ~ "^"s"{" && /http_route="\/headers"/ { n += $NF } END { print n + 0 }')" 5
expect_eq "server: one inbound connection adopted" "$(SRV_METRICS | awk '/^obsbpf_connections_adopted_total\{direction="inbound"/ { print $NF }')" 1
finish
