#!/usr/bin/env bash
# Where a connection stops being HTTP/1 request/response, or sk_msg cannot prove a send starts a
# request it parsed whole, no byte is inserted or changed: a CONNECT tunnel after its 200, a
# WebSocket after 101, a Redis inline command ("GET key" without a version), a head beyond the
# scan budget whose body arrives later holding request-like text. A connection whose first write
# is one byte is still measured and traced from its next request. Each case compares what one
# side sent with what the other received.
source "$(dirname "$0")/lib.sh"

pod_create cli
pod_create peer
pod_run peer "$PY" "$ROOT/tests/integration/apps/tunnel_peer.py" 7100 "$T/tunnel.in" connect >/dev/null
pod_run peer "$PY" "$ROOT/tests/integration/apps/tunnel_peer.py" 7101 "$T/ws.in" upgrade >/dev/null
pod_run peer "$PY" "$ROOT/tests/integration/apps/echo.py" 7001 >/dev/null
pod_run peer "$PY" "$ROOT/tests/integration/apps/rawecho.py" --port 8080 >/dev/null
wait_port peer 7100 && wait_port peer 7101 && wait_port peer 7001 && wait_port peer 8080 || exit 1
agent_start --pod "$(pod_name cli)" --app-metrics off || exit 1
PEER=$(pod_ip peer)
run() { pod_exec cli "$PY" "$ROOT/tests/integration/apps/scripted_client.py" "$@"; }
hex() { printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n'; }
TP='traceparent: 00-'
# Request-like and trace-header-like text, as the payload of a tunnel or a body may hold.
BAIT=$(hex 'GET / HTTP/1.1\r\nHost: inner\r\n\r\nPOST /p HTTP/1.1\r\ntraceparent: x\r\nContent-Length: 0\r\n\r\n')
TLS=$(hex '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n')

# 1. CONNECT: the proxy's 200, then the tunnel: nothing in it is touched.
CONNECT=$(hex 'CONNECT db.example:443 HTTP/1.1\r\nHost: db.example:443\r\n\r\n')
run "$PEER" 7100 "$T/c.sent" "$T/c.recv" "send:$CONNECT" "expect:$(hex '200 Connection')" \
	"send:$BAIT" "send:$TLS" "sleep:0.2" "send:$BAIT" "expect:$(hex 'Content-Length: 0\r\n\r\n')" "sleep:0.3" || fail "CONNECT client"
tail -c +$(( ${#CONNECT} / 2 + 1 )) "$T/c.sent" > "$T/c.tunnel-sent"
cmp -s "$T/c.tunnel-sent" "$T/tunnel.in" && ok "CONNECT tunnel: $(stat -c %s "$T/tunnel.in") bytes arrived as sent" \
	|| fail "CONNECT tunnel: bytes differ ($(grep -c "$TP" "$T/tunnel.in") traceparent lines inside)"

# 2. WebSocket: 101, then frames with request-like text: untouched.
UPG=$(hex 'GET /ws HTTP/1.1\r\nHost: peer\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
run "$PEER" 7101 "$T/w.sent" "$T/w.recv" "send:$UPG" "expect:$(hex '101 Switching')" \
	"send:8180$BAIT" "sleep:0.2" "send:$BAIT" "expect:$(hex 'Content-Length: 0\r\n\r\n')" "sleep:0.3" || fail "WebSocket client"
tail -c +$(( ${#UPG} / 2 + 1 )) "$T/w.sent" > "$T/w.frames-sent"
cmp -s "$T/w.frames-sent" "$T/ws.in" && ok "WebSocket after 101: $(stat -c %s "$T/ws.in") bytes arrived as sent" \
	|| fail "WebSocket after 101: bytes differ"

# 3. Redis inline commands: "GET key" has no HTTP version: not a request, nothing inserted.
run "$PEER" 7001 "$T/r.sent" "$T/r.recv" "send:$(hex 'GET key:1\r\n\r\n')" "expect:$(hex 'key:1')" \
	"send:$(hex 'SET key:1 v\r\nGET key:1\r\n')" "expect:$(hex 'v\r\nGET key:1\r\n')" "sleep:0.3" || fail "Redis client"
cmp -s "$T/r.sent" "$T/r.recv" && ok "Redis inline GET: echoed as sent, no header" || fail "Redis inline GET: bytes differ"

# 4. A 20 KiB head (beyond the scan budget), its body sent 300 ms later holding a request.
BODY=$(hex 'GET / HTTP/1.1\r\nHost: smuggled\r\n\r\n')
BIG=$(head -c 20480 /dev/zero | tr '\0' 'a')
HEAD=$(hex "POST /upload HTTP/1.1\r\nHost: peer\r\nX-Big: $BIG\r\nContent-Length: $(( ${#BODY} / 2 ))\r\n\r\n")
run "$PEER" 7001 "$T/b.sent" "$T/b.recv" "send:$HEAD" "sleep:0.3" "send:$BODY" "expect:$(hex 'smuggled\r\n\r\n')" || fail "big-head client"
cmp -s "$T/b.sent" "$T/b.recv" && ok "20 KiB head, body with a request in a later send: all $(stat -c %s "$T/b.recv") bytes as sent" \
	|| fail "20 KiB head: bytes differ ($(grep -c "$TP" "$T/b.recv") traceparent lines)"

# 5. First write one byte: that request passes untouched, the next one is measured and traced.
REQ_B=$(hex 'GET /second HTTP/1.1\r\nHost: peer\r\n\r\n')
run "$PEER" 8080 "$T/o.sent" "$T/o.recv" "send:47" "sleep:0.2" "send:$(hex 'ET /first HTTP/1.1\r\nHost: peer\r\n\r\n')" \
	"expect:$(hex 'Host: peer\r\n\r\n')" "sleep:0.1" "send:$REQ_B" "expect:$(hex 'GET /second')" "expect:$(hex 'Host: peer\r\n\r\n')" "sleep:0.3" \
	|| fail "one-byte client"
# rawecho answers each request with its bytes as they arrived: the first exactly, the second
# with one traceparent after its request line.
"$PY" - "$T/o.recv" <<'P' > "$T/o.check"
import re, sys
data = open(sys.argv[1], "rb").read()
bodies = []
while data:
    head, _, data = data.partition(b"\r\n\r\n")
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    bodies.append(data[:n]); data = data[n:]
first, second = bodies
print("first_exact" if first == b"GET /first HTTP/1.1\r\nHost: peer\r\n\r\n" else "first_changed")
lines = second.split(b"\r\n")
tp = [l for l in lines if l.startswith(b"traceparent: ")]
rest = [l for l in lines if not l.startswith(b"traceparent: ")]
ok = len(tp) == 1 and lines[1] == tp[0] and b"\r\n".join(rest) == b"GET /second HTTP/1.1\r\nHost: peer\r\n\r\n"
print("second_one_header" if ok else "second_wrong")
P
expect_eq "one-byte first write: that request passed unchanged" "$(sed -n 1p "$T/o.check")" first_exact
expect_eq "the next request on it: one traceparent, every other byte the same" "$(sed -n 2p "$T/o.check")" second_one_header
sleep 0.5
C=http_client_request_duration_seconds_count
expect_eq "the next request measured" "$(metric_value $C 'http_route="/second"')" 1
expect_eq "the fragment's request not measured" "$(metric_value $C 'http_route="/first"')" 0
expect_eq "tunnel and WebSocket counted as upgraded connections" \
	"$(metric_value obsbpf_connections_unparsed_total 'protocol="upgraded"')" 2
expect_eq "Redis counted as a non-HTTP connection" "$(metric_value obsbpf_connections_unparsed_total 'protocol="other"')" 1
# sk_msg has no use for them any more: out of the sockhash, away from tcp_bpf's EAGAIN bug.
expect_eq "tunnel and WebSocket left the sockhash as upgraded" \
	"$(metric_value obsbpf_connections_released_total 'reason="upgraded"')" 2
expect_eq "Redis as another protocol" "$(metric_value obsbpf_connections_released_total 'reason="other"')" 1
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
