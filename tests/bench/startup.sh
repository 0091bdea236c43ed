#!/usr/bin/env bash
# Start to ready: `obsbpf attach` and `obsbpf daemon` (one pod on the node) from exec to /readyz
# answering 200 (feature probes, the FIONREAD self-test, the port bound, BPF load and
# verification, attach), against a pod with an app. Target <= 1 s on a 2-core machine. Also
# how fast a busy port is reported (bound before the load).
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
for r in $(seq "$RUNS"); do
	s=$(date +%s%N)
	agent_launch daemon /readyz --pod-pattern "$(pod_name boot)" --pod-logs "$T/none" --app-metrics off \
		>/dev/null || exit 1
	# ready once the pod is attached, not only the agent
	wait_until 30 "agent_status --json | grep -q '\"$(pod_name boot)\"'" || exit 1
	e=$(date +%s%N)
	agent_stop >/dev/null
	echo $(( (e - s) / 1000000 )) >> "$T/startup-daemon"
done
# A busy port: the one-line error, before anything is loaded.
"$PY" -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", '"$AGENT_PORT"')); s.listen(); time.sleep(30)' &
holder=$!
BG_PIDS+=($holder)
wait_until 5 "ss -Htln 'sport = :$AGENT_PORT' | grep -q ."
for r in $(seq "$RUNS"); do
	s=$(date +%s%N)
	"$OBSBPF" attach --pod "$(pod_name boot)" --listen "$AGENT_ADDR" --control-socket "$CTL" --app-metrics off \
		>/dev/null 2>&1 && exit 1
	echo $(( ($(date +%s%N) - s) / 1000000 )) >> "$T/busy"
done
kill "$holder"; wait "$holder" 2>/dev/null
summary() { # FILE WHAT TARGET
	sort -n "$1" | awk -v runs="$RUNS" -v what="$2" -v target="$3" '{ v[NR] = $1 } END {
		printf "startup   %s: median %d ms (min %d, max %d) over %d runs%s\n",
			what, v[int((NR + 1) / 2)], v[1], v[NR], runs, target }'
}
summary "$T/startup" "attach to ready" " (target <= 1000 ms)"
summary "$T/startup-daemon" "daemon to ready, its pod attached" " (target <= 1000 ms)"
summary "$T/busy" "busy port to its one-line error" ""
ok "startup measured" >/dev/null
finish >/dev/null
