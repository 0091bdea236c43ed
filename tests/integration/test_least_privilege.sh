#!/usr/bin/env bash
# The agent with exactly the capabilities deploy/'s manifests give it (securityContext
# capabilities: drop ALL, add the list; read from the YAML, so the test follows the manifests):
# run under setpriv with that bounding set, `obsbpf attach` (the sidecar's list) injects and
# measures, exports spans to a real OTLP receiver and forwards a pod log file owned by another
# user; `obsbpf daemon` (the DaemonSet's list) finds and attaches the pod. Then each capability
# of the list is taken away in turn and the attach must fail or lose a function: a capability
# the agent does not need would not be in the list. And the agent serves nothing beyond what
# docs/status.md lists, over a control socket only root may use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/logs_lib.sh"

# caps MANIFEST: the obsbpf container's added capabilities, comma-separated, lower case.
caps() {
	"$PY" - "$ROOT/deploy/$1" <<'PYEOF'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    spec = (doc or {}).get("spec", {})
    spec = spec.get("template", {}).get("spec", spec)
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        if c["name"] == "obsbpf":
            sc = c.get("securityContext", {})
            assert not sc.get("privileged"), "privileged"
            assert sc["capabilities"]["drop"] == ["ALL"], "drop ALL"
            print(",".join(x.lower() for x in sc["capabilities"]["add"]))
PYEOF
}
SIDECAR_CAPS=$(caps sidecar.yaml) DAEMON_CAPS=$(caps daemonset.yaml)
[ -n "$SIDECAR_CAPS" ] && [ -n "$DAEMON_CAPS" ] || { fail "capabilities not found in deploy/"; finish; }
log "sidecar: $SIDECAR_CAPS; daemonset: $DAEMON_CAPS"

# The agent under setpriv: a root process keeps only its bounding set across exec.
REAL=$OBSBPF
OBSBPF=$T/obsbpf-caps
with_caps() {
	printf '#!/bin/sh\nexec setpriv --bounding-set=-all%s --inh-caps=-all -- "%s" "$@"\n' \
		"$(echo ",$1" | sed 's/,/,+/g')" "$REAL" > "$OBSBPF"
	chmod +x "$OBSBPF"
}

pod_create srv
# As in Kubernetes, the pod's pause process is not root: its namespaces are another user's.
POD_USER=65535 pod_create cli
pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port srv 8080 || exit 1
SRV=$(pod_ip srv)
# The app's log, as an app that is not root writes it: readable by its owner and group only.
mkdir -p "$T/podlogs"
echo 'level=info msg="before the agent"' > "$T/podlogs/app.log"
chown 1000:1000 "$T/podlogs/app.log" && chmod 0640 "$T/podlogs/app.log"
OUT=$T/spans.jsonl LOGS=$T/logs.jsonl
otlp_recv_start "$OUT" || exit 1
recv_start "$LOGS" || exit 1
ATTACH_ARGS=(--pod "$(pod_name cli)" --otlp-endpoint "$(otlp_endpoint http)" --otlp-flush-ms 100
	--logs "$T/podlogs/*.log" --cri-logs "" --logs-state "$T/state" --logs-flush-ms 50
	--forward "127.0.0.1:$RECV_PORT" --app-metrics off)

# works: requests injected and measured, a span for each, a new line of the app's log forwarded
# (WHY says what did not happen).
ROUND=0
works() {
	local n=3 i spans
	ROUND=$((ROUND + 1))
	spans=$(grep -c '"kind":3' "$OUT" 2>/dev/null)
	echo "level=info msg=\"round $ROUND\"" >> "$T/podlogs/app.log"
	for i in $(seq $n); do pod_exec cli curl -fsS -o /dev/null "http://$SRV:8080/lp/$i" || { WHY="request failed"; return 1; }; done
	wait_until 5 "[ \"\$(metric_value obsbpf_trace_context_total 'outcome=\"injected\"')\" -ge $n ]" || { WHY="not injected"; return 1; }
	wait_until 5 "[ \"\$(metric_value http_client_request_duration_seconds_count)\" -ge $n ]" || { WHY="not measured"; return 1; }
	wait_until 10 "[ \"\$(grep -c '\"kind\":3' '$OUT')\" -ge $((spans + n)) ]" || { WHY="spans did not arrive"; return 1; }
	wait_until 5 "grep -q 'round $ROUND' '$LOGS'" || { WHY="log line not forwarded"; return 1; }
}

