#!/usr/bin/env bash
# `obsbpf daemon`: pods created before and after start are attached and their traffic is counted
# under their own k8s_pod_name; a pod whose processes exit is detached (no tcx link, no cgroup
# program left) and its series dropped; `obsbpf status` and `obsbpf observe` show the pods and
# live requests; kill -9 leaves no program attached, and a restarted daemon picks the pods up
# again while a keep-alive connection opened before the kill keeps working.
source "$(dirname "$0")/lib.sh"

# Only this run's pods: other test runs on this machine have pods under kubepods/ too. The pods'
# namespaces come from the kubelet's log directories ($POD_LOGS): web and cli are in shop, api in
# billing; sd and late have none, so their namespace is not known.
DAEMON_ARGS=(--pod-pattern "*-$RUN" --pod-logs "$POD_LOGS")
status() { agent_status "$@"; }
status_pods() { status --json | "$PY" -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["pods"])))'; }
has_pod() { status_pods | tr ' ' '\n' | grep -qx "$1"; }
lacks_pod() { ! has_pod "$1"; }
# The daemon's tc hooks, 2 per attached pod (lo, eth0) and direction: tcx links, or on kernels
# without tcx (before 6.6) classic filters, counted over the pods' netns.
all_filters() { local p n=0; for p in "${PODS[@]}"; do n=$((n + $(pod_tc_filters "$p" | grep -c "$1"))); done; echo $n; }
if has_tcx; then
	tcx() { tcx_links "$TC_PROG"; }
	tcx_egress() { tcx_links "$TC_EGRESS_PROG"; }
else
	log "no tcx on $(uname -r): tc hooks are classic filters, which outlive a killed agent"
	# Program names are cut to 15 bytes in the kernel.
	tcx() { all_filters obsbpf_tc_ingr; }
	tcx_egress() { all_filters obsbpf_tc_egr; }
fi
server_count() { metric_value http_server_request_duration_seconds_count "k8s_pod_name=\"$(pod_name "$1")\""; }
client_count() { metric_value http_client_request_duration_seconds_count "k8s_pod_name=\"$(pod_name "$1")\""; }

for p in web api; do
	pod_create $p || exit 1
	pod_run $p "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
	wait_port $p 8080 || exit 1
done
pod_create cli || exit 1
# A pod in the systemd layout whose app runs in a container cgroup below the pod's.
POD_CGROUP="$CG2/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${RUN}_sd.slice" pod_create sd || exit 1
CTR=${POD_CG[sd]}/cri-containerd-${RUN}0123456789abcdef.scope
mkdir "$CTR" || exit 1
( echo $BASHPID > "$CTR/cgroup.procs"
  exec nsenter -t "${POD_PAUSE[sd]}" -u -n -- "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 ) >/dev/null 2>&1 &
BG_PIDS+=($!)
wait_port sd 8080 || exit 1
pod_logdir web shop >/dev/null && pod_logdir cli shop >/dev/null && pod_logdir api billing >/dev/null || exit 1

agent_launch daemon /readyz "${DAEMON_ARGS[@]}" || exit 1
wait_for 5 has_pod "$(pod_name cli)" && ok "daemon attached to the pods that were there" \
	|| fail "pods at start: $(status_pods)"
TC_PROG=$(agent_prog_id obsbpf_tc_ingress)
TC_EGRESS_PROG=$(agent_prog_id obsbpf_tc_egress)
expect_eq "tcx links for 4 pods (lo, eth0)" "$(tcx)" 8
expect_eq "tcx egress links for 4 pods" "$(tcx_egress)" 8
expect_eq "attached pods" "$(status_pods)" "$(printf '%s\n' "$(pod_name api)" "$(pod_name cli)" "$(pod_name sd)" "$(pod_name web)" | sort | xargs)"

# Traffic between pods: cli -> web (3), cli -> api (2).
for i in 1 2 3; do pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip web):8080/items/$i" || fail "curl web"; done
for i in 1 2; do pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip api):8080/users/$i" || fail "curl api"; done
wait_until 5 'test "$(server_count web)" -ge 3'
expect_eq "web's served requests under k8s_pod_name=web" "$(server_count web)" 3
expect_eq "api's served requests under k8s_pod_name=api" "$(server_count api)" 2
pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip sd):8080/sd" || fail "curl sd"
wait_until 5 'test "$(server_count sd)" -ge 1'
expect_eq "systemd-layout pod's container served under k8s_pod_name=sd" "$(server_count sd)" 1
expect_eq "cli's sent requests under k8s_pod_name=cli" "$(client_count cli)" 6
# Namespaces are the node's: the log directories', none for a pod the node does not name.
expect_eq "web's namespace from its log directory" \
	"$(metric_value http_server_request_duration_seconds_count "k8s_pod_name=\"$(pod_name web)\"" 'k8s_namespace_name="shop"')" 3
