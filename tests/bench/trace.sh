#!/usr/bin/env bash
# `make bench`, tracing part: what in-kernel trace propagation costs a client, against no
# tracing at all and against the userspace way of adding a header (a sidecar proxy). One run,
# interleaved rounds (this VM drifts), each config measured next to the others:
#   bare      wrk in the client pod -> nginx in the server pod, no agent;
#   attached  the same, obsbpf attached to the client pod: sk_msg injects traceparent into
#             wrk's requests (--sample-ratio 1) and the agent exports every span over OTLP/HTTP
#             to a collector pod whose nginx answers 200 and discards (nginx-collector.conf);
#   grpc      as attached, exporting over OTLP/gRPC (h2c) to the same collector pod's nginx,
#             which answers grpc-status 0 (skipped with BENCH_EXPORT=0 or BENCH_GRPC=0);
#   sampled   as attached, with --sample-ratio 0.1 --propagate sampled: only the ~10% of
#             requests whose trace is sampled get a header (and a span); the rest are parsed,
#             timed and counted, and pass as sent (issue 20; skipped when the agent has no
#             --propagate);
#   metrics   as attached with --propagation none and no export: the client pod's requests
#             parsed and timed, nothing inserted (BENCH_METRICS=0 skips it);
#   proxy     wrk -> nginx sidecar in the client pod (proxy_set_header traceparent, keep-alive
#             upstream) -> the same server;
#   skmsg     no obsbpf: the client pod's sockets in a sockhash whose sk_msg program passes
#             every send (skmsg_floor.bpf.c): what the hook costs by itself;
#   insert    the same sk_msg inserting a fixed traceparent as obsbpf does (push + pull), and
#             nothing else: the floor under any sk_msg injection. Both are skipped without
#             build/bench/skmsg_floor (BENCH_FLOOR=0 skips them too).
# CPU 0 is the server's (nginx), CPU 1 the client's (wrk) and the collector's; the agent, like
# the proxy, may run on either (as run.sh's agent; the proxy gets 2 workers, its best case, see
# PROXY_WORKERS). Reports req/s, p50/p99 and CPU time per request (both pods and the agent, not
# the collector: the figure that depends least on pinning and on other jobs),
# how much of the machine other jobs used meanwhile, and medians over all runs and over the
# quiet ones. Checks that each config sent what it should: the server's access log records
# every request's traceparent (none bare, one on every request otherwise; sampled: between 2%
# and 30% of them, one each), and a last short
# attached run exports to a sink that decodes its spans (otlp_sink.py: one span per request).
# For the configs that export, the export's cost (issue 20): spans exported per CPU-second of
# the agent (the agent's own obsbpf_trace_spans_exported_total over its user+sys time from
# /proc), and the agent's CPU per request as a percentage of the app's (client and server
# pods), min/median/max over the rounds.
# Exits 1 when a check fails:
# a benchmark of a no-op is wrong. Otherwise a measurement, not a test.
# Knobs: BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PROXY_WORKERS, BENCH_PROXY_CPUS,
# BENCH_EXPORT=0 (attached injects, exports nothing), BENCH_GRPC=0, BENCH_FLOOR=0,
# BENCH_AGENT_ARGS (more options for every agent, e.g. "--otlp-batch 2048"), BENCH_METRICS=0,
# BENCH_BPF_STATS=1 (kernel.bpf_stats_enabled during the runs: each obsbpf program's run time
# per call and per request, by config; the accounting itself costs ~20-40 ns a call), BENCH_PERF=FILE
# (perf record -g of the first attached run's agent into FILE, when perf is there).
source "$(dirname "$0")/../integration/lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_SECONDS:-4}
CONNS=${BENCH_CONNECTIONS:-32}
NCPU=$(nproc)
SRV_CPU=0
CLI_CPU=$(( NCPU > 1 ? 1 : 0 ))
BENCH=$ROOT/tests/bench
# The proxy gets its best case by default: a worker per CPU, on any CPU. A sidecar held to its
# client's CPU is BENCH_PROXY_WORKERS=1 BENCH_PROXY_CPUS=1.
PROXY_WORKERS=${BENCH_PROXY_WORKERS:-$NCPU}
PROXY_CPUS=${BENCH_PROXY_CPUS:-0-$(( NCPU - 1 ))}

