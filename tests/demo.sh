#!/usr/bin/env bash
# `make demo`: a demo pod (its own netns, cgroup and hostname) running a small python web app
# under a light load, with obsbpf attached and serving on :9102. Runs until Ctrl-C (or for
# $DEMO_SECONDS seconds), then detaches and removes the pod.
POD_SUFFIX= # the demo pod is plainly "demo-web"
source "$(dirname "$0")/integration/lib.sh"
AGENT_ADDR=127.0.0.1:${DEMO_PORT:-9102}

pod_create demo-web
pod_run demo-web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port demo-web 8080 || exit 1
IP=$(pod_ip demo-web)
"$OBSBPF" attach --pod demo-web --namespace demo --listen "0.0.0.0:${DEMO_PORT:-9102}" --pin-dir "$PIN_DIR" \
	--app-metrics-interval 2 --app-health http://localhost:8080/healthz >"$T/agent.log" 2>&1 &
AGENT_PID=$!
for i in $(seq 100); do curl -fsS -o /dev/null "http://$AGENT_ADDR/readyz" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://$AGENT_ADDR/readyz" || { cat "$T/agent.log"; exit 1; }

# A small load: a few routes and statuses, a request every 50 ms.
( paths=(/ /users/17 /users/42 /orders/9f86d081 /status/404 /status/503 /health)
  while :; do
	curl -s -o /dev/null "http://$IP:8080${paths[RANDOM % ${#paths[@]}]}"
	curl -s -o /dev/null --data-binary 'hello' "http://$IP:8080/echo"
	sleep 0.05
  done ) &
disown $!
BG_PIDS+=($!)
sleep 3

cat <<MSG

obsbpf is attached to the demo pod 'demo-web' ($IP, cgroup $(pod_cgroup demo-web)).
$(head -1 "$T/agent.log")

See its metrics (measured in the kernel, and the app's own, relabelled):
  curl -s http://$AGENT_ADDR/metrics | grep http_server_request_duration_seconds_count
  curl -s http://$AGENT_ADDR/metrics | grep demo_app_requests_total
  curl -s http://$AGENT_ADDR/readyz
  curl -s http://$AGENT_ADDR/status

Right now:
MSG
curl -s "http://$AGENT_ADDR/metrics" | grep -E '^(http_server_request_duration_seconds_count|demo_app_requests_total)' | sed 's/^/  /'
echo
if [ -n "${DEMO_SECONDS:-}" ]; then
	echo "(stopping in $DEMO_SECONDS s)"; sleep "$DEMO_SECONDS"
else
	echo "Ctrl-C detaches obsbpf and removes the demo pod."
	wait "$AGENT_PID"
fi
