#!/usr/bin/env bash
# `obsbpf daemon` on a node-like layout: pods found by the uid in their cgroups and named by the
# kubelet's log directories, so two postgres-0 of two namespaces stay two (metrics, spans, app
# series); each pod's app scraped inside its own netns as the rules say and re-exposed with its
# labels in one valid exposition (promtool, a real Prometheus, the Pushgateway); app health per
# pod in /metrics and the status document while the agent's /readyz stays its own; a pod's
# series go with it. Then the config file: a key the daemon does not implement is an error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otlp_lib.sh"

PG=postgres-0-$RUN
NODE_NAME_=node-$RUN
PGW_ADDR=127.0.0.1:$((AGENT_PORT + 1000))

# Two pods named $PG (one UTS hostname) in namespaces alpha and beta, web in shop, quiet (its
# rule turns app metrics off), cli (no app: its scrapes fail).
POD_HOSTNAME=$PG pod_create pga || exit 1
POD_HOSTNAME=$PG pod_create pgb || exit 1
for p in web quiet cli; do pod_create $p || exit 1; done
pod_logdir pga alpha >/dev/null && pod_logdir pgb beta >/dev/null && pod_logdir web shop >/dev/null &&
	pod_logdir quiet shop >/dev/null && pod_logdir cli shop >/dev/null || exit 1
expect_eq "two pods of one name" "$(pod_name pga) $(pod_name pgb)" "$PG $PG"

app() { # NAME COMMIT_COUNT: the pod's app on :8080 (all addresses), its files in $T/app-NAME
	mkdir -p "$T/app-$1"
	printf '# HELP pg_up Whether the database is up.\n# TYPE pg_up gauge\npg_up 1\n# HELP pg_xact_commit_total Commits.\n# TYPE pg_xact_commit_total counter\npg_xact_commit_total %s\n' "$2" > "$T/app-$1/metrics"
	pod_run "$1" "$PY" "$ROOT/tests/integration/apps/metrics_app.py" --dir "$T/app-$1" >/dev/null
}
app pga 11
app pgb 22
app quiet 33
mkdir -p "$T/app-web"
printf '# HELP web_orders_total Orders.\n# TYPE web_orders_total counter\nweb_orders_total 5\n' > "$T/app-web/metrics"
pod_run web "$PY" "$ROOT/tests/integration/apps/metrics_app.py" --bind 127.0.0.1 --port 9090 \
	--metrics-path /stats --dir "$T/app-web" >/dev/null
for p in pga pgb quiet; do wait_port $p 8080 || exit 1; done
wait_port web 9090 || exit 1

OUT=$T/spans.jsonl
otlp_recv_start "$OUT" || exit 1
prometheus-pushgateway --web.listen-address="$PGW_ADDR" > "$T/pgw.log" 2>&1 &
BG_PIDS+=($!)
DAEMON_ARGS=(--pod-pattern "*-$RUN" --pod-logs "$POD_LOGS" --node "$NODE_NAME_" --label team=db
	--app-metrics-interval 1
	--app-metrics-rule "shop/web-* metrics=9090/stats health=9090 interval=1"
	--app-metrics-rule "quiet-* metrics=off"
	--app-health-interval 1 --app-health-failures 1
	--otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100
	--pushgateway "http://$PGW_ADDR" --pushgateway-job obsbpf-test --pushgateway-interval 1)
agent_launch daemon /readyz "${DAEMON_ARGS[@]}" || exit 1
grep -q "without span export" "$T/agent.log" && fail "propagation warning with span export on" \
	|| ok "no propagation warning: spans are exported"

# 1. Every pod's app, with its own labels: the two postgres-0 apart.
L() { echo "k8s_pod_name=\"$1\",k8s_namespace_name=\"$2\",k8s_node_name=\"$NODE_NAME_\",team=\"db\""; }
wait_until 10 '[ "$(metrics | grep -c "^pg_xact_commit_total{")" = 2 ]' \
	|| fail "app series: $(metrics | grep -E '^(pg_|obsbpf_app_up)')"
wait_until 10 'metrics | grep -q "^web_orders_total{"'
metrics > "$T/m1.txt"
grep -qxF "pg_xact_commit_total{$(L "$PG" alpha)} 11" "$T/m1.txt" && ok "alpha's postgres-0 under its namespace" \
	|| fail "alpha: $(grep pg_xact "$T/m1.txt")"
grep -qxF "pg_xact_commit_total{$(L "$PG" beta)} 22" "$T/m1.txt" && ok "beta's postgres-0 under its namespace" \
	|| fail "beta: $(grep pg_xact "$T/m1.txt")"