conf() { # conf NAME PORT UPSTREAM: the bench's nginx config NAME with its paths filled in
	sed "s|@T@|$T|g; s|@PORT@|$2|g; s|@UPSTREAM@|${3:-}|g; s|@WORKERS@|$PROXY_WORKERS|g" \
		"$BENCH/nginx-$1.conf" > "$T/nginx-$1.conf"
	echo "$T/nginx-$1.conf"
}

pod_create server || exit 1
pod_create client || exit 1
pod_create collector || exit 1
SRV_IP=$(pod_ip server)
pod_run server taskset -c $SRV_CPU nginx -c "$(conf server 8080)" >/dev/null
PROXY_PORT=15001
pod_run client taskset -c "$PROXY_CPUS" nginx -c "$(conf proxy $PROXY_PORT "$SRV_IP:8080")" >/dev/null
pod_run collector taskset -c $CLI_CPU nginx -c "$(conf collector 4318)" >/dev/null
wait_port server 8080 && wait_port client $PROXY_PORT && wait_port collector 4318 &&
	wait_port collector 4317 || exit 1
COLLECTOR_URL=http://$(pod_ip collector):4318
COLLECTOR_GRPC=http://$(pod_ip collector):4317

rm -f "$T/sink.port"
taskset -c $CLI_CPU "$PY" "$BENCH/otlp_sink.py" --port-file "$T/sink.port" --count-file "$T/sink.count" \
	2>"$T/sink.log" &
SINK_PID=$!
BG_PIDS+=("$SINK_PID")
wait_for 5 test -s "$T/sink.port" || { echo "otlp sink did not start:" >&2; cat "$T/sink.log" >&2; exit 1; }
SINK_URL=http://127.0.0.1:$(cat "$T/sink.port")

TRACE_ARGS=(--propagation w3c --sample-ratio 1 --inject-to "$SUBNET.0/24")
SAMPLED_ARGS=(--propagation w3c --sample-ratio 0.1 --propagate sampled --inject-to "$SUBNET.0/24")
read -r -a AGENT_ARGS <<< "${BENCH_AGENT_ARGS:-}"
TRACE_ARGS+=("${AGENT_ARGS[@]}")
SAMPLED_ARGS+=("${AGENT_ARGS[@]}")
CONFIGS=(bare attached proxy)
[ "${BENCH_METRICS:-1}" = 1 ] && CONFIGS+=(metrics)
FLOOR=$ROOT/build/bench/skmsg_floor
[ "${BENCH_FLOOR:-1}" = 1 ] && [ -x "$FLOOR" ] && CONFIGS+=(skmsg insert)
EXPORT=${BENCH_EXPORT:-1} # 0: attached injects but exports nothing (to split the cost)
[ "$EXPORT" = 1 ] || EXPORT=
"$OBSBPF" attach --help > "$T/attach-help.txt" 2>&1
if ! grep -q -- '--propagation' "$T/attach-help.txt"; then
	echo "trace bench: $OBSBPF cannot inject trace headers (no --propagation): bare and proxy only"
	CONFIGS=(bare proxy)
elif ! grep -q -- '--otlp-endpoint' "$T/attach-help.txt"; then
	echo "trace bench: $OBSBPF cannot export spans (no --otlp-endpoint): attached = injection only"
	EXPORT=
fi
grep -q -- '--propagate ' "$T/attach-help.txt" && CONFIGS+=(sampled)
[ -n "$EXPORT" ] && [ "${BENCH_GRPC:-1}" = 1 ] && grep -q -- '--otlp-protocol' "$T/attach-help.txt" &&
	CONFIGS+=(grpc)
