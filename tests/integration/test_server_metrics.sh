#!/usr/bin/env bash
# The pod as a server: exact request counts from python's http.server (status line and body in
# separate writes, one-shot connections) and nginx (one write, keep-alive under wrk), with the
# right method, status and templated route, in a valid exposition.
source "$(dirname "$0")/lib.sh"

pod_create web
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run web nginx -c "$(nginx_conf 8081)" >/dev/null
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8082 --http10 >/dev/null
wait_port web 8080 && wait_port web 8081 && wait_port web 8082 || exit 1
# The app serves no /metrics: keep the agent's own scrapes of it out of the exact counts.
agent_start --pod "$(pod_name web)" --namespace shop --node node-1 || exit 1
IP=$(pod_ip web)

for i in $(seq 15); do curl -fsS -o /dev/null "http://$IP:8080/"; done
for id in 1 22 333 4444 55555; do curl -fsS -o /dev/null "http://$IP:8080/users/$id?x=1"; done
for i in 1 2 3; do curl -sS -o /dev/null "http://$IP:8080/status/404"; done
for i in 1 2; do curl -fsS -o /dev/null --data-binary "body $i" "http://$IP:8080/echo"; done
curl -fsS -o /dev/null -I "http://$IP:8080/head"
# An interim response and the final one in one segment: only the final one is the answer.
for i in 1 2; do curl -fsS -o "$T/hints.out" "http://$IP:8080/hints"; done
grep -q "hinted" "$T/hints.out" && ok "103 + 200 in one segment, body intact" || fail "103 + 200 body"
# HTTP/1.0: a status line "HTTP/1.0 200", no Content-Length, the body ends with the connection.
for i in $(seq 4); do curl -fsS --http1.0 -o "$T/h10.out" "http://$IP:8082/old/$i"; done
grep -q "hello /old/4" "$T/h10.out" && ok "HTTP/1.0 close-delimited body intact" || fail "HTTP/1.0 body"
# One keep-alive connection, routes changing from request to request (each connection caches
# its last route): a path that extends the cached one is another route.
curl -fsS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	"http://$IP:8080/k/alpha" "http://$IP:8080/k/beta" "http://$IP:8080/k/alpha" \
	"http://$IP:8080/k/alphabet" "http://$IP:8080/k/77" "http://$IP:8080/k/alpha"
wrk -t 2 -c 4 -d 2s "http://$IP:8081/nginx" > "$T/wrk.txt"
sleep 0.5

S=http_server_request_duration_seconds_count
expect_eq "GET / count" "$(metric_value $S 'http_route="/"' 'method="GET"' 'code="200"')" 15
expect_eq "GET /users/:id count" "$(metric_value $S 'http_route="/users/:id"' 'code="200"')" 5
expect_eq "404 count, numeric segment templated" "$(metric_value $S 'http_route="/status/:id"' 'code="404"')" 3
expect_eq "keep-alive: /k/alpha" "$(metric_value $S 'http_route="/k/alpha"')" 3
expect_eq "keep-alive: /k/beta" "$(metric_value $S 'http_route="/k/beta"')" 1
expect_eq "keep-alive: /k/alphabet" "$(metric_value $S 'http_route="/k/alphabet"')" 1
expect_eq "keep-alive: /k/:id" "$(metric_value $S 'http_route="/k/:id"')" 1
expect_eq "POST /echo count" "$(metric_value $S 'method="POST"' 'http_route="/echo"')" 2
expect_eq "HEAD count" "$(metric_value $S 'method="HEAD"')" 1
expect_eq "HTTP/1.0 count" "$(metric_value $S 'http_route="/old/:id"' 'code="200"')" 4
# OpenTelemetry semantic conventions: the request's own version, the scheme, error.type on 5xx only
expect_eq "HTTP/1.0 reported as 1.0" "$(metric_value $S 'http_route="/old/:id"' 'network_protocol_version="1.0"' 'url_scheme="http"')" 4
expect_eq "HTTP/1.1 reported as 1.1" "$(metric_value $S 'http_route="/"' 'network_protocol_version="1.1"' 'url_scheme="http"')" 15
expect_eq "no error_type on a server's 404" "$(metric_value $S 'error_type=')" 0
expect_eq "no server_address on server series" "$(metric_value $S 'server_address=')" 0
expect_eq "103 then 200: the 200 counted" "$(metric_value $S 'http_route="/hints"' 'code="200"')" 2
expect_eq "103 then 200: no 103 counted" "$(metric_value $S 'code="103"')" 0
want=$(grep -c . "$T/nginx-access.log")
expect_ge "wrk made requests" "$want" 100
expect_eq "nginx keep-alive count equals nginx's access log" "$(metric_value $S 'http_route="/nginx"' 'code="200"')" "$want"
expect_eq "pod labels" "$(metric_value $S "k8s_pod_name=\"$(pod_name web)\"" 'k8s_namespace_name="shop"' 'k8s_node_name="node-1"')" $((38 + want))
inf=$(metric_value http_server_request_duration_seconds_bucket 'le="+Inf"')
expect_eq "+Inf buckets equal counts" "$inf" $((38 + want))
# 32 one-shot connections to python (38 requests with the keep-alive one), at least 4 from wrk
# (it reconnects after an error).
expect_ge "inbound connections counted" "$(metric_value obsbpf_tcp_connections_opened_total 'direction="inbound"')" $((32 + 4))
expect_eq "no unmatched responses" "$(metric_value obsbpf_http_messages_unparsed_total 'unmatched_response')" 0
# No spans exported and no observer: the kernel sends only samples for exemplars (one per ms and
# CPU at most), not an event per request.
events=$(metric_value obsbpf_events_read_total)
expect_ge "events read (exemplar samples)" "$events" 1
# Fewer events than requests, by how much depends on the request rate (under qemu without KVM
# requests come ~2 ms apart, so about half are sampled).
[ "$events" -lt $(( (38 + want) * 9 / 10 )) ] && ok "events sampled under load ($events for $((38 + want)) requests)" \
	|| fail "events: $events for $((38 + want)) requests, want sampling"

metrics > "$T/metrics.txt"
if promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1; then
	ok "promtool check metrics"
else
	fail "promtool check metrics: $(cat "$T/promtool.txt")"
fi
grep -q '^# TYPE http_server_request_duration_seconds histogram' "$T/metrics.txt" \
	&& ok "histogram family declared" || fail "no histogram TYPE line"

expect_eq "/healthz" "$(curl -s -o /dev/null -w '%{http_code}' "http://$AGENT_ADDR/healthz")" 200
expect_eq "/readyz" "$(curl -s -o /dev/null -w '%{http_code}' "http://$AGENT_ADDR/readyz")" 200
curl -s "http://$AGENT_ADDR/readyz" | grep -q '"name":"datapath","ok":true' \
	&& ok "/readyz names the datapath check" || fail "/readyz body"
curl -s "http://$AGENT_ADDR/status" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["attached"] and "eth0" in d["pods"][0]["interfaces"]' \
	&& ok "/status is JSON listing the pod's interfaces" || fail "/status"

agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
