#!/usr/bin/env bash
# The span exporter (user/trace) against a real OTLP receiver (the OpenTelemetry JS protobuf
# root; grpc-js for gRPC), for OTLP/HTTP and OTLP/gRPC: spans and their attributes as decoded,
# batching, one connection reused, 503 + Retry-After / UNAVAILABLE / RESOURCE_EXHAUSTED +
# RetryInfo retried, a collector that is down at first (nothing lost while the queue has room;
# the overflow dropped and counted), a non-retryable refusal (batch dropped, counted), a partial
# success (rejected spans counted), the flush at shutdown, the OTEL_* variables. The events come
# from tests/drivers/otlp_driver.c, which feeds the real tracer without a kernel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"

DRIVER=${OTLP_DRIVER:-$ROOT/build/drivers/otlp_driver}
CHECK=$ROOT/tests/integration/check_driver_spans.py
[ -x "$DRIVER" ] || { echo "  FAIL: $DRIVER not built (make build/drivers/otlp_driver)"; exit 1; }

# drive PROTO SPANS SECONDS [UNSAMPLED] -- ARGS: runs the driver against the receiver; its final
# metrics go to $T/m.txt.
drive() {
	local proto=$1; shift
	"$DRIVER" "$@" --otlp-endpoint "$(otlp_endpoint "$proto")" --otlp-protocol "$proto" \
		>"$T/m.txt" 2>>"$T/driver.log"
}

# drive_late PROTO SECONDS_DOWN SPANS ARGS...: the driver starts while no receiver listens on
# the receiver's last ports; the receiver, loaded beforehand, opens them SECONDS_DOWN after the
# driver found them closed; waits for the driver. (Loaded first: node took 20-45 s to start
# under qemu without KVM, and a collector that came up that late met the exporter's backoff,
# grown to 10-30 s by then, past the driver's time limit: the spans then left only in the final
# flush, after the driver had printed its counters, and none showed as exported.)
drive_late() {
	local proto=$1 down=$2 n=$3 tried; shift 3
	otlp_recv_load "$OUT" || { fail "$proto: receiver did not load"; return 1; }
	tried=$(cat "$T/driver.log" 2>/dev/null | grep -c 'spans kept, retrying')
	# A simple command, not drive: $! is then the driver's own pid, which cleanup can kill.
	"$DRIVER" "$n" 20 -- "$@" --otlp-endpoint "$(otlp_endpoint "$proto")" --otlp-protocol "$proto" \
		>"$T/m.txt" 2>>"$T/driver.log" &
	local drv=$!
	BG_PIDS+=("$drv")
	wait_until 20 "[ \$(cat '$T/driver.log' | grep -c 'spans kept, retrying') -gt $tried ]" ||
		fail "$proto: the driver never found the receiver down"
	sleep "$down"
	otlp_recv_listen || fail "$proto: receiver did not listen"
	wait "$drv"
}

