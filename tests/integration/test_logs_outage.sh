#!/usr/bin/env bash
# At-least-once: a collector that is down for several seconds, one that takes chunks without
# acking them, kill -9 of the agent in the middle of a stream, a slow collector (backpressure,
# no drop), and a spool that fills up while the collector is down (drops counted).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"

mkdir -p "$T/app"
OUT=$T/out.jsonl
recv_start "$OUT"
AGENT_ARGS=(--logs "$T/app/*.log" --cri-logs "" --logs-state "$T/state" --logs-flush-ms 50
	--logs-chunk-kb 16 --forward-ack-timeout 1000 --forward "127.0.0.1:$RECV_PORT")
logs_start "${AGENT_ARGS[@]}"

# 1. collector down for ~4 s while 1000 lines are written
write_seq "$T/app/a.log" out 1 200
wait_lines "$OUT" 200 10 || fail "outage: first lines not delivered"
recv_kill
write_seq "$T/app/a.log" out 201 1200 0.3 # 10 x 100 lines, 3 s
sleep 1
recv_start "$OUT"
wait_lines "$OUT" 1200 40 || fail "outage: not all lines delivered after recovery"
read -r missing dups _ _ <<<"$(seq_report "$OUT" out 1200)"
expect_eq "outage: lines missing" "$missing" 0
expect_ge "outage: reconnection attempts counted" "$(metric_value obsbpf_logs_retries_total)" 1

# 2. a collector that stops acking: chunks are sent again after the ack timeout
touch "$T/NOACK"
write_seq "$T/app/a.log" noack 1 300
sleep 2.5
rm -f "$T/NOACK"
wait_lines "$OUT" 1500 40 || fail "no-ack: lines not delivered once acks resume"
read -r missing dups _ _ <<<"$(seq_report "$OUT" noack 300)"
expect_eq "no-ack: lines missing" "$missing" 0
expect_ge "no-ack: ack timeouts counted" "$(metric_value obsbpf_logs_ack_timeouts_total)" 1

# 3. kill -9 in the middle of a stream, restart: nothing lost, at most one chunk repeated
"$PY" - "$T/app/a.log" <<'PYEOF' &
import sys, time
with open(sys.argv[1], "a", buffering=1) as f:
    for i in range(1, 6001):
        f.write("kill %d {\"pad\":\"%s\"}\n" % (i, "k" * 60))
        if i % 200 == 0:
            time.sleep(0.05)
PYEOF
WRITER=$!
sleep 0.6
logs_kill9
sleep 0.3
logs_start "${AGENT_ARGS[@]}"
wait "$WRITER"
wait_lines "$OUT" 7500 40 || fail "kill -9: not all lines delivered after the restart"
sleep 0.5
read -r missing dups dup_chunks max_chunk <<<"$(seq_report "$OUT" kill 6000)"
expect_eq "kill -9: lines missing" "$missing" 0
if [ "$dup_chunks" -le 1 ] && [ "$dups" -le "$max_chunk" ]; then
	ok "kill -9: $dups lines repeated, from $dup_chunks chunk(s) (a chunk holds up to $max_chunk)"
else
	fail "kill -9: $dups lines repeated from $dup_chunks chunks"
fi
read -r missing dups _ _ <<<"$(seq_report "$OUT" out 1200)"
expect_eq "kill -9: earlier acked lines not sent again" "$dups" 0
expect_eq "nothing dropped while the collector was reachable" "$(metric_value obsbpf_logs_dropped_records_total)" 0
agent_stop || fail "agent exit status"

# 4. a live but slow collector (0.1 s per ack) and a 1-chunk memory buffer: reading pauses,
# nothing is dropped, nothing spooled
recv_kill
rm -f "$OUT"
recv_start "$OUT" --ack-delay 0.1
logs_start --logs "$T/app/s.log" --cri-logs "" --logs-state "$T/state-s" --logs-chunk-kb 64 \
	--logs-buffer-mb 0 --logs-spool "$T/spool" --forward "127.0.0.1:$RECV_PORT"
write_seq "$T/app/s.log" slow 1 10000
wait_lines "$OUT" 10000 60 || fail "slow collector: not all lines delivered"
read -r missing dups _ _ <<<"$(seq_report "$OUT" slow 10000)"
expect_eq "slow collector: lines missing" "$missing" 0
expect_eq "slow collector: lines repeated" "$dups" 0
expect_eq "slow collector: nothing dropped" "$(metric_value obsbpf_logs_dropped_records_total)" 0
expect_eq "slow collector: nothing spooled" "$(ls "$T/spool" | wc -l)" 0
agent_stop || fail "agent exit status"

# 5. a full buffer: 1 MiB in memory + 1 MiB of spool while the collector is down; the rest is
# dropped and counted, what was buffered arrives after recovery
recv_kill
rm -f "$OUT"
logs_start --logs "$T/app/b.log" --cri-logs "" --logs-state "$T/state-b" --logs-chunk-kb 64 \
	--logs-buffer-mb 1 --logs-spool "$T/spool" --logs-spool-mb 1 --forward "127.0.0.1:$RECV_PORT"
write_seq "$T/app/b.log" full 1 40000 # ~3.4 MB
sleep 2
spooled=$(metric_value obsbpf_logs_buffered_bytes 'where="spool"')
dropped=$(metric_value obsbpf_logs_dropped_records_total)
expect_ge "full buffer: chunks spooled to disk (bytes)" "$spooled" 500000
[ "$(ls "$T/spool" | wc -l)" -ge 1 ] && ok "spool files exist" || fail "no spool files"
expect_ge "full buffer: dropped records counted" "$dropped" 1
recv_start "$OUT"
wait_lines "$OUT" $((40000 - dropped)) 40
sleep 1
read -r missing dups _ _ <<<"$(seq_report "$OUT" full 40000)"
expect_eq "full buffer: every line not counted as dropped arrives" "$missing" "$dropped"
expect_eq "full buffer: spool emptied" "$(ls "$T/spool" | wc -l)" 0
agent_stop || fail "agent exit status"
finish
