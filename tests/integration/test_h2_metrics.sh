#!/usr/bin/env bash
# HTTP/2 with prior knowledge (h2c), the pod as a server and as a client: nghttpd serving,
# curl --http2-prior-knowledge, nghttp and h2load asking (many streams at once on one
# connection). Exact counts per method, status and templated route under
# network_protocol_version="2", next to the HTTP/1 series, from real HTTP/2 software. Without
# tracing, the client's connections leave the sockhash and are still measured.
source "$(dirname "$0")/lib.sh"

pod_create web
pod_create cli
mkdir -p "$T/www/users" "$T/www/static"
echo hello > "$T/www/index.html"
for id in 1 22 333; do echo "user $id" > "$T/www/users/$id"; done
head -c 100000 /dev/urandom > "$T/www/static/big.bin"
pod_run web nghttpd --no-tls -d "$T/www" 8080 >/dev/null
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8081 >/dev/null
wait_port web 8080 && wait_port web 8081 || exit 1
agent_start --pod "$(pod_name web)" --namespace shop --node node-1 --app-metrics off || exit 1
agent_also 19301 --pod "$(pod_name cli)" --namespace shop --node node-1 --app-metrics off || exit 1
CLI_METRICS() { curl -fsS http://127.0.0.1:19301/metrics; }
IP=$(pod_ip web)

# curl: one connection per run, prior knowledge.
for i in $(seq 5); do pod_exec cli curl -fsS --http2-prior-knowledge -o /dev/null "http://$IP:8080/index.html"; done
for id in 1 22 333; do pod_exec cli curl -fsS --http2-prior-knowledge -o /dev/null "http://$IP:8080/users/$id?v=2"; done
for i in 1 2; do pod_exec cli curl -sS --http2-prior-knowledge -o /dev/null "http://$IP:8080/missing/$i"; done
pod_exec cli curl -fsS --http2-prior-knowledge -o "$T/big.out" "http://$IP:8080/static/big.bin"
cmp -s "$T/big.out" "$T/www/static/big.bin" && ok "100 kB body intact through the hooks" || fail "body altered"
# nghttp: several requests on one connection (its -m repeats the URI).
pod_exec cli nghttp -n -m 7 "http://$IP:8080/index.html" >/dev/null || fail "nghttp"
# h2load: 4 connections, 10 streams in flight each: frames of many streams interleaved.
pod_exec cli h2load -n 400 -c 4 -m 10 "http://$IP:8080/users/22" > "$T/h2load.txt" 2>&1
succeeded=$(awk '/^requests:/ { print $8 }' "$T/h2load.txt")
expect_eq "h2load: all 400 succeeded" "$succeeded" 400
# HTTP/1 on the same pod, to see both under one family.
for i in 1 2 3; do pod_exec cli curl -fsS -o /dev/null "http://$IP:8081/h1"; done
sleep 0.5

S=http_server_request_duration_seconds_count
V='network_protocol_version="2"'
expect_eq "server: GET /index.html (curl 5 + nghttp 7)" "$(metric_value $S "$V" 'http_route="/index.html"' 'code="200"' 'method="GET"')" 12
expect_eq "server: /users/:id templated (3 + h2load 400)" "$(metric_value $S "$V" 'http_route="/users/:id"' 'code="200"')" 403
expect_eq "server: 404s" "$(metric_value $S "$V" 'http_route="/missing/:id"' 'code="404"')" 2
expect_eq "server: big body" "$(metric_value $S "$V" 'http_route="/static/big.bin"')" 1
expect_eq "server: every HTTP/2 request" "$(metric_value $S "$V")" 418
expect_eq "server: HTTP/1 beside it" "$(metric_value $S 'http_route="/h1"')" 3
expect_eq "server: HTTP/1 has no version label" "$(metric_value $S 'http_route="/h1"' "$V")" 0
C=http_client_request_duration_seconds_count
expect_eq "client: every HTTP/2 request" "$(CLI_METRICS | awk -v s="$C" '$1 ~ "^"s"{" && /network_protocol_version="2"/ { n += $NF } END { print n + 0 }')" 418
expect_eq "client: 404s" "$(CLI_METRICS | awk -v s="$C" '$1 ~ "^"s"{" && /code="404"/ && /version="2"/ { n += $NF } END { print n + 0 }')" 2
expect_eq "server: h2 connections (5+3+2+1 curl, nghttp, 4 h2load)" "$(metric_value obsbpf_h2_connections_total)" 16
expect_eq "nothing dropped" "$(metric_value obsbpf_connections_unparsed_total 'protocol="h2"')" 0
expect_eq "no stream unmeasured" "$(metric_value obsbpf_h2_streams_unmeasured_total)" 0

# Without tracing sk_msg has nothing to insert: the client's HTTP/2 connections leave the
# sockhash (tcp_bpf's blocking reads can fail with EAGAIN there) and tc still times them.
agent_also_stop 19301
agent_also 19301 --pod "$(pod_name cli)" --namespace shop --node node-1 --app-metrics off --propagation none || exit 1
# A synchronous h2c client on a blocking socket (40 requests, 50 ms apart: where the release
# waits for a quiet moment, with the FIONREAD fallback's verdict, it has them).
h2c=$(pod_exec cli "$PY" "$ROOT/tests/integration/apps/h2c_client.py" "$IP" 8080 /users/1 --count 40 --pause 0.05)
expect_eq "blocking h2c client without tracing: answered, none failed with EAGAIN" \
	"$(echo "$h2c" | json 'print(d["answered"], d["eagain"])')" "40 0"
sleep 0.5
expect_eq "its connection left the sockhash" \
	"$(CLI_METRICS | awk '$1 ~ /^obsbpf_connections_released_total\{reason="h2"/ { n += $NF } END { print n + 0 }')" 1
expect_eq "and every request on it measured" \
	"$(CLI_METRICS | awk -v s="$C" '$1 ~ "^"s"{" && /network_protocol_version="2"/ { n += $NF } END { print n + 0 }')" 40

metrics > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" \
	|| fail "promtool: $(cat "$T/promtool.txt")"
curl -fsS -H 'Accept: application/openmetrics-text; version=1.0.0' "http://$AGENT_ADDR/metrics" > "$T/om.txt"
"$PY" - "$T/om.txt" <<'EOF' && ok "OpenMetrics parses (prometheus_client)" || fail "OpenMetrics does not parse"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
list(text_string_to_metric_families(open(sys.argv[1]).read()))
EOF
finish
