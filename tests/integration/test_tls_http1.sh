#!/usr/bin/env bash
# HTTPS through OpenSSL uprobes: python's ssl + http.server and nginx with `ssl` (a certificate
# made now with the openssl CLI) serving, curl and python's http.client asking; the pod as
# server and as client (an agent on each). Exact counts per method, status and route under
# url_scheme="https"; bodies byte for byte; spans (from the real OTLP decoder) with url.scheme
# https, continuing an incoming traceparent; in-process propagation from an HTTPS request to
# the plaintext request its thread sends; a GnuTLS client (wget) named as "TLS not visible".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/tls_lib.sh"

pod_create web
pod_create cli
WEB=$(pod_ip web)
tls_cert web "$WEB" || finish
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8443 --cert "$T/web.pem" >/dev/null
pod_run web nginx -c "$(nginx_tls_conf 8444 "$T/web.pem")" >/dev/null
pod_run web "$PY" "$ROOT/tests/integration/apps/relay.py" --port 8445 --cert "$T/web.pem" >/dev/null
pod_run web "$PY" "$ROOT/tests/integration/apps/relay.py" --port 8080 >/dev/null
wait_port web 8443 && wait_port web 8444 && wait_port web 8445 && wait_port web 8080 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1
agent_start --pod "$(pod_name web)" --namespace shop --node node-1 --app-metrics off \
	--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 --service-name web-svc || exit 1
