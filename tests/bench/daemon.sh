#!/usr/bin/env bash
# `make bench`, DaemonSet part: one `obsbpf daemon` for a node-like layout made here (pods with
# cgroups, netns and /var/log/pods directories as the kubelet names them).
#   logs   20 pods x 2 containers, each with BENCH_DAEMON_LINES CRI lines written before the
#          daemon starts (as after a restart: all of them at once), forwarded to a local Fluent
#          Forward receiver that acks every chunk: lines/s and lines per CPU-second of the agent.
#   pods   the agent's RSS and CPU with 1, then 100 pods attached (metrics, tracing, logs of
#          each): MiB per pod, and its idle CPU over 10 s.
# A measurement, not a test; it exits 1 only when a run did not do what it claims (lines lost,
# pods not attached).
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/logs_lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
PER=${BENCH_DAEMON_LINES:-12500}
NPODS=${BENCH_DAEMON_PODS:-100}
clk=$(getconf CLK_TCK)
cpu_s() { awk -v hz="$clk" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# pods 1..N: bp1 .. bpN, namespace bench, names bp<i>-<run>
for i in $(seq "$NPODS"); do pod_create "bp$i" >/dev/null && pod_logdir "bp$i" bench >/dev/null || exit 1; done
for i in $(seq 20); do
	d=$(pod_logdir "bp$i" bench) || exit 1
	for c in app sidecar; do
		mkdir -p "$d/$c"
		"$PY" - "$d/$c/0.log" "$PER" "$i" "$c" <<'PYEOF'
import sys
path, n, pod, ctr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    for k in range(n):
        f.write('2024-05-01T10:00:00.%06d000Z stdout F {"level":"info","msg":"request served","pod":%s,'
                '"container":"%s","n":%d,"trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x"}\n' % (k % 1000000, pod, ctr, k, k % 65536))
PYEOF
	done
done
TOTAL=$((20 * 2 * PER))

recv_cpu=$(($(nproc) > 1 ? 1 : 0))
rm -f "$T/recv.port"
taskset -c "$recv_cpu" "$PY" "$ROOT/tests/integration/fluent_receiver.py" --out "$T/unused" \
	--port-file "$T/recv.port" --count-file "$T/count" 2>>"$T/recv.log" &
recv_wait receiver 5 || exit 1

# daemon PATTERN: the daemon for the pods PATTERN selects, forwarding their logs
daemon() {
	agent_launch daemon /readyz --pod-pattern "$1" --pod-logs "$POD_LOGS" --node bench-node --app-metrics off \
		--forward "127.0.0.1:$RECV_PORT" --logs-state "$T/state" --logs-flush-ms 200 >/dev/null
}
attached() { "$OBSBPF" status --control-socket "$CTL" --json 2>/dev/null | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin).get("pods", [])))' 2>/dev/null || echo 0; }

echo "DaemonSet: one daemon, a node of $NPODS pods made here"
# logs: 20 pods x 2 containers, all written before the start
t0=$(date +%s.%N)
daemon "bench/bp*-$RUN" || exit 1
for i in $(seq 1200); do
	[ "$(cat "$T/count" 2>/dev/null || echo 0)" -ge "$TOTAL" ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
got=$(cat "$T/count" 2>/dev/null || echo 0)
cpu=$(cpu_s "$AGENT_PID")
awk -v n="$got" -v want="$TOTAL" -v t="$(echo "$t1 - $t0" | bc -l)" -v c="$cpu" 'BEGIN {
	printf "  logs      20 pods x 2 containers: %d of %d lines in %.2f s: %.0f lines/s, %.0f lines per CPU-second of the agent (%.2f s CPU, start included)\n",
		n, want, t, n / t, n / (c > 0 ? c : 0.01), c }'
[ "$got" -ge "$TOTAL" ] || { echo "  daemon bench: lines lost"; agent_stop; exit 1; }
n=$(attached)
rss_n=$(rss_mib "$AGENT_PID")
c0=$(cpu_s "$AGENT_PID")
sleep 10
c1=$(cpu_s "$AGENT_PID")
agent_stop
rm -f "$T/state"

# one pod, for the per-pod difference
daemon "bench/bp1-$RUN" || exit 1
sleep 2
rss_1=$(rss_mib "$AGENT_PID")
agent_stop
awk -v n="$n" -v r1="$rss_1" -v rn="$rss_n" -v idle="$(echo "$c1 - $c0" | bc -l)" 'BEGIN {
	printf "  pods      RSS %.1f MiB with 1 pod, %.1f MiB with %d: %.2f MiB per pod; idle CPU with %d: %.1f%% of a core\n",
		r1, rn, n, (rn - r1) / (n > 1 ? n - 1 : 1), n, idle * 10 }'
[ "$n" -ge "$NPODS" ] || { echo "  daemon bench: $n of $NPODS pods attached"; exit 1; }
