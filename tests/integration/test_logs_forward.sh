#!/usr/bin/env bash
# Log forwarding to a real Fluent Forward receiver: enrichment fields, JSON/logfmt/plain parsing,
# malformed JSON forwarded as plain text, CRI lines with partial-line reassembly, over-long lines,
# and each wire variant (PackedForward, Forward, gzip CompressedPackedForward with the shared-key
# handshake), against our python receiver and the fluent org's FluentServer (@fluent-org/logger).
# Runs `obsbpf logs` (no BPF needed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"

mkdir -p "$T/app" "$T/containers"
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
{
	echo '{"msg":"json line","level":"ERROR","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","n":7}'
	echo 'level=warn msg="logfmt line" trace_id=1234567890abcdef1234567890abcdef'
	echo "plain INFO line with traceparent $TP"
	echo '{"msg":"malformed json", "level":'
	printf 'long %s\n' "$(head -c 5000 /dev/zero | tr '\0' 'y')"
	echo 'after long'
} > "$T/app/app.log"
CRI=$T/containers/web_shop_app-0123456789ab.log
{
	echo '2024-05-01T10:00:00.123456789Z stdout P first half '
	echo '2024-05-01T10:00:00.223456789Z stdout F second half'
	echo '2024-05-01T10:00:01.000000001Z stderr F {"msg":"cri json","level":"warn"}'
} > "$CRI"

