#!/usr/bin/env bash
# deploy/ against the code (tests/integration/deploy_lint.py does the checking): manifests carry
# the privileges, host namespaces, mounts and probes the agent needs; their obsbpf command lines
# and deploy/obsbpf.conf.example parse with this build; the Dockerfile uses install-deps.sh and
# installs every library the binary links; the Prometheus files agree with the manifests; and
# every metric and label the Grafana dashboard queries is in a real /metrics of an agent that
# served and sent requests. Docker is not installed here: the image is not built.
source "$(dirname "$0")/lib.sh"

pod_create web
pod_create api
pod_run web "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
pod_run api "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port web 8080 && wait_port api 8080 || exit 1
# The agent runs with the config example, as the DaemonSet does (`obsbpf daemon`); --listen on
# the command line wins over the file's 0.0.0.0:9102 (else the agent would not answer on
# $AGENT_ADDR), --pod-pattern keeps it to this run's pods.
lint_args=()
if agent_launch daemon /readyz --config "$ROOT/deploy/obsbpf.conf.example" --pod-pattern "*-$RUN"; then
	ok "daemon started with --config deploy/obsbpf.conf.example, --listen overriding the file"
	WEB=$(pod_ip web) API=$(pod_ip api)
	wait_until 10 'agent_status --json | grep -q "\"$(pod_name api)\""' || fail "pods not attached"
	for i in $(seq 5); do curl -fsS -o /dev/null "http://$WEB:8080/users/$i"; done
	curl -sS -o /dev/null "http://$WEB:8080/status/503"
	for i in $(seq 3); do pod_exec web curl -fsS -o /dev/null "http://$API:8080/orders/$i"; done
	# a failed client request: the dashboard's client error share queries error_type
	pod_exec web curl -sS -o /dev/null "http://$API:8080/status/404"
	W="k8s_pod_name=\"$(pod_name web)\""
	client_seen() { [ "$(metric_value http_client_request_duration_seconds_count "$W")" -ge 4 ]; }
	wait_for 5 client_seen
	metrics > "$T/metrics.txt"
	expect_eq "server requests counted" "$(metric_value http_server_request_duration_seconds_count "$W")" 6
	expect_eq "client requests counted" "$(metric_value http_client_request_duration_seconds_count "$W")" 4
	lint_args=(--metrics "$T/metrics.txt")
else
	# The static checks still run (and say what they find); the dashboard's names are then
	# checked against docs/metrics.md only, which deploy_lint.py counts as a failure.
	fail "daemon did not start with --config deploy/obsbpf.conf.example"
fi

"$PY" "$ROOT/tests/integration/deploy_lint.py" --obsbpf "$OBSBPF" "${lint_args[@]}" > "$T/lint.txt" 2>&1
rc=$?
cat "$T/lint.txt"
n_ok=$(grep -c '^  ok: ' "$T/lint.txt")
n_fail=$(grep -c '^  FAIL: ' "$T/lint.txt")
CHECKS=$((CHECKS + n_ok + n_fail)); FAILS=$((FAILS + n_fail))
[ "$rc" -eq 0 ] || [ "$n_fail" -gt 0 ] || fail "deploy_lint.py exited $rc: $(tail -3 "$T/lint.txt")"
expect_ge "lint checks ran" "$n_ok" 60

agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
