#!/usr/bin/env bash
# `obsbpf daemon --forward`: the container logs of every selected pod of a node-like layout
# (pods with cgroups and netns; /var/log/pods written by a runtime and rotated like the kubelet:
# renamed, written on through the old fd, reopened, older rotations gzipped and removed), CRI and
# docker json-file, P pieces joined, to a real Fluent Forward receiver: every line exactly once
# per container through rotations and an agent restart (with a rotation while it was down), each
# record naming its namespace, pod, uid, container, restart count, stream and node, with the
# trace ids a line carries; two pods of one name in two namespaces apart; pods appearing and
# going away; an unselected pod's logs never sent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"

DB=db-0-$RUN
NODE_NAME_=node-$RUN
POD_HOSTNAME=$DB pod_create dba || exit 1
POD_HOSTNAME=$DB pod_create dbb || exit 1
pod_create web || exit 1
pod_create other || exit 1
DIR_DBA=$(pod_logdir dba alpha) && DIR_DBB=$(pod_logdir dbb beta) && DIR_WEB=$(pod_logdir web shop) || exit 1
# A pod the selection leaves out: the node names it "unselected", which --pod-pattern does not match
# (whatever its processes' hostname).
DIR_OTHER=$POD_LOGS/shop_unselected_$(pod_uid other)
mkdir -p "$DIR_OTHER/app"

# Containers: KEY DIR CONTAINER RESTART FORMAT. web's app restarted once: 0.log is its first
# instance's (written before the agent starts), 1.log the running one's.
CONTAINERS=(
	"alpha/db $DIR_DBA db 0 cri"
	"beta/db $DIR_DBB db 0 cri"
	"shop/app $DIR_WEB app 1 cri"
	"shop/proxy $DIR_WEB proxy 0 docker"
)
writer() { # KEY DIR CONTAINER RESTART FORMAT FROM TO [ARGS...]
	local key=$1 dir=$2 ctr=$3 restart=$4 fmt=$5 from=$6 to=$7; shift 7
	"$PY" "$ROOT/tests/integration/apps/kubelet_logs.py" --dir "$dir/$ctr" --key "$key" --restart "$restart" \
		--format "$fmt" --from "$from" --to "$to" --state "$T/writer-${key//\//_}.state" "$@"
}
# all_write FROM TO [ARGS...]: every container at once, as a node's runtimes write
all_write() {
	local c pids=()
	for c in "${CONTAINERS[@]}"; do
		writer $c "$@" & pids+=($!)
	done
	wait "${pids[@]}"
}
writer "shop/app0" "$DIR_WEB" app 0 cri 1 150
writer "shop/other" "$DIR_OTHER" app 0 cri 1 50

OUT=$T/out.jsonl
recv_start "$OUT" || exit 1
DAEMON_ARGS=(--pod-pattern "*-$RUN" --pod-logs "$POD_LOGS" --node "$NODE_NAME_" --app-metrics off
	--forward "127.0.0.1:$RECV_PORT" --logs-state "$T/state" --logs-flush-ms 50 --logs-chunk-kb 64)
agent_launch daemon /readyz "${DAEMON_ARGS[@]}" || exit 1
# Propagation is on (the default) and no spans are exported: said once, at start.
expect_eq "propagation without span export: one warning" "$(grep -c 'without span export' "$T/agent.log")" 1

# report N: per container, "KEY missing duplicated" for lines 1..N (web's first instance: 1..150).
report() {
	"$PY" - "$OUT" "$1" <<'PY'
import collections, json, sys
n = int(sys.argv[2])
seen = collections.defaultdict(collections.Counter)
for l in open(sys.argv[1]):
    log = json.loads(l)["record"].get("log", "")
    w = log.split()
    if len(w) >= 2 and "/" in w[0]:
        seen[w[0]][int(w[1])] += 1
for key, total in (("alpha/db", n), ("beta/db", n), ("shop/app", n), ("shop/proxy", n), ("shop/app0", 150)):
    c = seen[key]
    missing = sum(1 for i in range(1, total + 1) if not c[i])
    dups = sum(v - 1 for v in c.values() if v > 1)
    extra = sum(1 for i in c if i > total)
    print("%s %d %d %d" % (key, missing, dups, extra))
print("shop/other %d 0 0" % sum(seen["shop/other"].values()))
PY
}
expect_report() { # N DESC
	local key missing dups extra
	while read -r key missing dups extra; do
		if [ "$key" = shop/other ]; then
			expect_eq "$2: the unselected pod's lines sent" "$missing" 0
		else
			expect_eq "$2: $key missing, repeated, unexpected" "$missing $dups $extra" "0 0 0"
		fi
	done < <(report "$1")
}
delivered() { # EXPECTED_RECORDS: all received, and acked back (so checkpointed)
	[ "$(wc -l < "$OUT")" -ge "$1" ] && [ "$(metric_value obsbpf_logs_buffered_records)" = 0 ] &&
		[ "$(metric_value obsbpf_logs_records_forwarded_total)" -ge 1 ]
}

