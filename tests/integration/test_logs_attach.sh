#!/usr/bin/env bash
# Logs through `obsbpf attach --pod`: the --logs glob is resolved inside the pod's mount
# namespace (a tmpfs mounted only there, invisible from the host), records carry the pod's
# name, namespace and node, and the CRI container logs of the pod are followed too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"

pod_create web || exit 1
POD=$(pod_name web) # web-<run>: unique on the machine
PAUSE=${POD_PAUSE[web]}
# `ip netns exec` gave the pod its own mount namespace (slave of the host's): a tmpfs mounted
# there is the pod's alone
mkdir -p "$T/podlogs" "$T/containers"
nsenter -t "$PAUSE" -m mount -t tmpfs tmpfs "$T/podlogs" || exit 1
pod_log() { nsenter -t "$PAUSE" -m sh -c "echo '$1' >> $T/podlogs/app.log"; }
pod_log '{"msg":"from the pod","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}'
[ -e "$T/podlogs/app.log" ] && fail "the pod's tmpfs is visible from the host: test setup broken"
echo '2024-05-01T10:00:00Z stdout F cri line' > "$T/containers/${POD}_shop_app-abcdef.log"

OUT=$T/out.jsonl
recv_start "$OUT"
agent_start --pod "$POD" --namespace shop --node node-1 --logs "$T/podlogs/*.log" \
	--cri-logs "$T/containers" --logs-state "$T/state" --logs-flush-ms 50 \
	--forward "127.0.0.1:$RECV_PORT" || exit 1
pod_log 'level=info msg="written after the start"'
wait_lines "$OUT" 3 10 || fail "records not delivered: $(cat "$OUT" 2>/dev/null)"
"$PY" - "$OUT" "$T/podlogs/app.log" "$POD" <<'PYEOF' && ok "records from the pod's mount namespace, enriched" || fail "records"
import json, sys
recs = {json.loads(l)["record"]["log"]: json.loads(l)["record"] for l in open(sys.argv[1])}
a = recs['{"msg":"from the pod","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}']
b = recs['level=info msg="written after the start"']
c = recs["cri line"]
bad = []
for r in (a, b, c):
    if (r.get("pod"), r.get("namespace"), r.get("node")) != (sys.argv[3], "shop", "node-1"):
        bad.append("pod fields %r" % r)
if a.get("file") != sys.argv[2] or b.get("file") != sys.argv[2]:
    bad.append("file as the pod sees it: %r" % a.get("file"))
if a.get("trace_id") != "4bf92f3577b34da6a3ce929d0e0e4736":
    bad.append("trace_id %r" % a)
if c.get("container") != "app":
    bad.append("CRI container %r" % c)
for x in bad:
    print("    " + x)
sys.exit(1 if bad else 0)
PYEOF
expect_eq "no other records" "$(wc -l < "$OUT")" 3
expect_eq "agent metrics: records forwarded" "$(metric_value obsbpf_logs_records_forwarded_total)" 3
agent_stop || fail "agent exit status"
finish
