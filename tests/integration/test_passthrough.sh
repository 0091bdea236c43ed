#!/usr/bin/env bash
# Bytes pass through the kernel unchanged: a binary protocol and a TLS-looking stream in both
# roles, a 4 MiB HTTP POST echoed back, malformed HTTP and huge headers. Non-HTTP connections are
# counted as such.
source "$(dirname "$0")/lib.sh"

pod_create app
pod_create peer
pod_run app "$PY" "$ROOT/tests/integration/apps/echo.py" 7000 >/dev/null
pod_run app "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run peer "$PY" "$ROOT/tests/integration/apps/echo.py" 7001 >/dev/null
wait_port app 7000 && wait_port app 8080 && wait_port peer 7001 || exit 1
# The app serves no /metrics: keep the agent's own scrapes of it out of the exact counts.
agent_start --pod "$(pod_name app)" || exit 1
APP=$(pod_ip app)
PEER=$(pod_ip peer)
SEND="$PY $ROOT/tests/integration/apps/sendrecv.py"

head -c 1048576 /dev/urandom > "$T/random.bin"
{ printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'; head -c 65536 /dev/urandom; } > "$T/tls.bin"
printf 'GET\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n' > "$T/malformed.bin"
same() { # DESC FILE_SENT FILE_RECEIVED
	if cmp -s "$2" "$3"; then ok "$1: $(stat -c %s "$3") bytes identical"; else fail "$1: bytes differ"; fi
}

# The pod as a server of a binary protocol (tc sees it arrive, sk_msg sees the echo).
$SEND "$APP" 7000 "$T/random.bin" > "$T/out1"; same "binary, pod serving" "$T/random.bin" "$T/out1"
$SEND "$APP" 7000 "$T/tls.bin" > "$T/out2"; same "TLS record, pod serving" "$T/tls.bin" "$T/out2"
$SEND "$APP" 7000 "$T/malformed.bin" > "$T/out3"; same "malformed HTTP, pod serving" "$T/malformed.bin" "$T/out3"
# The pod as a client of a binary protocol (sk_msg sees it leave).
pod_exec app $SEND "$PEER" 7001 "$T/random.bin" > "$T/out4"; same "binary, pod as client" "$T/random.bin" "$T/out4"
pod_exec app $SEND "$PEER" 7001 "$T/tls.bin" > "$T/out5"; same "TLS record, pod as client" "$T/tls.bin" "$T/out5"
pod_exec app $SEND "$PEER" 7001 "$T/malformed.bin" > "$T/out6"; same "malformed HTTP, pod as client" "$T/malformed.bin" "$T/out6"
# A well-formed request, then garbage where the next request should start, in one send.
printf 'POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloNOT-A-REQUEST\r\n\r\n' > "$T/then-garbage.bin"
pod_exec app $SEND "$PEER" 7001 "$T/then-garbage.bin" > "$T/out7"
# The request got a traceparent after its request line (the peer is in --inject-to's default
# private ranges); every other byte, the garbage included, is unchanged.
TP_RE=$'^traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01\r$'
sed -n 2p "$T/out7" | grep -Eq "$TP_RE" && ok "traceparent injected after the request line" \
	|| fail "no traceparent on line 2: $(sed -n 2p "$T/out7" | od -c | head -2)"
sed 2d "$T/out7" > "$T/out7.stripped"
same "request then garbage, pod as client: all but the injected header" "$T/then-garbage.bin" "$T/out7.stripped"

# HTTP with a large body, both directions through the pod's server.
head -c 4194304 /dev/urandom > "$T/body.bin"
curl -fsS --data-binary @"$T/body.bin" -o "$T/echoed.bin" "http://$APP:8080/echo"
same "4 MiB POST echoed" "$T/body.bin" "$T/echoed.bin"
# Huge headers (48 KiB): passed through and still measured.
big=$(head -c 49152 /dev/zero | tr '\0' 'a')
code=$(curl -sS -o "$T/big.out" -w '%{http_code}' -H "X-Big: $big" "http://$APP:8080/big")
expect_eq "request with 48 KiB header answered" "$code" 200
grep -q "hello /big" "$T/big.out" && ok "its response body intact" || fail "response body"
sleep 0.5

expect_eq "garbage after a request counted as malformed" "$(metric_value obsbpf_http_messages_unparsed_total 'reason="malformed"')" 1
expect_eq "TLS connections counted" "$(metric_value obsbpf_connections_unparsed_total 'protocol="tls"')" 2
expect_eq "other non-HTTP connections counted (binary, malformed)" "$(metric_value obsbpf_connections_unparsed_total 'protocol="other"')" 4
expect_eq "POST measured" "$(metric_value http_server_request_duration_seconds_count 'http_route="/echo"')" 1
expect_eq "huge-header request measured" "$(metric_value http_server_request_duration_seconds_count 'http_route="/big"')" 1
expect_eq "nothing else mistaken for HTTP" "$(metric_value http_server_request_duration_seconds_count)" 2
# The request sent before garbage got its bytes echoed, no HTTP response: at the pod's close it
# is counted once, as a request with no response (the pod gave up: timeout); nothing else the
# pod sent looked like HTTP.
expect_eq "no client HTTP seen in binary traffic" "$(metric_value http_client_request_duration_seconds_count)" 1
expect_eq "the request answered with garbage: no status, error_type timeout" \
	"$(metric_value http_client_request_duration_seconds_count 'http_request_method="POST",http_route="/ok",error_type="timeout"')" 1
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
