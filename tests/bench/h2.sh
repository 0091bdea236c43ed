#!/usr/bin/env bash
# `make bench`, HTTP/2 part: what obsbpf costs h2c and gRPC traffic, against no agent and against
# the userspace way of adding a trace header (a sidecar proxy). One run, interleaved rounds (this
# VM drifts), each config next to the others, for two workloads:
#   h2     h2load in the client pod -> nginx (h2c) in the server pod, GET
#   grpc   h2load sending gRPC unary calls (POST, application/grpc, a framed message) -> a grpc-js
#          server (tests/integration/node/bench_grpc_server.js)
# and four configs:
#   bare       no agent;
#   metrics    obsbpf attached to the server pod, --propagation none: frames followed and timed,
#              blocks decoded, histograms (the server's RED metrics);
#   injection  obsbpf attached to the client pod, --propagation w3c: sk_msg appends a traceparent
#              to every request's header block (and the client side is measured);
#   proxy      h2load -> nghttpx in the client pod (--add-request-header traceparent, h2c to the
#              server) -> the server.
# Reports req/s, p50 and CPU time per request of the server pod, the client pod (h2load, the
# proxy) and the agent; medians per config over the rounds and the ratios to bare. Checks that
# each config did what it claims: the server saw a traceparent on every request with injection
# and proxy, on none bare and with metrics, and the agent counted every request it was attached
# for. Exits 1 when a check fails. Knobs: BENCH_ROUNDS, BENCH_SECONDS, BENCH_H2_STREAMS.
source "$(dirname "$0")/../integration/lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_SECONDS:-4}
STREAMS=${BENCH_H2_STREAMS:-10}
NODE=${NODE:-node}
BENCH=$ROOT/tests/bench
SRV_CPU=0
CLI_CPU=$(( $(nproc) > 1 ? 1 : 0 ))
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

pod_create server || exit 1
pod_create client || exit 1
SRV_IP=$(pod_ip server)
sed "s|@T@|$T|g; s|@PORT@|8080|g" "$BENCH/nginx-h2.conf" > "$T/nginx-h2.conf"
pod_run server taskset -c $SRV_CPU nginx -c "$T/nginx-h2.conf" >/dev/null
pod_run server taskset -c $SRV_CPU "$NODE" "$ROOT/tests/integration/node/bench_grpc_server.js" --port 50051 \
	--port-file "$T/grpc.port" --count-file "$T/grpc.count" >/dev/null
for port in 15080 15051; do
	up=8080
	[ $port = 15051 ] && up=50051
	pod_run client taskset -c $CLI_CPU nghttpx --conf=/dev/null --frontend="127.0.0.1,$port;no-tls" \
		--backend="$SRV_IP,$up;;proto=h2" --add-request-header="traceparent: $TP" --workers=1 \
		--no-ocsp --errorlog-file="$T/nghttpx-$port.log" --accesslog-file=/dev/null >/dev/null
done
wait_port server 8080 && wait_port server 50051 && wait_port client 15080 && wait_port client 15051 || exit 1

# A gRPC unary request's body: a 5-byte frame header (not compressed, length) and 32 bytes.
printf '\x00\x00\x00\x00\x20%s' "$(head -c 32 /dev/zero | tr '\0' 'x')" > "$T/grpc.body"
clk=$(getconf CLK_TCK)
proc_us() { [ -n "$1" ] && awk -v hz="$clk" '{ printf "%.0f\n", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cg_us() { awk '$1 == "usage_usec" { print $2 }' "$(pod_cgroup "$1")/cpu.stat"; }
cpu_parts() { echo "$(cg_us server) $(cg_us client) $(proc_us "$AGENT_PID")"; }
log_lines() { wc -l < "$T/server-h2-access.log"; }
traced_lines() { grep -cE '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$' "$T/server-h2-access.log"; }
grpc_counts() { sleep 0.6; cat "$T/grpc.count" 2>/dev/null || echo "0 0"; }

# run WORKLOAD CONFIG: one h2load run; appends "workload config rps p50_us cpu_us_per_req
# server client agent" to $T/results and what the server saw to $T/checks.
run() {
	local wl=$1 cfg=$2 host=$SRV_IP port=8080
	[ "$wl" = grpc ] && port=50051
	case $cfg in
	metrics) agent_start --pod "$(pod_name server)" --propagation none --app-metrics off >/dev/null || exit 1 ;;
	injection) agent_start --pod "$(pod_name client)" --propagation w3c --sample-ratio 1 \
		--inject-to "$SUBNET.0/24" --app-metrics off >/dev/null || exit 1 ;;
	proxy) host=127.0.0.1 port=$([ "$wl" = grpc ] && echo 15051 || echo 15080) ;;
	esac
	local args=(-c 4 -m "$STREAMS" -D "$DUR" --warm-up-time=1)
	[ "$wl" = grpc ] && args+=(-d "$T/grpc.body" -H 'content-type: application/grpc' -H 'te: trailers')
	local url="http://$host:$port/"
	[ "$wl" = grpc ] && url="http://$host:$port/shop.Cart/Add"
	local l0 t0 g0 c0 c1
	sleep 1.2
	l0=$(log_lines) t0=$(traced_lines) g0=$(grpc_counts) c0=$(cpu_parts)
	pod_exec client taskset -c $CLI_CPU h2load "${args[@]}" "$url" > "$T/h2load.out" 2>&1
	c1=$(cpu_parts)
	local ok rps p50
	ok=$(awk '/^requests:/ { print $8 }' "$T/h2load.out")
	rps=$(awk '/^finished in/ { gsub(",", "", $4); print $4 }' "$T/h2load.out")
	p50=$(awk '/^time for request:/ { print $6 }' "$T/h2load.out" | to_us)
	[ "${ok:-0}" -gt 0 ] || { echo "h2 bench: h2load $url failed:" >&2; cat "$T/h2load.out" >&2; exit 1; }
	local counted=-
	if [ "$cfg" = metrics ] || [ "$cfg" = injection ]; then
		sleep 0.3
		local fam=http_server_request_duration_seconds_count
		[ "$cfg" = injection ] && fam=http_client_request_duration_seconds_count
		[ "$wl" = grpc ] && fam=${fam/http_/rpc_} && fam=${fam/_request_duration/_duration}
		counted=$(metric_value "$fam")
		agent_stop
	fi
	sleep 1.2 # nginx's access log flushes every second
	local seen traced
	if [ "$wl" = grpc ]; then
		read -r g1calls g1traced <<< "$(grpc_counts)"
		read -r g0calls g0traced <<< "$g0"
		seen=$((g1calls - g0calls)) traced=$((g1traced - g0traced))
	else
		seen=$(( $(log_lines) - l0 )) traced=$(( $(traced_lines) - t0 ))
	fi
	local fig
	fig=$(awk -v c0="$c0" -v c1="$c1" -v n="$ok" 'BEGIN { split(c0, a, " "); split(c1, z, " ")
		for (i = 1; i <= 3; i++) { d[i] = (z[i] - a[i]) / n; s += d[i] }
		printf "%.1f %.1f %.1f %.1f", s, d[1], d[2], d[3] }')
	echo "$wl $cfg $rps $p50 $fig" >> "$T/results"
	echo "$wl $cfg $ok $seen $traced $counted" >> "$T/checks"
	set -- $fig
	printf '  %-4s %-9s %8.0f req/s  p50 %6.0f us  cpu %5.1f us/req (server %5.1f client %5.1f agent %4.1f)  server saw %d, %d traced%s\n' \
		"$wl" "$cfg" "$rps" "$p50" "$1" "$2" "$3" "$4" "$seen" "$traced" \
		"$([ "$counted" = - ] || echo ", agent counted $counted")"
}

