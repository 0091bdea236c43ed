#!/usr/bin/env bash
# Hostile log files for `obsbpf logs` (test_logs_rotation covers plain rename and copytruncate
# rotation, test_logs_forward a 5 kB line, test_logs_outage a spool at its size cap):
#  1. a 100 MB line without a newline, in a plain file and in a CRI log (16 KiB "P" pieces):
#     its head forwarded truncated to --logs-max-line and counted, the lines after it intact;
#  2. binary data (NULs, bytes that are not UTF-8, random bytes): every record is valid msgpack
#     (the receiver decodes strictly) and valid JSON on --logs-out stdout, repairs counted;
#  3. a file truncated, replaced (rename over it), deleted, and turned into a symlink while
#     being read, plus symlinks to /dev/zero and to themselves and a FIFO: no crash, every line
#     written after the event once;
#  4. a full disk under --logs-spool (a 1 MiB tmpfs) while the collector is down: memory up to
#     --logs-buffer-mb, drops and spool errors counted (exactly the lines missing), spooling
#     again once there is space, everything buffered delivered when the collector returns;
#  5. more files than --logs-max-files, each holding a partial line: the rest wait (counted) and
#     are read from their start once followed ones close.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"
. "$(dirname "$0")/fault_lib.sh"

SPOOLFS=$T/spoolfs
# The tmpfs goes before lib.sh's cleanup removes $T (a lazy unmount: the agent may still run).
trap 'rc=$?; mountpoint -q "$SPOOLFS" && umount -l "$SPOOLFS"; (exit $rc); cleanup' EXIT

MAX_LINE=65536
GROWTH_MIB=32 # above the RSS before: --logs-buffer-mb 2, chunks of 1 MiB, line buffers, json-c
mkdir -p "$T/app" "$T/elsewhere" "$T/containers"
OUT=$T/out.jsonl
recv_start "$OUT" || exit 1
logs_start --logs "$T/app/*.log" --cri-logs "$T/containers" --pod web --namespace shop \
	--logs-state "$T/state" --logs-flush-ms 50 --logs-max-line "$MAX_LINE" --logs-buffer-mb 2 --forward "127.0.0.1:$RECV_PORT" || exit 1
sleep 0.5
BASE_KIB=$(rss_now_kib "$AGENT_PID")

rss_bounded() { # NAME
	local max
	max=$(rss_max_kib "$T/rss-$1")
	[ $((max - BASE_KIB)) -le $((GROWTH_MIB * 1024)) ] \
		&& ok "$1: RSS at most ${max} KiB, $(( (max - BASE_KIB) / 1024 )) MiB above the ${BASE_KIB} KiB before (bound $GROWTH_MIB MiB)" \
		|| fail "$1: RSS grew by $(( (max - BASE_KIB) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
	echo "$1 $BASE_KIB $max" >> "$T/rss-summary"
}
once() { # NAME PREFIX N: every "PREFIX i" line (1..N) arrived exactly once
	wait_until 20 "[ \"\$(seq_report '$OUT' '$2' $3 | cut -d' ' -f1)\" = 0 ]"
	read -r missing dups _ _ <<<"$(seq_report "$OUT" "$2" "$3")"
	expect_eq "$1: lines missing" "$missing" 0
	expect_eq "$1: lines repeated" "$dups" 0
}
plain_seq() { # FILE PREFIX FROM TO: appends "PREFIX i" lines
	"$PY" -c '
import sys
with open(sys.argv[1], "a") as f:
    for i in range(int(sys.argv[3]), int(sys.argv[4]) + 1):
        f.write("%s %d\n" % (sys.argv[2], i))' "$@"
}

# 1. 100 MB without a newline
rss_watch "$AGENT_PID" "$T/rss-longline"
"$PY" -c '
import sys
with open(sys.argv[1], "ab") as f:
    b = b"x" * (1 << 20)
    for _ in range(100):
        f.write(b)' "$T/app/long.log"
wait_until 30 '[ "$(metric_value obsbpf_logs_read_bytes_total)" -ge 104857600 ]' \
	|| fail "100 MB line: not read ($(metric_value obsbpf_logs_read_bytes_total) bytes)"
wait_until 10 "grep -q '\"truncated\": true' '$OUT'" && ok "100 MB line: its head forwarded before its end" \
	|| fail "100 MB line: no truncated record"
