#!/usr/bin/env bash
# `make bench`, TLS part: what the OpenSSL uprobes cost HTTPS. Side by side, as the other parts:
# two nginx pods serving HTTPS (one worker each, on CPU 0), pod A attached (--tls openssl, the
# default, --propagation none: the cost of reading the plaintext, not of tracing), pod B bare,
# loaded at once by two wrk (keep-alive HTTPS, on CPU 1). Workloads: HTTP/1.1 (wrk) and HTTP/2
# over TLS (h2load). Reports per round the ratio A/B of req/s and the CPU per request of A's
# and B's server and of the agent; medians. Checks that the agent measured every request of A
# under url_scheme="https" (a benchmark of a no-op would be wrong) and exits 1 otherwise.
# Next to the agent, the floor: the same eight uprobes with programs that do nothing
# (build/bench/uprobe_floor), what reading TLS at the library costs before any of obsbpf's work.
# Knobs: BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/tls_lib.sh"
OBSBPF=${BENCH_OBSBPF:-$ROOT/build/obsbpf}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_SECONDS:-4}
CONNS=${BENCH_CONNECTIONS:-16}
CLI_CPU=$(($(nproc) > 1 ? 1 : 0))

pod_create tlsa || exit 1
pod_create tlsb || exit 1
tls_cert srv "$(pod_ip tlsa)" || exit 1
# one certificate for both: the clients do not verify (-k), the handshake is the same
for p in a b; do
	sed "s|worker_processes 2;|worker_processes 1;|; s|nginx-tls\.pid|nginx-tls-$p.pid|; s|nginx-tls-access|nginx-tls-$p-access|; s|nginx-tls-error|nginx-tls-$p-error|" \
		"$(nginx_tls_conf 8443 "$T/srv.pem")" > "$T/nginx-$p.conf"
	pod_run tls$p taskset -c 0 nginx -c "$T/nginx-$p.conf" >/dev/null
