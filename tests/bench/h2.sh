#!/usr/bin/env bash
# `make bench`, HTTP/2 part: what obsbpf costs h2c and gRPC traffic, against no agent and against
# the userspace way of adding a trace header (a sidecar proxy). This VM's throughput drifts by
# tens of percent within seconds, so each config is measured side by side with bare: two
# identical client -> server pod pairs loaded at once (servers on CPU 0, clients on CPU 1), pair
# A configured, pair B bare; the ratio A/B is what is reported. Two workloads:
#   h2     h2load -> nginx (h2c), GET
#   grpc   h2load sending gRPC unary calls (POST, application/grpc, a framed message) -> a grpc-js
#          server (tests/integration/node/bench_grpc_server.js)
# and three configs for pair A:
#   metrics    obsbpf attached to server A, --propagation none: frames followed and timed, blocks
#              decoded, histograms (the server's RED metrics);
#   injection  obsbpf attached to client A, --propagation w3c: sk_msg appends a traceparent to
#              every request's header block (and the client side is measured);
#   proxy      h2load -> nghttpx in client A (--add-request-header traceparent, h2c) -> server A.
# Reports per round req/s of A and B and their ratio, and CPU per request of A's server, A's
# client and the agent against B's; medians per config. Checks that each config did what it
# claims (every request of A traced with injection and proxy, none with metrics, none of B's;
# the agent counted every request of A) and exits 1 otherwise.
# Knobs: BENCH_ROUNDS, BENCH_SECONDS, BENCH_H2_STREAMS.
source "$(dirname "$0")/../integration/lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_SECONDS:-4}
STREAMS=${BENCH_H2_STREAMS:-10}
NODE=${NODE:-node}
SRV_CPU=0
CLI_CPU=$(($(nproc) > 1 ? 1 : 0))
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

for p in srva srvb clia clib; do pod_create $p || exit 1; done
for p in a b; do
	sed "s|@T@|$T|g; s|@PORT@|8080|g; s|server-h2-|srv$p-|g" "$ROOT/tests/bench/nginx-h2.conf" > "$T/nginx-$p.conf"
	pod_run srv$p taskset -c $SRV_CPU nginx -c "$T/nginx-$p.conf" >/dev/null
	pod_run srv$p taskset -c $SRV_CPU "$NODE" "$ROOT/tests/integration/node/bench_grpc_server.js" --port 50051 \
		--port-file "$T/grpc-$p.port" --count-file "$T/grpc-$p.count" >/dev/null
done
for port in 15080 15051; do
	up=8080
	[ $port = 15051 ] && up=50051
	pod_run clia taskset -c $CLI_CPU nghttpx --conf=/dev/null --frontend="127.0.0.1,$port;no-tls" \
		--backend="$(pod_ip srva),$up;;proto=h2" --add-request-header="traceparent: $TP" --workers=1 \
		--no-ocsp --errorlog-file="$T/nghttpx-$port.log" --accesslog-file=/dev/null >/dev/null
done
for p in srva srvb; do wait_port $p 8080 && wait_port $p 50051 || exit 1; done
wait_port clia 15080 && wait_port clia 15051 || exit 1

