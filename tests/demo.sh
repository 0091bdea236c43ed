#!/usr/bin/env bash
# `make demo`: two demo pods (each its own netns, cgroup and hostname), demo-web calling demo-api
# from its request handlers, under a light load, with obsbpf attached to each and all four
# signals shown: metrics in a real Prometheus (Debian's) that scrapes both agents, spans exported
# over OTLP to a receiver and printed as trees, the apps' log lines forwarded over Fluent Forward
# with their trace ids, and `obsbpf observe`. Runs until Ctrl-C (or for $DEMO_SECONDS seconds),
# then detaches and removes everything. Every wait is for a readiness, none is a fixed sleep.
#
# Ports: DEMO_PORT (9102) and DEMO_PORT+1 the agents, DEMO_PROM_PORT (9090) Prometheus; the
# receivers take free ports.
POD_SUFFIX= # the demo pods are plainly "demo-web" and "demo-api"
source "$(dirname "$0")/integration/lib.sh"
source "$ROOT/tests/integration/otlp_lib.sh"
source "$ROOT/tests/integration/logs_lib.sh"
WEB_PORT=${DEMO_PORT:-9102}
API_PORT=$((WEB_PORT + 1))
PROM_PORT=${DEMO_PROM_PORT:-9090}
PROM=127.0.0.1:$PROM_PORT
SHOW=("$PY" "$ROOT/tests/demo/show.py")
AGENTS=()

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
die() { echo "obsbpf demo: $*" >&2; exit 1; }
# Python run in the foreground with SIGINT ignored: a Ctrl-C then ends the demo, never with a
# KeyboardInterrupt traceback. (Background jobs of a script ignore SIGINT already.)
quiet_py() { ( trap '' INT; exec "$@" ); }

# Ctrl-C, or the end: detach the agents (SIGTERM: they take their programs out of the pods),
# then remove pods, receivers and Prometheus (lib.sh's cleanup).
demo_cleanup() {
	local rc=$? p
	trap '' INT TERM
	echo "obsbpf demo: stopping (detaching obsbpf, removing the pods)"
	for p in "${AGENTS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${AGENTS[@]}"; do wait_gone "$p"; done
	(exit $rc)
	cleanup
}
wait_gone() { local i; for i in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }
trap demo_cleanup EXIT
trap 'echo; exit 0' INT TERM

command -v prometheus >/dev/null || die "Debian's prometheus is not installed (make deps)"
[ -x "$OBSBPF" ] || die "$OBSBPF is not built (make all)"
for port in "$WEB_PORT" "$API_PORT" "$PROM_PORT"; do
	ss -Htln "sport = :$port" | grep -q . && die "port $port is in use (DEMO_PORT, DEMO_PROM_PORT choose others)"
done

# The receivers: spans (OTLP/HTTP) and log records (Fluent Forward), stored as JSON lines.
otlp_recv_start "$T/spans.jsonl" || die "the OTLP receiver did not start (make deps installs it)"
recv_start "$T/logs.jsonl" || die "the Fluent Forward receiver did not start"

mkdir -p "$T/logs/web" "$T/logs/api"
pod_create demo-api
pod_create demo-web
API_IP=$(pod_ip demo-api)
# (their stderr to files: python's http.server prints a traceback for a client gone mid-answer,
# which the load's curl is when the demo stops)
pod_run demo-api "$PY" "$ROOT/tests/demo/shop.py" --name api --fail-every 7 --log "$T/logs/api/app.log" \
	>/dev/null 2>"$T/api.err"
pod_run demo-web "$PY" "$ROOT/tests/demo/shop.py" --name web --downstream "http://$API_IP:8080" \
	--log "$T/logs/web/app.log" >/dev/null 2>"$T/web.err"
wait_port demo-api 8080 && wait_port demo-web 8080 || die "the demo apps did not start"
WEB_IP=$(pod_ip demo-web)

