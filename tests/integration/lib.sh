# Shared fixture for integration tests: test pods built the way a node builds them, the agent,
# and assertions. Source it from a test script; everything it creates is removed on exit.
#
# A test pod: a network namespace whose eth0 is a veth on a test bridge (10.203.<run>.0/24, the
# host side is .1), a cgroup v2 directory under a kubepods-like path, and a "pause" process in
# its own UTS namespace whose hostname is the pod's name; pod_run starts processes next to it.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OBSBPF=${OBSBPF:-$ROOT/build/obsbpf}
PY=/usr/bin/python3 # Debian's, installed by deploy/install-deps.sh
T=$(mktemp -d /tmp/obsbpf-test.XXXXXX)
# The agents' pinned sockhashes (--pin-dir): this test's own directory, removed at cleanup.
PIN_DIR=/sys/fs/bpf/obsbpf-test-${T##*.}
# A run id unique on this machine: creating the run's bridge is the lock (tests may run
# concurrently, e.g. from two checkouts).
for _try in $(seq 200); do
	RUN=$(( (RANDOM % 230) + 20 ))
	ip link add "obtbr$RUN" type bridge 2>/dev/null && break
	RUN=
done
[ -n "$RUN" ] || { echo "lib.sh: no free test bridge name" >&2; exit 1; }
BR=obtbr$RUN
SUBNET=10.203.$RUN
# Pods are named NAME-<run> (their UTS hostname, what `attach --pod` looks for), so that test
# runs on one machine never find each other's pods. The demo sets POD_SUFFIX= for plain names.
POD_SUFFIX=${POD_SUFFIX--$RUN}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
AGENT_PORT=${AGENT_PORT:-$(( 19000 + RUN ))}
AGENT_ADDR=127.0.0.1:$AGENT_PORT
CTL=$T/agent.sock # the agent's control socket (obsbpf status / observe); never the shared default
declare -A POD_NS POD_CG POD_PAUSE POD_IP POD_HOST
PODS=()
BG_PIDS=()
AGENT_PID=
FAILS=0
CHECKS=0

log() { echo "  $*" >&2; }

ok() { CHECKS=$((CHECKS + 1)); echo "  ok: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "  FAIL: $*"; }
expect_eq() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi
}
expect_ge() { # DESC GOT MIN
	if [ "$2" -ge "$3" ] 2>/dev/null; then ok "$1 ($2 >= $3)"; else fail "$1: got '$2', want >= '$3'"; fi
}
# Ends the test: exit status says whether every check passed.
finish() {
	if [ "$CHECKS" -eq 0 ]; then echo "  FAIL: no checks ran"; exit 1; fi
	[ "$FAILS" -eq 0 ]
	exit $?
}

BRIDGE_UP=
bridge_up() {
	[ -n "$BRIDGE_UP" ] && return 0
	ip addr add "$SUBNET.1/24" dev "$BR" && ip link set "$BR" up && BRIDGE_UP=1
}

# pod_create NAME: the pod's netns, veth, cgroup and pause process. The cgroup is kubelet's
# cgroupfs layout; POD_CGROUP=PATH pod_create NAME puts it elsewhere (e.g. the systemd layout).
# The pod's name (its UTS hostname) is NAME-<run>, or POD_HOSTNAME (two pods of one name in two
# namespaces: two NAMEs, one POD_HOSTNAME).
pod_create() {
	local name=$1 idx=$(( ${#PODS[@]} + 1 )) host=${POD_HOSTNAME:-$1$POD_SUFFIX}
	local ns=obt$RUN-$name cg=${POD_CGROUP:-$CG2/kubepods/besteffort/pod$RUN-$name} host_if=obh$RUN-$idx
	bridge_up || return 1
	ip netns add "$ns" || return 1
	PODS+=("$name")
	POD_NS[$name]=$ns
	POD_CG[$name]=$cg
	ip link add "$host_if" type veth peer name eth0 netns "$ns" || return 1
	ip link set "$host_if" master "$BR" up
	ip -n "$ns" addr add "$SUBNET.$((10 + idx))/24" dev eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$SUBNET.1"
	mkdir -p "$cg" || return 1
	POD_IP[$name]=$SUBNET.$((10 + idx))
	POD_HOST[$name]=$host
	# The cgroup is joined before entering the netns: `ip netns exec` remounts /sys. POD_USER:
	# the pause process runs as that uid (Kubernetes' pause runs as 65535), not root.
	local as=${POD_USER:+setpriv --reuid=$POD_USER --regid=$POD_USER --clear-groups}
	( echo $BASHPID > "$cg/cgroup.procs"
	  exec ip netns exec "$ns" unshare --uts sh -c "hostname $host && exec $as sleep 1000000" ) &
	POD_PAUSE[$name]=$!
	local i
	for i in $(seq 300); do
		[ "$(nsenter -t "${POD_PAUSE[$name]}" -u hostname 2>/dev/null)" = "$host" ] && return 0
		sleep 0.1
	done
	echo "pod_create $name: pause process did not start" >&2
	return 1
}

# A node's /var/log/pods for `obsbpf daemon --pod-logs "$POD_LOGS"`: the kubelet names each pod's
# directory <namespace>_<pod>_<uid>, which is how the daemon learns a pod's namespace.
POD_LOGS=$T/var-log-pods
# pod_uid NAME: the uid in the pod's cgroup name (pod<uid>, or ...-pod<uid>.slice with '_' for '-').
pod_uid() {
	local b; b=$(basename "${POD_CG[$1]}")
	case $b in
	*.slice) b=${b##*-pod}; b=${b%.slice}; echo "${b//_/-}" ;;
	*) echo "${b#pod}" ;;
	esac
}
# pod_logdir NAME NS: makes (and prints) the pod's log directory, as the kubelet would for a pod
# of namespace NS.
pod_logdir() {
	local d="$POD_LOGS/$2_$(pod_name "$1")_$(pod_uid "$1")"
	mkdir -p "$d" && echo "$d"
}

pod_ip() { echo "${POD_IP[$1]}"; }
pod_name() { echo "${POD_HOST[$1]}"; } # the pod's name as Kubernetes (and --pod) knows it
pod_cgroup() { echo "${POD_CG[$1]}"; }
pod_netns() { echo "/run/netns/${POD_NS[$1]}"; }
# pod_tc_filters NAME [DEV...]: the classic tc filters (ingress, then egress) on the pod's
# interfaces, lo and eth0 unless named: the tc hooks where there is no tcx, or what a killed agent
# left behind.
pod_tc_filters() {
	local ns=${POD_NS[$1]} dev; shift
	[ $# -gt 0 ] || set -- lo eth0
	for dev in "$@"; do
		ip netns exec "$ns" tc filter show dev "$dev" ingress
		ip netns exec "$ns" tc filter show dev "$dev" egress
	done
}

# pod_run NAME CMD...: a background process inside the pod (cgroup, netns, UTS). Prints its pid.
pod_run() {
	local name=$1; shift
	( echo $BASHPID > "${POD_CG[$name]}/cgroup.procs"
	  exec nsenter -t "${POD_PAUSE[$name]}" -u -n -- "$@" ) &
	BG_PIDS+=($!)
	echo $!
}

# pod_exec NAME CMD...: the same, in the foreground.
pod_exec() {
	local name=$1; shift
	( echo $BASHPID > "${POD_CG[$name]}/cgroup.procs"
	  exec nsenter -t "${POD_PAUSE[$name]}" -u -n -- "$@" )
}

# Readiness waits return as soon as the thing is ready; their limits are generous because under
# qemu without KVM (tests/kernels) everything starts several times slower.
# wait_port NAME PORT: until something listens on PORT inside the pod (30 s at most).
wait_port() {
	local i
	for i in $(seq 300); do
		ip netns exec "${POD_NS[$1]}" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on port $2 in pod $1" >&2
	return 1
}

# agent_launch COMMAND PATH ARGS...: `obsbpf COMMAND ARGS --listen $AGENT_ADDR` in the
# background (log appended to $T/agent.log), until PATH answers 200 (60 s at most).
agent_launch() {
	local cmd=$1 path=$2 ctl=(); shift 2
	[ "$cmd" = attach ] || [ "$cmd" = daemon ] && ctl=(--control-socket "$CTL" --pin-dir "$PIN_DIR")
	"$OBSBPF" "$cmd" --listen "$AGENT_ADDR" "${ctl[@]}" "$@" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	agent_wait_ready "$AGENT_PID" "http://$AGENT_ADDR$path" "$T/agent.log" "obsbpf $cmd" && return 0
	kill -0 "$AGENT_PID" 2>/dev/null || AGENT_PID=
	return 1
}

# agent_wait_ready PID URL LOG WHAT: until URL answers 200 (60 s at most); fails, printing LOG,
# when PID exits first or the time is up.
agent_wait_ready() {
	local pid=$1 url=$2 log=$3 what=$4 i
	for i in $(seq 600); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$what exited at start:" >&2; cat "$log" >&2
			return 1
		fi
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$what not ready after 60 s:" >&2; cat "$log" >&2
	return 1
}

# agent_start ARGS...: `obsbpf attach ARGS`, until /readyz answers 200.
agent_start() { agent_launch attach /readyz "$@"; }

# agent_also PORT ARGS...: one more `obsbpf attach ARGS` on 127.0.0.1:PORT (log in
# $T/agent-PORT.log), for tests that attach to several pods, until its /readyz answers.
# Stopped at cleanup; agent_also_stop PORT stops it before.
declare -A EXTRA_AGENTS
agent_also() {
	local port=$1; shift
	"$OBSBPF" attach --listen "127.0.0.1:$port" --control-socket "$T/agent-$port.sock" --pin-dir "$PIN_DIR" "$@" \
		>>"$T/agent-$port.log" 2>&1 &
	EXTRA_AGENTS[$port]=$!
	agent_wait_ready "${EXTRA_AGENTS[$port]}" "http://127.0.0.1:$port/readyz" "$T/agent-$port.log" \
		"obsbpf attach $* on :$port"
}
# agent2_start POD ARGS...: a second `obsbpf attach --pod POD ARGS` on its own address on this
# run's bridge, the same port ($AGENT2; pid $AGENT2_PID; log in $T/agent2.log), until its
# /readyz answers (30 s at most); stopped at cleanup. Fails, printing its log, otherwise.
agent2_start() {
	local pod=$1
	shift
	AGENT2=$SUBNET.1:$AGENT_PORT
	"$OBSBPF" attach --pod "$(pod_name "$pod")" --listen "$AGENT2" --control-socket "$T/agent2.sock" \
		--pin-dir "$PIN_DIR" "$@" >>"$T/agent2.log" 2>&1 &
	AGENT2_PID=$!
	BG_PIDS+=("$AGENT2_PID")
	wait_for 30 curl -fsS -o /dev/null "http://$AGENT2/readyz" && return 0
	fail "second agent (pod $pod) not ready"
	cat "$T/agent2.log"
	return 1
}
# agent2_stop: SIGTERM to the second agent; returns its exit status.
agent2_stop() {
	kill -TERM "$AGENT2_PID"
	wait "$AGENT2_PID"
}
agent_also_stop() {
	local pid=${EXTRA_AGENTS[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" || rc=$?
	unset "EXTRA_AGENTS[$1]"
	return $rc
}

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s).
wait_for() {
	local n=$(( $1 * 5 )) i; shift
	for i in $(seq "$n"); do "$@" 2>/dev/null && return 0; sleep 0.2; done
	return 1
}

# port_file_wait WHAT PID FILE LOG SECONDS: until a server started as PID writes its port(s) to
# FILE; prints LOG and fails when PID exits first or the time is up.
port_file_wait() {
	local i
	for i in $(seq $(( $5 * 10 ))); do
		[ -s "$3" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$3" ] && return 0
	echo "$1 did not start:" >&2; cat "$4" >&2
	return 1
}

# wait_until SECONDS 'SHELL CONDITION': like wait_for, but the condition is evaluated again each
# time, command substitutions included (`wait_for 5 test "$(f)" -ge 1` would run f only once).
wait_until() {
	local n=$(( $1 * 5 )) i; shift
	for i in $(seq "$n"); do eval "$1" 2>/dev/null && return 0; sleep 0.2; done
	return 1
}

# agent_stop: SIGTERM and wait; returns the agent's exit status.
agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	local rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	return $rc
}

metrics() { curl -fsS "http://$AGENT_ADDR/metrics"; }

# json CODE: runs python CODE with the JSON document on stdin parsed into d.
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); $1" 2>/dev/null; }

# prom_start [ARGS...]: Debian's Prometheus on $PROM_ADDR scraping the agent every second (extra
# ARGS for prometheus, e.g. --enable-feature); stopped at cleanup.
PROM_ADDR=127.0.0.1:$((AGENT_PORT + 2000))
prom_start() {
	cat > "$T/prometheus.yml" <<P
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: obsbpf
    static_configs: [ { targets: ["$AGENT_ADDR"] } ]
P
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address="$PROM_ADDR" "$@" > "$T/prom.log" 2>&1 &
	BG_PIDS+=($!)
}

# agent_status [--json]: `obsbpf status` of the running agent.
agent_status() { "$OBSBPF" status --control-socket "$CTL" "$@"; }
# agent_prog_id NAME_PREFIX: kernel id of the running agent's program.
agent_prog_id() {
	agent_status --json | "$PY" -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["programs"] if p["name"].startswith(sys.argv[1])][0])' "$1"
}
# has_tcx: whether this kernel has tcx links (6.6+); without them tc hooks are classic filters,
# which a killed agent leaves behind until the next one for the pod removes them.
has_tcx() {
	[ -n "${HAS_TCX:-}" ] || HAS_TCX=$("$OBSBPF" probe 2>/dev/null | grep -q '^yes  tcx' && echo 1 || echo 0)
	[ "$HAS_TCX" = 1 ]
}
# tcx_links PROG_ID: tcx links of that program (bpftool 7.1 lists tcx links as "type 11", without
# their interface).
tcx_links() { bpftool link show | grep -c "^[0-9]*: type 11  prog $1\b"; }

# to_us: wrk's latency figure on stdin ("812.34us", "1.20ms", "2.01s") in microseconds.
to_us() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v*1000 } else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000000 } }'; }
# wrk_result FILE: "rps p50_us p99_us" of one wrk output.
wrk_result() {
	echo "$(awk '/^Requests\/sec/ { print $2 }' "$1") $(awk '$1 == "50%" { print $2 }' "$1" | to_us) $(awk '$1 == "99%" { print $2 }' "$1" | to_us)"
}