# 1. 2000 lines per container, rotated every ~40 KiB (several rotations, older ones gzipped).
all_write 1 2000 --rotate-bytes 40000
wait_until 30 "delivered $((4 * 2000 + 150))" || fail "phase 1 not delivered: $(wc -l < "$OUT") records"
expect_report 2000 "through rotations"
ls "$DIR_DBA"/db/*.gz >/dev/null 2>&1 && ok "the kubelet's older rotations were gzipped" || fail "no .gz: $(ls "$DIR_DBA"/db)"
wait_until 5 '[ "$(metric_value obsbpf_logs_rotations_total)" -ge 4 ]' \
	&& ok "gzipped rotations closed once drained" || fail "rotations: $(metric_value obsbpf_logs_rotations_total)"

# Records name where they came from.
"$PY" - "$OUT" "$DB" "$(pod_uid dba)" "$(pod_uid dbb)" "$(pod_uid web)" "$NODE_NAME_" "$DIR_DBA" <<'PY' \
	&& ok "records: namespace, pod, uid, container, restart count, stream, node, trace ids, joined pieces" \
	|| fail "record fields"
import json, sys
out, db, ua, ub, uw, node, dir_a = sys.argv[1:]
recs = {}
for l in open(out):
    r = json.loads(l)["record"]
    w = r["log"].split()
    recs[(w[0], int(w[1]))] = r
bad = []
def want(key, i, **kv):
    r = recs.get((key, i))
    if r is None:
        bad.append("no record %s %d" % (key, i)); return
    for k, v in kv.items():
        if r.get(k) != v:
            bad.append("%s %d: %s=%r, want %r" % (key, i, k, r.get(k), v))
want("alpha/db", 1, k8s_namespace_name="alpha", k8s_pod_name=db, k8s_pod_uid=ua, k8s_container_name="db",
     k8s_container_restart_count=0, k8s_node_name=node, stream="stdout")
want("beta/db", 2, k8s_namespace_name="beta", k8s_pod_name=db, k8s_pod_uid=ub, stream="stderr")
want("shop/app", 3, k8s_pod_uid=uw, k8s_container_name="app", k8s_container_restart_count=1)
want("shop/app0", 3, k8s_container_name="app", k8s_container_restart_count=0)
want("shop/proxy", 5, k8s_container_name="proxy", k8s_container_restart_count=0, stream="stdout")
want("alpha/db", 14, log="alpha/db 14 part-one-part-two")
want("shop/proxy", 14, log="shop/proxy 14 part-one-part-two")
want("beta/db", 22, trace_id="%032x" % (0xABC00000 + 22), span_id="%016x" % (0xDEF00000 + 22))
want("shop/proxy", 33, trace_id="%032x" % (0xABC00000 + 33))
if not recs[("alpha/db", 1)].get("file", "").startswith(dir_a + "/db/0.log"):
    bad.append("file %r" % recs[("alpha/db", 1)].get("file"))
for r in recs.values():
    if "pod" in r or "namespace" in r:
        bad.append("attach's keys in a daemon record: %r" % r); break
for b in bad[:10]:
    print("    " + b)
sys.exit(1 if bad else 0)
PY

# The status document: each pod's logs.
"$PY" - <(agent_status --json) "$DB" <<'PY' && ok "status: each pod's followed files and lines" || fail "status logs"
import json, sys
d = json.load(open(sys.argv[1]))
pods = {(p["namespace"], p["name"]): p for p in d["pods"]}
a = pods[("alpha", sys.argv[2])]["logs"]
assert a["files"] >= 1 and a["lines"] >= 2000 and a["unparsed_lines"] == 0, a
PY

# 2. The agent stops (everything acked); while it is down the runtime writes on and the kubelet
# rotates once; a new pod's container starts. The restarted agent resumes each file where the
# checkpoint says, the rotated one included, and reads the new ones from their start.
agent_stop || fail "daemon exit status"
all_write 2001 2500 --rotate-after 2250
pod_create late || exit 1
DIR_LATE=$(pod_logdir late shop) || exit 1
writer "shop/late" "$DIR_LATE" app 0 cri 1 100
agent_launch daemon /readyz "${DAEMON_ARGS[@]}" || exit 1
all_write 2501 3000 --rotate-bytes 40000
wait_until 30 "delivered $((4 * 3000 + 150 + 100))" || fail "phase 2 not delivered: $(wc -l < "$OUT") records"
expect_report 3000 "through a restart"
expect_eq "the late pod's lines" "$(grep -c '"log": "shop/late ' "$OUT")" 100

# 3. A pod goes away: the kubelet removes its log directory; its files are closed.
files_of() { agent_status --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sum((p["logs"] or {}).get("files",0) for p in d["pods"]+d.get("other_pods",[]) if p["namespace"]=="beta"))'; }
expect_ge "beta's files followed" "$(files_of)" 1
rm -rf "$DIR_DBB"
wait_until 10 '[ "$(files_of)" = 0 ]' && ok "a removed pod's files released" || fail "beta's files still followed: $(files_of)"
expect_eq "nothing lost or left over" "$(metric_value obsbpf_logs_buffered_records)" 0
agent_stop || fail "daemon exit status"
finish