expect_eq "api's namespace from its log directory" \
	"$(metric_value http_server_request_duration_seconds_count "k8s_pod_name=\"$(pod_name api)\"" 'k8s_namespace_name="billing"')" 2
expect_eq "no namespace where the node names none" \
	"$(metric_value http_server_request_duration_seconds_count "k8s_pod_name=\"$(pod_name sd)\"" 'k8s_namespace_name=""')" 1
expect_eq "nothing under the old default namespace" \
	"$(metric_value http_server_request_duration_seconds_count 'k8s_namespace_name="default"')" 0
expect_eq "cli served nothing" "$(server_count cli)" 0
expect_eq "web sent nothing" "$(client_count web)" 0

# status: the human table names every pod, the programs and the tcx hooks.
status > "$T/status.txt"; rc=$?
expect_eq "status exit code" "$rc" 0
for p in web api cli; do
	grep -q "$(pod_name $p)" "$T/status.txt" && ok "status lists $p" || fail "status lacks $p"
done
grep -Eq "tcx? ingress $(pod_name web):eth0" "$T/status.txt" && ok "status shows web's tc hook" \
	|| fail "status programs: $(cat "$T/status.txt")"
grep -Eq '^  http_hist +[1-9]' "$T/status.txt" && ok "status shows http_hist fill" || fail "no http_hist fill"
expect_eq "GET /status lists the same pods" \
	"$(curl -fsS "http://$AGENT_ADDR/status" | "$PY" -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["pods"])))')" \
	"$(status_pods)"

# observe: live requests, one line each, filtered by pod.
"$OBSBPF" observe --control-socket "$CTL" --pod "$(pod_name web)" > "$T/observe.txt" 2>&1 &
OBS=$!; BG_PIDS+=($OBS)
"$OBSBPF" observe --control-socket "$CTL" --json > "$T/observe.json" 2>&1 &
OBSJ=$!; BG_PIDS+=($OBSJ)
observers() { status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["observers"])'; }
wait_until 5 'test "$(observers)" = 2'
pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip web):8080/observed/7" || fail "curl web"
pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip api):8080/other" || fail "curl api"
wait_for 5 grep -q "/observed" "$T/observe.txt"
# Both sides of both requests in the JSON observer too, before it is stopped.
for i in $(seq 50); do [ "$(grep -c '^{' "$T/observe.json")" -ge 4 ] && break; sleep 0.1; done
kill $OBS $OBSJ 2>/dev/null
line=$(grep "/observed" "$T/observe.txt" | head -1)
[[ "$line" =~ shop/$(pod_name web)\ +\<-\ +$(pod_ip cli):[0-9]+\ +GET\ /observed/:id\ +200\ +[0-9.]+ms\ +[0-9a-f]{32}$ ]] \
	&& ok "observe line: $line" || fail "observe line: '$line' ($(cat "$T/observe.txt"))"
grep -q "/other" "$T/observe.txt" && fail "observe --pod web showed api's request" || ok "observe --pod filters"
"$PY" - "$T/observe.json" "$(pod_name cli)" <<'PY' && ok "observe --json: both sides of both requests, one trace id per request" || fail "observe --json: $(cat "$T/observe.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cli = [e for e in ev if e["pod"] == sys.argv[2] and e["dir"] == "client"]
srv = [e for e in ev if e["dir"] == "server"]
assert len(cli) == 2 and len(srv) == 2, ev
assert all(e["status"] == 200 and e["method"] == "GET" and e["latency_ns"] > 0 for e in ev), ev
# cli's sk_msg injected traceparent (default --propagation w3c, private destination): each
# request's client and server sides share one trace id.
assert sorted(e["trace_id"] for e in cli) == sorted(e["trace_id"] for e in srv), ev
assert all(len(e["trace_id"]) == 32 for e in ev), ev
PY

# A pod created after start is attached within a few seconds; its traffic is its own.
pod_create late || exit 1
pod_run late "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port late 8080 || exit 1
wait_for 5 has_pod "$(pod_name late)" && ok "pod created after start attached within 5 s" \
	|| fail "late pod not attached: $(status_pods)"
pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip late):8080/x" || fail "curl late"
wait_until 5 'test "$(server_count late)" -ge 1'
expect_eq "late pod's request counted under its name" "$(server_count late)" 1
expect_eq "tcx links for 5 pods" "$(tcx)" 10

# The pod goes away (its processes exit): detached, nothing left on it, its series dropped.
echo 1 > "${POD_CG[late]}/cgroup.kill"
wait_for 5 lacks_pod "$(pod_name late)" && ok "deleted pod detached" || fail "deleted pod still attached"
expect_eq "deleted pod's tcx links released" "$(tcx)" 8
expect_eq "deleted pod's tcx egress links released" "$(tcx_egress)" 8
expect_eq "no tc filter in the deleted pod's netns" "$(pod_tc_filters late)" ""
expect_eq "no program left on the deleted pod's cgroup" "$(bpftool cgroup show "${POD_CG[late]}")" ""
expect_eq "deleted pod's series dropped" "$(server_count late)" 0
expect_eq "other pods' series kept" "$(server_count web)" 4

# kill -9: nothing stays attached (sockops is a link, sk_msg dies with its map, tc is tcx).
# The sk_msg program is kept by the kernel while a client socket that was in the sockhash lives:
# it is checked after the keep-alive connection below closed.
ids="$(agent_prog_id obsbpf_sockops) $TC_PROG $TC_EGRESS_PROG"
has_tcx || ids=$(agent_prog_id obsbpf_sockops) # tc filters keep theirs until reclaimed
msg_id=$(agent_prog_id obsbpf_msg)
exec 3<>/dev/tcp/"$(pod_ip web)"/8080
printf 'GET /before HTTP/1.1\r\nHost: x\r\n\r\n' >&3
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
left= # the kernel frees programs after an RCU grace period: give it time
for i in $(seq 100); do
	left=; for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && left+=" $id"; done
	[ -z "$left" ] && break; sleep 0.1
done
expect_eq "no program of the killed daemon still loaded" "$left" ""
[ -n "$left" ] && bpftool prog show id ${left##* } >&2
if has_tcx; then
	expect_eq "no tcx link left after kill -9" "$(tcx)" 0
	expect_eq "no tcx egress link left after kill -9" "$(tcx_egress)" 0
	for p in web api cli sd; do expect_eq "no tc filter on $p after kill -9" "$(pod_tc_filters $p)" ""; done
else
	expect_eq "without tcx, the killed daemon's ingress filters stay (until the next start)" "$(tcx)" 8
fi
for p in web api cli sd; do
	expect_eq "no program on $p's cgroup after kill -9" "$(bpftool cgroup show "${POD_CG[$p]}")" ""
done
status >/dev/null 2>&1 && fail "status answered with no agent" || ok "status fails with no agent"

# Restart: the pods are picked up again; the keep-alive connection opened before kept working.
agent_launch daemon /readyz "${DAEMON_ARGS[@]}" || exit 1
wait_for 5 has_pod "$(pod_name web)" && ok "restarted daemon re-attached web" || fail "web not re-attached"
expect_eq "restarted daemon's pods" "$(status_pods)" "$(printf '%s\n' "$(pod_name api)" "$(pod_name cli)" "$(pod_name sd)" "$(pod_name web)" | sort | xargs)"
printf 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 > "$T/resp"; exec 3<&-
expect_eq "keep-alive connection across kill -9 and restart got both responses" "$(grep -c '^HTTP/1.1 200' "$T/resp")" 2
if ! has_tcx; then
	expect_eq "the restarted daemon replaced the stale ingress filters, one per interface" "$(tcx)" 8
	expect_eq "and the egress ones" "$(tcx_egress)" 8
fi
wait_for 5 sh -c "! bpftool prog show id $msg_id" && ok "killed daemon's sk_msg program freed once its last socket closed" \
	|| fail "sk_msg program $msg_id of the killed daemon still loaded"
pod_exec cli curl -fsS -o /dev/null "http://$(pod_ip web):8080/again" || fail "curl web"
wait_until 5 'test "$(server_count web)" -ge 1'
expect_eq "restarted daemon counts web's requests: on the connection from before (adopted) and the new one" "$(server_count web)" 2
agent_stop; expect_eq "daemon exit status on SIGTERM" "$?" 0
[ -e "$CTL" ] && fail "control socket left behind" || ok "control socket removed on exit"
has_tcx || expect_eq "no tc filter left after the daemon's exit" "$(tcx) $(tcx_egress)" "0 0"
finish