done
wait_port tlsa 8443 && wait_port tlsb 8443 || exit 1
URL_A="https://$(pod_ip tlsa):8443/"
URL_B="https://$(pod_ip tlsb):8443/"
clk=$(getconf CLK_TCK)
proc_us() { [ -n "$1" ] && awk -v hz="$clk" '{ printf "%.0f\n", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cg_us() { awk '$1 == "usage_usec" { print $2 }' "$(pod_cgroup "$1")/cpu.stat"; }

# The library nginx maps: the floor's probes go on the same file as the agent's.
LIBSSL=$(awk '$6 ~ /libssl\.so/ { print $6; exit }' "/proc/$(cat "$T/nginx-tls-a.pid")/maps")
[ -n "$LIBSSL" ] || { echo "tls bench: nginx maps no libssl"; exit 1; }
FLOOR=${BENCH_UPROBE_FLOOR:-$ROOT/build/bench/uprobe_floor}
FLOOR_PID=
# start CONFIG / stop CONFIG: floor (uprobes that do nothing) or agent (obsbpf attached to A)
start() {
	if [ "$1" = floor ]; then
		"$FLOOR" "$LIBSSL" > "$T/floor.out" 2>&1 &
		FLOOR_PID=$!
		BG_PIDS+=("$FLOOR_PID")
		wait_until 10 'grep -q ready "$T/floor.out"' || { echo "tls bench: uprobe floor: $(cat "$T/floor.out")"; exit 1; }
	else
		agent_start --pod "$(pod_name tlsa)" --propagation none --app-metrics off >/dev/null || exit 1
		wait_until 10 "[ \$(metric_value obsbpf_tls_libraries_probed) -ge 1 ]" || { echo "tls bench: no OpenSSL probed"; exit 1; }
	fi
}
stop() {
	if [ "$1" = floor ]; then
		kill "$FLOOR_PID" && wait "$FLOOR_PID" 2>/dev/null
	else
		agent_stop
	fi
}

# load WORKLOAD URL OUT: one client run of DUR seconds on CLI_CPU
load() {
	if [ "$1" = h1 ]; then
		taskset -c $CLI_CPU wrk -t 1 -c "$CONNS" -d "${DUR}s" "$2" > "$3" 2>&1
	else
		taskset -c $CLI_CPU h2load -c 4 -m 10 -D "$DUR" "$2" > "$3" 2>&1
	fi
}
# rps WORKLOAD OUT: requests and req/s of a run
rps() {
	if [ "$1" = h1 ]; then
		awk '/requests in/ { n = $1 } /^Requests\/sec/ { r = $2 } END { print n + 0, r + 0 }' "$2"
	else
		awk '/^requests:/ { n = $8 } /^finished in/ { gsub(",", "", $4); r = $4 } END { print n + 0, r + 0 }' "$2"
	fi
}

: > "$T/results"
bad=0
echo "TLS side by side: two nginx HTTPS pods (1 worker, CPU 0), A with uprobes that do nothing (floor) or attached (agent: --tls openssl, --propagation none), B bare; clients on CPU $CLI_CPU at once, $ROUNDS rounds of ${DUR}s"
for wl in h1 h2; do
	load "$wl" "$URL_A" /dev/null
	load "$wl" "$URL_B" /dev/null # warm-up
	V='network_protocol_version="1.1"'
	[ "$wl" = h2 ] && V='network_protocol_version="2"'
	for r in $(seq "$ROUNDS"); do
		for cfg in floor agent; do
			start "$cfg"
			before=0
			[ "$cfg" = agent ] && before=$(metric_value http_server_request_duration_seconds_count 'url_scheme="https"' "$V")
			c0="$(cg_us tlsa) $(cg_us tlsb) $(proc_us "$AGENT_PID")"
			# the clients run on the host (the pods are reached over the bridge): outside pod A,
			# so that only its server's calls are read; the probes' filter costs both alike
			load "$wl" "$URL_A" "$T/a.out" &
			pa=$!
			load "$wl" "$URL_B" "$T/b.out" &
			pb=$!
			wait $pa $pb
			c1="$(cg_us tlsa) $(cg_us tlsb) $(proc_us "$AGENT_PID")"
			read -r na ra <<< "$(rps "$wl" "$T/a.out")"
			read -r nb rb <<< "$(rps "$wl" "$T/b.out")"
			[ "${na:-0}" -gt 0 ] && [ "${nb:-0}" -gt 0 ] || { echo "tls bench: $wl client failed:"; cat "$T/a.out" "$T/b.out"; exit 1; }
			counted=-
			if [ "$cfg" = agent ]; then
				sleep 0.5
				counted=$(($(metric_value http_server_request_duration_seconds_count 'url_scheme="https"' "$V") - before))
				# wrk counts the requests whose answer arrived before it stopped: 1% slack
				[ "$counted" -ge $((na * 99 / 100)) ] || { echo "  $wl round $r: the agent measured $counted of $na HTTPS requests"; bad=1; }
			fi
			stop "$cfg"
			fig=$(awk -v c0="$c0" -v c1="$c1" -v na="$na" -v nb="$nb" -v cfg="$cfg" 'BEGIN { split(c0, x, " "); split(c1, z, " ")
				printf "%.1f %.1f %.1f", (z[1] - x[1]) / na, (z[2] - x[2]) / nb, cfg == "agent" ? (z[3] - x[3]) / na : 0 }')
			ratio=$(echo "$ra / $rb" | bc -l)
			echo "$wl $cfg $ratio $ra $rb $fig" >> "$T/results"
			set -- $fig
			printf '  %-2s %-5s round %d  A %7.0f req/s  B %7.0f req/s  A/B %.3f  cpu us/req: server A %5.1f B %5.1f, agent %4.1f (measured %s of %d)\n' \
				"$wl" "$cfg" "$r" "$ra" "$rb" "$ratio" "$1" "$2" "$3" "$counted" "$na"
		done
	done
done
for wl in h1 h2; do
	for cfg in floor agent; do
		awk -v w="$wl" -v c="$cfg" '$1 == w && $2 == c' "$T/results" | sort -k3 -n > "$T/sel"
		awk -v w="$wl" -v c="$cfg" '{ r[NR] = $3; l[NR] = $0 } END { m = int((NR + 1) / 2); split(l[m], f, " ")
			printf "median %-8s %-5s A/B %.3f (min %.3f, max %.3f)%s; cpu us/req server %.1f vs %.1f bare (+%.1f)%s\n",
				w == "h1" ? "HTTP/1.1" : "HTTP/2", c, r[m], r[1], r[NR], c == "agent" ? " (target >= 0.95)" : "",
				f[6], f[7], f[6] - f[7], c == "agent" ? sprintf(", agent %.1f", f[8]) : "" }' "$T/sel"
	done
done
[ "$bad" -eq 0 ] || { echo "tls bench: the agent did not measure every request"; exit 1; }
echo "  checks: the agent measured every HTTPS request of A"