agent_also 19302 --pod "$(pod_name cli)" --namespace shop --node node-1 --app-metrics off || exit 1
CLI_METRICS() { curl -fsS http://127.0.0.1:19302/metrics; }
# Libraries are found by the agent's scan of the pods' processes (each second).
wait_until 10 "[ \$(metric_value obsbpf_tls_libraries_probed) -ge 1 ]" || fail "no OpenSSL probed"
CURL="curl -sS --cacert $T/web.crt"

# python's ssl serving; curl asking, one connection each
for i in 1 2 3; do pod_exec cli $CURL -o /dev/null "https://$WEB:8443/users/$i"; done
for i in 1 2; do pod_exec cli $CURL -o /dev/null "https://$WEB:8443/status/503"; done
pod_exec cli $CURL -o /dev/null "https://$WEB:8443/status/404"
pod_exec cli $CURL -o /dev/null -I "https://$WEB:8443/users/9"
# three requests on one kept-alive connection
pod_exec cli $CURL -o /dev/null -o /dev/null -o /dev/null "https://$WEB:8443/items/1" "https://$WEB:8443/items/2" "https://$WEB:8443/items/3"
# 300 kB each way: the bodies pass byte for byte (TLS would also refuse a changed record)
head -c 300000 /dev/urandom > "$T/body.bin"
pod_exec cli $CURL -o "$T/echo.out" --data-binary "@$T/body.bin" "https://$WEB:8443/echo"
cmp -s "$T/echo.out" "$T/body.bin" && ok "300 kB echoed byte for byte over TLS" || fail "echo body altered"
# python's http.client over ssl: five requests on one connection, the pod as client
pod_exec cli "$PY" - "$WEB" "$T/web.crt" <<'PYEOF' || fail "python https client"
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection(sys.argv[1], 8443, context=ctx)
for i in range(5):
    c.request("GET", "/py/%d" % i)
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"hello /py/%d\n" % i
PYEOF
# nginx (two workers) serving with ssl, HTTP/1.1
for i in 1 2 3 4; do pod_exec cli $CURL --http1.1 -o /dev/null "https://$WEB:8444/"; done
for i in 1 2; do pod_exec cli $CURL --http1.1 -o /dev/null "https://$WEB:8444/missing/$i"; done
sleep 1

S=http_server_request_duration_seconds_count
H='url_scheme="https"'
V='network_protocol_version="1.1"'
expect_eq "server: GET /users/:id 200" "$(metric_value $S "$H" "$V" 'http_route="/users/:id"' 'code="200"' 'method="GET"')" 3
expect_eq "server: HEAD /users/:id" "$(metric_value $S "$H" 'http_route="/users/:id"' 'method="HEAD"')" 1
expect_eq "server: 503s" "$(metric_value $S "$H" 'http_route="/status/:id"' 'code="503"')" 2
expect_eq "server: 404 (python)" "$(metric_value $S "$H" 'http_route="/status/:id"' 'code="404"')" 1
expect_eq "server: keep-alive requests" "$(metric_value $S "$H" 'http_route="/items/:id"')" 3
expect_eq "server: POST /echo" "$(metric_value $S "$H" 'http_route="/echo"' 'method="POST"' 'code="200"')" 1
expect_eq "server: python client's five" "$(metric_value $S "$H" 'http_route="/py/:id"')" 5
expect_eq "server: nginx 200s" "$(metric_value $S "$H" 'http_route="/"' 'code="200"')" 4
expect_eq "server: nginx 404s" "$(metric_value $S "$H" 'http_route="/missing/:id"' 'code="404"')" 2
expect_eq "server: every HTTPS request" "$(metric_value $S "$H")" 22
expect_eq "server: no TLS connection unparsed" "$(tls_unparsed)" 0
C=http_client_request_duration_seconds_count
cli_sum() { CLI_METRICS | awk -v s="$1" -v p="$2" '$1 ~ "^"s"{" && index($0, p) && index($0, "url_scheme=\"https\"") { n += $NF } END { print n + 0 }'; }
expect_eq "client: every HTTPS request" "$(cli_sum $C '')" 22
expect_eq "client: 503s" "$(cli_sum $C 'code="503"')" 2
expect_eq "client: POST" "$(cli_sum $C 'method="POST"')" 1
expect_eq "client: no TLS connection unparsed" "$(CLI_METRICS | awk '/^obsbpf_connections_unparsed_total\{protocol="tls"/ { n += $NF } END { print n + 0 }')" 0
expect_eq "client: the TLS requests got no injected header" "$(CLI_METRICS | awk '/^obsbpf_trace_inject_skipped_total\{reason="tls"/ { n += $NF } END { print n + 0 }')" 22

# spans: an incoming traceparent continued; the span says https
TID=4bf92f3577b34da6a3ce929d0e0e4736 PID=00f067aa0ba902b7
pod_exec cli $CURL -o /dev/null -H "traceparent: 00-$TID-$PID-01" "https://$WEB:8443/continued/1"
has_spans() { [ "$(grep -c -- "$2" "$OUT" 2>/dev/null)" -ge "$1" ]; }
wait_for 15 has_spans 1 '"/continued/:id"' || fail "no span for the HTTPS request"
r=$("$PY" - "$OUT" "$TID" "$PID" "$WEB" <<'PYEOF'
import json, sys
out, tid, pid, web = sys.argv[1:]
spans = [json.loads(l) for l in open(out)]
s = [s for s in spans if s["attributes"].get("http.route") == "/continued/:id"]
bad = []
if len(s) != 1:
    bad.append("%d spans" % len(s))
else:
    s = s[0]
    a = s["attributes"]
    want = {"url.scheme": "https", "network.protocol.version": "1.1", "http.request.method": "GET",
            "http.response.status_code": 200, "server.address": web, "server.port": 8443}
    for k, v in want.items():
        if a.get(k) != v:
            bad.append("%s=%r, want %r" % (k, a.get(k), v))
    if s["kind"] != 2 or s["trace_id"] != tid or s["parent_span_id"] != pid:
        bad.append("kind %s trace %s parent %s" % (s["kind"], s["trace_id"], s["parent_span_id"]))
    if s["resource"].get("k8s.namespace.name") != "shop":
        bad.append("resource %r" % s["resource"])
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "HTTPS server span: continued, url.scheme https, attributes" "$r" ok

# in-process: the thread serving an HTTPS request sends a plaintext one, which the kernel gives
# the HTTPS request's trace (it cannot write into TLS, but it can into cleartext)
pod_exec cli $CURL -o "$T/relay.json" -H "traceparent: 00-$TID-$PID-01" "https://$WEB:8445/relay?to=http://127.0.0.1:8080/headers"
r=$("$PY" - "$T/relay.json" "$TID" "$PID" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
tp = d["downstream"]["received"].get("traceparent", [""])[0].split("-")
ok = len(tp) == 4 and tp[1] == sys.argv[2] and tp[2] != sys.argv[3]
print("ok" if ok else "downstream saw %r" % d["downstream"]["received"].get("traceparent"))
PYEOF
)
expect_eq "HTTPS request's trace continued into the plaintext request its thread sent" "$r" ok

# a client whose TLS is not OpenSSL (wget: GnuTLS), slowed so that it lives a few scans
head -c 120000 /dev/urandom > "$T/slow.bin"
pod_run web sh -c "cd '$T' && exec openssl s_server -quiet -accept 8447 -cert '$T/web.pem' -naccept 1 -WWW" >/dev/null 2>&1
wait_port web 8447
pod_exec cli wget -q --limit-rate=10k --ca-certificate="$T/web.crt" -O "$T/slow.out" "https://$WEB:8447/slow.bin" &
WGET=$!
BG_PIDS+=($WGET)
wait_until 15 "[ \$(CLI_METRICS | awk '/^obsbpf_tls_processes_not_visible/ { print \$NF }') -ge 1 ]" \
	&& ok "GnuTLS client counted as not visible" || fail "GnuTLS client not reported"
grep -q "(wget) moves TLS bytes without calling a probed OpenSSL" "$T/agent-19302.log" \
	&& ok "named in the log" || fail "not in the log: $(grep -h tls "$T/agent-19302.log" | tail -3)"
not_visible() { "$OBSBPF" status --control-socket "$T/agent-19302.sock" --json 2>>"$T/status.err" | json 'print([p["comm"] for p in d["tls"]["not_visible"]])'; }
wait_until 10 '[ "$(not_visible)" = "['"'"'wget'"'"']" ]'
expect_eq "named in /status" "$(not_visible)" "['wget']"
wait "$WGET"
cmp -s "$T/slow.out" "$T/slow.bin" && ok "wget's download intact" || fail "wget's download altered"

metrics > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" \
	|| fail "promtool: $(cat "$T/promtool.txt")"
finish
