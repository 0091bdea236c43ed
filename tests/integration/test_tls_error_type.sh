#!/usr/bin/env bash
# Requests that never got a response, over TLS (read at OpenSSL by uprobes): as
# test_error_type.sh for cleartext, an agent on each of two pods, curl in the client pod,
# apps/noanswer.py --cert (python's ssl) in the server pod, spans into one real OTLP receiver.
# The kernel's close event says why the socket closed; the TLS decoder ends every request left
# unanswered with it, on both sides, under url_scheme="https":
#   curl gives up (--max-time)       client: timeout           server: connection_closed
#   the server resets (SO_LINGER 0)  client: connection_reset  server: timeout
#   the server closes, no answer     client: connection_closed or connection_reset (see below)
#                                    server: timeout
# Answered requests are counted once, a keep-alive connection closed with nothing pending adds
# nothing, and HTTP/2 over TLS (ALPN h2) left open by curl's timeout ends the same way; a gRPC
# call so left open is CANCELLED on both ends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/tls_lib.sh"

pod_create srv
pod_create cli
SRV=$(pod_ip srv)
tls_cert srv "$SRV" || finish
# The server on CPU 0, as curl's /reset requests: the server's reset then closes curl's socket
# before curl's SSL_write returns (its event is sent at the return), the race a loaded machine runs.
pod_run srv taskset -c 0 "$PY" "$ROOT/tests/integration/apps/noanswer.py" --port 8443 --cert "$T/srv.pem" >/dev/null
wait_port srv 8443 || exit 1
# A process in the client pod that maps libssl all along: the agent's scan finds the library
# there even between the short-lived curls.
pod_run cli "$PY" -c 'import ssl, time; time.sleep(3600)' >/dev/null
OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1

agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100 \
	--service-name client-svc || exit 1
agent2_start srv --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc --otlp-flush-ms 100 \
	--service-name server-svc || finish
probed() { [ "$(metric_value obsbpf_tls_libraries_probed)" -ge 1 ] && [ "$(AGENT_ADDR=$AGENT2 metric_value obsbpf_tls_libraries_probed)" -ge 1 ]; }
wait_until 15 probed || fail "OpenSSL not probed by both agents"

CURL="curl --cacert $T/srv.crt"
U=https://$SRV:8443
N_OK=4 N_HANG=3 N_RESET=3 N_CLOSE=3 N_H2=2
KA_OK=4 KA_HANG=1
for i in $(seq $N_OK); do pod_exec cli $CURL --http1.1 -fsS -o /dev/null "$U/ok/$i"; done
pod_exec cli $CURL --http1.1 -fsS -o /dev/null -o /dev/null -o /dev/null "$U/ok/11" "$U/ok/12" "$U/ok/13"
# One keep-alive connection: answered, then left hanging: the answered one counted once.
pod_exec cli $CURL --http1.1 -sS -o /dev/null -o /dev/null --max-time 1 "$U/ok/21" "$U/hang/22" 2>/dev/null
rc_of() { local rc=0; pod_exec cli $CURL -sS -o /dev/null "$@" 2>/dev/null || rc=$?; echo $rc; }
rcs=
for i in $(seq $N_HANG); do rcs+=" $(rc_of --http1.1 --max-time 1 "$U/hang/$i")"; done
expect_eq "curl timed out (28) on every /hang" "$rcs" "$(printf ' 28%.0s' $(seq $N_HANG))"
rcs=
for i in $(seq $N_RESET); do rcs+=" $(CURL="taskset -c 0 $CURL" rc_of --http1.1 "$U/reset/$i")"; done
expect_eq "curl saw a reset (56) on every /reset" "$rcs" "$(printf ' 56%.0s' $(seq $N_RESET))"
rcs=
for i in $(seq $N_CLOSE); do rcs+=" $(rc_of --http1.1 "$U/close/$i")"; done
echo "  (curl's exit codes on /close:$rcs)"
rcs=
for i in $(seq $N_H2); do rcs+=" $(rc_of --http2 --max-time 1 "$U/h2/$i")"; done
expect_eq "curl timed out (28) on every HTTP/2 request" "$rcs" "$(printf ' 28%.0s' $(seq $N_H2))"
printf '\0\0\0\0\0' > "$T/grpc.bin"
N_GRPC=2
rcs=
for i in $(seq $N_GRPC); do
	rcs+=" $(rc_of --http2 --max-time 1 -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
		--data-binary @"$T/grpc.bin" "$U/demo.Echo/Hang")"