CONFIGS=(bare metrics injection proxy)
echo "HTTP/2: h2load -c4 -m$STREAMS -D${DUR}s from the client pod (CPU $CLI_CPU) to nginx h2c / grpc-js in the server pod (CPU $SRV_CPU), $ROUNDS interleaved rounds"
pod_exec client h2load -c 2 -m 4 -n 2000 "http://$SRV_IP:8080/" >/dev/null 2>&1 # warm-up
pod_exec client h2load -c 2 -m 4 -n 500 -d "$T/grpc.body" -H 'content-type: application/grpc' \
	-H 'te: trailers' "http://$SRV_IP:50051/shop.Cart/Add" >/dev/null 2>&1
: > "$T/results"
: > "$T/checks"
for r in $(seq "$ROUNDS"); do
	for wl in h2 grpc; do
		for i in "${!CONFIGS[@]}"; do run "$wl" "${CONFIGS[$(( (r + i) % ${#CONFIGS[@]} ))]}"; done
	done
done

# Medians per workload and config, and the ratios to bare (targets: metrics >= 0.95, injection
# >= 0.90).
for wl in h2 grpc; do
	for cfg in "${CONFIGS[@]}"; do
		awk -v w="$wl" -v c="$cfg" '$1 == w && $2 == c' "$T/results" | sort -k3 -n > "$T/sel"
		n=$(wc -l < "$T/sel")
		awk -v n="$n" -v w="$wl" -v c="$cfg" 'NR == int((n + 1) / 2) { printf "%s %s %s %s %s %s %s %s\n", w, c, $3, $4, $5, $6, $7, $8 }' "$T/sel"
	done
done > "$T/medians"
awk '
	{ rps[$1" "$2] = $3; p50[$1" "$2] = $4; cpu[$1" "$2] = $5; srv[$1" "$2] = $6; cli[$1" "$2] = $7; ag[$1" "$2] = $8 }
	END {
		split("h2 grpc", ws, " ")
		split("bare metrics injection proxy", cs, " ")
		for (i = 1; i <= 2; i++) {
			w = ws[i]
			printf "median %s:\n", w
			for (j = 1; j <= 4; j++) {
				k = w" "cs[j]
				printf "  %-9s %8.0f req/s (%.3fx bare)  p50 %6.0f us  cpu %5.1f us/req (%.2fx bare; app: server %.1f client %.1f, agent %.1f)\n",
					cs[j], rps[k], rps[k] / rps[w" bare"], p50[k], cpu[k], cpu[k] / cpu[w" bare"], srv[k], cli[k], ag[k]
			}
			printf "  targets: metrics >= 0.95x bare (%.3f), injection >= 0.90x bare (%.3f); injection vs proxy %.2fx\n",
				rps[w" metrics"] / rps[w" bare"], rps[w" injection"] / rps[w" bare"], rps[w" injection"] / rps[w" proxy"]
		}
	}' "$T/medians"

# Checks: a benchmark of a no-op would be wrong.
bad=$(awk '
	$2 == "bare" || $2 == "metrics" { if ($5 != 0) print "  " $1 " " $2 ": " $5 " requests carried a traceparent, want none" }
	$2 == "injection" || $2 == "proxy" { if ($5 < $4 || $4 < $3) print "  " $1 " " $2 ": " $5 " of " $4 " requests traced, h2load sent " $3 }
	$6 != "-" { if ($6 < $3) print "  " $1 " " $2 ": the agent counted " $6 " of " $3 " requests" }' "$T/checks")
if [ -n "$bad" ]; then
	echo "h2 bench: a config did not do what it claims:"
	echo "$bad"
	exit 1
fi
echo "  checks: every request traced with injection and proxy, none bare or with metrics; the agent counted every request"