# check OUT: every expectation about the records of one run
check_records() {
	"$PY" - "$1" "$T/app/app.log" "$CRI" <<'PYEOF'
import json, sys
out, app, cri = sys.argv[1:4]
recs = [json.loads(l) for l in open(out)]
by_log = {}
for r in recs:
    by_log.setdefault(r["record"]["log"], []).append(r)
fails = []
def expect(cond, what):
    if not cond:
        fails.append(what)
def one(log):
    rs = by_log.get(log, [])
    expect(len(rs) == 1, "exactly one record for %r (got %d)" % (log[:60], len(rs)))
    return rs[0]["record"] if rs else {}
j = one('{"msg":"json line","level":"ERROR","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","n":7}')
expect(j.get("pod") == "web" and j.get("namespace") == "shop" and j.get("node") == "node-1", "pod/namespace/node on JSON: %r" % j)
expect(j.get("file") == app, "file field %r" % j.get("file"))
expect(j.get("format") == "json" and j.get("msg") == "json line" and j.get("n") == 7, "JSON fields kept: %r" % j)
expect(j.get("level") == "error", "JSON level normalised: %r" % j.get("level"))
expect(j.get("trace_id") == "0af7651916cd43dd8448eb211c80319c" and j.get("span_id") == "b7ad6b7169203331", "JSON trace ids %r" % j)
l = one('level=warn msg="logfmt line" trace_id=1234567890abcdef1234567890abcdef')
expect(l.get("format") == "logfmt" and l.get("msg") == "logfmt line" and l.get("level") == "warn", "logfmt %r" % l)
expect(l.get("trace_id") == "1234567890abcdef1234567890abcdef", "logfmt trace_id %r" % l.get("trace_id"))
p = one("plain INFO line with traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
expect(p.get("format") == "plain" and p.get("level") == "info", "plain %r" % p)
expect(p.get("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736" and p.get("span_id") == "00f067aa0ba902b7", "traceparent in text %r" % p)
m = one('{"msg":"malformed json", "level":')
expect(m.get("format") == "plain" and "msg" not in m, "malformed JSON forwarded as plain text: %r" % m)
longs = [r for r in recs if r["record"]["log"].startswith("long ")]
expect(len(longs) == 1 and len(longs[0]["record"]["log"]) == 1024, "long line truncated to 1024 bytes: %r" % [len(r["record"]["log"]) for r in longs])
expect(longs and longs[0]["record"].get("truncated") is True, "truncated record marked")
expect(j.get("truncated") is None, "only truncated records are marked")
one("after long")
c = one("first half second half")
expect(c.get("container") == "app" and c.get("stream") == "stdout" and c.get("file") == cri, "CRI enrichment %r" % c)
cr = by_log.get("first half second half", [{}])[0]
expect(cr.get("time_ns") == 1714557600123456789, "CRI time of the first part, in ns: %r" % cr.get("time_ns"))
cj = one('{"msg":"cri json","level":"warn"}')
expect(cj.get("stream") == "stderr" and cj.get("format") == "json" and cj.get("level") == "warn", "CRI JSON %r" % cj)
expect(len(recs) == 8, "8 records in all, got %d" % len(recs))
for f in fails:
    print("    " + f)
sys.exit(1 if fails else 0)
PYEOF
}

run_variant() { # NAME RECEIVER(py|node) [SHARED_KEY] -- AGENT_ARGS
	local name=$1 kind=$2 key=
	shift 2
	[ "$1" != "--" ] && { key=$1; shift; }
	shift
	RECV_PORT=
	if [ "$kind" = node ]; then
		recv_start_node "$T/$name.jsonl" $key || { fail "$name: receiver"; return; }
	else
		recv_start "$T/$name.jsonl" ${key:+--shared-key "$key"} || { fail "$name: receiver"; return; }
	fi
	logs_start --logs "$T/app/*.log" --cri-logs "$T/containers" --pod web --namespace shop \
		--node node-1 --logs-state "$T/$name.state" --logs-max-line 1024 --logs-flush-ms 50 \
		--forward "127.0.0.1:$RECV_PORT" "$@" || { fail "$name: agent start"; recv_kill; return; }
	wait_lines "$T/$name.jsonl" 8 10
	sleep 0.3 # anything beyond the 8 expected records would show up now
	if check_records "$T/$name.jsonl"; then ok "$name: records, fields and enrichment"; else fail "$name: records"; fi
	expect_eq "$name: parse errors counted" "$(metric_value obsbpf_logs_parse_errors_total)" 1
	expect_eq "$name: long lines counted" "$(metric_value obsbpf_logs_long_lines_total)" 1
	expect_eq "$name: records forwarded (acked)" "$(metric_value obsbpf_logs_records_forwarded_total 'output="forward"')" 8
	grep -q "^obsbpf-logs-checkpoint 1" "$T/$name.state" && ok "$name: checkpoint written" || fail "$name: no checkpoint"
	agent_stop || fail "$name: agent exit status"
	recv_kill
}

run_variant packed py -- --forward-mode packed
run_variant forward py -- --forward-mode forward
run_variant gzip-key py s3cret -- --forward-compress gzip --forward-shared-key s3cret
# the same against the fluent org's FluentServer (an implementation that is not ours)
run_variant fluent-org-packed node -- --forward-mode packed
run_variant fluent-org-forward node -- --forward-mode forward
run_variant fluent-org-gzip-key node s3cret -- --forward-compress gzip --forward-shared-key s3cret

# a wrong shared key: nothing is delivered, the refusal is reported
RECV_PORT=
recv_start "$T/badkey.jsonl" --shared-key right
logs_start --logs "$T/app/*.log" --cri-logs "" --logs-state "$T/badkey.state" \
	--forward "127.0.0.1:$RECV_PORT" --forward-shared-key wrong
sleep 1.5
expect_eq "wrong shared key: nothing delivered" "$(cat "$T/badkey.jsonl" 2>/dev/null | wc -l)" 0
grep -q "handshake refused: shared key mismatch" "$T/agent.log" && ok "wrong shared key reported" ||
	fail "wrong shared key not reported: $(tail -3 "$T/agent.log")"
agent_stop

# --log-fields: OpenTelemetry's k8s.* names (our receiver), the kubernetes map of Fluent Bit's
# kubernetes filter (the fluent org's FluentServer)
fields_variant() { # NAME RECEIVER(py|node) FIELDS
	RECV_PORT=
	if [ "$2" = node ]; then recv_start_node "$T/$1.jsonl"; else recv_start "$T/$1.jsonl"; fi ||
		{ fail "$1: receiver"; return; }
	logs_start --logs "$T/app/*.log" --cri-logs "$T/containers" --pod web --namespace shop --node node-1 \
		--logs-state "$T/$1.state" --logs-flush-ms 50 --forward "127.0.0.1:$RECV_PORT" --log-fields "$3" ||
		{ fail "$1: agent start"; recv_kill; return; }
	wait_lines "$T/$1.jsonl" 8 10
	if "$PY" - "$T/$1.jsonl" "$3" <<'PYEOF'; then ok "$1: where each line came from, as $3 names it"; else fail "$1: fields"; fi
import json, sys
recs = [json.loads(l)["record"] for l in open(sys.argv[1])]
cri = [r for r in recs if r.get("stream")]
app = [r for r in recs if not r.get("stream")]
ok = len(recs) == 8 and cri and app
for r in recs:
    ok = ok and not ({"pod", "namespace", "node"} & r.keys())
    if sys.argv[2] == "otel":
        ok = ok and r.get("k8s.pod.name") == "web" and r.get("k8s.namespace.name") == "shop" \
            and r.get("k8s.node.name") == "node-1" and "kubernetes" not in r
    else:
        k = r.get("kubernetes", {})
        ok = ok and k.get("pod_name") == "web" and k.get("namespace_name") == "shop" and k.get("host") == "node-1" \
            and not any(x.startswith("k8s") for x in r)
for r in cri:
    ok = ok and (r.get("k8s.container.name") if sys.argv[2] == "otel" else r["kubernetes"].get("container_name")) == "app"
ok = ok and any(r.get("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736" for r in recs)
if not ok:
    print(json.dumps(recs[:2]))
sys.exit(0 if ok else 1)
PYEOF
	agent_stop || fail "$1: agent exit status"
	recv_kill
}
fields_variant fields-otel py otel
fields_variant fields-fluentbit node fluentbit

# bad settings: one line naming the problem, non-zero exit, before anything runs
bad() { # WANT_SUBSTRING ARGS...
	local want=$1; shift
	local out rc=0
	out=$(timeout 5 "$OBSBPF" logs --listen "$AGENT_ADDR" --logs-state "$T/bad.state" "$@" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ "$out" == *"$want"* ]]; then
		ok "error: $out"
	else
		fail "bad $*: rc $rc, output '$out'"
	fi
}
bad "--forward nope: expected HOST:PORT" --forward nope
bad "--logs-out file: expected forward or stdout" --forward 127.0.0.1:1 --logs-out file
bad "--forward-compress zstd: expected none or gzip" --forward 127.0.0.1:1 --forward-compress zstd
bad "state file /nonexistent/x: No such file or directory" --forward 127.0.0.1:1 --logs-state /nonexistent/x
bad "nothing to do" --logs "$T/app/*.log"
bad "--log-fields k8s: expected obsbpf, otel or fluentbit" --forward 127.0.0.1:1 --log-fields k8s
finish
