#!/usr/bin/env bash
# What operators rely on: `obsbpf --version`; a port another process holds is a one-line error
# naming it, at once, before any BPF load (attach and daemon); obsbpf_build_info on /metrics;
# /status answers loopback clients only unless --status-remote (an agent on the host network
# must not tell the node's network about its pods), while /metrics and /readyz answer anyone.
source "$(dirname "$0")/lib.sh"

# --version: release, commit, kernel.
v=$("$OBSBPF" --version)
if [[ "$v" =~ ^obsbpf\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]+|unknown)(-dirty)?\;\ kernel\ $(uname -r)\)$ ]]; then
	ok "--version: $v"
else
	fail "--version: '$v'"
fi

pod_create ops
pod_run ops "$PY" -m http.server 8080 --bind 0.0.0.0 >/dev/null
wait_port ops 8080 || exit 1

# A port in use: exit status 1, one line naming the port and why, in well under a second
# (the BPF object, its verification and the attach come after the bind).
BUSY=19320
"$PY" -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", '"$BUSY"')); s.listen(); time.sleep(60)' &
BG_PIDS+=($!)
wait_until 5 "ss -Htln 'sport = :$BUSY' | grep -q ." || fail "the port holder did not listen"
for mode in attach daemon; do
	args=(--pod "$(pod_name ops)")
	[ $mode = daemon ] && args=(--pod-pattern "$(pod_name ops)" --pod-logs "$T/none")
	s=$(date +%s%N) rc=0
	"$OBSBPF" $mode "${args[@]}" --listen "127.0.0.1:$BUSY" --control-socket "$T/busy.sock" \
		--pin-dir "$PIN_DIR" --app-metrics off >"$T/out" 2>"$T/err" || rc=$?
	ms=$(( ($(date +%s%N) - s) / 1000000 ))
	lines=$(grep -c . "$T/err")
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q "cannot bind port $BUSY: Address already in use" "$T/err"; then
		ok "$mode: busy port: one line, exit $rc: $(cat "$T/err")"
	else
		fail "$mode: busy port: rc=$rc, $lines lines: $(cat "$T/err")"
	fi
	# ASan build, 2 shared cores: the load alone takes longer than this.
	[ $ms -lt 1500 ] && ok "$mode: failed within ${ms} ms" || fail "$mode: took ${ms} ms to fail"
	grep -q "loaded\|attached" "$T/err" "$T/out" && fail "$mode: loaded BPF before binding: $(cat "$T/out")"
done

# An agent on every address (as on the host network): /metrics and /readyz to anyone, /status
# to loopback clients only.
PORT=19321
HOSTIP=$SUBNET.1
start_wide() { # ARGS...
	"$OBSBPF" attach --pod "$(pod_name ops)" --listen "0.0.0.0:$PORT" --control-socket "$T/wide.sock" \
		--pin-dir "$PIN_DIR" --app-metrics off "$@" >>"$T/wide.log" 2>&1 &
	WIDE=$!
	BG_PIDS+=($WIDE)
	agent_wait_ready $WIDE "http://127.0.0.1:$PORT/readyz" "$T/wide.log" "obsbpf attach on 0.0.0.0:$PORT"
}
code() { pod_exec ops curl -s -o /dev/null -w '%{http_code}' "http://$HOSTIP:$PORT$1"; }
start_wide || exit 1
expect_eq "/metrics from the pod network" "$(code /metrics)" 200
expect_eq "/readyz from the pod network" "$(code /readyz)" 200
expect_eq "/status from the pod network: refused" "$(code /status)" 403
expect_eq "/status from loopback" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/status")" 200
m=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | grep '^obsbpf_build_info{')
want="version=\"$("$OBSBPF" --version | awk '{print $2}')\""
if [[ "$m" == *"$want"* && "$m" == *"kernel=\"$(uname -r)\""* && "$m" == *'commit="'* && "$m" == *" 1" ]]; then
	ok "obsbpf_build_info: $m"
else
	fail "obsbpf_build_info: '$m'"
fi
expect_eq "obsbpf_ready of a ready agent" \
	"$(curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^obsbpf_ready\{/ { print $NF }')" 1
kill -TERM $WIDE; wait $WIDE
start_wide --status-remote || exit 1
expect_eq "--status-remote: /status from the pod network" "$(code /status)" 200
kill -TERM $WIDE; wait $WIDE
finish
