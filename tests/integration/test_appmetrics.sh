#!/usr/bin/env bash
# App metrics adapter, health proxy and Pushgateway, against the real things: an app in a pod
# serving its own /metrics and /healthz on localhost:8080 (reachable only from inside the pod's
# netns), a Prometheus server scraping the agent, promtool, and a Pushgateway.
source "$(dirname "$0")/lib.sh"

PGW_ADDR=127.0.0.1:$((AGENT_PORT + 1000))

readyz_code() { curl -s -o /dev/null -w '%{http_code}' "http://$AGENT_ADDR/readyz"; }

pod_create web
APP=$T/app
mkdir -p "$APP"
cat > "$APP/metrics" <<'M'
# HELP shop_orders_total Orders taken.
# TYPE shop_orders_total counter
shop_orders_total{kind="book",note="say \"hi\"\nbye"} 42
shop_orders_total{kind="pen"} 7
# HELP shop_basket_items Items per basket.
# TYPE shop_basket_items histogram
shop_basket_items_bucket{le="1"} 3
shop_basket_items_bucket{le="+Inf"} 5
shop_basket_items_sum 9
shop_basket_items_count 5
# HELP http_server_request_duration_seconds The app's own latency histogram, same name as ours.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{le="+Inf"} 2
http_server_request_duration_seconds_sum 0.5
http_server_request_duration_seconds_count 2
M
cp "$APP/metrics" "$T/good-metrics"
# The app listens on the pod's loopback only: the agent can reach it only from inside the pod.
pod_run web "$PY" "$ROOT/tests/integration/apps/metrics_app.py" --bind 127.0.0.1 --dir "$APP" > "$T/app.pid"
APP_PID=$(cat "$T/app.pid")
wait_port web 8080 || exit 1
POD=$(pod_name web)

# The Pushgateway starts only after the agent: its first pushes fail and are retried.
agent_start --pod "$POD" --namespace shop --node node-1 --label team=checkout \
	--app-metrics-interval 1 \
	--app-health http://localhost:8080/healthz --app-health-interval 1 --app-health-failures 2 \
	--pushgateway "http://$PGW_ADDR" --pushgateway-job obsbpf-test --pushgateway-interval 1 \
	--pushgateway-delete || exit 1

wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q '^obsbpf_pushgateway_pushes_total{.*result=\"error\"} [1-9]'" \
	&& ok "push to an absent Pushgateway counted as an error" || fail "failed push not counted"
prometheus-pushgateway --web.listen-address="$PGW_ADDR" > "$T/pgw.log" 2>&1 &
BG_PIDS+=($!)
wait_for 10 curl -fsS -o /dev/null "http://$PGW_ADDR/-/ready" || { fail "pushgateway did not start"; finish; }

# 1. Re-exposed with the pod's labels, next to the agent's own series.
L="k8s_pod_name=\"$POD\",k8s_namespace_name=\"shop\",k8s_node_name=\"node-1\",team=\"checkout\""
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q '^shop_orders_total{'" \
	|| fail "app series never appeared"
metrics > "$T/m1.txt"
grep -qxF "shop_orders_total{$L,kind=\"pen\"} 7" "$T/m1.txt" \
	&& ok "app counter re-exposed with pod labels" || fail "app counter: $(grep shop_orders "$T/m1.txt")"
grep -qxF "shop_orders_total{$L,kind=\"book\",note=\"say \\\"hi\\\"\\nbye\"} 42" "$T/m1.txt" \
	&& ok "label value escaping survives" || fail "escaped label: $(grep 'kind="book"' "$T/m1.txt")"
grep -qxF "shop_basket_items_bucket{$L,le=\"+Inf\"} 5" "$T/m1.txt" \
	&& ok "app histogram re-exposed" || fail "app histogram"
expect_eq "one TYPE line per family" "$(grep '^# TYPE' "$T/m1.txt" | sort | uniq -d | wc -l)" 0
grep -qxF "# TYPE app_http_server_request_duration_seconds histogram" "$T/m1.txt" \
	&& ok "clashing app family renamed app_*" || fail "clashing family not renamed"
# The app's series carry team="checkout"; the agent's own histogram must hold none of them.
expect_eq "agent's own histogram untouched by the app's" \
	"$(grep '^http_server_request_duration_seconds' "$T/m1.txt" | grep -c 'team="checkout"')" 0