printf '\n' >> "$T/app/long.log"
plain_seq "$T/app/long.log" after-long 1 200
once "100 MB line: lines after it" after-long 200
"$PY" - "$OUT" "$MAX_LINE" <<'PYEOF' && ok "100 MB line: one record, $MAX_LINE bytes of x, marked truncated" || fail "100 MB line: record wrong"
import json, sys
recs = [json.loads(l)["record"] for l in open(sys.argv[1])]
longs = [r for r in recs if r["log"].startswith("xxx")]
sys.exit(0 if len(longs) == 1 and longs[0]["log"] == "x" * int(sys.argv[2]) and longs[0].get("truncated") is True else 1)
PYEOF
expect_eq "100 MB line: counted as long" "$(metric_value obsbpf_logs_long_lines_total)" 1

# 1b. the same from a container runtime, which writes a long line as 16 KiB "P" pieces
"$PY" - "$T/containers/web_shop_app-0123.log" <<'PYEOF'
import sys
ts = b"2024-05-01T10:00:00.000000000Z stdout "
with open(sys.argv[1], "ab") as f:
    piece = ts + b"P " + b"y" * 16384 + b"\n"
    for _ in range(6400):
        f.write(piece)
    f.write(ts + b"F y-end\n")
    for i in range(1, 201):
        f.write(ts + b"F cri-after %d\n" % i)
PYEOF
once "CRI 100 MB line: lines after it" cri-after 200
"$PY" - "$OUT" "$MAX_LINE" <<'PYEOF' && ok "CRI 100 MB line: one record, $MAX_LINE bytes, marked truncated" || fail "CRI 100 MB line: record wrong"
import json, sys
recs = [json.loads(l)["record"] for l in open(sys.argv[1])]
longs = [r for r in recs if r["log"].startswith("yyy")]
sys.exit(0 if len(longs) == 1 and longs[0]["log"] == "y" * int(sys.argv[2]) and longs[0].get("truncated") is True else 1)
PYEOF
expect_eq "CRI 100 MB line: counted as long" "$(metric_value obsbpf_logs_long_lines_total)" 2
rss_stop
rss_bounded longline
rss_watch "$AGENT_PID" "$T/rss-binary"
"$PY" - "$T/app/bin.log" <<'PYEOF'
import random, sys
rnd = random.Random(14)
with open(sys.argv[1], "ab") as f:
    f.write(b"nul\x00in the middle\n")
    f.write(b"bad \xff\xfe utf8\n")
    f.write(b"overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe2\x82\n")
    f.write(b'{"json":"with \xff inside","level":"error"}\n')
    f.write(b"bad=\xf5\x80 logfmt=yes\n")
    f.write(rnd.randbytes(1 << 20))  # with newlines here and there
    f.write(b"\n")
    for i in range(1, 201):
        f.write(b"after-bin %d\n" % i)
PYEOF
once "binary" after-bin 200
rss_stop
grep -q 'receiver:\|Traceback\|Error' "$T/recv.log" && fail "binary: the receiver could not decode: $(head -5 "$T/recv.log")" \
	|| ok "binary: the receiver decoded every chunk (strict UTF-8)"
"$PY" - "$OUT" <<'PYEOF' && ok "binary: NUL kept, bad bytes as U+FFFD, the JSON line's fields kept" || fail "binary: records wrong"
import json, sys
recs = [json.loads(l)["record"] for l in open(sys.argv[1])]
logs = {r["log"] for r in recs}
ok = "nul\x00in the middle" in logs and "bad \ufffd\ufffd utf8" in logs
j = [r for r in recs if r.get("json") == "with \ufffd inside"]
ok = ok and len(j) == 1 and j[0]["level"] == "error"
sys.exit(0 if ok else 1)
PYEOF
expect_ge "binary: repaired records counted" "$(metric_value obsbpf_logs_invalid_utf8_total)" 5
rss_bounded binary
# --logs-out stdout: the same file as JSON lines, each valid UTF-8 JSON
"$OBSBPF" logs --logs "$T/app/bin.log" --cri-logs "" --logs-state "$T/stdout.state" --logs-out stdout \
	--logs-flush-ms 50 --listen "127.0.0.1:$((AGENT_PORT + 3000))" > "$T/stdout.jsonl" 2>"$T/stdout.log" &