grep -qxF "web_orders_total{$(L "$(pod_name web)" shop)} 5" "$T/m1.txt" \
	&& ok "web scraped on its rule's port and path" || fail "web: $(grep web_orders "$T/m1.txt")"
expect_eq "quiet's rule turned its scrape off" "$(grep -c "^obsbpf_app_up{k8s_pod_name=\"$(pod_name quiet)\"" "$T/m1.txt")" 0
expect_eq "quiet's app not re-exposed" "$(grep -c '^pg_xact_commit_total.* 33$' "$T/m1.txt")" 0
expect_eq "one TYPE line per family" "$(grep '^# TYPE' "$T/m1.txt" | sort | uniq -d | wc -l)" 0
expect_eq "one HELP line per family" "$(grep '^# HELP' "$T/m1.txt" | awk '{print $3}' | sort | uniq -d | wc -l)" 0
promtool check metrics < "$T/m1.txt" > "$T/promtool.txt" 2>&1 && ok "promtool check metrics" \
	|| fail "promtool: $(cat "$T/promtool.txt")"
curl -fsS -H 'Accept: application/openmetrics-text; version=1.0.0' "http://$AGENT_ADDR/metrics" > "$T/m1.om"
expect_eq "OpenMetrics: one TYPE line per family" "$(grep '^# TYPE' "$T/m1.om" | sort | uniq -d | wc -l)" 0
expect_eq "OpenMetrics: one # EOF" "$(grep -c '^# EOF' "$T/m1.om")" 1
expect_eq "obsbpf_app_up of alpha's postgres-0" "$(metric_value obsbpf_app_up "k8s_namespace_name=\"alpha\"")" 1
wait_until 5 '[ "$(metric_value obsbpf_app_scrape_errors_total "k8s_pod_name=\"$(pod_name cli)\"" reason=\"connect\")" -ge 1 ]' \
	&& ok "cli's app refuses: counted as connect errors under cli" || fail "cli's scrape errors"
expect_eq "cli's obsbpf_app_up" "$(metric_value obsbpf_app_up "k8s_pod_name=\"$(pod_name cli)\"")" 0

# 2. A real Prometheus (it negotiates OpenMetrics): both postgres-0, apart.
prom_start
prom_q() { curl -fsS "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" 2>/dev/null; }
ns_of() { prom_q "$1" | json 'print(" ".join(sorted(r["metric"].get("k8s_namespace_name","") for r in d["data"]["result"])))'; }
wait_until 30 '[ "$(ns_of "pg_xact_commit_total{k8s_pod_name=\"$PG\"}")" = "alpha beta" ]' \
	&& ok "Prometheus has two postgres-0 series, alpha and beta" \
	|| fail "Prometheus: $(prom_q "pg_xact_commit_total" | head -c 600)"
expect_eq "Prometheus: beta's value" \
	"$(prom_q "pg_xact_commit_total{k8s_namespace_name=\"beta\"}" | json 'print(d["data"]["result"][0]["value"][1])')" 22

# 3. Requests and spans: per pod and namespace, the two postgres-0 apart.
# (the app answers 404 to these: any answer is a request served)
for i in 1 2; do pod_exec cli curl -sS -o /dev/null "http://$(pod_ip pga):8080/q/$i" || fail "curl pga"; done
for i in 1 2 3; do pod_exec cli curl -sS -o /dev/null "http://$(pod_ip pgb):8080/q/$i" || fail "curl pgb"; done
srv() { metric_value http_server_request_duration_seconds_count "k8s_pod_name=\"$PG\"" "k8s_namespace_name=\"$1\""; }
wait_until 5 '[ "$(srv beta)" -ge 3 ]'
expect_eq "alpha's postgres-0 served 2 (the agent's scrapes not counted)" "$(srv alpha)" 2
expect_eq "beta's postgres-0 served 3" "$(srv beta)" 3
span_ns() { "$PY" - "$OUT" "$PG" <<'PY'
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    s = json.loads(l)
    r = s["resource"]
    # service.name: the workload, the StatefulSet's pod name without its ordinal
    if s["kind"] == 2 and r.get("k8s.pod.name") == sys.argv[2] and r.get("service.name") == sys.argv[2].rsplit("-", 1)[0]:
        c[r.get("k8s.namespace.name")] += 1
print(c["alpha"], c["beta"])
PY
}
wait_until 10 '[ "$(span_ns)" = "2 3" ]' && ok "server spans per postgres-0: alpha 2, beta 3" \
	|| fail "spans by namespace: $(span_ns)"