expect_eq "obsbpf_app_up" "$(metric_value obsbpf_app_up)" 1
expect_eq "renamed families counted" "$(metric_value obsbpf_app_families_renamed 'action="renamed"')" 1
if promtool check metrics < "$T/m1.txt" > "$T/promtool.txt" 2>&1; then
	ok "promtool check metrics"
else
	fail "promtool check metrics: $(cat "$T/promtool.txt")"
fi
# (Prometheus below negotiates OpenMetrics; test_exemplars.sh checks that text with a real parser.)

# 2. A real Prometheus scraping the agent.
prom_start
target_up() {
	curl -fsS "http://$PROM_ADDR/api/v1/targets" 2>/dev/null |
		json 'sys.exit(0 if [t for t in d["data"]["activeTargets"] if t["health"] == "up"] else 1)'
}
wait_for 20 target_up && ok "Prometheus sees the agent's target up" \
	|| fail "target not up: $(curl -s "http://$PROM_ADDR/api/v1/targets")"
query_pod() { # QUERY: the k8s_pod_name of the first result
	curl -fsS "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		json 'r=d["data"]["result"]; print(r[0]["metric"]["k8s_pod_name"] if r else "")'
}
wait_for 10 sh -c "[ -n \"\$(curl -fsS http://$PROM_ADDR/api/v1/query --data-urlencode 'query=shop_orders_total{kind=\"pen\"}' | grep -o '\"result\":\[{')\" ]"
expect_eq "Prometheus query returns the app's series with pod labels" \
	"$(query_pod 'shop_orders_total{kind="pen",team="checkout",k8s_namespace_name="shop"}')" "$POD"

# 3. Pushgateway: the group job/instance holds the app's series.
pgw_group() { # METRIC: "yes" when the group obsbpf-test/$POD has it, "no" when not, "" on error
	curl -fsS "http://$PGW_ADDR/api/v1/metrics" 2>/dev/null | json "
g=[g for g in d['data'] if g['labels'].get('job')=='obsbpf-test' and g['labels'].get('instance')=='$POD']
print('yes' if g and '$1' in g[0] else 'no')"
}
pgw_has() { [ "$(pgw_group "$1")" = yes ]; }
wait_for 10 pgw_has shop_orders_total && ok "Pushgateway group job=obsbpf-test instance=$POD has the app's series" \
	|| fail "Pushgateway: $(curl -s "http://$PGW_ADDR/api/v1/metrics" | head -c 600)"
# The agent's own scrapes and probes are not the app's traffic: never measured. Make some.
for i in 1 2 3; do pod_exec web curl -s -o /dev/null "http://127.0.0.1:8080/orders"; done
expect_eq "the agent's scrapes are not counted as app requests" \
	"$(metric_value http_server_request_duration_seconds_count 'http_route="/metrics"')" 0
expect_eq "the agent's health probes are not counted as app requests" \
	"$(metric_value http_server_request_duration_seconds_count 'http_route="/healthz"')" 0
expect_eq "the app's own traffic is" \
	"$(metric_value http_server_request_duration_seconds_count 'http_route="/orders"')" 3
wait_for 10 pgw_has http_server_request_duration_seconds && ok "Pushgateway has the agent's own series" \
	|| fail "Pushgateway lacks the agent's series"
expect_ge "pushes succeed once it is up" "$(metric_value obsbpf_pushgateway_pushes_total 'result="ok"')" 1
grep -q "pushgateway .*: pushing again" "$T/agent.log" && ok "recovery logged" || fail "no recovery log line"

# 4. Health proxy: /readyz follows the app's health URL, /healthz does not.
expect_eq "/readyz while the app is healthy" "$(readyz_code)" 200
echo 503 > "$APP/health"
wait_for 6 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$AGENT_ADDR/readyz)\" = 503 ]" \
	&& ok "/readyz turns 503 when the app's health fails" || fail "/readyz stayed $(readyz_code)"
curl -s "http://$AGENT_ADDR/readyz" | json '
c=[c for c in d["checks"] if c["name"]=="app_health"][0]
sys.exit(0 if not c["ok"] and "HTTP status 503" in c["reason"] else 1)' \
	&& ok "/readyz JSON names app_health and why" || fail "/readyz body: $(curl -s "http://$AGENT_ADDR/readyz")"
expect_eq "/healthz stays about the agent" "$(curl -s -o /dev/null -w '%{http_code}' "http://$AGENT_ADDR/healthz")" 200
expect_eq "obsbpf_app_health_up while failing" "$(metric_value obsbpf_app_health_up)" 0
echo 200 > "$APP/health"
wait_for 6 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$AGENT_ADDR/readyz)\" = 200 ]" \
	&& ok "/readyz recovers when the app's health does" || fail "/readyz stayed $(readyz_code)"

