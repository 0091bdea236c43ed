#!/usr/bin/env bash
# Start to ready: `obsbpf attach` from exec to /readyz answering 200 (feature probes, the
# FIONREAD self-test, BPF load and verification, attach), against a pod with an app. Target
# <= 1 s on a 2-core machine. Also the time `obsbpf probe` takes to load each program alone.
source "$(dirname "$0")/../integration/lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
RUNS=${BENCH_STARTUP_RUNS:-5}

pod_create boot
pod_run boot "$PY" -m http.server 8080 --bind 0.0.0.0 >/dev/null
wait_port boot 8080 || exit 1
for r in $(seq "$RUNS"); do
	s=$(date +%s%N)
	agent_start --pod "$(pod_name boot)" --app-metrics off >/dev/null || exit 1
	e=$(date +%s%N)
	agent_stop >/dev/null
	echo $(( (e - s) / 1000000 )) >> "$T/startup"
done
sort -n "$T/startup" > "$T/startup.sorted"
awk -v runs="$RUNS" '{ v[NR] = $1 } END {
	printf "startup   attach to ready: median %d ms (min %d, max %d) over %d runs (target <= 1000 ms)\n",
		v[int((NR + 1) / 2)], v[1], v[NR], runs }' "$T/startup.sorted"
ok "startup measured" >/dev/null
finish >/dev/null
