#!/usr/bin/env bash
# kill -9 of the agent under load: a client pod sends a steady mix of GETs and POSTs with bodies
# of up to 256 KiB to a server pod, checking every answer byte for byte, while an agent attached
# to the client pod injects traceparent into each request (sk_msg) and measures (tc). The agent
# is killed four times mid-load (with tcx links, and once with classic tc filters, which outlive
# it); after each kill the load goes on, and the next agent attaches cleanly (removing the
# filters left behind) and measures again. In the end: no failed and no corrupted request, and
# after the fifth agent exits (SIGTERM) nothing of any of them is left on the pod or in the kernel.
# A killed agent's sockhash stays pinned (--pin-dir) with sk_msg on it while its connections live:
# freeing it with them in it would drop what they received and not read yet (user/bpf/sockpin.h);
# a later agent frees it once they closed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

pod_create srv
pod_create cli
pod_run srv "$PY" "$ROOT/tests/integration/apps/httpd.py" --port 8080 >/dev/null
wait_port srv 8080 || exit 1
POD=$(pod_name cli)
CG=$(pod_cgroup cli)
PROGS=() # kernel ids of every agent's programs
HOOK_PROGS=() # those on the pod's hooks (not on the sockhash): gone as soon as their agent is

progress() { cat "$T/progress" 2>/dev/null || echo 0; }
# load_moves SECONDS: the load answered more requests within SECONDS.
load_moves() {
	local before; before=$(progress)
	wait_until "$1" "[ \$(progress) -gt $before ]"
}
injected() { metric_value obsbpf_trace_context_total 'outcome="injected"'; }
prog_alive() { bpftool prog show id "$1" >/dev/null 2>&1; }
# gone_all [IDS...]: none of the programs (default: all recorded) is loaded any more (the kernel
# frees them shortly after their last reference goes).
gone_all() {
	local id; [ $# -gt 0 ] || set -- "${PROGS[@]}"
	for id in "$@"; do prog_alive "$id" && return 1; done; return 0
}
still_loaded() { local id; for id in "$@"; do prog_alive "$id" && echo "$id"; done; }
pins() { ls "$PIN_DIR" 2>/dev/null; }

pod_run cli "$PY" "$ROOT/tests/integration/apps/checked_load.py" --host "$(pod_ip srv)" \
	--threads 4 --max-body 262144 --stop "$T/stop" --out "$T/load.json" --progress "$T/progress" >/dev/null
wait_until 20 '[ $(progress) -ge 20 ]' || { fail "load did not start"; finish; }

# attach_round N ARGS...: an agent for the client pod, attached cleanly and injecting.
attach_round() {
	local n=$1; shift
	: > "$T/agent.log"
	log "round $n: agent start at $(date +%H:%M:%S.%3N)"
	agent_start --pod "$POD" --app-metrics off "$@" || { fail "round $n: agent did not start"; return 1; }
	log "round $n: attached at $(date +%H:%M:%S.%3N)"
	# (The start-up warning about the kernel's tcp_bpf EAGAIN bug is not a complaint.)
	if grep -v 'tcp_bpf_recvmsg bug' "$T/agent.log" | grep -qiE 'already|error|fail'; then
		fail "round $n: attach complained: $(cat "$T/agent.log")"
	else
		ok "round $n: attached without complaint"
	fi
	wait_until 10 '[ "$(injected)" -ge 20 ]' && ok "round $n: headers injected ($(injected))" \
		|| fail "round $n: no injection: $(metrics | grep trace_context)"
	wait_until 10 '[ "$(metric_value http_client_request_duration_seconds_count)" -ge 20 ]' \
		&& ok "round $n: requests measured" || fail "round $n: nothing measured"
	local id name
	while read -r id name; do
		PROGS+=("$id")
		case $name in obsbpf_msg | obsbpf_skb_pass) ;; *) HOOK_PROGS+=("$id") ;; esac
	done < <(agent_status --json | "$PY" -c 'import json,sys
for p in json.load(sys.stdin)["programs"]: print(p["id"], p["name"])')
	KILLED_PIN=$(pins | grep "^socks_${AGENT_PID}_")
	[ -n "$KILLED_PIN" ] && ok "round $n: its sockhash is pinned ($KILLED_PIN)" || fail "round $n: no pin of its sockhash: $(pins)"
}