# 5. A malformed or failing app endpoint: counted, app series withdrawn, /metrics stays valid.
printf 'shop_orders_total{kind="pen" 7\n' > "$APP/metrics"
wait_for 5 sh -c "[ \"\$(curl -fsS http://$AGENT_ADDR/metrics | grep -c '^obsbpf_app_up{.*} 0$')\" = 1 ]" \
	&& ok "malformed scrape: obsbpf_app_up 0" || fail "obsbpf_app_up stayed 1"
metrics > "$T/m2.txt"
expect_ge "parse errors counted" "$(metric_value obsbpf_app_scrape_errors_total 'reason="parse"')" 1
expect_eq "app series withdrawn" "$(grep -c '^shop_' "$T/m2.txt")" 0
promtool check metrics < "$T/m2.txt" > "$T/promtool2.txt" 2>&1 \
	&& ok "promtool accepts /metrics during the outage" || fail "promtool: $(cat "$T/promtool2.txt")"
echo 500 > "$APP/metrics.status"
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q 'reason=\"http_status\"} [1-9]'" \
	&& ok "HTTP 500 counted as http_status" || fail "http_status not counted"
rm "$APP/metrics.status"
# OpenMetrics from the app (its Content-Type says so).
printf '# TYPE shop_jobs counter\nshop_jobs_total 3 # {trace_id="ab"} 1\nshop_jobs_created 1.7e9\n# EOF\n' > "$APP/metrics"
echo 'application/openmetrics-text; version=1.0.0; charset=utf-8' > "$APP/metrics.type"
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q '^shop_jobs_total{.*} 3$'" \
	&& ok "OpenMetrics app endpoint parsed (exemplar ignored)" || fail "OpenMetrics app endpoint: $(metrics | grep shop_)"
rm "$APP/metrics.type"
cp "$T/good-metrics" "$APP/metrics"
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q '^obsbpf_app_up{.*} 1$'" \
	&& ok "scraping recovers" || fail "obsbpf_app_up stayed 0"

# 6. A health URL with a large body still passes (only the status counts).
before=$(metric_value obsbpf_app_health_probe_failures_total)
head -c 300000 /dev/zero | tr '\0' x > "$APP/health.body"
sleep 3
expect_eq "large health body: no probe failed" "$(metric_value obsbpf_app_health_probe_failures_total)" "$before"
expect_eq "large health body: still ready" "$(readyz_code)" 200
rm "$APP/health.body"

# 7. The app goes away: connection refused, for the scrape and for the health probe.
kill "$APP_PID"
wait_for 5 sh -c "curl -fsS http://$AGENT_ADDR/metrics | grep -q 'reason=\"connect\"} [1-9]'" \
	&& ok "unreachable app counted as connect errors" || fail "connect errors not counted"
wait_for 5 sh -c "curl -s http://$AGENT_ADDR/readyz | grep -q 'app_health.*onnect'" \
	&& ok "/readyz says the app's health URL refuses connections" \
	|| fail "/readyz: $(curl -s "http://$AGENT_ADDR/readyz")"
metrics > "$T/m3.txt"
expect_eq "no app series while it is gone" "$(grep -c '^shop_' "$T/m3.txt")" 0
promtool check metrics < "$T/m3.txt" > "$T/promtool3.txt" 2>&1 \
	&& ok "promtool accepts /metrics while the app is gone" || fail "promtool: $(cat "$T/promtool3.txt")"

# 8. Clean shutdown deletes the group from the Pushgateway.
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
expect_eq "Pushgateway group deleted on clean shutdown" "$(pgw_group shop_orders_total)" no
grep -q 'app health: .*not ready' "$T/agent.log" && ok "agent logged the health outage in one line" \
	|| fail "no health log line"

# 9. An unusable --label stops the agent with one line naming it.
"$OBSBPF" attach --pod "$POD" --listen "$AGENT_ADDR" --control-socket "$CTL" --label 9bad=x > "$T/bad.log" 2>&1
expect_eq "bad --label: exit status" $? 1
grep -q -- '--label 9bad=x: expected NAME=VALUE' "$T/bad.log" && ok "bad --label named in the error" \
	|| fail "bad --label message: $(cat "$T/bad.log")"
finish
