#!/usr/bin/env bash
# SIGTERM and SIGINT detach everything: no tc filter or qdisc left on the pod's interfaces, no
# program on its cgroup, no obsbpf program loaded; the pod's traffic goes on afterwards.
source "$(dirname "$0")/lib.sh"

pod_create det
pod_run det "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port det 8080 || exit 1
NS=${POD_NS[det]}

for sig in TERM INT; do
	agent_start --pod "$(pod_name det)" || exit 1
	# tc ingress and egress on lo and eth0: tcx links, or classic filters before 6.6.
	if has_tcx; then
		expect_eq "tcx ingress links on lo and eth0 while attached" "$(tcx_links "$(agent_prog_id obsbpf_tc_ingress)")" 2
		expect_eq "tcx egress links on lo and eth0 while attached" "$(tcx_links "$(agent_prog_id obsbpf_tc_egress)")" 2
	else
		expect_eq "tc filters (no tcx here) on lo and eth0, both directions, while attached" \
			"$(pod_tc_filters det | grep -c obsbpf_tc_)" 4
	fi
	[ -n "$(bpftool cgroup show "$(pod_cgroup det)")" ] && ok "sockops on the cgroup while attached" \
		|| fail "no program on the cgroup while attached"
	# A connection open across the detach keeps working.
	exec 3<>/dev/tcp/"$(pod_ip det)"/8080
	printf 'GET /before HTTP/1.1\r\nHost: x\r\n\r\n' >&3
	kill -"$sig" "$AGENT_PID"
	rc=0; wait "$AGENT_PID" || rc=$?; AGENT_PID=
	expect_eq "exit status after SIG$sig" "$rc" 0
	printf 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
	timeout 5 cat <&3 > "$T/resp"; exec 3<&-
	expect_eq "keep-alive connection across detach got both responses" "$(grep -c '^HTTP/1.1 200' "$T/resp")" 2
	for dev in lo eth0; do
		expect_eq "no tc filter left on $dev after SIG$sig" "$(pod_tc_filters det $dev)" ""
		ip netns exec "$NS" tc qdisc show dev $dev | grep -q clsact \
			&& fail "clsact qdisc left on $dev" || ok "clsact qdisc removed from $dev"
	done
	expect_eq "nothing on the pod's cgroup after SIG$sig" "$(bpftool cgroup show "$(pod_cgroup det)")" ""
	left=1 # the kernel frees programs shortly after their last reference goes
	for i in $(seq 30); do bpftool prog show | grep -q obsbpf_ || { left=0; break; }; sleep 0.1; done
	expect_eq "no obsbpf program loaded after SIG$sig" "$left" 0
done
curl -fsS -o /dev/null "http://$(pod_ip det):8080/" && ok "pod serves after detach" || fail "pod traffic after detach"
finish