# attach POD PORT: obsbpf for that pod, with every signal on, until its /readyz answers.
attach() {
	local pod=$1 port=$2 name=${1#demo-}
	"$OBSBPF" attach --pod "$pod" --namespace demo --listen "0.0.0.0:$port" --pin-dir "$PIN_DIR" \
		--control-socket "$T/$name.sock" --app-metrics-interval 2 --app-health http://localhost:8080/healthz \
		--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 200 \
		--forward "127.0.0.1:$RECV_PORT" --logs "$T/logs/$name/*.log" --logs-state "$T/$name.state" \
		--logs-flush-ms 200 >"$T/agent-$name.log" 2>&1 &
	local pid=$!
	AGENTS+=("$pid")
	local i
	for i in $(seq 300); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/agent-$name.log" >&2
	die "obsbpf did not get ready for $pod"
}
attach demo-web "$WEB_PORT"
attach demo-api "$API_PORT"

cat > "$T/prometheus.yml" <<P
global: { scrape_interval: 2s, scrape_timeout: 2s }
scrape_configs:
  - job_name: obsbpf
    static_configs: [ { targets: ["127.0.0.1:$WEB_PORT", "127.0.0.1:$API_PORT"] } ]
P
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="0.0.0.0:$PROM_PORT" --enable-feature=exemplar-storage >"$T/prom.log" 2>&1 &
BG_PIDS+=($!)

# The load: a checkout every 100 ms or so (two calls to demo-api each), now and then a user page
# or a 404; half the checkouts come with a traceparent, as from an instrumented caller.
( hex() { printf '%08x' $((RANDOM * 32768 + RANDOM)); }
  while :; do
	n=$((RANDOM % 50))
	if ((RANDOM % 2)); then
		curl -s -o /dev/null -H "traceparent: 00-$(hex)$(hex)$(hex)$(hex)-$(hex)$(hex)-01" "http://$WEB_IP:8080/checkout/$n"
	else
		curl -s -o /dev/null "http://$WEB_IP:8080/checkout/$n"
	fi
	((RANDOM % 5)) || curl -s -o /dev/null "http://$WEB_IP:8080/users/$n"
	((RANDOM % 10)) || curl -s -o /dev/null "http://$WEB_IP:8080/status/404"
	sleep 0.1
  done ) >/dev/null 2>&1 &
BG_PIDS+=($!)

# Readiness of what is shown: Prometheus has scraped both agents and has the request rate, a
# whole trace (web's server span, its two client spans, api's two server spans) arrived, log
# records with trace ids arrived.
prom_val() {
	curl -fsS "http://$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		json 'r=d["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# over the last 10 s: rate() divides by its whole range, which the data may not cover yet
RATE='sum(rate(http_server_request_duration_seconds_count{k8s_pod_name="demo-web"}[10s]))'
P99='histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{k8s_pod_name="demo-web"}[10s])))'
# five scrapes of demo-web's checkouts: a rate over more than the first two
SCRAPED='min(count_over_time(http_server_request_duration_seconds_count{k8s_pod_name="demo-web",http_route="/checkout/:id"}[1m]))'
prom_ready() { [ "$(prom_val 'count(up == 1)')" = 2 ] && [ "$(prom_val "$SCRAPED")" -ge 5 ] 2>/dev/null; }
wait_for 60 prom_ready || die "Prometheus has no data: $(tail -3 "$T/prom.log")"
wait_for 30 quiet_py "${SHOW[@]}" ready-spans "$T/spans.jsonl" || die "no whole trace arrived: $(tail -3 "$T/agent-web.log")"
wait_for 30 quiet_py "${SHOW[@]}" ready-logs "$T/logs.jsonl" || die "no log record with a trace id arrived"

say "obsbpf is attached to demo-web ($WEB_IP) and demo-api ($API_IP): no SDK, no proxy"
head -1 "$T/agent-web.log"

say "1. Metrics, measured in the kernel, scraped by Prometheus"
printf '  demo-web, the last 10 s: %.1f requests/s, p99 %.2f ms\n' "$(prom_val "$RATE")" \
	"$(awk -v v="$(prom_val "$P99")" 'BEGIN { print v * 1000 }')"
echo "  the graph of demo-web's request rate and p99 (open it in a browser):"
echo "  $(quiet_py "${SHOW[@]}" graph-url "http://127.0.0.1:$PROM_PORT" demo-web)"
echo "  the agents' own /metrics: curl -s http://127.0.0.1:$WEB_PORT/metrics | grep ^http_server"

say "2. Traces: spans exported over OTLP, as trees (parent -> children)"
quiet_py "${SHOW[@]}" spans "$T/spans.jsonl" 2

say "3. Logs: the apps' lines, forwarded over Fluent Forward, with their trace ids"
quiet_py "${SHOW[@]}" logs "$T/logs.jsonl" 5

say "4. obsbpf observe: requests as they complete"
# eight lines (or what ten seconds bring): observe ends at its next line once head is done
( trap '' INT; timeout 10 "$OBSBPF" observe --control-socket "$T/web.sock" 2>&1 | head -n 8 ) | sed 's/^/  /'

echo
if [ -n "${DEMO_SECONDS:-}" ]; then
	echo "(stopping in $DEMO_SECONDS s)"
	sleep "$DEMO_SECONDS"
else
	echo "Prometheus: http://127.0.0.1:$PROM_PORT (or this machine's address). Ctrl-C stops the demo."
	wait "${AGENTS[0]}"
fi
