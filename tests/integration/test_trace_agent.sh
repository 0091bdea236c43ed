#!/usr/bin/env bash
# `obsbpf attach` with span export: wrong --otlp-* options stop it before it attaches (one line,
# non-zero exit, nothing left loaded); with an endpoint it starts the exporter, serves the
# obsbpf_trace_* families, and exits cleanly with the collector down. service.name: --service-name
# wins over OTEL_SERVICE_NAME; without the flag, service.name in OTEL_RESOURCE_ATTRIBUTES.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"

pod_create srv
pod_create cli
POD=$(pod_name srv)

# err DESC WANT ARGS...: attach fails with exactly one line on stderr containing WANT.
err() {
	local desc=$1 want=$2; shift 2
	local rc=0
	"$OBSBPF" attach --pod "$POD" --listen "$AGENT_ADDR" "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne 0 ] && [ "$(grep -c . "$T/err")" -eq 1 ] && grep -qF -- "$want" "$T/err"; then
		ok "$desc: $(cat "$T/err")"
	else
		fail "$desc: rc=$rc, stderr: $(cat "$T/err")"
	fi
}
err "unknown protocol" "--otlp-protocol thrift: expected grpc or http/protobuf" \
	--otlp-endpoint http://127.0.0.1:4318 --otlp-protocol thrift
err "not a URL" "--otlp-endpoint collector:4318: expected an http:// or https:// URL" \
	--otlp-endpoint collector:4318
err "a CA file for a plain endpoint" "set an https:// endpoint for TLS" \
	--otlp-endpoint http://127.0.0.1:4317 --otlp-protocol grpc --otlp-ca-file /etc/hostname
err "bad port" "expected http://HOST:PORT" --otlp-endpoint http://127.0.0.1:43x17 --otlp-protocol grpc
err "batch larger than the queue" "need 0 < batch <= queue" \
	--otlp-endpoint http://127.0.0.1:4318 --otlp-batch 100 --otlp-queue 10
OTEL_EXPORTER_OTLP_PROTOCOL=json err "OTEL_EXPORTER_OTLP_PROTOCOL checked too" "json: expected grpc or http/protobuf" \
	--otlp-endpoint http://127.0.0.1:4318
left=1
for i in $(seq 30); do bpftool prog show | grep -q obsbpf_ || { left=0; break; }; sleep 0.1; done
expect_eq "nothing loaded by the failed starts" "$left" 0

# drained N: the agent has read N events and has no span waiting.
drained() {
	[ "$(metric_value obsbpf_events_read_total)" -ge "$1" ] && [ "$(metric_value obsbpf_trace_queue_spans)" -eq 0 ]
}

pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port srv 8080 || exit 1
for P in http grpc; do
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	otlp_recv_start "$T/$P.jsonl" || { fail "$P: receiver did not start"; continue; }
	if [ $P = http ]; then
		SERVICE=from-flag
		OTEL_SERVICE_NAME=from-env agent_start --pod "$POD" --otlp-endpoint "$(otlp_endpoint "$P")" \
			--otlp-protocol "$P" --otlp-flush-ms 100 --service-name from-flag || exit 1
	else
		SERVICE="check out"
		OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test,service.name=check%20out' agent_start \
			--pod "$POD" --otlp-endpoint "$(otlp_endpoint "$P")" --otlp-protocol "$P" --otlp-flush-ms 100 || exit 1
	fi
	grep -qF "exporting spans to" "$T/agent.log" && ok "$P: exporter started" || fail "$P: no exporter start line"
	for i in $(seq 5); do pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip srv):8080/x/$i"; done
	expect_eq "$P: queue capacity served" "$(metric_value obsbpf_trace_queue_capacity "k8s_pod_name=\"$POD\"")" 4096
	expect_eq "$P: requests measured" "$(metric_value http_server_request_duration_seconds_count)" 5
	# Every event read from the ring buffer, and the queue empty again.
	wait_for 5 drained 5 || fail "$P: events not read or queue not drained"
	expect_eq "$P: spans counted as exported are the spans received" \
		"$(metric_value obsbpf_trace_spans_exported_total)" "$(otlp_spans "$T/$P.jsonl")"
	expect_eq "$P: nothing dropped" "$(metric_value obsbpf_trace_spans_dropped_total)" 0
	expect_eq "$P: service.name of every span" "$("$PY" -c 'import json,sys
print(sorted({json.loads(l)["resource"]["service.name"] for l in open(sys.argv[1])}))' "$T/$P.jsonl")" "['$SERVICE']"
	[ $P = grpc ] && expect_eq "$P: OTEL_RESOURCE_ATTRIBUTES on every resource" "$("$PY" -c 'import json,sys
print(sorted({json.loads(l)["resource"].get("deployment.environment") for l in open(sys.argv[1])}))' "$T/$P.jsonl")" "['test']"
	# The collector goes away: the agent keeps running and exits cleanly.
	otlp_recv_kill
	for i in $(seq 3); do pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip srv):8080/y/$i"; done
	sleep 0.5
	curl -fsS -o /dev/null "http://$AGENT_ADDR/readyz" && ok "$P: ready with the collector down" || fail "$P: not ready"
	agent_stop
	expect_eq "$P: agent exits 0 on SIGTERM" $? 0
	: >"$T/agent.log"
done
finish
