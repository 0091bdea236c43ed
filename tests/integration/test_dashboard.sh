#!/usr/bin/env bash
# The Grafana dashboard against a real Prometheus (Debian's, exemplar storage on) that scraped
# two attached pods: web under load (2xx, 4xx and 5xx served to the host, and sent to another
# pod, api), quiet serving 2xx only. Every panel's query, the variables substituted as Grafana
# would (All, and one node/namespace/pod), must return data; the error ratios must be numbers,
# 0 for quiet, which failed nothing; the latency panels must have exemplars with trace ids; the
# template variables' label_values must list the pods (check_dashboard.py).
source "$(dirname "$0")/lib.sh"

DASH=${DASH:-$ROOT/deploy/grafana/obsbpf-red.json}
QUIET_PORT=19330
pod_create web
pod_create quiet
pod_create api
for p in web quiet api; do pod_run "$p" "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null; done
wait_port web 8080 && wait_port quiet 8080 && wait_port api 8080 || exit 1
agent_start --pod "$(pod_name web)" --namespace shop --node node-1 || exit 1
agent_also $QUIET_PORT --pod "$(pod_name quiet)" --namespace shop --node node-1 || exit 1
WEB=$(pod_ip web) QUIET=$(pod_ip quiet) API=$(pod_ip api)

cat > "$T/prometheus.yml" <<P
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: obsbpf
    static_configs: [ { targets: ["$AGENT_ADDR", "127.0.0.1:$QUIET_PORT"] } ]
P
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="$PROM_ADDR" --enable-feature=exemplar-storage > "$T/prom.log" 2>&1 &
BG_PIDS+=($!)

# Load until the checks are done: web serves 2xx/4xx/5xx and calls api with the same mix; quiet
# serves 2xx only. Every request starts a sampled trace (exemplars).
(while :; do
	for path in / /users/7 /status/404 /status/503; do curl -s -o /dev/null "http://$WEB:8080$path"; done
	curl -s -o /dev/null "http://$QUIET:8080/"
	sleep 0.05
done) >/dev/null 2>&1 &
BG_PIDS+=($!)
pod_run web bash -c "while :; do for p in /orders/1 /status/404 /status/503; do curl -s -o /dev/null http://$API:8080\$p; done; sleep 0.05; done" >/dev/null
prom_q() { curl -fsS "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" 2>/dev/null | json 'print(len(d["data"]["result"]))'; }
# Ready when Prometheus has two scrapes of each side's traffic (what rate() needs) and exemplars.
ready() {
	[ "$(prom_q 'count_over_time(http_server_request_duration_seconds_count{http_response_status_code="503"}[30s]) >= 3')" -ge 1 ] &&
	[ "$(prom_q 'count_over_time(http_client_request_duration_seconds_count{http_response_status_code="503"}[30s]) >= 3')" -ge 1 ] &&
	[ "$(prom_q 'count_over_time(http_server_request_duration_seconds_count{k8s_pod_name="'"$(pod_name quiet)"'"}[30s]) >= 3')" -ge 1 ]
}
wait_for 40 ready && ok "Prometheus scraped both pods' traffic" || fail "Prometheus has no traffic: $(tail -3 "$T/prom.log")"

check() {
	if "$PY" "$ROOT/tests/integration/check_dashboard.py" "$DASH" "http://$PROM_ADDR" "$@" \
		--ratio-zero "$(pod_name quiet)" > "$T/check.txt"; then
		ok "every panel has data ($(grep -c '  ok:' "$T/check.txt") queries and checks: $*)"
	else
		while read -r l; do fail "${l#*FAIL: }"; done < <(grep FAIL "$T/check.txt" | head -20)
	fi
}
check node=.* namespace=.* pod=.* __rate_interval=30s
check node=node-1 namespace=shop pod="$(pod_name web)" __rate_interval=30s
agent_stop || fail "agent exit status"
finish
