# Helpers for the log forwarding tests (source after lib.sh): a Fluent Forward receiver
# (fluent_receiver.py) and `obsbpf logs`, the log forwarder without BPF.

RECV_PID= RECV_PORT=

# recv_wait NAME SECONDS: the receiver just started as $! writes its port to $T/recv.port.
recv_wait() {
	RECV_PID=$!
	BG_PIDS+=("$RECV_PID")
	port_file_wait "$1" "$RECV_PID" "$T/recv.port" "$T/recv.log" "$2" || return 1
	RECV_PORT=$(cat "$T/recv.port")
}

# recv_start OUT [ARGS...]: starts the receiver (on RECV_PORT again when set), storing records in OUT.
recv_start() {
	local out=$1; shift
	rm -f "$T/recv.port"
	"$PY" "$ROOT/tests/integration/fluent_receiver.py" --out "$out" --port "${RECV_PORT:-0}" \
		--port-file "$T/recv.port" --noack "$T/NOACK" "$@" 2>>"$T/recv.log" &
	recv_wait "receiver" 5
}

recv_kill() {
	[ -n "$RECV_PID" ] && kill -KILL "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null
	RECV_PID=
}

# logs_start ARGS...: `obsbpf logs ARGS`, until /healthz answers.
logs_start() { agent_launch logs /healthz "$@"; }

logs_kill9() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# wait_lines FILE N [SECONDS]: until FILE has at least N lines (default 15 s).
wait_lines() {
	local i n lim=$(( ${3:-15} * 10 ))
	for i in $(seq "$lim"); do
		n=0
		[ -f "$1" ] && n=$(wc -l < "$1")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# seq_report FILE PREFIX N: counts of the records whose log is "PREFIX <i>" for i in 1..N:
# prints "missing duplicated dup_chunks max_chunk" (dup_chunks: how many chunks the first copies
# of duplicated records came from; max_chunk: records in the largest chunk).
seq_report() {
	"$PY" - "$@" <<'PYEOF'
import collections, json, sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = collections.Counter(); first_chunk = {}; chunk_size = collections.Counter()
for line in open(path):
    r = json.loads(line)
    chunk_size[r["chunk"]] += 1
    log = r["record"].get("log", "")
    if not log.startswith(prefix + " "):
        continue
    try:
        i = int(log.split()[1])
    except ValueError:
        continue
    seen[i] += 1
    first_chunk.setdefault(i, r["chunk"])
missing = sum(1 for i in range(1, n + 1) if seen[i] == 0)
dups = sum(c - 1 for c in seen.values() if c > 1)
dup_chunks = len({first_chunk[i] for i, c in seen.items() if c > 1})
print(missing, dups, dup_chunks, max(chunk_size.values()) if chunk_size else 0)
PYEOF
}

# write_seq FILE PREFIX FROM TO [SLEEP_EVERY_100]: appends "PREFIX i" lines.
write_seq() {
	"$PY" - "$@" <<'PYEOF'
import sys, time
path, prefix, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0
with open(path, "a", buffering=1) as f:
    for i in range(a, b + 1):
        f.write("%s %d {\"pad\":\"%s\"}\n" % (prefix, i, "x" * 40))
        if pause and i % 100 == 0:
            f.flush()
            time.sleep(pause)
PYEOF
}

# recv_start_node OUT [SHARED_KEY]: the fluent org's FluentServer (tests/integration/node, installed
# by deploy/install-deps.sh) as the receiver instead.
recv_start_node() {
	local out=$1 key=${2:-}
	rm -f "$T/recv.port"
	[ -d "$ROOT/tests/integration/node/node_modules/@fluent-org/logger" ] ||
		{ echo "@fluent-org/logger not installed (deploy/install-deps.sh)" >&2; return 1; }
	node "$ROOT/tests/integration/node/fluent_server.js" "$out" "$T/recv.port" $key 2>>"$T/recv.log" &
	recv_wait "FluentServer" 10
}
