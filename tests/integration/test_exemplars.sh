#!/usr/bin/env bash
# /metrics in OpenMetrics: served when the scraper asks for it (Prometheus' own Accept header),
# valid for a real parser (python's prometheus_client, Debian's) with every collector in it (the
# kernel's histograms, the agent's counters, the logs forwarder's, the app's re-exposed series),
# scraped by a real Prometheus with exemplar storage; 0.0.4 text for everyone else, still
# passing promtool. Requests carrying a sampled traceparent come back as exemplars with their
# trace id, from /metrics and from Prometheus' /api/v1/query_exemplars.
source "$(dirname "$0")/lib.sh"

PROM_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
OM_CTYPE='application/openmetrics-text; version=1.0.0; charset=utf-8'

om_metrics() { curl -fsS -H "Accept: $PROM_ACCEPT" "http://$AGENT_ADDR/metrics"; }
# om_parse FILE: the families python's OpenMetrics parser reads from FILE, or exit 1 and why.
om_parse() {
	"$PY" - "$1" <<'P'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
try:
    fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
except Exception as e:
    print("invalid OpenMetrics:", e)
    sys.exit(1)
print(" ".join(sorted(f.name + ":" + f.type for f in fams)))
P
}

pod_create web
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
# The app's own metrics, in valid 0.0.4 text that is not OpenMetrics as written: a histogram
# listed bucket by bucket across series, a counter without _total, a histogram without +Inf.
APP=$T/app
mkdir -p "$APP" "$T/logs"
cat > "$APP/metrics" <<'M'
# HELP shop_latency_seconds Checkout latency, "fast" path.
# TYPE shop_latency_seconds histogram
shop_latency_seconds_bucket{path="a",le="0.1"} 1
shop_latency_seconds_bucket{path="b",le="0.1"} 2
shop_latency_seconds_bucket{le="+Inf",path="a"} 3
shop_latency_seconds_bucket{path="b",le="+Inf"} 4
shop_latency_seconds_sum{path="a"} 0.5
shop_latency_seconds_sum{path="b"} 0.7
shop_latency_seconds_count{path="a"} 3
shop_latency_seconds_count{path="b"} 4
# TYPE shop_hits counter
shop_hits 12
# TYPE shop_broken histogram
shop_broken_bucket{le="1"} 1
M
pod_run web "$PY" "$ROOT/tests/integration/apps/metrics_app.py" --bind 127.0.0.1 --port 8081 --dir "$APP" >/dev/null
wait_port web 8080 && wait_port web 8081 || exit 1
echo "a log line" > "$T/logs/app.log"
POD=$(pod_name web)
agent_start --pod "$POD" --namespace shop --node node-1 \
	--app-metrics http://localhost:8081/metrics --app-metrics-interval 1 \
	--logs "$T/logs/*.log" --logs-out stdout --logs-state "$T/logs.state" || exit 1
IP=$(pod_ip web)

TRACED=4bf92f3577b34da6a3ce929d0e0e4736
UNSAMPLED=0af7651916cd43dd8448eb211c80319c
for i in 1 2 3; do
	curl -fsS -o /dev/null -H "traceparent: 00-$TRACED-00f067aa0ba902b7-01" "http://$IP:8080/traced"
	curl -fsS -o /dev/null -H "traceparent: 00-$UNSAMPLED-b7ad6b7169203331-00" "http://$IP:8080/unsampled"
done
curl -fsS -o /dev/null "http://$IP:8080/plain"
# A request from inside the pod to itself: a CLIENT and a SERVER span of one trace.
INPOD=5c2f7a4e9d3b41f08a6e2d1c0b9a8f7e
pod_exec web curl -fsS -o /dev/null -H "traceparent: 00-$INPOD-1111222233334444-01" "http://127.0.0.1:8080/inpod"
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q '^shop_hits'" || fail "app series never appeared"
# Histograms are read from the kernel's map, exemplars from its ring buffer, drained on a timer:
# wait until the agent has read every event (6 + 1 requests, and 2 for the in-pod one).
events_read() { [ "$(metric_value obsbpf_events_read_total)" -ge 9 ]; }
wait_for 5 events_read || fail "events read: $(metric_value obsbpf_events_read_total), want 9"

# 1. Negotiation: Prometheus' Accept gets OpenMetrics, curl's default the 0.0.4 text.
expect_eq "Content-Type for Prometheus' Accept" \
	"$(curl -fsS -o /dev/null -w '%{content_type}' -H "Accept: $PROM_ACCEPT" "http://$AGENT_ADDR/metrics")" "$OM_CTYPE"
expect_eq "Content-Type for */*" "$(curl -fsS -o /dev/null -w '%{content_type}' "http://$AGENT_ADDR/metrics")" \
	"text/plain; version=0.0.4; charset=utf-8"
expect_eq "Content-Type when OpenMetrics is refused (q=0)" \
	"$(curl -fsS -o /dev/null -w '%{content_type}' -H 'Accept: application/openmetrics-text;q=0, */*' "http://$AGENT_ADDR/metrics")" \
	"text/plain; version=0.0.4; charset=utf-8"