exports() { [ "$1" = attached ] || [ "$1" = sampled ] || [ "$1" = grpc ]; } # configs with an agent

# prog_stats: "id name run_time_ns run_cnt" of every obsbpf program (kernel.bpf_stats_enabled).
prog_stats() {
	bpftool prog show --json 2>/dev/null | "$PY" -c 'import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("obsbpf_"):
        print(p["id"], p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
if [ "${BENCH_BPF_STATS:-0}" = 1 ]; then
	BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	trap 'sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS"; cleanup' EXIT
fi

# cpu_parts: CPU time used so far, in µs, by the server pod, the client pod (wrk, the proxy),
# the agent and the collector (its pod and the verify run's sink).
clk=$(getconf CLK_TCK)
proc_us() { [ -n "$1" ] && awk -v hz="$clk" '{ printf "%.0f\n", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cg_us() { awk '$1 == "usage_usec" { print $2 }' "$(pod_cgroup "$1")/cpu.stat"; }
cpu_parts() { echo "$(cg_us server) $(cg_us client) $(proc_us "$AGENT_PID") $(( $(cg_us collector) + $(proc_us "$SINK_PID") ))"; }
# busy_us: CPU time the whole machine has been busy, in µs: the rest of it, during a run, is the
# noise from other jobs (and softirq work not charged to our processes).
busy_us() { awk -v hz="$clk" '$1 == "cpu" { printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000000 / hz }' /proc/stat; }

# in_segs: TCP segments the server pod has received (one per request, unless a header insertion
# split requests: that once cost a third of the throughput).
in_segs() { ip netns exec "${POD_NS[server]}" nstat -az TcpInSegs | awk '$1 == "TcpInSegs" { print $2 }'; }

# log_check CONFIG REQUESTS SEGMENTS: how many requests the server logged since the last check,
# and how many carried a valid traceparent; appended to $T/checks with wrk's and nstat's counts.
log_lines=0
log_check() {
	local lines tp prev=-1 i
	sleep 1.2 # the access log's flush=1s; then until it stops growing (3 s at most), so that no
	# line of this run is counted with the next one
	for i in $(seq 10); do
		lines=$(wc -l < "$T/server-access.log")
		[ "$lines" = "$prev" ] && break
		prev=$lines
		sleep 0.3
	done
	tp=$(tail -n +$((log_lines + 1)) "$T/server-access.log" | head -n $((lines - log_lines)) |
		grep -cE '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$')
	echo "$1 $((lines - log_lines)) $tp $2 ${3:-0}" >> "$T/checks"
	log_lines=$lines
}


# agent_spans: requests the agent has dealt with so far: spans exported or dropped, and
# unsampled exchanges (counted, never exported).
agent_spans() {
	curl -fsS -m 2 "http://$AGENT_ADDR/metrics" | awk '
		$1 ~ /^obsbpf_trace_spans_(exported|dropped|not_sampled)_total/ { n += $NF } END { print n + 0 }'
}

# run CONFIG [SECONDS OTLP_URL]: one wrk run; appends "config rps p50_us p99_us cpu_us_per_req
# rest_pct server_cpu client_cpu agent_cpu collector_cpu (µs/request)" to $T/results (not when
# SECONDS is given: the verify run). The total leaves out the collector, which runs elsewhere.
run() {
	local cfg=$1 dur=${2:-$DUR} label=${2:+verify} url="http://$SRV_IP:8080/api/items/42"
	local export=()
	label=${label:-$cfg}
	[ -n "$EXPORT" ] && export=(--otlp-endpoint "${3:-$COLLECTOR_URL}")
	[ "$cfg" = grpc ] && export=(--otlp-protocol grpc --otlp-endpoint "$COLLECTOR_GRPC")
	if [ "$cfg" = attached ] || [ "$cfg" = grpc ]; then
		agent_start --pod "$(pod_name client)" "${TRACE_ARGS[@]}" "${export[@]}" >/dev/null || exit 1
	elif [ "$cfg" = sampled ]; then
		agent_start --pod "$(pod_name client)" "${SAMPLED_ARGS[@]}" "${export[@]}" >/dev/null || exit 1
	elif [ "$cfg" = metrics ]; then
		agent_start --pod "$(pod_name client)" --propagation none "${AGENT_ARGS[@]}" >/dev/null || exit 1
	fi
	local floor_pid= perf_pid=
	if [ -n "${BENCH_PERF:-}" ] && [ "$cfg" = attached ] && [ ! -e "$BENCH_PERF" ] && [ -z "${2:-}" ] &&
		command -v perf >/dev/null; then
		perf record -F 999 -g -p "$AGENT_PID" -o "$BENCH_PERF" >/dev/null 2>&1 &
		perf_pid=$!
		BG_PIDS+=("$perf_pid")
	fi
	if [ "$cfg" = skmsg ] || [ "$cfg" = insert ]; then
		: > "$T/floor.out"
		"$FLOOR" "$([ "$cfg" = skmsg ] && echo pass || echo insert)" "$(pod_cgroup client)" > "$T/floor.out" 2>&1 &
		floor_pid=$!
		BG_PIDS+=("$floor_pid")
		wait_for 5 grep -q ready "$T/floor.out" ||
			{ echo "trace bench: skmsg_floor did not start:" >&2; cat "$T/floor.out" >&2; exit 1; }
	fi
	if [ "$cfg" = proxy ]; then
		url="http://127.0.0.1:$PROXY_PORT/api/items/42"
		# New workers, new upstream connections: the old ones' idle keep-alive connections were
		# adopted by an earlier run's agent, and stay in its pinned sockhash (sk_msg on every
		# send) after it exits.
		kill -HUP "$(cat "$T/proxy-nginx.pid")"
		sleep 1
	fi
	local c0 c1 b0 b1 t0 t1 s0
	[ "${BENCH_BPF_STATS:-0}" = 1 ] && prog_stats > "$T/ps0"
	c0=$(cpu_parts) b0=$(busy_us) t0=$(date +%s%N) s0=$(in_segs)
	pod_exec client taskset -c $CLI_CPU wrk -t 1 -c "$CONNS" -d "${dur}s" --latency "$url" > "$T/wrk.out"
	local reqs rps p50 p99 s1
	s1=$(in_segs)
	[ "${BENCH_BPF_STATS:-0}" = 1 ] && prog_stats > "$T/ps1"
	[ -n "$floor_pid" ] && { kill -TERM "$floor_pid"; wait "$floor_pid"; }
	reqs=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
	[ "${reqs:-0}" -gt 0 ] || { echo "trace bench: wrk against $url failed:" >&2; cat "$T/wrk.out" >&2; exit 1; }
	if exports "$cfg" && [ -n "$EXPORT" ]; then
		# the spans still queued are exported within the agent's batch delay: their export
		# is part of what these requests cost
		local n=0 i
		for i in $(seq 50); do # 10 s at most
			n=$(agent_spans) && [ "$n" -ge "$reqs" ] && break
			sleep 0.2
		done
	fi
	c1=$(cpu_parts) b1=$(busy_us) t1=$(date +%s%N)
	read -r rps p50 p99 <<< "$(wrk_result "$T/wrk.out")"
	# per request: total CPU, the rest of the machine's share of the run, then the parts
	local figures
	figures=$(awk -v c0="$c0" -v c1="$c1" -v n="$reqs" -v b=$((b1 - b0)) -v t=$(( (t1 - t0) / 1000 * NCPU )) 'BEGIN {
		split(c0, a, " "); split(c1, z, " ")
		for (i = 1; i <= 4; i++) { d[i] = z[i] - a[i]; sum += d[i] }
		rest = b - sum < 0 ? 0 : 100 * (b - sum) / t
		sum -= d[4]
		printf "%.1f %.0f %.1f %.1f %.1f %.1f", sum / n, rest, d[1] / n, d[2] / n, d[3] / n, d[4] / n }')
	[ "$label" = verify ] || echo "$cfg $rps $p50 $p99 $figures" >> "$T/results"
	# each program's run time in this run: "config name ns_per_call calls_per_request ns_per_request"
	[ "${BENCH_BPF_STATS:-0}" = 1 ] && [ "$label" != verify ] && awk -v c="$cfg" -v n="$reqs" '
		FNR == NR { t[$1] = $3; k[$1] = $4; next }
		$1 in t && $4 > k[$1] { dt = $3 - t[$1]; dk = $4 - k[$1]
			printf "%s %s %.0f %.2f %.0f\n", c, $2, dt / dk, dk / n, dt / n }' "$T/ps0" "$T/ps1" >> "$T/bpfstats"
	set -- $figures
	printf '  %-9s %7.0f req/s  p50 %5.0f us  p99 %6.0f us  cpu %4.1f us/req (server %4.1f client %4.1f agent %3.1f; collector %3.1f)  rest of machine %2d%%\n' \
		"$label" "$rps" "$p50" "$p99" "$1" "$3" "$4" "$5" "$6" "$2"
	if exports "$cfg"; then
		local mfile=$T/agent-metrics.txt sfile=$T/spans
		[ "$cfg" = sampled ] && mfile=$T/agent-metrics-sampled.txt sfile=$T/spans-sampled
		[ "$cfg" = grpc ] && mfile=$T/agent-metrics-grpc.txt sfile=$T/spans-grpc
		wait_for 5 sh -c "curl -fsS -m 2 'http://$AGENT_ADDR/metrics' > '$mfile'"
		agent_stop
		[ -n "$perf_pid" ] && wait "$perf_pid" # ends with the agent
		# what the agent says it exported, dropped and did not sample
		awk '	$1 ~ /^obsbpf_trace_spans_exported_total/ { e += $NF }
			$1 ~ /^obsbpf_trace_spans_dropped_total/ { d += $NF }
			$1 ~ /^obsbpf_trace_spans_not_sampled_total/ { u += $NF }
			END { printf "%d %d %d\n", e, d, u }' "$mfile" >> "$sfile"
		# the export's cost: config, spans exported and dropped, the agent's and the app's
		# (both pods') CPU in µs, requests, the rest of the machine's share
		[ "$label" = verify ] || [ -z "$EXPORT" ] || awk -v c="$cfg" -v c0="$c0" -v c1="$c1" -v n="$reqs" -v rest="$2" '
			{ e = $1; d = $2 }
			END { split(c0, a, " "); split(c1, z, " ")
				printf "%s %d %d %d %d %d %d\n", c, e, d, z[3] - a[3], z[1] - a[1] + z[2] - a[2], n, rest }' \
			"$sfile" >> "$T/export"
	fi
	[ "$cfg" = metrics ] && agent_stop
	log_check "$label" "$reqs" $((s1 - s0))
}

echo "trace propagation: wrk -t1 -c$CONNS -d${DUR}s, client pod -> server pod over veth, $ROUNDS interleaved rounds"
echo "  (server on CPU $SRV_CPU; wrk and the OTLP collector on CPU $CLI_CPU; the agent on any; proxy: $PROXY_WORKERS workers on CPUs $PROXY_CPUS)"
echo "  (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
pod_exec client taskset -c $CLI_CPU wrk -t 1 -c "$CONNS" -d 1s "http://$SRV_IP:8080/" >/dev/null # warm-up
pod_exec client taskset -c $CLI_CPU wrk -t 1 -c "$CONNS" -d 1s "http://127.0.0.1:$PROXY_PORT/" >/dev/null
log_check warmup 0
: > "$T/checks"
for r in $(seq "$ROUNDS"); do
	# the order rotates each round, so that no config always runs first or after the agent
	for i in "${!CONFIGS[@]}"; do run "${CONFIGS[$(( (r + i) % ${#CONFIGS[@]} ))]}"; done
done
echo "  (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ -n "$EXPORT" ]; then
	# One more short run, not measured, exporting to a sink that decodes: do the spans it
	# receives match the requests the server saw?
	run attached 1 "$SINK_URL"
	vspans=$(awk '{ print $3 }' "$T/sink.count")
fi

# What each config sent: bare must carry no traceparent, attached and proxy one per request.
awk '{ n[$1] += $2; tp[$1] += $3; w[$1] += $4; sg[$1] += $5 }
	END { for (k in n) printf "  check     %-9s server logged %d requests (wrk: %d), %d with a valid traceparent; %.2f TCP segments in per request\n",
		k, n[k], w[k], tp[k], sg[k] / n[k] }' "$T/checks" | sort
vspans=${vspans:--1}
if [ -n "$EXPORT" ]; then
	awk '{ e += $1; d += $2 } END { printf "  check     the agent exported %d spans and dropped %d (scraped before it stopped)\n", e, d }' "$T/spans"
	[ -f "$T/spans-grpc" ] && awk '{ e += $1; d += $2 } END {
		printf "  check     grpc: the agent exported %d spans and dropped %d\n", e, d }' "$T/spans-grpc"
	[ -f "$T/spans-sampled" ] && awk '{ e += $1; d += $2; u += $3 } END {
		printf "  check     sampled: the agent exported %d spans, dropped %d, counted %d unsampled (%.1f%% sampled)\n",
			e, d, u, e + u ? 100 * e / (e + u) : 0 }' "$T/spans-sampled"
	sleep 1.2 # the collector's access log: flush=1s
	awk '{ n++; b += $2; if ($1 != 200) bad++ } END { printf "  check     the collector answered %d exports (%d bytes), %d of them not with 200\n", n, b, bad }' \
		"$T/collector-access.log"
	echo "  check     verify run: the decoding sink received $(awk '{ print $1 " exports, " $3 " spans" }' "$T/sink.count")"
fi
if [ -f "$T/agent-metrics.txt" ]; then
	echo "  check     last attached run, the agent's non-zero trace counters:"
	awk '$1 ~ /^obsbpf_(trace|otlp|span|export|events)/ && $NF != 0' "$T/agent-metrics.txt" | sed 's/^/            /'
fi
awk -v spans="$vspans" '
	{ n[$1] += $2; tp[$1] += $3 }
	END {
		for (k in n) if ((k == "bare" || k == "skmsg" || k == "metrics") && tp[k]) bad = bad sprintf(" %d %s requests carried a traceparent;", tp[k], k)
		for (k in n) if (k != "bare" && k != "skmsg" && k != "metrics" && k != "sampled" && tp[k] < n[k]) bad = bad sprintf(" %s: %d requests without a traceparent;", k, n[k] - tp[k])
		# --sample-ratio 0.1: about a tenth carry one (binomial over ~100k requests: 2-30% is sure)
		if ("sampled" in n && (tp["sampled"] < n["sampled"] * 0.02 || tp["sampled"] > n["sampled"] * 0.3))
			bad = bad sprintf(" sampled: %d of %d requests with a traceparent;", tp["sampled"], n["sampled"])
		# every request the server logged in the verify run is a span (a few more, still in
		# flight when wrk stopped, may have been logged without being counted by wrk)
		if (spans >= 0 && spans < n["verify"] * 0.99) bad = bad sprintf(" the sink decoded %d spans for %d requests;", spans, n["verify"])
		if (bad != "") { print "  WARNING: not measuring what it claims:" bad; exit 1 }
	}' "$T/checks"
verified=$?

# summary TITLE MAX_REST: medians over the runs during which the rest of the machine used at most
# MAX_REST% of it, with their range; the ratios are of the medians. A median, because one run
# disturbed by another job on this machine moves a mean a lot. Fails when a config has no such run.
summary() {
	awk -v title="$1" -v max="$2" '
	# sorts v[1..m] and returns its median
	function mid(v, m,    i, j, t) {
		for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
	}
	function median(k, col,    m, i, v, r) {
		m = n[k]
		for (i = 1; i <= m; i++) v[i] = val[k, col, i]
		r = mid(v, m)
		lo[k, col] = v[1]; hi[k, col] = v[m]
		return r
	}
	# "LABEL A/B req/s = R (TARGET), p99 xP, cpu/req xC TAIL" of the medians (TARGET "": none,
	# with_p99 0: no p99 ratio)
	function ratio(label, a, b, target, with_p99, tail,    s) {
		s = sprintf("%-9s %-14s req/s = %.3f", label, a "/" b, rps[a] / rps[b])
		if (target != "") s = s " (" target ")"
		if (with_p99) s = s sprintf(", p99 x%.2f", p99[a] / p99[b])
		print s sprintf(", cpu/req x%.2f", cpu[a] / cpu[b]) tail
	}
	{ all[$1] = 1; seq[$1]++; sr[$1, seq[$1]] = $2; q[$1, seq[$1]] = $6 }
	$6 <= max { n[$1]++; for (c = 2; c <= 10; c++) val[$1, c, n[$1]] = $c }
	END {
		for (k in all) if (!(k in n)) exit 1
		print title
		split("bare attached grpc sampled metrics proxy skmsg insert", order, " ")
		for (i = 1; i <= 8; i++) {
			k = order[i]
			if (!(k in n)) continue
			rps[k] = median(k, 2); p50[k] = median(k, 3); p99[k] = median(k, 4); cpu[k] = median(k, 5)
			printf "median    %-9s %7.0f req/s (%.0f-%.0f)  p50 %5.0f us  p99 %6.0f us (%.0f-%.0f)  %d runs\n",
				k, rps[k], lo[k, 2], hi[k, 2], p50[k], p99[k], lo[k, 4], hi[k, 4], n[k]
			printf "          %-9s cpu %4.1f us/req: server %4.1f, client %4.1f, agent %3.1f; collector %3.1f\n",
				k, cpu[k], median(k, 7), median(k, 8), median(k, 9), median(k, 10)
			median(k, 6)
			rest = rest sprintf(" %s %.0f-%.0f%%", k, lo[k, 6], hi[k, 6])
		}
		if ("attached" in n) {
			ratio("ratio", "attached", "bare", "target >= 0.90", 1, "")
			ratio("ratio", "attached", "proxy", "target >= 2.0", 1, "")
			if ("insert" in n)
				ratio("ratio", "attached", "insert", "target >= 0.97: over the insertion floor", 0, "")
		}
		if ("metrics" in n) {
			ratio("ratio", "metrics", "bare", "target >= 0.97", 1, " (--propagation none)")
			if ("skmsg" in n)
				ratio("ratio", "metrics", "skmsg", "", 0, " (over the hook alone)")
		}
		if ("sampled" in n) {
			ratio("ratio", "sampled", "bare", "target >= 0.97", 1, " (--sample-ratio 0.1 --propagate sampled)")
			# the same round by round: each round runs bare and sampled once, close in time
			m = 0
			for (i = 1; i <= seq["sampled"] && i <= seq["bare"]; i++)
				if (q["sampled", i] <= max && q["bare", i] <= max) r[++m] = sr["sampled", i] / sr["bare", i]
			if (m) {
				med = mid(r, m)
				printf "ratio     sampled/bare   req/s per round: min %.3f, median %.3f, max %.3f (%d rounds)\n",
					r[1], med, r[m], m
			}
		}
		ratio("ratio", "proxy", "bare", "", 1, "")
		if ("insert" in n) {
			ratio("floor", "skmsg", "bare", "", 0, " (the sk_msg hook alone, passing)")
			ratio("floor", "insert", "bare", "", 0,
				sprintf("; insert/proxy req/s = %.3f (push + pull alone)", rps["insert"] / rps["proxy"]))
		}
		printf "noise     CPU used by the rest of the machine during these runs:%s\n", rest
	}' "$T/results"
}
summary "all runs:" 100
# The export's cost, per config that exports, over every run (CPU time moves much less with other
# jobs than req/s does): spans per CPU-second of the agent and its CPU per request as a share of
# the app's. The agent's count is what the collector accepted, checked against wrk's requests.
if [ -s "$T/export" ]; then
	sort -k1,1 "$T/export" | awk '
	function mmm(a, m,    i, j, t) {
		for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return sprintf("min %s, median %s, max %s", fmt(a[1]), fmt(m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2), fmt(a[m]))
	}
	function fmt(v) { return v >= 1000 ? sprintf("%.0fk", v / 1000) : sprintf("%.2f", v) }
	function flush(    m) {
		if (cfg == "") return
		printf "export    %-9s %s spans per agent CPU-second (%d runs)\n", cfg, mmm(sps, n), n
		printf "          %-9s agent CPU per request = %s %% of the app'"'"'s (client + server pods)\n", cfg, mmm(pct, n)
		printf "          %-9s %d spans exported for %d requests, %d dropped; agent %.2f us per span; rest of machine %d-%d%%\n",
			cfg, te, tr, td, tu / (te ? te : 1), rlo, rhi
		if (cfg != "sampled" && (te < tr || td)) bad = bad sprintf(" %s: %d spans exported, %d dropped, for %d requests;", cfg, te, td, tr)
		n = te = tr = td = tu = 0; rlo = 100; rhi = 0
	}
	BEGIN { rlo = 100 }
	$1 != cfg { flush(); cfg = $1 }
	{ n++; sps[n] = $4 ? $2 / ($4 / 1e6) : 0; pct[n] = $5 ? 100 * $4 / $5 : 0
	  te += $2; td += $3; tu += $4; tr += $6; if ($7 < rlo) rlo = $7; if ($7 > rhi) rhi = $7 }
	END { flush(); if (bad != "") { print "  WARNING: not measuring what it claims:" bad; exit 1 } }' ||
		verified=1
fi
# Run time of each program per request, by config: medians over the runs (BENCH_BPF_STATS=1).
if [ -s "$T/bpfstats" ]; then
	sort -k1,1 -k2,2 "$T/bpfstats" | awk '
	function med(a, m,    i, j, t) {
		for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	function flush() {
		if (key == "") return
		printf "bpf       %-9s %-22s %5.0f ns a call, %4.2f calls a request, %5.0f ns a request (%d runs)\n",
			cfg, prog, med(nc, m), med(cr, m), med(nr, m), m
		tot[cfg] += med(nr, m); m = 0
	}
	$1 " " $2 != key { flush(); key = $1 " " $2; cfg = $1; prog = $2 }
	{ m++; nc[m] = $3; cr[m] = $4; nr[m] = $5 }
	END { flush(); for (c in tot) printf "bpf       %-9s all programs: %.0f ns a request\n", c, tot[c] }'
fi
if [ "$(awk '$6 > 5' "$T/results" | wc -l)" -gt 0 ]; then
	echo "  (other jobs were running during some runs: their req/s and p99 are disturbed, cpu/req less)"
	summary "quiet runs only (the rest of the machine used <= 5% of it):" 5 ||
		echo "quiet runs only: not every config had one; run again when the machine is idle"
fi
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null # quietly: lib.sh's cleanup would SIGKILL it
exit $verified
