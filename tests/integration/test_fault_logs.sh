#!/usr/bin/env bash
# Log forwarding against a hostile Fluent Forward collector (test_logs_outage covers one that is
# down or does not ack): one that accepts and never reads, and one that answers random bytes.
# While it lasts the agent's memory stays bounded and the failures are counted; after the real
# receiver returns on the same port the first lines arrive within one (maximum) backoff, and every
# line the app wrote arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

BACKOFF_MS=2000
GROWTH_MIB=64 # RSS above its level before the fault (buffer 2 MiB, chunks up to 8 MiB, spool on disk)
mkdir -p "$T/app"
OUT=$T/out.jsonl
peer_start slow || exit 1
RECV_PORT=$PEER_PORT
# Chunks of up to 8 MiB: more than the socket buffers take (tcp_wmem's 4 MiB at most).
logs_start --logs "$T/app/*.log" --cri-logs "" --logs-state "$T/state" --logs-buffer-mb 2 \
	--logs-chunk-kb 8192 --logs-flush-ms 1000 \
	--logs-spool "$T/spool" --forward-ack-timeout 4000 --forward-backoff-max-ms "$BACKOFF_MS" \
	--forward "127.0.0.1:$PEER_PORT" || exit 1
sleep 0.5
BASE_KIB=$(rss_now_kib "$AGENT_PID")

# recover NAME PREFIX N: the real receiver comes back on the port; first line within one backoff
# (+ slack for a busy machine), then all N lines, once each.
recover() {
	local name=$1 prefix=$2 n=$3 ms
	peer_kill
	recv_start "$OUT" || { fail "$name: receiver did not start"; return; }
	if ms=$(ms_until 30 "grep -q '\"$prefix ' '$OUT'"); then
		ok "$name: first line $ms ms after the receiver returned (max backoff $BACKOFF_MS ms)"
		[ "$ms" -le $((BACKOFF_MS + 3000)) ] && ok "$name: recovered within one backoff" \
			|| fail "$name: recovery took $ms ms, max backoff is $BACKOFF_MS ms"
	else
		fail "$name: nothing delivered 30 s after the receiver returned"
	fi
	wait_until 40 "[ \"\$(seq_report '$OUT' '$prefix' $n | cut -d' ' -f1)\" = 0 ]"
	read -r missing dups _ _ <<<"$(seq_report "$OUT" "$prefix" "$n")"
	expect_eq "$name: lines missing" "$missing" 0
	expect_eq "$name: lines repeated" "$dups" 0
}

# 1. slow: accepts, never reads. 100000 lines (8.8 MB) written at once: a chunk that does not
# fit in the socket buffers stalls half-sent and times out, one that fits waits for its ack in
# vain (how much loopback buffers take depends on autotuning: either way counts); each is sent
# again on a new connection. The ack timeout (4 s) leaves the real receiver, python, time to
# decode an 8 MiB chunk on a busy machine: a shorter one made the agent resend chunks it had
# already delivered (at-least-once: duplicates).
rss_watch "$AGENT_PID" "$T/rss-slow"
write_seq "$T/app/a.log" slow 1 100000
wait_until 30 '[ $(( $(metric_value obsbpf_logs_send_timeouts_total) + $(metric_value obsbpf_logs_ack_timeouts_total) )) -ge 2 ]' \
	&& ok "slow: stalled sends and missing acks time out (send $(metric_value obsbpf_logs_send_timeouts_total), ack $(metric_value obsbpf_logs_ack_timeouts_total))" \
	|| fail "slow: timeouts not counted: $(metrics | grep -E '^obsbpf_logs_(send|ack)_timeouts|^obsbpf_logs_retries')"
expect_ge "slow: reconnections" "$(peer_conns)" 2
expect_ge "slow: retries counted" "$(metric_value obsbpf_logs_retries_total)" 2
expect_eq "slow: nothing dropped" "$(metric_value obsbpf_logs_dropped_records_total)" 0
rss_stop
max=$(rss_max_kib "$T/rss-slow")
[ $((max - BASE_KIB)) -le $((GROWTH_MIB * 1024)) ] \
	&& ok "slow: RSS ${max} KiB, $(( (max - BASE_KIB) / 1024 )) MiB above the ${BASE_KIB} KiB before (bound $GROWTH_MIB MiB)" \
	|| fail "slow: RSS grew by $(( (max - BASE_KIB) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
recover slow slow 100000

# 2. garbage: random bytes in answer to every chunk.
recv_kill
peer_start garbage "$RECV_PORT" || exit 1
rss_watch "$AGENT_PID" "$T/rss-garbage"
write_seq "$T/app/a.log" garbage 1 20000
wait_until 20 '[ "$(metric_value obsbpf_logs_bad_replies_total)" -ge 3 ]' \
	&& ok "garbage: bad replies counted ($(metric_value obsbpf_logs_bad_replies_total))" \
	|| fail "garbage: bad replies not counted: $(metrics | grep -E 'bad_replies|retries')"
sleep 2
expect_ge "garbage: reconnections" "$(peer_conns)" 3
expect_eq "garbage: nothing dropped" "$(metric_value obsbpf_logs_dropped_records_total)" 0
curl -fsS -o /dev/null "http://$AGENT_ADDR/healthz" && ok "garbage: the agent still answers /healthz" \
	|| fail "garbage: /healthz does not answer"
rss_stop
max=$(rss_max_kib "$T/rss-garbage")
[ $((max - BASE_KIB)) -le $((GROWTH_MIB * 1024)) ] \
	&& ok "garbage: RSS ${max} KiB, $(( (max - BASE_KIB) / 1024 )) MiB above the ${BASE_KIB} KiB before (bound $GROWTH_MIB MiB)" \
	|| fail "garbage: RSS grew by $(( (max - BASE_KIB) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
recover garbage garbage 20000
read -r missing dups _ _ <<<"$(seq_report "$OUT" slow 100000)"
expect_eq "slow lines not sent again" "$dups" 0
agent_stop || fail "agent exit status"
finish
