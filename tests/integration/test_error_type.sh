#!/usr/bin/env bash
# Requests that never got a response (issue 19): an agent on each of two pods, curl in the
# client pod, apps/noanswer.py in the server pod, spans into one real OTLP receiver. When the
# connection closes with a request unanswered, both sides count it, with no
# http_response_status_code and error_type named from that pod's side of the connection:
#   curl gives up (--max-time)       client: timeout           server: connection_closed
#   the server resets (SO_LINGER 0)  client: connection_reset  server: timeout
#   the server closes, no answer     client: connection_closed server: timeout
# Answered requests are counted as before, and a keep-alive connection closed with nothing
# pending adds nothing; HTTP/2 requests left open by curl's timeout the same way as HTTP/1.
# Spans: ERROR, error.type, no http.response.status_code. gRPC calls the close cuts short get
# the status gRPC's libraries give them, the same on both ends: CANCELLED (1) when the client
# ended the connection, UNAVAILABLE (14) when the server did.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"

pod_create srv
pod_create cli
SRV=$(pod_ip srv)
pod_run srv "$PY" "$ROOT/tests/integration/apps/noanswer.py" --port 8080 --h2-close-port 8081 >/dev/null
wait_port srv 8080 && wait_port srv 8081 || exit 1
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1

agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name client-svc || exit 1
# The server pod's agent: its own address on this run's bridge, the same port.
agent2_start srv --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc --otlp-flush-ms 100 \
	--service-name server-svc || finish

N_OK=6 N_HANG=3 N_RESET=4 N_CLOSE=5
# the requests on two keep-alive connections below: answered, and left hanging
KA_OK=4 KA_HANG=1
# Answered: one-shot, then keep-alive on one connection (closed with nothing pending).
for i in $(seq $N_OK); do pod_exec cli curl -fsS -o /dev/null "http://$SRV:8080/ok/$i"; done
pod_exec cli curl -fsS -o /dev/null -o /dev/null -o /dev/null "http://$SRV:8080/ok/11" \
	"http://$SRV:8080/ok/12" "http://$SRV:8080/ok/13"
# One keep-alive connection: an answered request, then one left hanging (curl's --max-time is
# per transfer): the answered one is counted once, as answered.
pod_exec cli curl -sS -o /dev/null -o /dev/null --max-time 1 "http://$SRV:8080/ok/21" \
	"http://$SRV:8080/hang/22" 2>/dev/null
rc_of() { local rc=0; pod_exec cli curl -sS -o /dev/null "$@" 2>/dev/null || rc=$?; echo $rc; }
rcs=
for i in $(seq $N_HANG); do rcs+=" $(rc_of --max-time 1 "http://$SRV:8080/hang/$i")"; done
expect_eq "curl timed out (28) on every /hang" "$rcs" "$(printf ' 28%.0s' $(seq $N_HANG))"
rcs=
for i in $(seq $N_RESET); do rcs+=" $(rc_of "http://$SRV:8080/reset/$i")"; done
expect_eq "curl saw a reset (56) on every /reset" "$rcs" "$(printf ' 56%.0s' $(seq $N_RESET))"
rcs=
for i in $(seq $N_CLOSE); do rcs+=" $(rc_of "http://$SRV:8080/close/$i")"; done
expect_eq "curl got an empty reply (52) on every /close" "$rcs" "$(printf ' 52%.0s' $(seq $N_CLOSE))"

# HTTP/2 with prior knowledge: a request the server never answers, curl gives up.
N_H2=2
rcs=
for i in $(seq $N_H2); do rcs+=" $(rc_of --http2-prior-knowledge --max-time 1 "http://$SRV:8080/h2/$i")"; done
expect_eq "curl timed out (28) on every HTTP/2 request" "$rcs" "$(printf ' 28%.0s' $(seq $N_H2))"

# gRPC calls (an empty message) that never got their trailers: curl gives up on port 8080; the
# server closes under the call on port 8081.
printf '\0\0\0\0\0' > "$T/grpc.bin"
GRPC=(--http2-prior-knowledge -X POST -H 'content-type: application/grpc' -H 'te: trailers'
	--data-binary @"$T/grpc.bin")
