#!/usr/bin/env bash
# A/B of two agent builds in one run: `make bench`'s side-by-side measurement (two identical
# nginx pods on CPU 0, one attached, each loaded by its own wrk on CPU 1 at once; the ratio
# attached/bare is immune to the VM's drift) with agent A and agent B in alternating rounds.
# For a change that must not cost throughput (a refactoring): build the commit before it in a
# worktree and compare.
#   tests/bench/ab.sh OBSBPF_A OBSBPF_B     (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS)
# Prints each round's ratio and the median per build. A measurement, not a test.
source "$(dirname "$0")/../integration/lib.sh"
A=${1:?usage: ab.sh OBSBPF_A OBSBPF_B} B=${2:?usage: ab.sh OBSBPF_A OBSBPF_B}
ROUNDS=${BENCH_ROUNDS:-6}
DUR=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-32}

nginx_in() {
	sed "s|nginx\.pid|nginx-$1.pid|; s|nginx-access|nginx-$1-access|; s|nginx-error|nginx-$1-error|" \
		"$(nginx_conf 8080)" > "$T/nginx-$1.conf"
	pod_run "$1" taskset -c 0 nginx -c "$T/nginx-$1.conf" >/dev/null
	wait_port "$1" 8080
}
pod_create bench
pod_create side
nginx_in bench && nginx_in side || exit 1
URL="http://$(pod_ip bench):8080/api/items/42"
SIDE_URL="http://$(pod_ip side):8080/api/items/42"
wrk_on() { taskset -c 1 wrk -t 1 -c "$1" -d "${DUR}s" --latency "$2"; }
wrk -t 1 -c 8 -d 1s "$URL" >/dev/null; wrk -t 1 -c 8 -d 1s "$SIDE_URL" >/dev/null # warm-up

echo "A/B side by side: A=$A B=$B, $ROUNDS rounds each of ${DUR}s, wrk -t1 -c$CONNS"
for r in $(seq "$ROUNDS"); do
	for which in A B; do
		bin=$A
		[ $which = B ] && bin=$B
		OBSBPF=$bin agent_start --pod "$(pod_name bench)" >/dev/null || exit 1
		wrk_on "$CONNS" "$SIDE_URL" > "$T/side.out" & b=$!
		wrk_on "$CONNS" "$URL" > "$T/bench.out" & a=$!
		wait "$a" "$b"
		agent_stop
		read -r brps _ _ <<< "$(wrk_result "$T/side.out")"
		read -r arps _ _ <<< "$(wrk_result "$T/bench.out")"
		ratio=$(echo "$arps / $brps" | bc -l)
		echo "$which $ratio" >> "$T/ab"
		printf '  round %d  %s  bare %8.0f req/s  attached %8.0f req/s  ratio %.3f\n' "$r" "$which" "$brps" "$arps" "$ratio"
	done
done
for which in A B; do
	awk -v w=$which '$1 == w { print $2 }' "$T/ab" | sort -n > "$T/r"
	awk -v w=$which '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %s: attached/bare %.3f (min %.3f, max %.3f, %d rounds)\n", w, m, v[1], v[NR], NR }' "$T/r"
done
