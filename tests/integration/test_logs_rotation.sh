#!/usr/bin/env bash
# Rotation: by rename (the writer keeps writing to the renamed file for a while, then a new
# file appears under the name), by copytruncate, and of a CRI log behind its symlink; a new file
# matching the glob is picked up.
# Every line must arrive exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logs_lib.sh"

mkdir -p "$T/app" "$T/containers" "$T/pods/shop_web_uid/app"
# kubelet's layout: /var/log/containers/<pod>_<ns>_<container>-<id>.log -> /var/log/pods/.../0.log
CRI_REAL=$T/pods/shop_web_uid/app/0.log
: > "$CRI_REAL"
ln -s "$CRI_REAL" "$T/containers/web_shop_app-0123.log"
OUT=$T/out.jsonl
recv_start "$OUT"
logs_start --logs "$T/app/*.log" --cri-logs "$T/containers" --pod web --namespace shop \
	--logs-state "$T/state" --logs-flush-ms 50 --forward "127.0.0.1:$RECV_PORT"

# rename: 1..300 before, 301..400 into the renamed file through the writer's open fd,
# 401..700 into the new app.log
exec 3>>"$T/app/app.log"
"$PY" -c '
import os, sys
for i in range(1, 301):
    os.write(3, b"ren %d\n" % i)' 3>&3
wait_lines "$OUT" 300 10 || fail "first 300 lines not delivered"
mv "$T/app/app.log" "$T/app/app.log.1"
"$PY" -c '
import os
for i in range(301, 401):
    os.write(3, b"ren %d\n" % i)' 3>&3
exec 3>&-
write_seq_plain() { "$PY" -c '
import sys
with open(sys.argv[1], "a") as f:
    for i in range(int(sys.argv[3]), int(sys.argv[4]) + 1):
        f.write("%s %d\n" % (sys.argv[2], i))' "$@"; }
write_seq_plain "$T/app/app.log" ren 401 700
wait_lines "$OUT" 700 15
sleep 1.5 # past the rotated file's grace period: it is drained and closed
read -r missing dups _ _ <<<"$(seq_report "$OUT" ren 700)"
expect_eq "rename: lines missing" "$missing" 0
expect_eq "rename: lines repeated" "$dups" 0
expect_ge "rename: rotation seen" "$(metric_value obsbpf_logs_rotations_total)" 1

# copytruncate: 1..500, copy, truncate, then 501..800 from offset 0 of the same inode
write_seq_plain "$T/app/ct.log" ct 1 500
wait_lines "$OUT" 1200 10 || fail "copytruncate: first 500 lines not delivered"
cp "$T/app/ct.log" "$T/app/ct.log.1"
truncate -s 0 "$T/app/ct.log"
sleep 0.3
write_seq_plain "$T/app/ct.log" ct 501 800
wait_lines "$OUT" 1500 10
sleep 0.5
read -r missing dups _ _ <<<"$(seq_report "$OUT" ct 800)"
expect_eq "copytruncate: lines missing" "$missing" 0
expect_eq "copytruncate: lines repeated" "$dups" 0
expect_ge "copytruncate: truncation seen" "$(metric_value obsbpf_logs_truncations_total)" 1

# CRI logs rotated the kubelet's way: 0.log renamed, a new 0.log behind the same symlink
cri_lines() { "$PY" -c '
import sys
with open(sys.argv[1], "a") as f:
    for i in range(int(sys.argv[2]), int(sys.argv[3]) + 1):
        f.write("2024-05-01T10:00:00.%09dZ stdout F cri %d\n" % (i, i))' "$@"; }
cri_lines "$CRI_REAL" 1 200
wait_lines "$OUT" 1700 10 || fail "CRI: first 200 lines not delivered"
mv "$CRI_REAL" "$CRI_REAL.20240501-100000"
cri_lines "$CRI_REAL.20240501-100000" 201 250 # the runtime still had the old file open
cri_lines "$CRI_REAL" 251 400
wait_lines "$OUT" 1900 15
sleep 1.5
read -r missing dups _ _ <<<"$(seq_report "$OUT" cri 400)"
expect_eq "CRI symlink rotation: lines missing" "$missing" 0
expect_eq "CRI symlink rotation: lines repeated" "$dups" 0
expect_eq "no other records" "$(wc -l < "$OUT")" 1900
expect_eq "files followed now (app.log, ct.log, the CRI log)" "$(metric_value obsbpf_logs_files_open)" 3
agent_stop || fail "agent exit status"
finish