# metric_value NAME LABEL_SUBSTRING...: sum of the samples of NAME whose labels contain every
# substring (0 when none).
metric_value() {
	local name=$1; shift
	metrics | awk -v n="$name" -v pats="$*" '
		BEGIN { np = split(pats, p, " ") }
		$1 ~ "^" n "[{ ]" || $1 == n {
			ok = 1; for (i = 1; i <= np; i++) if (index($0, p[i]) == 0) ok = 0
			if (ok) s += $NF
		}
		END { printf "%d\n", s }'
}

cleanup() {
	local rc=$?
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	local p name
	for p in "${!EXTRA_AGENTS[@]}"; do agent_also_stop "$p"; done
	for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for name in "${PODS[@]}"; do
		local cg=${POD_CG[$name]}
		[ -f "$cg/cgroup.kill" ] && echo 1 > "$cg/cgroup.kill" 2>/dev/null
		kill -KILL "${POD_PAUSE[$name]}" 2>/dev/null
	done
	wait 2>/dev/null
	for name in "${PODS[@]}"; do
		ip netns del "${POD_NS[$name]}" 2>/dev/null
		# Depth first: a test may have made container cgroups below the pod's. Processes killed
		# through cgroup.kill may still be exiting (rmdir: EBUSY): retry for up to 2 s.
		local i
		for i in $(seq 20); do
			[ -d "${POD_CG[$name]}" ] || break
			find "${POD_CG[$name]}" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "${POD_CG[$name]}" ] && sleep 0.1
		done
	done
	rmdir "$CG2/kubepods/besteffort" "$CG2/kubepods" 2>/dev/null
	rmdir "$CG2/kubepods.slice/kubepods-besteffort.slice" "$CG2/kubepods.slice" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	rm -rf "$PIN_DIR" # what killed agents left pinned: the pods' sockets are gone by now
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# nginx_conf PORT: writes an nginx config for a test pod and prints its path.
nginx_conf() {
	sed "s|@T@|$T|g; s|@PORT@|$1|g" "$ROOT/tests/integration/apps/nginx.conf" > "$T/nginx-$1.conf"
	echo "$T/nginx-$1.conf"
}
