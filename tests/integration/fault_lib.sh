# Helpers for the fault tests (source after lib.sh): a hostile peer (apps/hostile_peer.py) that
# hangs or answers garbage on a port, the agent's RSS sampled while it does, and the time from a
# peer's return to the first delivery.

PEER_PID= PEER_PORT=

# peer_start MODE [PORT]: the hostile peer (slow|garbage) on PORT (default: any free port, then
# PEER_PORT); its accepted connections are counted in $T/peer.conns.
peer_start() {
	rm -f "$T/peer.port" "$T/peer.conns"
	"$PY" "$ROOT/tests/integration/apps/hostile_peer.py" "$1" --port "${2:-0}" \
		--port-file "$T/peer.port" --conns "$T/peer.conns" 2>>"$T/peer.log" &
	PEER_PID=$!
	BG_PIDS+=("$PEER_PID")
	port_file_wait "hostile peer" "$PEER_PID" "$T/peer.port" "$T/peer.log" 10 || return 1
	PEER_PORT=$(cat "$T/peer.port")
}

peer_kill() {
	[ -n "$PEER_PID" ] && kill -KILL "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
	PEER_PID=
}

# peer_conns: connections the peer accepted so far.
peer_conns() { [ -f "$T/peer.conns" ] && wc -l < "$T/peer.conns" || echo 0; }

# rss_watch PID FILE: samples PID's VmRSS (KiB) into FILE every 0.1 s until rss_stop.
RSS_PID=
rss_watch() {
	local pid=$1 out=$2
	: > "$out"
	( while kill -0 "$pid" 2>/dev/null; do
		awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null >> "$out"
		sleep 0.1
	  done ) &
	RSS_PID=$!
	BG_PIDS+=("$RSS_PID")
}
rss_stop() { [ -n "$RSS_PID" ] && kill "$RSS_PID" 2>/dev/null; wait "$RSS_PID" 2>/dev/null; RSS_PID=; }
# rss_max_kib FILE: the largest sample.
rss_max_kib() { sort -n "$1" | tail -1; }
rss_now_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ms_until SECONDS 'CONDITION': polls CONDITION (every 50 ms) and prints the milliseconds it took
# to hold, or fails after SECONDS.
ms_until() {
	local t0 i n=$(( $1 * 20 ))
	t0=$(now_ms)
	for i in $(seq "$n"); do
		if eval "$2" 2>/dev/null; then echo $(( $(now_ms) - t0 )); return 0; fi
		sleep 0.05
	done
	return 1
}

# An ASan build keeps freed memory in quarantine (256 MiB by default), which RSS would show as
# growth: keep it small so the RSS bounds speak about the agent's own buffers.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}:quarantine_size_mb=16"
