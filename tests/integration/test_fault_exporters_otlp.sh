#!/usr/bin/env bash
# The span exporter against a collector that is down, one that accepts and never answers, and
# one that answers random bytes, over OTLP/HTTP and OTLP/gRPC (test_trace_export covers the
# collector's own refusals). The spans come from tests/drivers/otlp_driver.c, all at once, into a
# queue that holds a third of them: while the fault lasts the driver's memory stays bounded and
# the failures are counted, the overflow is dropped and counted; once the real receiver is back
# on the same port the first spans arrive within one (maximum) backoff, and every span the queue
# held arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

DRIVER=${OTLP_DRIVER:-$ROOT/build/drivers/otlp_driver}
CHECK=$ROOT/tests/integration/check_driver_spans.py
[ -x "$DRIVER" ] || { echo "  FAIL: $DRIVER not built (make build/drivers/otlp_driver)"; exit 1; }

SPANS=600 QUEUE=200
BACKOFF_MS=1000 TIMEOUT_MS=500
FAULT_S=3
GROWTH_MIB=8 # RSS above its level once the spans are queued (queue ~100 KiB, requests ~20 KiB)
peer_start slow || exit 1 # a free port for every case: the peer, then the receiver, take it
PORT=$PEER_PORT
peer_kill

# fault PROTO MODE: the driver against MODE (down|slow|garbage) on PORT for FAULT_S seconds,
# then the real receiver on PORT.
fault() {
	local p=$1 mode=$2 out=$T/$1-$2.jsonl m=$T/$1-$2.txt drv rc=0 base max ms conns=0
	echo "-- $p $mode"
	if [ "$mode" != down ]; then peer_start "$mode" "$PORT" || { fail "$p $mode: no peer"; return; }; fi
	"$DRIVER" "$SPANS" 40 -- --otlp-endpoint "http://127.0.0.1:$PORT" --otlp-protocol "$p" \
		--otlp-batch 50 --otlp-queue "$QUEUE" --otlp-flush-ms 200 --otlp-timeout-ms "$TIMEOUT_MS" \
		--otlp-backoff-max-ms "$BACKOFF_MS" >"$m" 2>>"$T/driver-$p-$mode.log" &
	drv=$!
	BG_PIDS+=("$drv")
	sleep 0.5
	base=$(rss_now_kib "$drv")
	rss_watch "$drv" "$T/rss-$p-$mode"
	sleep "$FAULT_S"
	[ "$mode" != down ] && conns=$(peer_conns)
	peer_kill
	if [ "$p" = grpc ]; then OTLP_HTTP_PORT= OTLP_GRPC_PORT=$PORT; else OTLP_HTTP_PORT=$PORT OTLP_GRPC_PORT=; fi
	otlp_recv_start "$out" || { fail "$p $mode: receiver did not start"; return; }
	if ms=$(ms_until 20 "[ \$(otlp_spans '$out') -ge 1 ]"); then
		ok "$p $mode: first spans $ms ms after the receiver returned (max backoff $BACKOFF_MS ms)"
		[ "$ms" -le $((BACKOFF_MS + TIMEOUT_MS + 1000)) ] && ok "$p $mode: recovered within one backoff" \
			|| fail "$p $mode: recovery took $ms ms, max backoff is $BACKOFF_MS ms"
	else
		fail "$p $mode: nothing delivered 20 s after the receiver returned"
	fi
	wait "$drv" || rc=$?
	expect_eq "$p $mode: driver exit status" "$rc" 0
	rss_stop
	otlp_recv_kill
	max=$(rss_max_kib "$T/rss-$p-$mode")
	[ $((max - base)) -le $((GROWTH_MIB * 1024)) ] \
		&& ok "$p $mode: RSS at most $max KiB, $(( (max - base) / 1024 )) MiB above the $base KiB before (bound $GROWTH_MIB MiB)" \
		|| fail "$p $mode: RSS grew by $(( (max - base) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
	[ "$mode" != down ] && expect_ge "$p $mode: the exporter reconnected" "$conns" 2
	expect_ge "$p $mode: failed requests counted as retry" \
		"$(file_metric "$m" obsbpf_trace_export_requests_total 'result="retry"')" 2
	expect_ge "$p $mode: retries counted" "$(file_metric "$m" obsbpf_trace_export_retries_total)" 2
	expect_eq "$p $mode: overflow dropped as queue_full" \
		"$(file_metric "$m" obsbpf_trace_spans_dropped_total 'reason="queue_full"')" $((SPANS - QUEUE))
	expect_eq "$p $mode: nothing else dropped" "$(file_metric "$m" obsbpf_trace_spans_dropped_total)" $((SPANS - QUEUE))
	expect_eq "$p $mode: exported counted" "$(file_metric "$m" obsbpf_trace_spans_exported_total)" "$QUEUE"
	if problems=$("$PY" "$CHECK" "$out" "$QUEUE" driver-pod); then
		ok "$p $mode: the $QUEUE queued spans delivered, each once"
	else
		fail "$p $mode: delivered spans: $problems"
	fi
	case $p-$mode in
	*-down) why='onnect' ;;
	*-slow) why='timed out' ;;
	http-garbage) why='HTTP/0.9\|Weird server reply' ;;
	grpc-garbage) why='http/2: ' ;; # nghttp2's reason: the peer sent no GOAWAY
	esac
	grep 'spans kept, retrying' "$T/driver-$p-$mode.log" | grep -q "$why" && ok "$p $mode: the log says why" \
		|| fail "$p $mode: log: $(grep 'otlp ' "$T/driver-$p-$mode.log" | head -2)"
	grep -q 'delivering again' "$T/driver-$p-$mode.log" && ok "$p $mode: recovery logged" || fail "$p $mode: no recovery log line"
	if grep -q "ERROR: AddressSanitizer\|runtime error" "$T/driver-$p-$mode.log"; then
		fail "$p $mode: sanitizer report"; cat "$T/driver-$p-$mode.log"
	else
		ok "$p $mode: no sanitizer report"
	fi
}

for P in http grpc; do
	for MODE in down slow garbage; do fault "$P" "$MODE"; done
done
finish