with_caps "$SIDECAR_CAPS"
if agent_start "${ATTACH_ARGS[@]}"; then
	pid=$(pgrep -f -n -- "--pod $(pod_name cli)")
	expect_eq "the agent runs with exactly the sidecar's capabilities" \
		"$(capsh --decode="$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")" | sed 's/.*=//; s/cap_//g' | tr ',' '\n' | sort | paste -sd,)" \
		"$(echo "$SIDECAR_CAPS" | tr ',' '\n' | sort | paste -sd,)"
	works && ok "attach with the sidecar's capabilities: injects, measures, exports spans, forwards logs" \
		|| fail "attach with the sidecar's capabilities: $WHY: $(tail -5 "$T/agent.log")"
	# What it serves: /status has the fields docs/status.md lists and no other; the control
	# socket is root's alone.
	extra=$(comm -23 <(curl -fsS "http://$AGENT_ADDR/status" | "$PY" -c '
import json, sys
def walk(o, p):
    if isinstance(o, dict):
        for k, v in o.items():
            walk(v, p + "." + k if p else k)
    elif isinstance(o, list):
        for v in o:
            walk(v, p + "[]")
    else:
        print(p)
walk(json.load(sys.stdin), "")' | sort -u) <(grep -o '^| `[^`]*`' "$ROOT/docs/status.md" | sed 's/^| `//; s/`$//' | sort -u))
	expect_eq "/status: no field that docs/status.md does not list" "$extra" ""
	expect_eq "control socket: root's, mode 0600" "$(stat -c '%U %a' "$CTL")" "root 600"
	agent_stop || fail "agent exit status"
else
	fail "attach with the sidecar's capabilities did not start: $(tail -3 "$T/agent.log")"
fi

with_caps "$DAEMON_CAPS"
if agent_launch daemon /readyz --pod-pattern "*-$RUN"; then
	wait_until 10 "agent_status --json | grep -q '$(pod_name srv)'" \
		&& ok "daemon with the DaemonSet's capabilities attaches the pods" || fail "daemon: pod not attached: $(agent_status 2>&1 | head -5)"
	pod_exec cli curl -fsS -o /dev/null "http://$SRV:8080/d/1"
	wait_until 5 '[ "$(metric_value http_server_request_duration_seconds_count)" -ge 1 ]' \
		&& ok "daemon measures" || fail "daemon: nothing measured"
	agent_stop || fail "daemon exit status"
else
	fail "daemon with the DaemonSet's capabilities did not start: $(tail -3 "$T/agent.log")"
fi

# Each listed capability is needed: without it, attach fails or a function is lost.
for cap in ${SIDECAR_CAPS//,/ }; do
	with_caps "$(echo ",$SIDECAR_CAPS," | sed "s/,$cap,/,/; s/^,//; s/,$//")"
	: > "$T/agent.log"
	WHY="did not start: $(true)"
	if agent_start "${ATTACH_ARGS[@]}" 2>/dev/null && works; then
		fail "without $cap everything still works: not needed, remove it from the manifests"
	else
		case $WHY in did\ not\ start*) WHY="did not start: $(grep -m1 -v -e 'exporting spans' -e 'exited at start' "$T/agent.log" | cut -c1-100)" ;; esac
		ok "without $cap: $WHY"
	fi
	[ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }
done
finish
