#!/usr/bin/env bash
# HTTP/1 edge cases on the pod's client connections: every request leaves with exactly one valid
# traceparent after its request line, or none where it cannot be proven safe, and every other
# byte the same. The peer (rawecho.py) answers each request with its bytes as they arrived;
# check_echo.py pairs them with what was sent: "inserted" (one traceparent added, nothing else
# changed), "unchanged", or "CHANGED" (never).
source "$(dirname "$0")/lib.sh"

pod_create cli
pod_create peer
pod_run peer "$PY" "$ROOT/tests/integration/apps/rawecho.py" --port 8080 >/dev/null
wait_port peer 8080 || exit 1
agent_start --pod "$(pod_name cli)" --app-metrics off || exit 1
PEER=$(pod_ip peer)
hex() { printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n'; }
hexfile() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# case NAME WANT STEP...: one connection; WANT is the classes of its requests, in order.
case_() {
	local name=$1 want=$2; shift 2
	pod_exec cli "$PY" "$ROOT/tests/integration/apps/scripted_client.py" "$PEER" 8080 \
		"$T/$name.sent" "$T/$name.recv" "$@" || { fail "$name: client failed"; return; }
	"$PY" "$ROOT/tests/integration/check_echo.py" "$T/$name.sent" "$T/$name.recv" > "$T/$name.check"
	# Runs of the same class as "N class": 1000 lines read as "1000 inserted".
	expect_eq "$name ($(tail -1 "$T/$name.check"))" "$(sed '$d' "$T/$name.check" | uniq -c | xargs)" "$want"
}
GET=$(hex 'GET /edge HTTP/1.1\r\nHost: peer\r\nX-End: 1\r\n\r\n')
END='expect:'$(hex 'X-End: 1\r\n\r\n') # after the point where a header is inserted
BAIT='GET / HTTP/1.1\r\nHost: bait\r\n\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n'

# Three pipelined requests in one write: each gets its own header.
case_ pipelined "3 inserted" "send:$GET$GET$GET" "sleep:0.5"

# A head written a byte at a time: that request passes untouched (never seen whole); the next
# one, written at once after the answer, is traced.
steps=(); for b in $(hex 'GET /split HTTP/1.1\r\nHost: peer\r\n\r\n' | fold -w2); do steps+=("send:$b"); done
case_ split "1 unchanged 1 inserted" "${steps[@]}" "expect:$(hex '/split')" "expect:$(hex 'Host: peer\r\n\r\n')" "sleep:0.2" "send:$GET" "$END" "sleep:0.2"

# A request that carries a valid traceparent: continued, never a second header.
case_ existing "1 unchanged" "send:$(hex 'GET /e HTTP/1.1\r\nHost: peer\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n')" "sleep:0.5"

# A 16 KiB head (beyond the scan budget): untouched; the next request is traced.
BIG=$(head -c 16384 /dev/zero | tr '\0' 'b')
case_ bighead "1 unchanged 1 inserted" "send:$(hex "GET /big HTTP/1.1\r\nHost: peer\r\nX-Big: $BIG\r\n\r\n")" \
	"expect:$(hex "$BIG"'\r\n\r\n')" "send:$GET" "$END" "sleep:0.2"

# A chunked body holding request-like text, in sends of its own: the head is traced, the body
# untouched; the request after it too.
case_ chunked "2 inserted" "send:$(hex 'POST /c HTTP/1.1\r\nHost: peer\r\nTransfer-Encoding: chunked\r\n\r\n')" \
	"sleep:0.1" "send:$(hex "$(printf '%x' "$(printf '%b' "$BAIT" | wc -c)")"'\r\n')$(hex "$BAIT")0d0a" "sleep:0.1" \
	"send:$(hex '0\r\n\r\n')" "expect:$(hex '0\r\n\r\n')" "send:$GET" "$END" "sleep:0.2"

# Expect: 100-continue with a 1 MiB body, sent after a delay, full of request-like text.
head -c 1048576 /dev/zero | tr '\0' 'x' > "$T/body"
for i in $(seq 0 4096 1040000); do printf "$BAIT" | dd of="$T/body" bs=1 seek=$i conv=notrunc status=none; done
head -c 524288 "$T/body" > "$T/body.a"; tail -c +524289 "$T/body" > "$T/body.b"
case_ expect100 "2 inserted" "send:$(hex 'POST /up HTTP/1.1\r\nHost: peer\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n')" \
	"sleep:0.3" "sendfile:$T/body.a" "sleep:0.1" "sendfile:$T/body.b" "expect:$(hex 'xxxxxxxx')" "sleep:0.5" "send:$GET" "$END" "sleep:0.2"

# 1000 requests on one keep-alive connection, each after the answer to the last.
case_ keepalive1000 "1000 inserted" "rr:1000:$GET:$(hex 'HTTP/1.1 200 OK')" "sleep:0.2"

# A 4 MiB POST whose body holds request lines and traceparents throughout.
{ printf 'POST /big4 HTTP/1.1\r\nHost: peer\r\nContent-Length: 4194304\r\n\r\n'; for i in 1 2 3 4; do cat "$T/body"; done; } > "$T/req4"
case_ post4mib "2 inserted" "sendfile:$T/req4" "sleep:1" "send:$GET" "$END" "sleep:0.2"

sleep 0.5
inserted=$(cat "$T"/*.check | grep -c '^inserted$')
expect_eq "obsbpf counted every header it inserted" \
	"$(metric_value obsbpf_trace_context_total 'outcome="injected"')" "$inserted"
expect_eq "no request changed beyond its inserted header" "$(cat "$T"/*.check | grep -c CHANGED)" 0
# Measured: every traced request, the one that came with its own context and the one whose head
# was too large to scan (its request line was); not the one never seen whole.
for i in $(seq 25); do # the last answers may still be on their way to the agent
	[ "$(metric_value http_client_request_duration_seconds_count)" -ge $((inserted + 2)) ] && break; sleep 0.2
done
# At least every traced one: a pipelined answer split across segments can go unmatched (counted).
expect_ge "requests measured (of $((inserted + 2)); unmatched answers: $(metric_value obsbpf_http_messages_unparsed_total 'reason="unmatched_response"'))" \
	"$(metric_value http_client_request_duration_seconds_count)" "$inserted"
expect_eq "no send found the stream elsewhere than the request it expected" \
	"$(metric_value obsbpf_http_messages_unparsed_total 'reason="desync"')" 0
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
