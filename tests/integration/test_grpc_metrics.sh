#!/usr/bin/env bash
# gRPC (python3-grpcio, both ends) through an attached server pod and an attached client pod:
# unary, server-streaming and bidi calls, and calls failing with chosen codes over HTTP 200.
# Each side counts exactly the calls made, per method and gRPC status, in the rpc_* families;
# the payloads arrive unchanged.
source "$(dirname "$0")/lib.sh"

pod_create srv
pod_create cli
pod_run srv "$PY" "$ROOT/tests/integration/apps/grpc_app.py" serve 50051 --log "$T/calls.log" >/dev/null
wait_port srv 50051 || exit 1
agent_start --pod "$(pod_name srv)" --namespace shop --node node-1 --app-metrics off || exit 1
agent_also 19302 --pod "$(pod_name cli)" --namespace shop --node node-1 --app-metrics off || exit 1
CLI_METRICS() { curl -fsS http://127.0.0.1:19302/metrics; }
IP=$(pod_ip srv)

# obsbpf observe on the server's agent, in both forms, during the calls.
"$OBSBPF" observe --control-socket "$CTL" > "$T/observe.txt" 2>&1 &
BG_PIDS+=($!)
"$OBSBPF" observe --control-socket "$CTL" --json > "$T/observe.json" 2>&1 &
BG_PIDS+=($!)
observers() { "$OBSBPF" status --control-socket "$CTL" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["observers"])'; }
wait_until 5 'test "$(observers)" = 2'
PLAN="Add:20,Fail:3:14,Fail:2:5,Fail:1:3,Watch:4:6,Chat:3:4"
pod_exec cli "$PY" "$ROOT/tests/integration/apps/grpc_app.py" call "$IP:50051" "$PLAN" > "$T/client.json" || fail "client"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["calls"]
assert c == {"Add/OK": 20, "Fail/UNAVAILABLE": 3, "Fail/NOT_FOUND": 2, "Fail/INVALID_ARGUMENT": 1, "Watch/OK": 4, "Chat/OK": 3}, c' \
	"$T/client.json" && ok "the client saw every call end as planned" || fail "client: $(cat "$T/client.json")"
sleep 0.5

# count FAMILY METRICS_CMD LABELS...: the _count of the family's series with every label.
count() {
	local fam=$1 src=$2; shift 2
	$src | awk -v n="${fam}_count" -v pats="$*" '
		BEGIN { np = split(pats, p, " ") }
		$1 ~ "^" n "[{ ]" { ok = 1; for (i = 1; i <= np; i++) if (index($0, p[i]) == 0) ok = 0; if (ok) s += $NF }
		END { printf "%d\n", s }'
}
for side in server client; do
	src=metrics
	[ $side = client ] && src=CLI_METRICS
	F=rpc_${side}_duration_seconds
	expect_eq "$side: Add OK" "$(count $F $src 'rpc_system="grpc"' 'rpc_service="shop.Cart"' 'rpc_method="Add"' 'rpc_grpc_status_code="0"')" 20
	expect_eq "$side: Fail UNAVAILABLE (14 over HTTP 200)" "$(count $F $src 'rpc_method="Fail"' 'rpc_grpc_status_code="14"')" 3
	expect_eq "$side: Fail NOT_FOUND" "$(count $F $src 'rpc_method="Fail"' 'rpc_grpc_status_code="5"')" 2
	expect_eq "$side: Fail INVALID_ARGUMENT" "$(count $F $src 'rpc_method="Fail"' 'rpc_grpc_status_code="3"')" 1
	expect_eq "$side: Watch (server streaming)" "$(count $F $src 'rpc_method="Watch"' 'rpc_grpc_status_code="0"')" 4
	expect_eq "$side: Chat (bidi)" "$(count $F $src 'rpc_method="Chat"' 'rpc_grpc_status_code="0"')" 3
	expect_eq "$side: every call, nothing else" "$(count $F $src)" 33
	expect_eq "$side: not counted as HTTP" "$(count http_${side}_request_duration_seconds $src 'network_protocol_version="2"')" 0
done
expect_eq "nothing dropped" "$(metric_value obsbpf_connections_unparsed_total 'protocol="h2"')" 0
for i in $(seq 50); do [ "$(grep -c '^{' "$T/observe.json")" -ge 33 ] && break; sleep 0.1; done
line=$(grep "shop.Cart/Fail" "$T/observe.txt" | grep UNAVAILABLE | head -1)
[[ "$line" =~ $(pod_name srv)\ +\<-\ +$(pod_ip cli):[0-9]+\ +grpc\ /shop.Cart/Fail\ +UNAVAILABLE\ +[0-9.]+ms ]] \
	&& ok "observe line: $line" || fail "observe line: '$line'"
"$PY" - "$T/observe.json" <<'PY' && ok "observe --json: 33 gRPC calls with their status" || fail "observe --json: $(head -3 "$T/observe.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert len(ev) == 33, len(ev)
assert all(e["protocol"] == "grpc" and e["dir"] == "server" and e["status"] == 200 for e in ev), ev[0]
codes = sorted(e["grpc_status"] for e in ev)
assert codes == [0] * 27 + [3] + [5] * 2 + [14] * 3, codes
PY
expect_eq "server saw every call" "$(grep -c . "$T/calls.log")" 33

metrics > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" \
	|| fail "promtool: $(cat "$T/promtool.txt")"
grep -q '^# TYPE rpc_server_duration_seconds histogram' "$T/metrics.txt" && ok "rpc family declared" \
	|| fail "no rpc_server_duration_seconds TYPE"
finish