done
expect_eq "curl timed out (28) on every gRPC call" "$rcs" "$(printf ' 28%.0s' $(seq $N_GRPC))"

C=http_client_request_duration_seconds_count
S=http_server_request_duration_seconds_count
H='url_scheme="https"'
ALL=$((N_OK + KA_OK + N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
G='rpc_method="Hang",rpc_grpc_status_code="1"'
all_closed() {
	[ "$(metric_value $C "$H")" -ge $ALL ] && [ "$(AGENT_ADDR=$AGENT2 metric_value $S "$H")" -ge $ALL ] &&
		[ "$(metric_value rpc_client_duration_seconds_count "$G")" -ge $N_GRPC ] &&
		[ "$(AGENT_ADDR=$AGENT2 metric_value rpc_server_duration_seconds_count "$G")" -ge $N_GRPC ]
}
wait_until 15 all_closed || fail "not every request counted in time"
metrics > "$T/cli.txt"
AGENT_ADDR=$AGENT2 metrics > "$T/srv.txt"
# A call's event leaves when the call returns; the peer's reset can close the socket first (the
# /reset requests on one CPU): those are still ended by that close.
late() { "$OBSBPF" status --control-socket "$1" --json | json 'print(d["tls"]["calls_after_close"])'; }
echo "  (SSL calls returned after their socket's close: client $(late "$CTL"), server $(late "$T/agent2.sock"))"

for f in cli srv; do
	fam=$C; [ $f = srv ] && fam=$S
	expect_eq "$f: answered requests, 200" "$(file_metric "$T/$f.txt" $fam "$H" 'http_route="/ok/:id"' 'code="200"')" $((N_OK + KA_OK))
	expect_eq "$f: no error_type on answered requests" "$(file_metric "$T/$f.txt" $fam 'http_route="/ok/:id"' 'error_type=')" 0
	expect_eq "$f: no status label without a response" \
		"$(grep "^$fam" "$T/$f.txt" | grep -v 'http_route="/ok/:id"' | grep -c 'http_response_status_code')" 0
	expect_eq "$f: every request https" "$(file_metric "$T/$f.txt" $fam "$H")" $ALL
	expect_eq "$f: nothing else" "$(file_metric "$T/$f.txt" $fam)" $ALL
done
V1='network_protocol_version="1.1"'
expect_eq "cli: /hang timeout" "$(file_metric "$T/cli.txt" $C "$H" "$V1" 'http_route="/hang/:id"' 'error_type="timeout"')" $((N_HANG + KA_HANG))
expect_eq "cli: /reset connection_reset" "$(file_metric "$T/cli.txt" $C "$H" 'http_route="/reset/:id"' 'error_type="connection_reset"')" $N_RESET
# The server's FIN comes first; curl may then send its close_notify into the closed socket,
# whose RST reaches the client's socket in LAST_ACK: connection_reset rather than closed.
closed=$(file_metric "$T/cli.txt" $C "$H" 'http_route="/close/:id"' 'error_type="connection_closed"')
reset=$(file_metric "$T/cli.txt" $C "$H" 'http_route="/close/:id"' 'error_type="connection_reset"')
expect_eq "cli: /close connection_closed or _reset ($closed closed, $reset reset)" $((closed + reset)) $N_CLOSE
expect_eq "srv: /hang connection_closed (the client went away)" "$(file_metric "$T/srv.txt" $S "$H" "$V1" 'http_route="/hang/:id"' 'error_type="connection_closed"')" $((N_HANG + KA_HANG))
expect_eq "srv: /reset timeout (the server ended it)" "$(file_metric "$T/srv.txt" $S "$H" 'http_route="/reset/:id"' 'error_type="timeout"')" $N_RESET
expect_eq "srv: /close timeout (the server ended it)" "$(file_metric "$T/srv.txt" $S "$H" 'http_route="/close/:id"' 'error_type="timeout"')" $N_CLOSE
V2='network_protocol_version="2"'
expect_eq "cli: HTTP/2 over TLS timeout" "$(file_metric "$T/cli.txt" $C "$H" "$V2" 'http_route="/h2/:id"' 'error_type="timeout"')" $N_H2
expect_eq "srv: HTTP/2 over TLS connection_closed" "$(file_metric "$T/srv.txt" $S "$H" "$V2" 'http_route="/h2/:id"' 'error_type="connection_closed"')" $N_H2
expect_eq "cli: every unanswered request on a series of the server" \
	"$(file_metric "$T/cli.txt" $C "$H" "server_address=\"$SRV\"" 'server_port="8443"' 'error_type=')" \
	$((N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
expect_eq "gRPC over TLS left open: CANCELLED on both ends" \
	"$(file_metric "$T/cli.txt" rpc_client_duration_seconds_count "$G") $(file_metric "$T/srv.txt" rpc_server_duration_seconds_count "$G")" \
	"$N_GRPC $N_GRPC"
expect_eq "HTTP/2 streams (and gRPC calls) not counted unfinished" \
	"$(file_metric "$T/cli.txt" obsbpf_h2_streams_unmeasured_total) $(file_metric "$T/srv.txt" obsbpf_h2_streams_unmeasured_total)" "0 0"
expect_eq "no TLS connection unparsed" \
	"$(file_metric "$T/cli.txt" obsbpf_connections_unparsed_total 'protocol="tls"') $(file_metric "$T/srv.txt" obsbpf_connections_unparsed_total 'protocol="tls"')" "0 0"
# Timed from the request's SSL_write to the close: curl's 1 s --max-time also covers the TCP and
# TLS handshakes before it, which take a good part of a second under qemu without KVM.
sum=$(awk '/^http_client_request_duration_seconds_sum.*"\/hang\/:id"/ { print $NF }' "$T/cli.txt")
"$PY" -c "import sys; s=float(sys.argv[1]); sys.exit(0 if $((N_HANG + KA_HANG)) * 0.4 <= s <= $((N_HANG + KA_HANG)) * 2.5 else 1)" "${sum:-0}" &&
	ok "cli: /hang timed to the close ($sum s for $((N_HANG + KA_HANG)))" || fail "cli: /hang duration sum $sum s for $((N_HANG + KA_HANG))"
promtool check metrics < "$T/cli.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" ||
	fail "promtool: $(cat "$T/promtool.txt")"

# Spans, as the receiver decoded them: KIND ROUTE_PREFIX ERROR_TYPES -> COUNT BAD.
NO_RESP=$((N_HANG + KA_HANG + N_RESET + N_CLOSE + N_H2))
has_spans() { [ "$(grep -c '"error.type"' "$OUT" 2>/dev/null)" -ge "$1" ]; }
wait_for 15 has_spans $((2 * NO_RESP)) || fail "not every no-response span arrived"
spans() { "$PY" "$ROOT/tests/integration/check_noresponse_spans.py" "$OUT" "$@" https; }
SRV_KIND=2 CLI_KIND=3
expect_eq "client spans /hang: timeout, ERROR, https, no status" "$(spans $CLI_KIND /hang/ timeout)" "$((N_HANG + KA_HANG)) 0"
expect_eq "client spans /reset: connection_reset" "$(spans $CLI_KIND /reset/ connection_reset)" "$N_RESET 0"
expect_eq "client spans /close: connection_closed or _reset" "$(spans $CLI_KIND /close/ connection_closed,connection_reset)" "$N_CLOSE 0"
expect_eq "server spans /hang: connection_closed" "$(spans $SRV_KIND /hang/ connection_closed)" "$((N_HANG + KA_HANG)) 0"
expect_eq "server spans /reset: timeout" "$(spans $SRV_KIND /reset/ timeout)" "$N_RESET 0"
expect_eq "server spans /close: timeout" "$(spans $SRV_KIND /close/ timeout)" "$N_CLOSE 0"
expect_eq "client spans HTTP/2 over TLS: timeout" "$(spans $CLI_KIND /h2/ timeout)" "$N_H2 0"
expect_eq "server spans HTTP/2 over TLS: connection_closed" "$(spans $SRV_KIND /h2/ connection_closed)" "$N_H2 0"
wrong() { spans "$1" /ok/ - | cut -d' ' -f2; }
expect_eq "answered spans: no error.type, not ERROR (client, server)" "$(wrong $CLI_KIND) $(wrong $SRV_KIND)" "0 0"

agent_stop
expect_eq "client agent exits 0 on SIGTERM" $? 0
agent2_stop
expect_eq "server agent exits 0 on SIGTERM" $? 0
finish