# A gRPC unary request's body: a 5-byte frame header (not compressed, length) and 32 bytes.
printf '\x00\x00\x00\x00\x20%s' "$(head -c 32 /dev/zero | tr '\0' 'x')" > "$T/grpc.body"
clk=$(getconf CLK_TCK)
proc_us() { [ -n "$1" ] && awk -v hz="$clk" '{ printf "%.0f\n", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cg_us() { awk '$1 == "usage_usec" { print $2 }' "$(pod_cgroup "$1")/cpu.stat"; }
cpu_parts() { echo "$(cg_us srva) $(cg_us clia) $(proc_us "$AGENT_PID") $(cg_us srvb) $(cg_us clib)"; }
# seen_traced PAIR WORKLOAD: requests the pair's server saw so far, and how many carried a traceparent
seen_traced() {
	if [ "$2" = grpc ]; then
		sleep 0.6 # the server writes its counts every 0.5 s
		cat "$T/grpc-$1.count" 2>/dev/null || echo "0 0"
	else
		echo "$(wc -l < "$T/srv$1-access.log") $(grep -cE '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$' "$T/srv$1-access.log")"
	fi
}
h2load_result() { # FILE: "succeeded req/s"
	echo "$(awk '/^requests:/ { print $8 }' "$1") $(awk '/^finished in/ { gsub(",", "", $4); print $4 }' "$1")"
}

# run WORKLOAD CONFIG: pair A configured and pair B bare, loaded at once.
run() {
	local wl=$1 cfg=$2 port=8080 path=/ ahost
	ahost=$(pod_ip srva)
	local args=(-c 4 -m "$STREAMS" -D "$DUR" --warm-up-time=1)
	if [ "$wl" = grpc ]; then
		port=50051 path=/shop.Cart/Add
		args+=(-d "$T/grpc.body" -H 'content-type: application/grpc' -H 'te: trailers')
	fi
	local aport=$port
	case $cfg in
	metrics) agent_start --pod "$(pod_name srva)" --propagation none --app-metrics off >/dev/null || exit 1 ;;
	injection) agent_start --pod "$(pod_name clia)" --propagation w3c --sample-ratio 1 \
		--inject-to "$SUBNET.0/24" --app-metrics off >/dev/null || exit 1 ;;
	proxy) ahost=127.0.0.1 aport=$([ "$wl" = grpc ] && echo 15051 || echo 15080) ;;
	esac
	sleep 1.2 # nginx flushes its access log every second: the counts below start clean
	local sa sb c0 c1
	sa=$(seen_traced a "$wl") sb=$(seen_traced b "$wl") c0=$(cpu_parts)
	pod_exec clia taskset -c $CLI_CPU h2load "${args[@]}" "http://$ahost:$aport$path" > "$T/a.out" 2>&1 &
	local pa=$!
	pod_exec clib taskset -c $CLI_CPU h2load "${args[@]}" "http://$(pod_ip srvb):$port$path" > "$T/b.out" 2>&1 &
	local pb=$!
	wait $pa $pb
	c1=$(cpu_parts)
	local aok arps bok brps
	read -r aok arps <<< "$(h2load_result "$T/a.out")"
	read -r bok brps <<< "$(h2load_result "$T/b.out")"
	[ "${aok:-0}" -gt 0 ] && [ "${bok:-0}" -gt 0 ] ||
		{ echo "h2 bench: h2load failed:" >&2; cat "$T/a.out" "$T/b.out" >&2; exit 1; }
	local counted=-
	if [ "$cfg" != proxy ]; then
		sleep 0.3
		local fam=http_server_request_duration_seconds_count
		[ "$cfg" = injection ] && fam=http_client_request_duration_seconds_count
		[ "$wl" = grpc ] && fam=${fam/http_/rpc_} && fam=${fam/_request_duration/_duration}
		counted=$(metric_value "$fam")
		agent_stop
	fi
	sleep 1.2
	local a0s a0t a1s a1t b0s b0t b1s b1t
	read -r a0s a0t <<< "$sa"
	read -r b0s b0t <<< "$sb"
	read -r a1s a1t <<< "$(seen_traced a "$wl")"
	read -r b1s b1t <<< "$(seen_traced b "$wl")"
	local fig
	fig=$(awk -v c0="$c0" -v c1="$c1" -v na="$aok" -v nb="$bok" 'BEGIN { split(c0, x, " "); split(c1, z, " ")
		for (i = 1; i <= 5; i++) d[i] = z[i] - x[i]
		printf "%.1f %.1f %.1f %.1f %.1f", d[1] / na, d[2] / na, d[3] / na, d[4] / nb, d[5] / nb }')
	local ratio
	ratio=$(echo "$arps / $brps" | bc -l)
	echo "$wl $cfg $ratio $arps $brps $fig" >> "$T/results"
	echo "$wl $cfg $aok $((a1s - a0s)) $((a1t - a0t)) $((b1t - b0t)) $counted" >> "$T/checks"
	set -- $fig
	printf '  %-4s %-9s A %7.0f req/s  B %7.0f req/s  A/B %.3f  cpu us/req A: server %5.1f client %5.1f agent %4.1f  B: server %5.1f client %5.1f\n' \
		"$wl" "$cfg" "$arps" "$brps" "$ratio" "$1" "$2" "$3" "$4" "$5"
}

CONFIGS=(metrics injection proxy)
echo "HTTP/2 side by side: two client -> server pod pairs (servers on CPU $SRV_CPU, h2load -c4 -m$STREAMS -D${DUR}s on CPU $CLI_CPU), A configured, B bare, loaded at once; $ROUNDS rounds"
for p in a b; do
	pod_exec cli$p h2load -c 2 -m 4 -n 2000 "http://$(pod_ip srv$p):8080/" >/dev/null 2>&1 # warm-up
	pod_exec cli$p h2load -c 2 -m 4 -n 500 -d "$T/grpc.body" -H 'content-type: application/grpc' \
		-H 'te: trailers' "http://$(pod_ip srv$p):50051/shop.Cart/Add" >/dev/null 2>&1
done
: > "$T/results"
: > "$T/checks"
for r in $(seq "$ROUNDS"); do
	for wl in h2 grpc; do
		for i in "${!CONFIGS[@]}"; do run "$wl" "${CONFIGS[$(((r + i) % ${#CONFIGS[@]}))]}"; done
	done
done

# Medians of the ratios per workload and config (targets: metrics >= 0.95, injection >= 0.90).
for wl in h2 grpc; do
	echo "median $wl (A/B req/s over $ROUNDS rounds; CPU us/req, A against B):"
	for cfg in "${CONFIGS[@]}"; do
		awk -v w="$wl" -v c="$cfg" '$1 == w && $2 == c' "$T/results" | sort -k3 -n > "$T/sel"
		awk -v c="$cfg" '{ r[NR] = $3; l[NR] = $0 } END {
			m = int((NR + 1) / 2); split(l[m], f, " ")
			tgt = c == "metrics" ? " (target >= 0.95)" : c == "injection" ? " (target >= 0.90)" : ""
			printf "  %-9s %.3f (min %.3f, max %.3f)%s  server %.1f vs %.1f, client %.1f vs %.1f, agent %.1f\n",
				c, r[m], r[1], r[NR], tgt, f[6], f[9], f[7], f[10], f[8] }' "$T/sel"
	done
done

# Checks: a benchmark of a no-op would be wrong.
bad=$(awk '
	$6 != 0 { print "  " $1 " " $2 ": pair B (bare) saw " $6 " traced requests" }
	$2 == "metrics" { if ($5 != 0) print "  " $1 " metrics: " $5 " requests carried a traceparent, want none" }
	$2 == "injection" || $2 == "proxy" { if ($5 < $4 || $4 < $3) print "  " $1 " " $2 ": " $5 " of " $4 " requests traced, h2load sent " $3 }
	$7 != "-" { if ($7 < $3) print "  " $1 " " $2 ": the agent counted " $7 " of " $3 " requests" }' "$T/checks")
if [ -n "$bad" ]; then
	echo "h2 bench: a config did not do what it claims:"
	echo "$bad"
	exit 1
fi
echo "  checks: every request traced with injection and proxy, none with metrics or bare; the agent counted every request"