# 4. Health per pod: a metric and the status document; /readyz stays the agent's.
hup() { metric_value obsbpf_app_health_up "k8s_pod_name=\"$(pod_name web)\""; }
wait_until 5 '[ "$(hup)" = 1 ]' && ok "web's app health up" || fail "web health: $(metrics | grep app_health)"
echo 503 > "$T/app-web/health"
wait_until 5 '[ "$(hup)" = 0 ]' && ok "web's app health down" || fail "web health stayed up"
expect_eq "/readyz stays the agent's own" "$(curl -s -o /dev/null -w '%{http_code}' "http://$AGENT_ADDR/readyz")" 200
agent_status --json > "$T/status.json"
"$PY" - "$T/status.json" "$(pod_name web)" "$(pod_name cli)" "$PG" <<'PY' && ok "status: each pod's app metrics, health and errors" || fail "status: $(cat "$T/status.json" | head -c 1500)"
import json, sys
d = json.load(open(sys.argv[1]))
pods = {(p["namespace"], p["name"]): p for p in d["pods"]}
web, cli = pods[("shop", sys.argv[2])], pods[("shop", sys.argv[3])]
a, b = pods[("alpha", sys.argv[4])], pods[("beta", sys.argv[4])]
assert a["uid"] != b["uid"], (a, b)
assert web["app_metrics"]["url"] == "http://localhost:9090/stats", web
assert web["app_health"]["healthy"] is False and "HTTP status 503" in web["app_health"]["error"], web
assert any("health" in e and "503" in e for e in web["errors"]), web
assert cli["app_metrics"]["up"] is False and cli["app_metrics"]["error"], cli
assert any("app metrics" in e for e in cli["errors"]), cli
assert a["app_metrics"]["up"] is True and a["app_metrics"]["series"] == 2 and a["errors"] == [], a
assert a["metrics"] is True and a["traces"]["propagation"] == "w3c" and a["traces"]["spans"] is True, a
assert pods[("shop", sys.argv[2].replace("web", "quiet"))]["app_metrics"] is None
PY
echo 200 > "$T/app-web/health"

# 5. The Pushgateway: the node's group, every pod's series with its labels.
pgw() { curl -fsS "http://$PGW_ADDR/metrics" 2>/dev/null | grep "^pg_xact_commit_total{" | grep -c "instance=\"$NODE_NAME_\""; }
wait_until 10 '[ "$(pgw)" = 2 ]' && ok "Pushgateway group instance=$NODE_NAME_ holds both postgres-0" \
	|| fail "Pushgateway: $(curl -s "http://$PGW_ADDR/metrics" | grep pg_xact)"

# 6. A pod goes away: its series with it, the other postgres-0 stays.
echo 1 > "${POD_CG[pga]}/cgroup.kill"
wait_until 10 '[ "$(metrics | grep -c "^pg_xact_commit_total{")" = 1 ]' && ok "alpha's series gone with its pod" \
	|| fail "after alpha's pod went: $(metrics | grep pg_xact)"
expect_eq "beta's stays" "$(metrics | grep -c "^pg_xact_commit_total{$(L "$PG" beta)} 22$")" 1
expect_eq "no obsbpf_app_up of the gone pod" "$(metric_value obsbpf_app_up 'k8s_namespace_name="alpha"')" 0
metrics | grep -c "k8s_namespace_name=\"alpha\"" > "$T/alpha.n"
expect_eq "no series of the gone pod at all" "$(cat "$T/alpha.n")" 0
wait_until 10 '[ "$(pgw)" = 1 ]' && ok "and from the Pushgateway at the next push" || fail "Pushgateway kept alpha"
agent_stop || fail "daemon exit status"

# 7. What the daemon does not implement is refused, named, before anything starts.
refused() { # DESC WANT CONFIG_TEXT [FLAGS...]
	local desc=$1 want=$2 rc=0; shift 2
	printf '%b' "$1" > "$T/bad.conf"; shift
	"$OBSBPF" daemon --config "$T/bad.conf" --listen "$AGENT_ADDR" --control-socket "$CTL" "$@" \
		> /dev/null 2> "$T/bad.err" || rc=$?
	if [ "$rc" = 2 ] && [ "$(grep -c . "$T/bad.err")" = 1 ] && grep -qF -- "$want" "$T/bad.err"; then
		ok "$desc: $(cat "$T/bad.err")"
	else
		fail "$desc: rc=$rc: $(cat "$T/bad.err")"
	fi
}
refused "an attach-only key in the daemon's config" \
	"$T/bad.conf:2: 'logs' is not an option of daemon (attach, logs take it)" \
	"forward = 127.0.0.1:1\nlogs = /var/log/app/*.log\n"
refused "an unknown key" "$T/bad.conf:1: unknown option 'app-metric'" "app-metric = off\n"
refused "a flag of another command" "'--service-name' is not an option of daemon (attach takes it)" \
	"" --service-name db
finish
