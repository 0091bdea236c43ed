#!/usr/bin/env bash
# tc without tcx (--tc-hook filter, what kernels before 6.6 get): classic clsact filters (ingress
# and egress), removed on SIGTERM; left behind by kill -9, and reclaimed by the next agent, which
# attaches tcx links instead.
source "$(dirname "$0")/lib.sh"

pod_create fb
pod_run fb "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port fb 8080 || exit 1
# filters: our classic filters on eth0, ingress and egress.
filters() { pod_tc_filters fb eth0 | grep -c obsbpf_tc_; }
tcx_both() { echo $(( $(tcx_links "$(agent_prog_id obsbpf_tc_ingress)") + $(tcx_links "$(agent_prog_id obsbpf_tc_egress)") )); }

agent_start --pod "$(pod_name fb)" --tc-hook filter || exit 1
expect_eq "classic tc filters (ingress, egress) on eth0 with --tc-hook filter" "$(filters)" 2
agent_status | grep -q "tc ingress $(pod_name fb):eth0" && agent_status | grep -q "tc egress $(pod_name fb):eth0" \
	&& ok "status says tc, not tcx" || fail "status: $(agent_status)"
curl -fsS -o /dev/null "http://$(pod_ip fb):8080/a" || fail "curl"
wait_until 5 'test "$(metric_value http_server_request_duration_seconds_count)" -ge 1'
expect_eq "request measured through the filter" "$(metric_value http_server_request_duration_seconds_count)" 1
agent_stop; expect_eq "exit status" "$?" 0
expect_eq "SIGTERM removed the filters" "$(filters)" 0

agent_start --pod "$(pod_name fb)" --tc-hook filter || exit 1
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
expect_eq "kill -9 leaves the classic filters behind (the known limit without tcx)" "$(filters)" 2

agent_start --pod "$(pod_name fb)" || exit 1
if has_tcx; then
	expect_eq "the next agent removed the stale filters" "$(filters)" 0
else # before 6.6 the next agent's own hooks are filters again: one each, not two
	expect_eq "the next agent replaced the stale filters with its own" "$(filters)" 2
fi
grep -q "removed a stale obsbpf tc ingress filter from eth0" "$T/agent.log" &&
	grep -q "removed a stale obsbpf tc egress filter from eth0" "$T/agent.log" \
	&& ok "and said so" || fail "no message: $(cat "$T/agent.log")"
if has_tcx; then
	expect_eq "and attached tcx links instead (ingress, egress on lo, eth0)" "$(tcx_both)" 4
else
	log "no tcx on $(uname -r): the agent's hooks stay classic filters"
fi
curl -fsS -o /dev/null "http://$(pod_ip fb):8080/b" || fail "curl"
wait_until 5 'test "$(metric_value http_server_request_duration_seconds_count)" -ge 1'
expect_eq "request measured once (no stale filter counting twice)" "$(metric_value http_server_request_duration_seconds_count)" 1
agent_stop
finish
