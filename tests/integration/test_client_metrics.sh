#!/usr/bin/env bash
# The pod as a client: requests it sends to another pod are timed (request sent by sk_msg,
# response seen arriving by tc), one-shot and keep-alive, and pod-local traffic over lo is
# seen from both sides.
source "$(dirname "$0")/lib.sh"

pod_create srv
pod_create cli
pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run cli "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 9090 >/dev/null
wait_port srv 8080 && wait_port cli 9090 || exit 1
agent_start --pod "$(pod_name cli)" || exit 1
SRV=$(pod_ip srv)

for i in $(seq 10); do pod_exec cli curl -fsS -o /dev/null "http://$SRV:8080/orders/$i"; done
# One curl, ten URLs: one keep-alive connection.
urls=(); for i in $(seq 10); do urls+=("http://$SRV:8080/items/abc$i"); done
pod_exec cli curl -fsS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null "${urls[@]}"
pod_exec cli curl -sS -o /dev/null "http://$SRV:8080/status/503"
# python urllib, the way a python app calls another service
pod_exec cli "$PY" -c "
import urllib.request
for i in range(4):
    urllib.request.urlopen('http://$SRV:8080/py/%d' % i).read()"
pod_exec cli curl -sS -o /dev/null "http://$SRV:8080/status/404"
pod_exec cli curl -fsS --http1.0 -o /dev/null "http://$SRV:8080/old/1"
# pod-local: the pod calls itself over lo
for i in $(seq 5); do pod_exec cli curl -fsS -o /dev/null "http://127.0.0.1:9090/self"; done
sleep 0.5

C=http_client_request_duration_seconds_count
S=http_server_request_duration_seconds_count
expect_eq "one-shot client requests" "$(metric_value $C 'http_route="/orders/:id"' 'code="200"')" 10
expect_eq "keep-alive client requests, hex ids templated" "$(metric_value $C 'http_route="/items/:id"')" 10
expect_eq "client 503" "$(metric_value $C 'code="503"')" 1
expect_eq "urllib requests" "$(metric_value $C 'http_route="/py/:id"')" 4
# OpenTelemetry semantic conventions: server.address/port, error.type on a client's 4xx and 5xx
expect_eq "server address and port" "$(metric_value $C "server_address=\"$SRV\"" 'server_port="8080"' 'url_scheme="http"')" 27
expect_eq "error_type on 503" "$(metric_value $C 'code="503"' 'error_type="503"')" 1
expect_eq "error_type on 404" "$(metric_value $C 'code="404"' 'error_type="404"')" 1
expect_eq "error_type only on errors" "$(metric_value $C 'error_type=')" 2
expect_eq "HTTP/1.0 request reported as 1.0" "$(metric_value $C 'http_route="/old/:id"' 'network_protocol_version="1.0"')" 1
expect_eq "pod-local: server 127.0.0.1:9090" "$(metric_value $C 'http_route="/self"' 'server_address="127.0.0.1"' 'server_port="9090"')" 5
expect_eq "pod-local, client side" "$(metric_value $C 'http_route="/self"')" 5
expect_eq "pod-local, server side" "$(metric_value $S 'http_route="/self"')" 5
expect_eq "no other server requests" "$(metric_value $S)" 5
expect_ge "outbound connections" "$(metric_value obsbpf_tcp_connections_opened_total 'direction="outbound"')" 17
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