STDOUT_PID=$!
BG_PIDS+=("$STDOUT_PID")
wait_until 20 "grep -q 'after-bin 200' '$T/stdout.jsonl'"
kill -TERM "$STDOUT_PID"; wait "$STDOUT_PID"
expect_eq "stdout: agent exit status" $? 0
"$PY" - "$T/stdout.jsonl" <<'PYEOF' && ok "stdout: every line is JSON in UTF-8" || fail "stdout: invalid JSON line"
import json, sys
n = 0
for l in open(sys.argv[1], "rb"):
    json.loads(l.decode("utf-8"))
    n += 1
sys.exit(0 if n > 200 else 1)
PYEOF

# 3. files changed under the reader. Each gets 5 MB (15 MB of records: the receiver takes a
# while, reading waits for it); the event comes once the agent has read 1 MB of it. The lines
# written after the event must arrive once.
big() { # FILE PREFIX: 5 MB of lines, then until the agent has read 1 MB of them
	local before
	before=$(metric_value obsbpf_logs_read_bytes_total)
	"$PY" -c '
import sys
with open(sys.argv[1], "a") as f:
    for i in range(100000):
        f.write("%s-old %d %s\n" % (sys.argv[2], i, "o" * 40))' "$@"
	wait_until 20 "[ \$(metric_value obsbpf_logs_read_bytes_total) -ge $((before + 1048576)) ]" \
		|| fail "$2: the agent did not start reading"
}
rss_watch "$AGENT_PID" "$T/rss-files"
rot0=$(metric_value obsbpf_logs_rotations_total)
tr0=$(metric_value obsbpf_logs_truncations_total)
big "$T/app/tr.log" tr
truncate -s 0 "$T/app/tr.log"
plain_seq "$T/app/tr.log" tr 1 500
big "$T/app/rep.log" rep
plain_seq "$T/app/rep.new" rep 1 300
mv "$T/app/rep.new" "$T/app/rep.log"
plain_seq "$T/app/rep.log" rep 301 500
big "$T/app/del.log" del
rm "$T/app/del.log"
plain_seq "$T/app/del.log" del 1 500
big "$T/app/sym.log" sym
plain_seq "$T/elsewhere/target" sym 1 300
ln -sfn "$T/elsewhere/target" "$T/app/sym.tmp" && mv -T "$T/app/sym.tmp" "$T/app/sym.log"
plain_seq "$T/elsewhere/target" sym 301 500
ln -s /dev/zero "$T/app/zero.log"
ln -s "$T/app/loop.log" "$T/app/loop.log"
mkfifo "$T/app/fifo.log"
once "truncated" tr 500
once "replaced" rep 500
once "deleted" del 500
once "turned into a symlink" sym 500
rss_stop
expect_ge "truncation counted" "$(( $(metric_value obsbpf_logs_truncations_total) - tr0 ))" 1
expect_ge "replaced, deleted, symlinked: rotations counted" "$(( $(metric_value obsbpf_logs_rotations_total) - rot0 ))" 3
sleep 2 # past the grace period of the old files
# long, bin, tr, rep (new), del (new), sym (its target), the CRI log: not /dev/zero, the loop, the FIFO
expect_eq "files followed: the old ones closed, no device, loop or FIFO" "$(metric_value obsbpf_logs_files_open)" 7
expect_eq "the agent holds no deleted file" "$(ls -l /proc/"$AGENT_PID"/fd | grep -c '(deleted)')" 0
rss_bounded files
curl -fsS -m 2 -o /dev/null "http://$AGENT_ADDR/healthz" && ok "the agent still answers /healthz" \
	|| fail "/healthz does not answer"
agent_stop || fail "agent exit status"

# 4. a full disk under the spool, with the collector down
recv_kill
mkdir -p "$SPOOLFS"
mount -t tmpfs -o size=1m tmpfs "$SPOOLFS" || { fail "cannot mount a tmpfs"; finish; }
mkdir "$SPOOLFS/spool"
dd if=/dev/zero of="$SPOOLFS/fill" bs=4k 2>/dev/null # until the disk is full
rm -f "$T/app/"*.log
OUT2=$T/out2.jsonl
OUT=$OUT2
logs_start --logs "$T/app/*.log" --cri-logs "" --logs-state "$T/state2" --logs-flush-ms 50 \
	--logs-buffer-mb 1 --logs-chunk-kb 64 --logs-spool "$SPOOLFS/spool" --logs-spool-mb 64 \
	--forward-ack-timeout 1000 --forward-backoff-max-ms 1000 --forward "127.0.0.1:$RECV_PORT" || exit 1
