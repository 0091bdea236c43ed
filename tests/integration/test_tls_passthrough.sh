#!/usr/bin/env bash
# TLS that starts inside a plaintext HTTP/1.1 connection, with the client pod's agent injecting
# trace headers (sk_msg on the client's sends): an RFC 2817 Upgrade to TLS (101), STARTTLS-style
# (a plain request and its 200, then the handshake), and a ClientHello in the same send as the
# plain request (a TLS record starting mid-message). No byte of ciphertext may change: every
# handshake completes and the server receives inside TLS exactly what the client sent (python's
# ssl on both ends; a changed record would fail its MAC). The plain request may get its one
# traceparent, nothing else. Also: the server agent measures the HTTPS exchanges of the same
# connections at the library, and nothing counted twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"

pod_create web
pod_create cli
WEB=$(pod_ip web)
tls_cert web "$WEB" || finish
pod_run web "$PY" "$ROOT/tests/integration/apps/starttls.py" server --port 8090 --cert "$T/web.pem" \
	--out "$T/server.jsonl" >/dev/null
wait_port web 8090 || exit 1
agent_start --pod "$(pod_name cli)" --propagation w3c --inject-to "$SUBNET.0/24" --app-metrics off || exit 1
agent_also 19304 --pod "$(pod_name web)" --app-metrics off || exit 1
SRV_METRICS() { curl -fsS http://127.0.0.1:19304/metrics; }
wait_until 10 "[ \$(SRV_METRICS | awk '/^obsbpf_tls_libraries_probed/ { print \$NF }') -ge 1 ]" \
	|| fail "no OpenSSL probed (server)"

for c in upgrade starttls midmessage upgrade starttls midmessage; do
	pod_exec cli "$PY" "$ROOT/tests/integration/apps/starttls.py" client --host "$WEB" --port 8090 \
		--ca "$T/web.crt" --case "$c" --out "$T/client.jsonl" || fail "client $c failed"
done
sleep 0.5
r=$("$PY" - "$T/client.jsonl" "$T/server.jsonl" <<'PYEOF'
import json, sys
cl = [json.loads(l) for l in open(sys.argv[1])]
sv = [json.loads(l) for l in open(sys.argv[2])]
bad = []
if len(cl) != 6 or len(sv) != 6:
    bad.append("%d client, %d server records" % (len(cl), len(sv)))
for c in cl:
    if c["digests"] != c["want"]:
        bad.append("%s: the server got other bytes inside TLS" % c["case"])
sent = {c["sent"] for c in cl}
for s in sv:
    if "error" in s:
        bad.append("server: %s" % s["error"])
        continue
    if s["inner"] not in sent:
        bad.append("server received other bytes inside TLS")
    lines = s["plain_head"].split("\r\n")
    extra = [l for l in lines[1:] if l and not l.lower().startswith(("host:", "upgrade:", "connection:"))]
    if any(not l.lower().startswith("traceparent:") for l in extra) or len(extra) > 1:
        bad.append("plain head changed beyond one traceparent: %r" % s["plain_head"])
print("; ".join(bad) or "ok")
PYEOF
)
expect_eq "6 connections: every handshake completed, every byte inside TLS as sent" "$r" ok
expect_eq "the plain requests got their traceparent" "$(grep -c '"plain_head": "[^"]*traceparent: 00-' "$T/server.jsonl")" 6
expect_eq "nothing inserted after the plain request" "$(metric_value obsbpf_trace_context_total 'outcome="injected"')" 6
# the server's agent: the plain requests on tc, the ones inside TLS at the library
S=http_server_request_duration_seconds_count
srv() { SRV_METRICS | awk -v s="$S" -v p="$1" '$1 ~ "^"s"{" && index($0, p) { n += $NF } END { print n + 0 }'; }
expect_eq "server: the requests inside TLS, measured at the library" "$(srv 'url_scheme="https"')" 18
expect_eq "server: /inner/:id, the POST once each (its body no request)" "$(srv 'http_route="/inner/:id"')" 18
expect_eq "server: the smuggled-looking body counted nowhere" "$(srv 'http_route="/smuggled"')" 0
finish
