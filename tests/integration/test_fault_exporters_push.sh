#!/usr/bin/env bash
# The Pushgateway pusher against a gateway that is down, one that accepts and never answers, and
# one that answers random bytes (test_appmetrics covers one that is down at start). While the
# fault lasts the agent's memory stays bounded, it keeps serving, and the failed pushes are
# counted; once a real prometheus-pushgateway is back on the same port the pod's group appears
# there within one (maximum) backoff.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

INTERVAL_S=2   # the backoff after failed pushes is 1 s, then 2 s: at most one interval
BACKOFF_MS=$((INTERVAL_S * 1000))
TIMEOUT_MS=500
FAULT_S=4
GROWTH_MIB=16 # RSS above its level before the faults (a push body is a few KiB)
JOB=fault
peer_start slow || exit 1 # a free port: the peers, then the Pushgateway, take it in turn
PORT=$PEER_PORT
peer_kill
pod_create web || exit 1
POD=$(pod_name web)
agent_start --pod "$POD" --pushgateway "http://127.0.0.1:$PORT" --pushgateway-job "$JOB" \
	--pushgateway-interval "$INTERVAL_S" --pushgateway-timeout "$TIMEOUT_MS" || exit 1
sleep 0.5
BASE_KIB=$(rss_now_kib "$AGENT_PID")
errors() { metric_value obsbpf_pushgateway_pushes_total 'result="error"'; }

PGW_PID=
# pgw_has METRIC: the Pushgateway's group job=$JOB instance=$POD holds METRIC.
pgw_has() {
	curl -fsS "http://127.0.0.1:$PORT/api/v1/metrics" 2>/dev/null | json "
g=[g for g in d['data'] if g['labels'].get('job')=='$JOB' and g['labels'].get('instance')=='$POD']
sys.exit(0 if g and '$1' in g[0] else 1)"
}

# pgw_push_ms: when the group was last pushed (the Pushgateway's push_time_seconds), Unix ms.
pgw_push_ms() {
	curl -fsS "http://127.0.0.1:$PORT/api/v1/metrics" 2>/dev/null | json "
g=[g for g in d['data'] if g['labels'].get('job')=='$JOB' and g['labels'].get('instance')=='$POD']
print(int(float(g[0]['push_time_seconds']['metrics'][0]['value']) * 1000))"
}

# recover NAME: a real Pushgateway on the port; the group appears within one backoff (+ the
# push's own time and slack for a busy machine), timed by the Pushgateway's own clock.
recover() {
	local name=$1 ms up ok0
	ok0=$(metric_value obsbpf_pushgateway_pushes_total 'result="ok"')
	peer_kill
	prometheus-pushgateway --web.listen-address="127.0.0.1:$PORT" >>"$T/pgw.log" 2>&1 &
	PGW_PID=$!
	BG_PIDS+=("$PGW_PID")
	ms_until 10 "curl -fsS -o /dev/null http://127.0.0.1:$PORT/-/ready" >/dev/null \
		|| { fail "$name: pushgateway did not start"; return; }
	up=$(now_ms)
	if wait_until 20 "pgw_has obsbpf_pushgateway_pushes_total" && ms=$(( $(pgw_push_ms) - up )); then
		[ "$ms" -ge 0 ] || ms=0 # pushed before the readiness poll saw it up
		ok "$name: group pushed $ms ms after the Pushgateway returned (max backoff $BACKOFF_MS ms)"
		[ "$ms" -le $((BACKOFF_MS + TIMEOUT_MS + 1000)) ] && ok "$name: recovered within one backoff" \
			|| fail "$name: recovery took $ms ms, max backoff is $BACKOFF_MS ms"
	else
		fail "$name: nothing pushed 20 s after the Pushgateway returned: $(tail -3 "$T/agent.log")"
	fi
	pgw_has obsbpf_events_read_total && ok "$name: the group holds the agent's series" \
		|| fail "$name: the group lacks the agent's series"
	expect_ge "$name: successful pushes counted" \
		"$(metric_value obsbpf_pushgateway_pushes_total 'result="ok"')" $((ok0 + 1))
}

# fault NAME: the pusher against what is on the port (nothing, or a hostile peer) for FAULT_S.
fault() {
	local name=$1 e0 max
	e0=$(errors)
	rss_watch "$AGENT_PID" "$T/rss-$name"
	sleep "$FAULT_S"
	expect_ge "$name: failed pushes counted" "$(errors)" $((e0 + 2))
	curl -fsS -o /dev/null --max-time 2 "http://$AGENT_ADDR/healthz" \
		&& ok "$name: the agent still answers /healthz" || fail "$name: /healthz does not answer"
	[ "$name" != down ] && expect_ge "$name: the pusher reconnected" "$(peer_conns)" 2
	rss_stop
	max=$(rss_max_kib "$T/rss-$name")
	[ $((max - BASE_KIB)) -le $((GROWTH_MIB * 1024)) ] \
		&& ok "$name: RSS at most $max KiB, $(( (max - BASE_KIB) / 1024 )) MiB above the $BASE_KIB KiB before (bound $GROWTH_MIB MiB)" \
		|| fail "$name: RSS grew by $(( (max - BASE_KIB) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
	recover "$name"
}

fault down
for MODE in slow garbage; do
	kill -KILL "$PGW_PID" 2>/dev/null; wait "$PGW_PID" 2>/dev/null
	peer_start "$MODE" "$PORT" || { fail "$MODE: no peer"; continue; }
	fault "$MODE"
done
grep -q "pushgateway .*: pushing again" "$T/agent.log" && ok "recovery logged" || fail "no recovery log line"
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
if grep -q "ERROR: AddressSanitizer\|runtime error" "$T/agent.log"; then
	fail "sanitizer report in the agent's log"; cat "$T/agent.log"
else
	ok "no sanitizer report"
fi
finish