for P in http grpc; do
	echo "-- $P"
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	OUT=$T/$P.jsonl

	# 1. 70 spans in batches of 32 (+2 unsampled, not exported): every span once, as sent.
	otlp_recv_start "$OUT" || { fail "$P: receiver did not start"; continue; }
	drive "$P" 70 20 2 -- --otlp-batch 32 --service-name checkout
	expect_eq "$P: spans received" "$(otlp_spans "$OUT")" 70
	if problems=$("$PY" "$CHECK" "$OUT" 70 checkout); then
		ok "$P: ids, parents, names, kinds, status, attributes, resource as decoded"
	else
		fail "$P: decoded spans: $problems"
	fi
	expect_eq "$P: exported counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_exported_total)" 70
	expect_eq "$P: unsampled counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_not_sampled_total)" 2
	expect_eq "$P: requests (32+32+6)" "$(file_metric "$T/m.txt" obsbpf_trace_export_requests_total 'result="ok"')" 3
	expect_eq "$P: one ResourceSpans per request (one pod)" "$(grep -c '"resources":1,' "$OUT.req")" 3
	expect_eq "$P: one connection for the three requests" \
		"$(grep -o '"peer":"[^"]*"' "$OUT.req" | sort -u | wc -l)" 1
	expect_eq "$P: queue empty" "$(file_metric "$T/m.txt" obsbpf_trace_queue_spans)" 0
	otlp_recv_kill

	# 2. the first two requests refused as retryable (HTTP 503 + Retry-After: 1; gRPC
	# UNAVAILABLE): the batch is sent again and arrives once; Retry-After is waited out.
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --fail 2 --retry-after 1
	t0=$(date +%s%N)
	drive "$P" 20 20 -- --otlp-batch 20
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	expect_eq "$P: retried batch delivered once" "$(otlp_spans "$OUT")" 20
	"$PY" "$CHECK" "$OUT" 20 driver-pod >/dev/null && ok "$P: retried spans intact" || fail "$P: retried spans differ"
	expect_eq "$P: requests seen by the receiver" "$(wc -l < "$OUT.req")" 3
	expect_eq "$P: retryable failures counted" "$(file_metric "$T/m.txt" obsbpf_trace_export_requests_total 'result="retry"')" 2
	expect_eq "$P: retries counted" "$(file_metric "$T/m.txt" obsbpf_trace_export_retries_total)" 2
	expect_eq "$P: nothing dropped" "$(file_metric "$T/m.txt" obsbpf_trace_spans_dropped_total)" 0
	if [ "$P" = http ]; then
		expect_ge "http: Retry-After: 1 honoured twice (ms)" "$ms" 2000
	fi
	otlp_recv_kill
	if [ "$P" = grpc ]; then
		# RESOURCE_EXHAUSTED is retried only with a RetryInfo, after its delay.
		rm -f "$OUT" "$OUT.req"
		otlp_recv_start "$OUT" --exhausted 1 --retry-delay-ms 1500
		t0=$(date +%s%N)
		drive grpc 20 20 -- --otlp-batch 20
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		expect_eq "grpc: RESOURCE_EXHAUSTED + RetryInfo: delivered once after a retry" \
			"$(otlp_spans "$OUT") $(file_metric "$T/m.txt" obsbpf_trace_export_retries_total)" "20 1"
		expect_ge "grpc: RetryInfo delay of 1500 ms honoured (ms)" "$ms" 1500
		otlp_recv_kill
	fi

	# 3. the collector is down at first and comes up 2.5 s later on the same port: the 50
	# queued spans are all delivered.
	rm -f "$OUT" "$OUT.req"
	drive_late "$P" 2.5 50 --otlp-batch 16
	expect_eq "$P: down-then-up: spans delivered" "$(otlp_spans "$OUT")" 50
	"$PY" "$CHECK" "$OUT" 50 driver-pod >/dev/null && ok "$P: down-then-up: each span once" || fail "$P: down-then-up: spans lost or repeated"
	expect_eq "$P: down-then-up: one ResourceSpans per request" "$(grep -vc '"resources":1,' "$OUT.req")" 0
	expect_eq "$P: down-then-up: exported counted (before the final flush)" \
		"$(file_metric "$T/m.txt" obsbpf_trace_spans_exported_total)" 50
	expect_ge "$P: down-then-up: retries counted" "$(file_metric "$T/m.txt" obsbpf_trace_export_retries_total)" 1
	expect_eq "$P: down-then-up: nothing dropped" "$(file_metric "$T/m.txt" obsbpf_trace_spans_dropped_total)" 0
	otlp_recv_kill

	# 4. down with a queue of 100 and 300 spans: 200 dropped as queue_full and counted, the
	# first 100 delivered once the collector is up.
	rm -f "$OUT" "$OUT.req"
	drive_late "$P" 2 300 --otlp-batch 50 --otlp-queue 100
	expect_eq "$P: full queue: spans delivered" "$(otlp_spans "$OUT")" 100
	"$PY" "$CHECK" "$OUT" 100 driver-pod >/dev/null && ok "$P: full queue: the first 100, each once" || fail "$P: full queue: wrong spans delivered"
	expect_eq "$P: full queue: drops counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_dropped_total 'reason="queue_full"')" 200
	expect_eq "$P: full queue: exported counted (before the final flush)" \
		"$(file_metric "$T/m.txt" obsbpf_trace_spans_exported_total)" 100
	otlp_recv_kill

	# 5. a refusal that is not retryable (HTTP 400; gRPC INVALID_ARGUMENT): that batch is
	# dropped and counted, the next one goes through.
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --fail 1 --fail-status 400
	drive "$P" 20 20 -- --otlp-batch 10
	expect_eq "$P: refused batch dropped, next delivered" "$(otlp_spans "$OUT")" 10
	expect_eq "$P: refused batch counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_dropped_total 'reason="export_failed"')" 10
	expect_eq "$P: failed request counted" "$(file_metric "$T/m.txt" obsbpf_trace_export_requests_total 'result="failed"')" 1
	expect_eq "$P: no retry of a refused batch" "$(wc -l < "$OUT.req")" 2
	otlp_recv_kill

	# 6. partial success: the collector says it rejected 3 of the spans.
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --reject 3
	drive "$P" 10 20 -- --otlp-batch 10
	expect_eq "$P: partial success: rejected counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_dropped_total 'reason="rejected"')" 3
	expect_eq "$P: partial success: exported counted" "$(file_metric "$T/m.txt" obsbpf_trace_spans_exported_total)" 7
	expect_eq "$P: partial success: request counted" "$(file_metric "$T/m.txt" obsbpf_trace_export_requests_total 'result="partial"')" 1
	otlp_recv_kill

	# 7. shutdown: a partial batch long before its flush time is sent by the final flush.
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT"
	drive "$P" 7 0 -- --otlp-batch 100 --otlp-flush-ms 60000
	expect_eq "$P: queued spans sent at shutdown" "$(otlp_spans "$OUT")" 7
	otlp_recv_kill
done

# The environment variables, when no flag is given: the per-signal URL is used as is.
OTLP_HTTP_PORT= OTLP_GRPC_PORT=
rm -f "$T/env.jsonl"
otlp_recv_start "$T/env.jsonl"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$OTLP_HTTP_PORT/v1/traces" \
	"$DRIVER" 5 20 -- >"$T/m.txt" 2>>"$T/driver.log"
expect_eq "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: spans delivered" "$(otlp_spans "$T/env.jsonl")" 5
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_GRPC_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
	"$DRIVER" 5 20 -- >"$T/m.txt" 2>>"$T/driver.log"
expect_eq "OTEL_EXPORTER_OTLP_ENDPOINT + PROTOCOL=grpc: spans delivered" "$(otlp_spans "$T/env.jsonl")" 10
expect_eq "... over gRPC" "$(grep -c '"proto":"grpc"' "$T/env.jsonl")" 5
otlp_recv_kill

if grep -q "ERROR: AddressSanitizer\|runtime error" "$T/driver.log"; then
	fail "sanitizer report in the driver's log"; cat "$T/driver.log"
else
	ok "no sanitizer report"
fi
finish
