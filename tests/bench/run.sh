#!/usr/bin/env bash
# `make bench`: wrk against nginx in a test pod over its veth, bare vs with obsbpf attached,
# interleaved in one run (this VM's throughput drifts), reported as ratios. Not a test: nothing
# here passes or fails on a number.
source "$(dirname "$0")/../integration/lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf} # the optimised build, not the sanitized one
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-32}

pod_create bench
# Pinned apart (nginx on CPU 0, wrk on CPU 1): on 2 cores, unpinned runs swing by 30%.
pod_run bench taskset -c 0 nginx -c "$(nginx_conf 8080)" >/dev/null
wait_port bench 8080 || exit 1
URL="http://$(pod_ip bench):8080/api/items/42"

# run_wrk LABEL: one wrk run; appends "label rps p50_us p99_us" to $T/results.
to_us() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v*1000 } else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000000 } }'; }
run_wrk() {
	taskset -c 1 wrk -t 1 -c "$CONNS" -d "${DUR}s" --latency "$URL" > "$T/wrk.out"
	local rps p50 p99
	rps=$(awk '/^Requests\/sec/ { print $2 }' "$T/wrk.out")
	p50=$(awk '$1 == "50%" { print $2 }' "$T/wrk.out" | to_us)
	p99=$(awk '$1 == "99%" { print $2 }' "$T/wrk.out" | to_us)
	echo "$1 $rps $p50 $p99" >> "$T/results"
	printf '  %-9s %10.0f req/s  p50 %7.0f us  p99 %7.0f us\n' "$1" "$rps" "$p50" "$p99"
}

echo "wrk -t1 -c$CONNS -d${DUR}s against nginx in a pod over veth, $ROUNDS interleaved rounds"
wrk -t 1 -c "$CONNS" -d 1s "$URL" >/dev/null # warm-up
for r in $(seq "$ROUNDS"); do
	run_wrk bare
	agent_start --pod "$(pod_name bench)" >/dev/null || exit 1
	run_wrk attached
	counted=$(metric_value http_server_request_duration_seconds_count)
	agent_stop
done
echo "  (last attached round: obsbpf counted $counted requests)"

awk -v target=0.95 '
	{ n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4 }
	END {
		for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k] }
		printf "mean      bare %.0f req/s, attached %.0f req/s\n", rps["bare"], rps["attached"]
		printf "ratio     attached/bare req/s = %.3f (target >= %.2f)\n", rps["attached"] / rps["bare"], target
		printf "latency   p50 %.0f -> %.0f us (x%.2f), p99 %.0f -> %.0f us (x%.2f)\n",
			p50["bare"], p50["attached"], p50["attached"] / p50["bare"],
			p99["bare"], p99["attached"], p99["attached"] / p99["bare"]
	}' "$T/results"

# trace propagation: bare vs injection + export vs a header-adding proxy, client pod -> server pod
bash "$ROOT/tests/bench/trace.sh"
trace_rc=$? # non-zero when its runs did not do what they claim (e.g. no header injected)

# log forwarding throughput and RSS (no BPF involved)
bash "$ROOT/tests/bench/logs.sh" || exit 1
exit $trace_rc