N_GRPC_HANG=2 N_GRPC_GONE=2
rcs=
for i in $(seq $N_GRPC_HANG); do rcs+=" $(rc_of "${GRPC[@]}" --max-time 1 "http://$SRV:8080/demo.Echo/Hang")"; done
expect_eq "curl timed out (28) on every gRPC call left open" "$rcs" "$(printf ' 28%.0s' $(seq $N_GRPC_HANG))"
rcs=
for i in $(seq $N_GRPC_GONE); do rcs+=" $(rc_of "${GRPC[@]}" --max-time 10 "http://$SRV:8081/demo.Echo/Gone")"; done
echo "  (curl's exit codes on the gRPC calls whose server went away:$rcs)"

C=http_client_request_duration_seconds_count
S=http_server_request_duration_seconds_count
RC=rpc_client_duration_seconds_count
RS=rpc_server_duration_seconds_count
# Every connection ended: a FIN_WAIT2 socket reaches CLOSE when its peer's FIN arrives.
all_closed() {
	[ "$(metric_value $C)" -ge $((N_OK + KA_OK + N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2)) ] &&
		[ "$(AGENT_ADDR=$AGENT2 metric_value $S)" -ge $((N_OK + KA_OK + N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2)) ] &&
		[ "$(metric_value $RC)" -ge $((N_GRPC_HANG + N_GRPC_GONE)) ] &&
		[ "$(AGENT_ADDR=$AGENT2 metric_value $RS)" -ge $((N_GRPC_HANG + N_GRPC_GONE)) ]
}
wait_until 15 all_closed || fail "not every request counted in time"
metrics > "$T/cli.txt"
AGENT_ADDR=$AGENT2 metrics > "$T/srv.txt"

# Each side: the answered requests as before, and no status label on any other series.
for f in cli srv; do
	fam=$C; [ $f = srv ] && fam=$S
	expect_eq "$f: answered requests, 200" "$(file_metric "$T/$f.txt" $fam 'http_route="/ok/:id"' 'code="200"')" $((N_OK + KA_OK))
	expect_eq "$f: no error_type on answered requests" "$(file_metric "$T/$f.txt" $fam 'http_route="/ok/:id"' 'error_type=')" 0
	expect_eq "$f: no status label without a response" \
		"$(grep "^$fam" "$T/$f.txt" | grep -v 'http_route="/ok/:id"' | grep -c 'http_response_status_code')" 0