# 2. The OpenMetrics text passes a real parser, every collector included.
om_metrics > "$T/om.txt"
if fams=$(om_parse "$T/om.txt"); then
	ok "python prometheus_client parses the OpenMetrics exposition"
else
	fail "$fams"
fi
for f in http_server_request_duration_seconds:histogram obsbpf_events_read:counter \
	obsbpf_logs_lines_read:counter obsbpf_app_up:gauge shop_latency_seconds:histogram shop_hits:counter; do
	[[ " $fams " == *" $f "* ]] && ok "family $f" || fail "family $f missing from: $fams"
done
expect_eq "last line" "$(tail -n 1 "$T/om.txt")" "# EOF"
grep -qxF "# UNIT http_server_request_duration_seconds seconds" "$T/om.txt" && ok "UNIT line" || fail "no UNIT line"
expect_eq "no exemplar on unsampled requests" "$(grep -c "$UNSAMPLED" "$T/om.txt")" 0
metrics > "$T/text.txt"
expect_eq "no exemplar syntax in 0.0.4 text" "$(grep -c ' # {' "$T/text.txt")" 0
# promtool also lints style; the app's families above are unidiomatic on purpose.
if grep -v 'shop_' "$T/text.txt" | promtool check metrics > "$T/promtool.txt" 2>&1; then
	ok "promtool check metrics (0.0.4 text)"
else
	fail "promtool check metrics: $(cat "$T/promtool.txt")"
fi

# 3. The kernel puts trace context into events: exemplars must be there.
line=$(grep '^http_server_request_duration_seconds_bucket{.*http_route="/traced"' "$T/om.txt" | grep " # {")
# three requests: one to three buckets, each with the latest request's exemplar
expect_ge "exemplars on /traced buckets" "$(echo "$line" | grep -c "trace_id=\"$TRACED\"")" 1
# every one: span id, the request's duration, a wall-clock timestamp with milliseconds
if [ -n "$line" ] && ! echo "$line" | grep -Eqv ' # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} [0-9]+\.[0-9]{9} [0-9]{10}\.[0-9]{3}$'; then
	ok "exemplars have span_id, value and timestamp"
else
	fail "exemplar: $line"
fi
# the server span's own id: the caller's span (traceparent's parent-id) is its parent
for side in server client; do
	expect_eq "$side histogram: exemplar of the in-pod request" "$(grep "^http_${side}_request_duration_seconds_bucket{.*http_route=\"/inpod\"" "$T/om.txt" |
		grep -c "trace_id=\"$INPOD\"")" 1
done
expect_eq "exemplar span is the server span, not the caller's" "$(echo "$line" | grep -c 'span_id="00f067aa0ba902b7"')" 0
ts=$(echo "$line" | head -n 1 | awk '{ print int($NF) }')
now=$(date +%s)
[ -n "$ts" ] && [ $((now - ts)) -ge 0 ] && [ $((now - ts)) -lt 60 ] \
	&& ok "exemplar timestamp is the request's wall-clock time" || fail "exemplar timestamp $ts, now $now"

# 4. A real Prometheus, exemplar storage on, scrapes it (and so negotiates OpenMetrics).
prom_start --enable-feature=exemplar-storage
prom_query() { # QUERY: the value of the first result, "" when none
	curl -fsS "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		json 'r=d["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
up_is_1() { [ "$(prom_query 'up{job="obsbpf"}')" = 1 ]; }
wait_for 20 up_is_1 && ok "Prometheus: up == 1" \
	|| fail "target not up: $(curl -s "http://$PROM_ADDR/api/v1/targets" | head -c 600)"
has_traced() { [ "$(prom_query 'sum(http_server_request_duration_seconds_count{http_route="/traced"})')" = 3 ]; }
wait_for 10 has_traced && ok "Prometheus has the histogram: 3 requests on /traced" \
	|| fail "histogram in Prometheus: '$(prom_query 'sum(http_server_request_duration_seconds_count{http_route="/traced"})')'"
# UNIT exists only in OpenMetrics: Prometheus knowing it proves which parser it used.
unit=$(curl -fsS -G "http://$PROM_ADDR/api/v1/targets/metadata" --data-urlencode 'metric=http_server_request_duration_seconds' |
	json 'print(d["data"][0].get("unit",""))')
expect_eq "Prometheus read the OpenMetrics UNIT" "$unit" seconds
expect_eq "the app's counter through Prometheus" "$(prom_query 'shop_hits_total')" 12

exemplar_ids() {
	local now; now=$(date +%s)
	curl -fsS "http://$PROM_ADDR/api/v1/query_exemplars" \
		--data-urlencode 'query=http_server_request_duration_seconds_bucket{http_route="/traced"}' \
		--data-urlencode "start=$((now - 600))" --data-urlencode "end=$((now + 60))" |
		json 'print(" ".join(sorted({e["labels"].get("trace_id","") for s in d["data"] for e in s["exemplars"]})))'
}
has_exemplar() { [ "$(exemplar_ids)" = "$TRACED" ]; }
wait_for 10 has_exemplar && ok "query_exemplars returns the request's trace id" \
	|| fail "query_exemplars: '$(exemplar_ids)'"

agent_stop || fail "agent exit status"
finish