# Without tcx (before 6.6; FORCE_FILTER=1 to try it here) every agent gets classic filters: each
# killed one leaves its 4 behind, which the next one reclaims.
TCX=1
{ has_tcx && [ -z "${FORCE_FILTER:-}" ]; } || TCX=0
for round in 1 2 3 4; do
	filters=0; hook=()
	{ [ "$round" = 3 ] || [ "$TCX" = 0 ]; } && filters=1 hook=(--tc-hook filter)
	attach_round "$round" "${hook[@]}" || break
	if [ "$round" = 4 ] || { [ "$TCX" = 0 ] && [ "$round" -gt 1 ]; }; then
		grep -q 'removed a stale obsbpf tc' "$T/agent.log" \
			&& ok "round $round: removed the filters left by the killed agent" \
			|| fail "round $round: no stale filter removed: $(cat "$T/agent.log")"
		expect_eq "round $round: no obsbpf filter besides its own" "$(pod_tc_filters cli | grep -c obsbpf_tc_)" $((filters * 4))
	fi
	before=$(progress)
	sleep 1.5 # under load, injecting: connections open and close, bodies in flight
	[ "$(progress)" -gt "$before" ] || fail "round $round: load stalled while attached"
	log "round $round: kill -9 at $(date +%H:%M:%S.%3N)"
	kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
	load_moves 5 && ok "round $round: the load goes on after kill -9" || fail "round $round: load stalled after kill -9"
	pins | grep -qx "$KILLED_PIN" && ok "round $round: the killed agent's sockhash stays pinned" \
		|| fail "round $round: its sockhash is no longer pinned: $(pins)"
	if [ "$filters" = 1 ]; then
		expect_eq "round $round: the killed agent's tc filters stay (classic filters outlive it)" \
			"$(pod_tc_filters cli | grep -c obsbpf_tc_)" 4
	else
		wait_until 5 '[ -z "$(pod_tc_filters cli)" ] && [ -z "$(bpftool cgroup show "$CG")" ]' \
			&& ok "round $round: no tc filter and no cgroup program left by the killed agent" \
			|| fail "round $round: left behind: $(pod_tc_filters cli) $(bpftool cgroup show "$CG")"
		wait_until 5 'gone_all "${HOOK_PROGS[@]}"' && ok "round $round: the killed agents' hook programs are unloaded" \
			|| fail "round $round: hook programs still loaded: $(still_loaded "${HOOK_PROGS[@]}")"
	fi
done

# A fifth agent works and exits cleanly; then nothing of any of them is left.
attach_round 5
touch "$T/stop"
wait_until 30 '[ -s "$T/load.json" ]' || fail "load did not finish"
wait_until 10 '[ -z "$(ip netns exec "${POD_NS[cli]}" ss -Htn state established "( dport = :8080 )")" ]' \
	|| fail "the load's connections did not close"
agent_stop || fail "agent exit status"
read -r okn failed corrupted <<<"$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ok"], d["failed"], d["corrupted"])' "$T/load.json")"
expect_ge "requests answered correctly" "$okn" 200
expect_eq "failed requests" "$failed" 0
expect_eq "corrupted requests" "$corrupted" 0
[ "$failed$corrupted" = 00 ] || log "load errors: $(cat "$T/load.json")"
expect_eq "no tc filter left" "$(pod_tc_filters cli)" ""
expect_eq "nothing on the pod's cgroup" "$(bpftool cgroup show "$CG")" ""
expect_eq "no sockhash left pinned once the connections closed" "$(pins)" ""
wait_until 5 gone_all && ok "none of the ${#PROGS[@]} programs of the five agents is loaded" \
	|| fail "still loaded: $(still_loaded "${PROGS[@]}")"
links=0
for id in "${PROGS[@]}"; do links=$((links + $(bpftool link show | grep -c "prog $id\b"))); done
expect_eq "no BPF link of theirs left" "$links" 0
ip netns exec "${POD_NS[cli]}" tc qdisc show | grep -q clsact && log "note: a clsact qdisc is left on the client pod" 
finish
