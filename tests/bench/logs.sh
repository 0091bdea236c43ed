#!/usr/bin/env bash
# `make bench`, logs part: 1M JSON lines from a file through parse + enrich + PackedForward to a
# local receiver that acks every chunk, the agent pinned to one core. Reports lines/s and the
# agent's peak RSS against the targets (>= 300k lines/s, <= 32 MiB); a measurement, not a test.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/logs_lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
LINES=${BENCH_LOG_LINES:-1000000}
NCPU=$(nproc)

mkdir -p "$T/app"
"$PY" - "$T/app/bench.log" "$LINES" <<'PYEOF'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(n):
        f.write('{"time":"2024-05-01T10:00:00.%06dZ","level":"info","msg":"request served","method":"GET",'
                '"path":"/api/items/%d","status":200,"duration_ms":%d.%d,'
                '"trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x"}\n' % (i % 1000000, i % 977, i % 50, i % 10, i % 65536))
PYEOF
size=$(stat -c %s "$T/app/bench.log")
recv_cpu=$(( NCPU > 1 ? 1 : 0 ))
RECV_PORT=

# recv_bench_start: the receiver on its own CPU, counting records only.
recv_bench_start() {
	rm -f "$T/recv.port"
	taskset -c "$recv_cpu" "$PY" "$ROOT/tests/integration/fluent_receiver.py" --out "$T/unused" \
		--port-file "$T/recv.port" --count-file "$T/count" 2>>"$T/recv.log" &
	recv_wait receiver 5
}
recv_bench_start

# run LABEL AGENT_ARGS...: one pass over the file; prints the figures.
run() {
	local label=$1; shift
	rm -f "$T/count" "$T/state"
	local count0=0
	start=$(date +%s.%N)
	taskset -c 0 "$OBSBPF" logs --listen "$AGENT_ADDR" --logs "$T/app/*.log" --cri-logs "" \
		--pod bench --namespace bench --node node-1 --logs-state "$T/state" \
		--forward "127.0.0.1:$RECV_PORT" "$@" >"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	done_at=
	for i in $(seq 1200); do # 120 s at most
		if [ "$(cat "$T/count" 2>/dev/null || echo 0)" -ge $((count0 + LINES)) ]; then done_at=$(date +%s.%N); break; fi
		sleep 0.1
	done
	[ -z "$done_at" ] && metrics | grep '^obsbpf_logs' > "$T/metrics.txt"
	hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
	cpu_ticks=$(awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat")
	agent_stop
	if [ -z "$done_at" ]; then
		echo "logs $label: only $(cat "$T/count" 2>/dev/null || echo 0) of $LINES records acked in 120 s"; cat "$T/agent.log" "$T/metrics.txt"
		return 1
	fi
	awk -v l="$label" -v s="$start" -v e="$done_at" -v n="$LINES" -v b="$size" -v kb="$hwm_kb" -v ticks="$cpu_ticks" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		d = e - s
		printf "logs %-12s %d JSON lines (%.0f MB) parsed, enriched, forwarded and acked in %.2f s\n", l, n, b / 1e6, d
		printf "     %-12s %.0f lines/s (target >= 300000), %.1f MB/s, agent CPU %.2f s (%.0f lines per CPU-second)\n", "", n / d, b / 1e6 / d, ticks / hz, n / (ticks / hz)
		printf "     %-12s agent peak RSS %.1f MiB (target <= 32 MiB)\n", "", kb / 1024
	}'
}
run packed
# the receiver keeps its count across runs: restart it for the second pass
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
BG_PIDS=()
recv_bench_start
run packed+gzip --forward-compress gzip
