#!/usr/bin/env bash
# HTTP/2 over TLS (ALPN h2) through the OpenSSL uprobes: nginx (`ssl http2`, two workers) and
# nghttpd with a certificate made now serving; curl --http2, nghttp and h2load (many streams in
# flight on each connection) asking; the pod as server and as client (an agent on each). Exact
# counts per method, status and route under network_protocol_version="2" and url_scheme="https";
# a 300 kB body byte for byte; a server span continuing the client's traceparent, read from the
# HPACK block of the decrypted HEADERS; nothing left unparsed; promtool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/tls_lib.sh"

pod_create web
pod_create cli
WEB=$(pod_ip web)
tls_cert web "$WEB" || finish
mkdir -p "$T/www/users" "$T/www/static"
echo hello > "$T/www/index.html"
for id in 1 22 333; do echo "user $id" > "$T/www/users/$id"; done
head -c 300000 /dev/urandom > "$T/www/static/big.bin"
pod_run web nginx -c "$(nginx_tls_conf 8444 "$T/web.pem")" >/dev/null
pod_run web nghttpd -d "$T/www" 8446 "$T/web.key" "$T/web.crt" >/dev/null
wait_port web 8444 && wait_port web 8446 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1
agent_start --pod "$(pod_name web)" --namespace shop --node node-1 --app-metrics off \
	--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 --service-name web-svc || exit 1
