#!/usr/bin/env bash
# make soak: SOAK_MINUTES (default 10) of mixed traffic through two attached pods, every stream
# verified, the agents' resources sampled; a report with the slope of each and the failures.
#
#   client pod (agent A: spans over OTLP/HTTP, its log file forwarded over Fluent Forward)
#     - checked_load.py: 2 threads of keep-alive GETs and POSTs of up to 256 KiB, a new
#       connection every 50 requests, every answer compared byte for byte
#     - ws_client.py: an upgraded (101) connection carrying frames with request-like text,
#       echoed, compared byte for byte; a new one every 200 frames
#     - the app's log: "soak <i>" lines at a steady rate
#   server pod (agent B: spans over OTLP/gRPC): httpd.py and tunnel_peer.py (the 101 echo)
# Every SOAK_SAMPLE seconds (default 10): VmRSS and open fds of both agents, and the fill of
# their maps (obsbpf status --json). At the end: 0 failed or corrupted requests, 0 altered
# frames, 0 log lines lost or repeated, spans received; the slope of RSS, fds and map fill over
# the second half of the run (after warm-up) in units per minute, with a FAIL when RSS grows
# by more than SOAK_RSS_SLACK_KIB (default 8192) over that half or fds or connection-map
# entries keep growing. Report in build/soak/report.txt, samples in build/soak/samples.csv.
# Runs the release build (RSS under ASan says more about the sanitizer than the agent).
[ "$(id -u)" -eq 0 ] || { echo "the soak needs root (BPF, netns, cgroups)"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
HERE=$(cd "$(dirname "$0")" && pwd)
export OBSBPF=${OBSBPF:-$(cd "$HERE/../.." && pwd)/build/obsbpf}
. "$HERE/../integration/lib.sh"
. "$HERE/../integration/otlp_lib.sh"
. "$HERE/../integration/logs_lib.sh"

MINUTES=${SOAK_MINUTES:-10}
SAMPLE=${SOAK_SAMPLE:-10}
SLACK=${SOAK_RSS_SLACK_KIB:-8192}
OUTDIR=${SOAK_OUT:-$ROOT/build/soak}
mkdir -p "$OUTDIR"
SECS=$("$PY" -c "print(max(20, int(float('$MINUTES') * 60)))")
[ "$SAMPLE" -gt $((SECS / 4)) ] && SAMPLE=$((SECS / 4))
log "soak: $SECS s, a sample every $SAMPLE s"

pod_create srv
pod_create cli
SRV=$(pod_ip srv)
pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run srv "$PY" "$ROOT/tests/integration/apps/tunnel_peer.py" 7101 /dev/null upgrade >/dev/null
wait_port srv 8080 && wait_port srv 7101 || exit 1
mkdir -p "$T/podlogs"
: > "$T/podlogs/app.log"
SPANS=$T/spans.jsonl LOGS=$T/logs.jsonl
otlp_recv_start "$SPANS" || exit 1
recv_start "$LOGS" || exit 1
agent_start --pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --app-metrics off \
	--logs "$T/podlogs/*.log" --cri-logs "" --logs-state "$T/state" --forward "127.0.0.1:$RECV_PORT" || exit 1
B_PORT=$((AGENT_PORT + 1000))
agent_also "$B_PORT" --pod "$(pod_name srv)" --otlp-endpoint "$(otlp_endpoint grpc)" --otlp-protocol grpc \
	--app-metrics off || exit 1
PID_A=$AGENT_PID PID_B=${EXTRA_AGENTS[$B_PORT]}

pod_run cli "$PY" "$ROOT/tests/integration/apps/checked_load.py" --host "$SRV" --threads 2 \
	--max-body 262144 --reconnect 50 --pause 0.01 --seconds $((SECS + 60)) --stop "$T/stop" \
	--out "$T/load.json" >/dev/null
pod_run cli "$PY" "$HERE/ws_client.py" --host "$SRV" --stop "$T/stop" --out "$T/ws.json" >/dev/null
# The app's log: 20 lines a second for the whole run.
LINES=$((SECS * 20))
( write_seq "$T/podlogs/app.log" soak 1 "$LINES" 5 ) &
WRITER=$!
BG_PIDS+=("$WRITER")

# sample: one CSV row: seconds, then RSS KiB, open fds and sockhash entries of A and B.
map_used() { "$OBSBPF" status --control-socket "$1" --json 2>/dev/null | "$PY" -c '
import json, sys
print({x["name"]: x.get("used") for x in json.load(sys.stdin)["maps"]}["pod_socks"])' 2>/dev/null || echo -1; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo -1; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
CSV=$OUTDIR/samples.csv
echo "seconds,rss_a_kib,fds_a,socks_a,rss_b_kib,fds_b,socks_b" > "$CSV"
t0=$(date +%s)
while :; do
	now=$(( $(date +%s) - t0 ))
	echo "$now,$(rss "$PID_A"),$(fds "$PID_A"),$(map_used "$CTL"),$(rss "$PID_B"),$(fds "$PID_B"),$(map_used "$T/agent-$B_PORT.sock")" >> "$CSV"
	[ "$now" -ge "$SECS" ] && break
	kill -0 "$PID_A" 2>/dev/null && kill -0 "$PID_B" 2>/dev/null || { fail "an agent died"; break; }
	sleep "$SAMPLE"
done
touch "$T/stop"
wait "$WRITER" 2>/dev/null
wait_until 60 '[ -s "$T/load.json" ] && [ -s "$T/ws.json" ]' || fail "the load did not finish"
wait_lines "$LOGS" "$LINES" 30 || true

REPORT=$OUTDIR/report.txt
{
	echo "obsbpf soak, $(date -u +%FT%TZ), $(uname -r), $SECS s, samples every $SAMPLE s"
	"$PY" - "$CSV" "$SLACK" <<'PYEOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
slack = int(sys.argv[2])
half = [r for r in rows if int(r["seconds"]) >= int(rows[-1]["seconds"]) / 2] or rows
def slope(col):
    xs = [int(r["seconds"]) / 60 for r in half]
    ys = [float(r[col]) for r in half]
    n = len(xs)
    if n < 2:
        return 0.0, ys[0] if ys else 0, 0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return b, my, b * (xs[-1] - xs[0])
for col, unit in (("rss_a_kib", "KiB"), ("fds_a", "fds"), ("socks_a", "entries"),
                  ("rss_b_kib", "KiB"), ("fds_b", "fds"), ("socks_b", "entries")):
    b, mean, growth = slope(col)
    first, last = rows[0][col], rows[-1][col]
    verdict = "flat"
    if col.startswith("rss") and growth > slack:
        verdict = "GROWS"
    elif not col.startswith("rss") and growth > 2 and b > 0.5:
        verdict = "GROWS"
    print("%-10s first %8s  last %8s  mean %10.1f  slope %+9.2f %s/min over the 2nd half (%+.0f): %s"
          % (col, first, last, mean, b, unit, growth, verdict))
PYEOF
	echo "load: $(cat "$T/load.json")"
	echo "websocket: $(cat "$T/ws.json")"
	read -r missing dups _ _ <<<"$(seq_report "$LOGS" soak "$LINES")"
	echo "logs: $LINES lines written, $missing missing, $dups repeated"
	echo "spans received: $(otlp_spans "$SPANS")"
} > "$REPORT"
cat "$REPORT" | sed 's/^/  /'

grep -q ': GROWS$' "$REPORT" && fail "a resource keeps growing: $(grep ': GROWS$' "$REPORT" | cut -d' ' -f1 | xargs)" \
	|| ok "RSS, fds and map fill flat over the second half"
j() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
expect_ge "requests answered" "$(j "$T/load.json" ok)" 100
expect_eq "failed requests" "$(j "$T/load.json" failed)" 0
expect_eq "corrupted requests (bytes altered)" "$(j "$T/load.json" corrupted)" 0
expect_ge "WebSocket frames echoed" "$(j "$T/ws.json" frames)" 100
expect_eq "WebSocket frames altered" "$(j "$T/ws.json" mismatched)" 0
expect_eq "WebSocket connections failed" "$(j "$T/ws.json" failed)" 0
expect_eq "log lines lost" "$missing" 0
expect_eq "log lines repeated" "$dups" 0
expect_ge "spans received" "$(otlp_spans "$SPANS")" 100
agent_stop || fail "agent A exit status"
finish
