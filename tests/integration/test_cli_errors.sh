#!/usr/bin/env bash
# Bad input is a one-line error naming the problem and a non-zero exit; probe and help work.
source "$(dirname "$0")/lib.sh"

# run_err DESC WANT_SUBSTRING CMD...: CMD fails with exactly one line on stderr containing WANT.
run_err() {
	local desc=$1 want=$2; shift 2
	local rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	local lines; lines=$(grep -c . "$T/err")
	if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$T/err"; then
		ok "$desc: $(cat "$T/err")"
	else
		fail "$desc: rc=$rc, stderr ($lines lines): $(cat "$T/err")"
	fi
}

run_err "unknown pod" "no pod 'no-such-pod'" "$OBSBPF" attach --pod no-such-pod
run_err "missing cgroup" "/sys/fs/cgroup/nope: No such file or directory" \
	"$OBSBPF" attach --pod x --cgroup /sys/fs/cgroup/nope --netns /proc/self/ns/net
run_err "not a cgroup" "not a cgroup v2 directory" "$OBSBPF" attach --pod x --cgroup /tmp --netns /proc/self/ns/net
run_err "not a netns" "not a network namespace" "$OBSBPF" attach --pod x --cgroup "$CG2" --netns /etc/hostname
run_err "no pod named" "--pod NAME" "$OBSBPF" attach
run_err "unknown option" "unknown option '--bogus'" "$OBSBPF" attach --bogus
run_err "bad number" "'many' is not a whole number" "$OBSBPF" attach --pod x --max-routes many
run_err "unknown command" "unknown command 'frobnicate'" "$OBSBPF" frobnicate
run_err "no privileges" "missing privileges" setpriv --reuid=65534 --regid=65534 --clear-groups "$OBSBPF" attach --pod x
run_err "status with no agent" "no agent running at $T/none.sock" "$OBSBPF" status --control-socket "$T/none.sock"
run_err "observe with no agent" "no agent running at $T/none.sock" "$OBSBPF" observe --control-socket "$T/none.sock"
run_err "bad --tc-hook" "--tc-hook sometimes: expected auto, tcx or filter" "$OBSBPF" daemon --tc-hook sometimes
run_err "missing --pod-list" "--pod-list $T/nolist: No such file or directory" "$OBSBPF" daemon --pod-list "$T/nolist"
printf 'web-*\nshop/\n' > "$T/badlist"
run_err "bad --pod-list entry" "--pod-list $T/badlist: line 2" "$OBSBPF" daemon --pod-list "$T/badlist"

pod_create badlisten
run_err "bad listen address" "--listen nowhere: expected ADDR:PORT" \
	"$OBSBPF" attach --pod "$(pod_name badlisten)" --listen nowhere
# The port is taken: the agent says so and detaches what it attached.
"$PY" -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", '"$AGENT_PORT"')); s.listen(); time.sleep(30)' &
BG_PIDS+=($!)
sleep 0.5
run_err "listen port in use" "cannot bind port $AGENT_PORT: Address already in use" "$OBSBPF" attach --pod "$(pod_name badlisten)" --listen "$AGENT_ADDR"
# The kernel frees programs shortly after their last reference goes.
left=1
for i in $(seq 30); do bpftool prog show | grep -q obsbpf_ || { left=0; break; }; sleep 0.1; done
expect_eq "no program left loaded after a failed start" "$left" 0

"$OBSBPF" probe > "$T/probe" && grep -q "obsbpf attach can work" "$T/probe" \
	&& ok "probe says attach can work" || fail "probe: $(cat "$T/probe")"
# no grep -q: it exits at the match and the rest of the help would die of SIGPIPE under pipefail
"$OBSBPF" attach --help | grep -- "--max-routes N" >/dev/null && ok "attach --help lists flags" || fail "attach --help"
"$OBSBPF" --help | grep -q "attach" && ok "--help lists commands" || fail "--help"
finish