agent_also 19303 --pod "$(pod_name cli)" --namespace shop --node node-1 --app-metrics off || exit 1
CLI_METRICS() { curl -fsS http://127.0.0.1:19303/metrics; }
wait_until 10 "[ \$(metric_value obsbpf_tls_libraries_probed) -ge 1 ]" || fail "no OpenSSL probed (server)"
wait_until 10 "[ \$(CLI_METRICS | awk '/^obsbpf_tls_libraries_probed/ { print \$NF }') -ge 1 ]" \
	|| fail "no OpenSSL probed (client)"
CURL="curl -sS --http2 --cacert $T/web.crt"

# nginx: h2 by ALPN, one connection per curl
for i in 1 2 3 4; do pod_exec cli $CURL -o /dev/null "https://$WEB:8444/"; done
for i in 1 2; do pod_exec cli $CURL -o /dev/null "https://$WEB:8444/missing/$i"; done
# nghttpd: curl, then three streams on one connection (curl reuses it), a big body
for id in 1 22 333; do pod_exec cli $CURL -o /dev/null "https://$WEB:8446/users/$id"; done
pod_exec cli $CURL -o /dev/null -o /dev/null -o /dev/null "https://$WEB:8446/index.html" \
	"https://$WEB:8446/index.html" "https://$WEB:8446/index.html"
pod_exec cli $CURL -o "$T/big.out" "https://$WEB:8446/static/big.bin"
cmp -s "$T/big.out" "$T/www/static/big.bin" && ok "300 kB over h2+TLS byte for byte" || fail "body altered"
# h2load over TLS: 2 connections, 10 streams in flight each
pod_exec cli h2load -n 200 -c 2 -m 10 "https://$WEB:8446/users/22" > "$T/h2load.txt" 2>&1
expect_eq "h2load: all 200 succeeded" "$(awk '/^requests:/ { print $8 }' "$T/h2load.txt")" 200
grep -q "Application protocol: h2" "$T/h2load.txt" && ok "h2load negotiated h2 over TLS" \
	|| fail "h2load: $(grep -i protocol "$T/h2load.txt")"
sleep 1

S=http_server_request_duration_seconds_count
H='url_scheme="https"'
V='network_protocol_version="2"'
expect_eq "server: nginx 200s" "$(metric_value $S "$H" "$V" 'http_route="/"' 'code="200"' 'method="GET"')" 4
expect_eq "server: nginx 404s" "$(metric_value $S "$H" "$V" 'http_route="/missing/:id"' 'code="404"')" 2
expect_eq "server: /users/:id (3 + h2load 200)" "$(metric_value $S "$H" "$V" 'http_route="/users/:id"' 'code="200"')" 203
expect_eq "server: three streams on one connection" "$(metric_value $S "$H" "$V" 'http_route="/index.html"')" 3
expect_eq "server: big body" "$(metric_value $S "$H" "$V" 'http_route="/static/big.bin"')" 1
expect_eq "server: every h2 request over TLS" "$(metric_value $S "$H" "$V")" 213
expect_eq "server: none without the scheme" "$(metric_value $S "$V")" 213
expect_eq "server: no TLS connection unparsed" "$(tls_unparsed)" 0
C=http_client_request_duration_seconds_count
cli_sum() { CLI_METRICS | awk -v s="$1" -v p="$2" '$1 ~ "^"s"{" && index($0, p) && index($0, "url_scheme=\"https\"") && index($0, "network_protocol_version=\"2\"") { n += $NF } END { print n + 0 }'; }
expect_eq "client: every h2 request over TLS" "$(cli_sum $C '')" 213
expect_eq "client: 404s" "$(cli_sum $C 'code="404"')" 2
expect_eq "client: no TLS connection unparsed" "$(CLI_METRICS | awk '/^obsbpf_connections_unparsed_total\{protocol="tls"/ { n += $NF } END { print n + 0 }')" 0
expect_ge "client: TLS connections parsed" "$(CLI_METRICS | awk '/^obsbpf_tls_events_read_total/ { print $NF }')" 20

# a traceparent in the (encrypted) HEADERS: the server span continues it
TID=4bf92f3577b34da6a3ce929d0e0e4736 PID=00f067aa0ba902b7
pod_exec cli $CURL -o /dev/null -H "traceparent: 00-$TID-$PID-01" "https://$WEB:8446/users/1"
has_spans() { [ "$(grep -c -- "$2" "$OUT" 2>/dev/null)" -ge "$1" ]; }
wait_for 15 has_spans 1 "$TID" || fail "no span continuing the traceparent"
r=$("$PY" - "$OUT" "$TID" "$PID" <<'PYEOF'
import json, sys
out, tid, pid = sys.argv[1:]
s = [json.loads(l) for l in open(out)]
s = [x for x in s if x["trace_id"] == tid]
bad = []
if len(s) != 1:
    bad.append("%d spans" % len(s))
else:
    a = s[0]["attributes"]
    want = {"url.scheme": "https", "network.protocol.version": "2", "http.request.method": "GET",
            "http.response.status_code": 200, "http.route": "/users/:id"}
    bad += ["%s=%r, want %r" % (k, a.get(k), v) for k, v in want.items() if a.get(k) != v]
    if s[0]["kind"] != 2 or s[0]["parent_span_id"] != pid:
        bad.append("kind %s parent %s" % (s[0]["kind"], s[0]["parent_span_id"]))
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "h2+TLS server span: continued, url.scheme https, version 2" "$r" ok

# kill -9: the uprobes go with the agent's file descriptors (bpf links); the other agent's stay
uprobes() { bpftool perf -j | "$PY" -c 'import json, sys; print(sum(1 for e in json.load(sys.stdin) if e.get("fd_type") in ("uprobe", "uretprobe") and e["pid"] == int(sys.argv[1])))' "$1"; }
CLI_PID=${EXTRA_AGENTS[19303]}
expect_ge "client agent's uprobes attached" "$(uprobes "$CLI_PID")" 5
kill -9 "$CLI_PID"
wait "$CLI_PID" 2>/dev/null
unset "EXTRA_AGENTS[19303]"
expect_eq "kill -9: no uprobe left of that agent" "$(uprobes "$CLI_PID")" 0
expect_ge "the server agent's uprobes still there" "$(uprobes "$AGENT_PID")" 5

metrics > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" \
	|| fail "promtool: $(cat "$T/promtool.txt")"
finish