done
expect_eq "cli: /hang timeout" "$(file_metric "$T/cli.txt" $C 'http_route="/hang/:id"' 'error_type="timeout"')" $((N_HANG + KA_HANG))
expect_eq "cli: /reset connection_reset" "$(file_metric "$T/cli.txt" $C 'http_route="/reset/:id"' 'error_type="connection_reset"')" $N_RESET
expect_eq "cli: /close connection_closed" "$(file_metric "$T/cli.txt" $C 'http_route="/close/:id"' 'error_type="connection_closed"')" $N_CLOSE
expect_eq "cli: client series of the server" "$(file_metric "$T/cli.txt" $C "server_address=\"$SRV\"" 'server_port="8080"' 'error_type=')" $((N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
expect_eq "srv: /hang connection_closed (the client went away)" "$(file_metric "$T/srv.txt" $S 'http_route="/hang/:id"' 'error_type="connection_closed"')" $((N_HANG + KA_HANG))
expect_eq "srv: /reset timeout (the server ended it)" "$(file_metric "$T/srv.txt" $S 'http_route="/reset/:id"' 'error_type="timeout"')" $N_RESET
expect_eq "srv: /close timeout (the server ended it)" "$(file_metric "$T/srv.txt" $S 'http_route="/close/:id"' 'error_type="timeout"')" $N_CLOSE
expect_eq "cli: HTTP/2 timeout" "$(file_metric "$T/cli.txt" $C 'http_route="/h2/:id"' 'error_type="timeout"' 'network_protocol_version="2"')" $N_H2
expect_eq "srv: HTTP/2 connection_closed" "$(file_metric "$T/srv.txt" $S 'http_route="/h2/:id"' 'error_type="connection_closed"' 'network_protocol_version="2"')" $N_H2
expect_eq "cli: nothing else" "$(file_metric "$T/cli.txt" $C)" $((N_OK + KA_OK + N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
expect_eq "srv: nothing else" "$(file_metric "$T/srv.txt" $S)" $((N_OK + KA_OK + N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
for f in cli srv; do
	fam=$RC; [ $f = srv ] && fam=$RS
	expect_eq "$f: gRPC calls the client gave up, CANCELLED" \
		"$(file_metric "$T/$f.txt" $fam 'rpc_service="demo.Echo"' 'rpc_method="Hang"' 'rpc_grpc_status_code="1"')" $N_GRPC_HANG
	expect_eq "$f: gRPC calls whose server went away, UNAVAILABLE" \
		"$(file_metric "$T/$f.txt" $fam 'rpc_service="demo.Echo"' 'rpc_method="Gone"' 'rpc_grpc_status_code="14"')" $N_GRPC_GONE
	expect_eq "$f: no other gRPC call" "$(file_metric "$T/$f.txt" $fam)" $((N_GRPC_HANG + N_GRPC_GONE))
done
expect_eq "HTTP/2 streams (and gRPC calls) no longer counted unfinished" \
	"$(file_metric "$T/cli.txt" obsbpf_h2_streams_unmeasured_total) $(file_metric "$T/srv.txt" obsbpf_h2_streams_unmeasured_total)" "0 0"
# Timed to the close: curl gave up after 1 s, so each /hang lasted 1 s or a little more.
sum=$(awk '/^http_client_request_duration_seconds_sum.*"\/hang\/:id"/ { print $NF }' "$T/cli.txt")
"$PY" -c "import sys; s=float(sys.argv[1]); sys.exit(0 if $((N_HANG + KA_HANG)) * 0.9 <= s <= $((N_HANG + KA_HANG)) * 2.5 else 1)" "${sum:-0}" &&
	ok "cli: /hang timed to the close ($sum s for $((N_HANG + KA_HANG)))" || fail "cli: /hang duration sum $sum s for $((N_HANG + KA_HANG))"
promtool check metrics < "$T/cli.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" ||
	fail "promtool: $(cat "$T/promtool.txt")"

# Spans, as the receiver decoded them: KIND ROUTE_PREFIX ERROR_TYPE COUNT.
has_spans() { [ "$(grep -c '"error.type"' "$OUT" 2>/dev/null)" -ge "$1" ]; }
# (a server's CANCELLED is no error: no error.type on it)
wait_for 15 has_spans $((2 * (N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2 + N_GRPC_GONE) + N_GRPC_HANG)) ||
	fail "not every no-response span arrived"
spans() { "$PY" "$ROOT/tests/integration/check_noresponse_spans.py" "$OUT" "$@"; }
SRV_KIND=2 CLI_KIND=3
expect_eq "client spans /hang: timeout, ERROR, no status" "$(spans $CLI_KIND /hang/ timeout)" "$((N_HANG + KA_HANG)) 0"
expect_eq "client spans /reset: connection_reset" "$(spans $CLI_KIND /reset/ connection_reset)" "$N_RESET 0"
expect_eq "client spans /close: connection_closed" "$(spans $CLI_KIND /close/ connection_closed)" "$N_CLOSE 0"
expect_eq "server spans /hang: connection_closed" "$(spans $SRV_KIND /hang/ connection_closed)" "$((N_HANG + KA_HANG)) 0"
expect_eq "server spans /reset: timeout" "$(spans $SRV_KIND /reset/ timeout)" "$N_RESET 0"
expect_eq "server spans /close: timeout" "$(spans $SRV_KIND /close/ timeout)" "$N_CLOSE 0"
expect_eq "client spans HTTP/2: timeout" "$(spans $CLI_KIND /h2/ timeout)" "$N_H2 0"
expect_eq "server spans HTTP/2: connection_closed" "$(spans $SRV_KIND /h2/ connection_closed)" "$N_H2 0"
expect_eq "client spans gRPC, given up: CANCELLED, timeout" "$(spans $CLI_KIND grpc:Hang:1 timeout)" "$N_GRPC_HANG 0"
expect_eq "server spans gRPC, client gone: CANCELLED, no error" "$(spans $SRV_KIND grpc:Hang:1 -)" "$N_GRPC_HANG 0"
expect_eq "client spans gRPC, server gone: UNAVAILABLE, connection_reset or _closed" \
	"$(spans $CLI_KIND grpc:Gone:14 connection_reset,connection_closed)" "$N_GRPC_GONE 0"
expect_eq "server spans gRPC, server gone: UNAVAILABLE, timeout" "$(spans $SRV_KIND grpc:Gone:14 timeout)" "$N_GRPC_GONE 0"
wrong() { spans "$1" /ok/ - | cut -d' ' -f2; }
expect_eq "answered spans: no error.type, not ERROR (client, server)" "$(wrong $CLI_KIND) $(wrong $SRV_KIND)" "0 0"

agent_stop
expect_eq "client agent exits 0 on SIGTERM" $? 0
agent2_stop
expect_eq "server agent exits 0 on SIGTERM" $? 0
finish