sleep 0.5
BASE_KIB=$(rss_now_kib "$AGENT_PID")
rss_watch "$AGENT_PID" "$T/rss-diskfull"
write_seq "$T/app/d.log" full 1 40000 # 3.5 MB: 1 MiB in memory, the rest finds no room
wait_until 20 '[ "$(metric_value obsbpf_logs_lines_read_total)" -ge 40000 ]' || fail "disk full: lines not read"
sleep 0.5
dropped=$(metric_value obsbpf_logs_dropped_records_total)
expect_ge "disk full: records dropped and counted" "$dropped" 20000
expect_ge "disk full: spool errors counted" "$(metric_value obsbpf_logs_spool_errors_total)" 1
mem=$(metric_value obsbpf_logs_buffered_bytes 'where="memory"')
[ "$mem" -le $(( (1 << 20) + 2 * 65536 + 65536 )) ] && [ "$mem" -ge $((1 << 19)) ] \
	&& ok "disk full: $mem bytes buffered in memory (--logs-buffer-mb 1)" || fail "disk full: $mem bytes in memory"
expect_eq "disk full: nothing in the spool" "$(metric_value obsbpf_logs_buffered_bytes 'where="spool"')" 0
# space returns: the next chunks go to the spool again
rm "$SPOOLFS/fill"
write_seq "$T/app/d.log" room 1 5000 # 440 kB
wait_until 10 '[ "$(metric_value obsbpf_logs_buffered_bytes where=\"spool\")" -ge 300000 ]' \
	&& ok "space back: chunks spooled ($(metric_value obsbpf_logs_buffered_bytes 'where="spool"') bytes)" \
	|| fail "space back: nothing spooled: $(metrics | grep -E 'buffered_bytes|spool_errors')"
rss_stop
rss_bounded diskfull
recv_start "$OUT2" || exit 1
once "space back, collector back" room 5000
read -r missing dups _ _ <<<"$(seq_report "$OUT2" full 40000)"
expect_eq "disk full: lines missing are the records counted as dropped" "$missing" "$dropped"
expect_eq "disk full: lines repeated" "$dups" 0
write_seq "$T/app/d.log" later 1 1000
once "after recovery" later 1000
expect_eq "after recovery: spool emptied" "$(ls "$SPOOLFS/spool" | wc -l)" 0
agent_stop || fail "agent exit status"

# 5. more files than --logs-max-files, each holding a partial line of almost --logs-max-line:
# the rest wait (counted) and are followed, from their start, once followed ones go away.
mkdir "$T/many"
logs_start --logs "$T/many/*.log" --cri-logs "" --logs-state "$T/state3" --logs-flush-ms 50 \
	--logs-max-files 100 --forward "127.0.0.1:$RECV_PORT" || exit 1
sleep 0.5
BASE_KIB=$(rss_now_kib "$AGENT_PID")
rss_watch "$AGENT_PID" "$T/rss-manyfiles"
"$PY" - "$T/many" <<'PYEOF'
import sys
for i in range(1, 151):
    with open("%s/m%03d.log" % (sys.argv[1], i), "w") as f:
        f.write("many %d\n" % i + "p" * 60000)
PYEOF
wait_until 10 '[ "$(metric_value obsbpf_logs_lines_read_total)" -ge 100 ] &&
	[ "$(metric_value obsbpf_logs_files_waiting)" = 50 ]'
expect_eq "many files: followed" "$(metric_value obsbpf_logs_files_open)" 100
expect_eq "many files: waiting, counted" "$(metric_value obsbpf_logs_files_waiting)" 50
expect_eq "many files: logged once" "$(grep -c 'matching files wait: --logs-max-files 100' "$T/agent.log")" 1
rm "$T/many/m0"[0-9][0-9].log # 99 of the followed ones
wait_until 15 '[ "$(metric_value obsbpf_logs_files_waiting)" = 0 ]' && ok "many files: the waiting ones followed" \
	|| fail "many files: still waiting: $(metric_value obsbpf_logs_files_waiting)"
once "many files" many 150
rss_stop
# 100 partial lines of 60 kB, then 99 of them flushed as records when their files close, the
# 50 waiting files' partial lines, and ASan's 16 MiB quarantine of what was freed meanwhile
GROWTH_MIB=48 rss_bounded manyfiles
agent_stop || fail "agent exit status"
log "RSS (case, KiB before, KiB max): $(tr '\n' ';' < "$T/rss-summary")"
finish
