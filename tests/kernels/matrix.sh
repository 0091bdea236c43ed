#!/usr/bin/env bash
# The kernel × test matrix: on each kernel (this host's own, and Debian's 6.1 and 6.12 booted
# under qemu by run.sh), `build/obsbpf probe` and the integration tests, each test alone under
# its own timeout (suite.sh); then a table of pass, FAIL, TIME (its timeout ran out) or skip
# (never reached: the guest died or ran out of KERNEL_TIMEOUT).
#
# Usage: tests/kernels/matrix.sh   (`make test-kernels` builds what it needs first)
# Env:
#   KERNELS       "host 6.1 6.12": host is this machine's kernel without qemu; the others are
#                 run.sh KERNEL arguments (6.1 and 6.12: the newest Debian offers, via fetch.sh)
#   TESTS         test names (tests/integration without .sh); default: every test under KVM,
#                 TCG_TESTS under TCG, where the guest is several times slower
#   TEST_TIMEOUT, TEST_TIMEOUTS   per-test limits (suite.sh); defaults per accelerator below
#   KERNEL_TIMEOUT  wall-clock limit of one guest (default: the sum of its tests' limits, at
#                 most 27 min under TCG)
#   MATRIX_LOGS   where each kernel's whole output goes (default: a new /tmp/obsbpf-matrix.*)
#   MATRIX_NAME   the summary line's name (smoke.sh sets kernel-smoke)
set -euo pipefail

# In a function: bash reads a script while running it, and an edit during a long run would
# otherwise run half-old, half-new lines.
main() {
	# Ctrl-C ends the run, not just the test or kernel in the foreground.
	trap 'exit 130' INT TERM
	HERE=$(cd "$(dirname "$0")" && pwd)
	ROOT=$(cd "$HERE/../.." && pwd)
	source "$HERE/lib.sh"
	NAME=${MATRIX_NAME:-kernel-matrix}
	accel=$(kernel_accel)
	export KERNEL_ACCEL=$accel # run.sh: the same choice, probed once

	# Under TCG (2 vCPUs on 2 host cores) the guest is 5-10x slower: the whole suite took 22 min
	# on 6.12, two kernels 45 min, and a failing test can cost its timeout. The subset keeps what
	# differs from kernel to kernel (every hook and its fallback: tcx or tc filters, links or
	# detach; injection, load errors, the daemon's attach/detach, the pod's mount namespace, the
	# sockmap FIONREAD and EAGAIN hazards; capabilities, the kernel side's limits, kill -9 with
	# the pinned sockhash) and leaves out what is user space over the same hooks (log forwarding,
	# exporters, app metrics, the deploy lint): ~16 min per kernel (measured), ~35 for the
	# matrix; with HTTP/2 framing, the OpenSSL uprobes and the adopt iterator (test_h2_metrics
	# 144-161 s, test_tls_h2 112-155 s, test_adopt 50-89 s here) ~22 and ~45; with the service graph and no-response tests (below) ~26 and ~52. test_grpc_*,
	# test_tls_http1 and test_tls_passthrough use the same hooks: run by hand (TESTS=...). One exception: test_trace_export (user space only, 190-200 s here): its collector
	# outage cases depend on timing that only a slow machine puts to the test (they failed only
	# under TCG).
	# test_error_type: the sockops state callback at TCP_CLOSE and the kernel's close paths it
	# classifies (~10 s on the host), and test_tls_error_type the TLS close event the same
	# callback sends (57-60 s under TCG). test_service_graph: graph_hist on tc egress and both views
	# of three pods (100-105 s under TCG on 6.1 and 6.12). A new test runs here only once listed.
	TCG_TESTS="test_cli_errors test_server_metrics test_client_metrics test_detach test_tc_fallback
		test_passthrough test_trace_propagation test_trace_stress test_trace_e2e test_daemon
		test_logs_attach test_proxy_fionread test_passthrough_http1 test_http1_edges
		test_least_privilege test_hostile_kernel test_fault_kill test_trace_export test_hazard_eagain
		test_h2_metrics test_tls_h2 test_adopt test_service_graph test_error_type
		test_tls_error_type"
	# TCG limits: 2.5-3x the time each took under TCG on 6.12 (120 s at least); the others get
	# TEST_TIMEOUT.
	TCG_TIMEOUTS="test_cli_errors=120 test_server_metrics=420 test_client_metrics=120
		test_detach=120 test_tc_fallback=180 test_passthrough=120 test_trace_propagation=420
		test_trace_stress=120 test_trace_e2e=240 test_daemon=240 test_logs_attach=120
		test_proxy_fionread=120 test_passthrough_http1=150 test_http1_edges=300
		test_appmetrics=240 test_deploy_lint=300 test_exemplars=150 test_logs_forward=300
		test_logs_outage=180 test_logs_rotation=120 test_trace_agent=300 test_trace_export=480
		test_least_privilege=480 test_hostile_kernel=420 test_fault_kill=720 test_hazard_eagain=180
		test_h2_metrics=480 test_grpc_metrics=480 test_grpc_trace=480 test_tls_http1=420 test_tls_h2=480
		test_tls_passthrough=240 test_adopt=240 test_service_graph=480 test_error_type=240
		test_tls_error_type=240"
	if [ "$accel" = tcg ]; then
		tests=${TESTS:-$TCG_TESTS}
		export TEST_TIMEOUT=${TEST_TIMEOUT:-240} TEST_TIMEOUTS=${TEST_TIMEOUTS:-$TCG_TIMEOUTS}
		# Under emulation a test that fails is run once more (and reported as retried): timing
		# races under TCG are not kernel differences; a real failure fails twice.
		export TEST_RETRY=${TEST_RETRY:-1}
		# Two guests within the hour however the tests fail: the rest of a guest's tests show
		# as skip once it has used this much.
		cap=${KERNEL_TIMEOUT:-1800}
	else
		tests=${TESTS:-$(for f in "$ROOT"/tests/integration/test_*.sh; do basename "$f" .sh; done)}
		# 320: tests/integration/run.sh stops a test at 300 s (suite.sh gives it 20 s less than its
		# own limit), as it does outside the matrix.
		export TEST_TIMEOUT=${TEST_TIMEOUT:-320} TEST_TIMEOUTS=${TEST_TIMEOUTS:-}
		cap=${KERNEL_TIMEOUT:-}
	fi
	read -r -d '' -a tests <<<"$tests" || true # the lists above span lines
	read -r -a kernels <<<"${KERNELS:-host 6.1 6.12}"

	for b in build/obsbpf build/asan/obsbpf; do
		[ -x "$ROOT/$b" ] || { echo "$NAME: no $b: make test-kernels (or make kernel-smoke) builds it" >&2; exit 1; }
	done
	logs=${MATRIX_LOGS:-$(mktemp -d /tmp/obsbpf-matrix.XXXXXX)}
	mkdir -p "$logs"

	# The guest's limit: every test's own, plus boot and probe; a hang costs one test, not the run.
	budget=120
	declare -A lim
	for kv in $TEST_TIMEOUTS; do lim[${kv%%=*}]=${kv#*=}; done
	for t in "${tests[@]}"; do budget=$((budget + ${lim[$t]:-$TEST_TIMEOUT} * (1 + ${TEST_RETRY:-0}) + 15)); done
	[ -z "$cap" ] || [ "$budget" -le "$cap" ] || budget=$cap

	echo "$NAME: kernels: ${kernels[*]}; $accel; tests: ${tests[*]}; logs in $logs"
	cols=() # the kernel versions, the table's columns
	declare -A res note
	for k in "${kernels[@]}"; do
		if [ "$k" = host ]; then
			ver=$(uname -r)
			cmd=("$HERE/suite.sh" "${tests[@]}")
		else
			case $k in 6.1 | 6.12) ver=$("$HERE/fetch.sh" "$k") ;; *) ver=$k ;; esac
			cmd=(env KERNEL_TIMEOUT="$budget"
				KERNEL_ENV="TEST_TIMEOUT TEST_TIMEOUTS TEST_RETRY OBSBPF ASAN_OPTIONS UBSAN_OPTIONS"
				"$HERE/run.sh" "$ver" -- tests/kernels/suite.sh "${tests[@]}")
		fi
		cols+=("$ver")
		log=$logs/$ver.log
		echo "== $ver (log: $log)"
		set +e
		(cd "$ROOT" && "${cmd[@]}") 2>&1 | tee "$log" | while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			"result: "*) echo "   ${line#result: }" ;;
			"kernel: "* | "run.sh: "*) echo "   $line" ;;
			esac
		done
		rc=${PIPESTATUS[0]}
		set -e
		while read -r _ t st secs; do res[$ver/$t]="$st ${secs}s"; done < <(tr -d '\r' < "$log" | grep '^result: ')
		case $rc in
		124) note[$ver]="the guest ran out of KERNEL_TIMEOUT" ;;
		125) note[$ver]="the guest never reported (boot failure or panic: see the log)" ;;
		esac
	done

	# The table: a row per test, a column per kernel.
	w=22
	for c in "${cols[@]}"; do [ ${#c} -lt $w ] || w=$((${#c} + 2)); done
	printf '\n%-24s' "kernel x test ($accel)"
	for c in "${cols[@]}"; do printf "%-${w}s" "$c"; done
	printf '\n'
	pass=0 failed=0 skipped=0 bad=()
	# probe-clang-N rows: the other clangs' objects, where make verifier-budget built them.
	probes=()
	for k in "${!res[@]}"; do
		case ${k#*/} in probe-*) [[ " ${probes[*]} " == *" ${k#*/} "* ]] || probes+=("${k#*/}") ;; esac
	done
	for t in probe "${probes[@]}" "${tests[@]}"; do
		printf '%-24s' "$t"
		for c in "${cols[@]}"; do
			r=${res[$c/$t]:-skip}
			printf "%-${w}s" "$r"
			case $r in
			pass*) pass=$((pass + 1)) ;;
			skip) skipped=$((skipped + 1)); bad+=("$c:$t(skip)") ;;
			*) failed=$((failed + 1)); bad+=("$c:$t") ;;
			esac
		done
		printf '\n'
	done
	for c in "${cols[@]}"; do [ -z "${note[$c]:-}" ] || echo "$c: ${note[$c]}"; done
	[ ${#bad[@]} -eq 0 ] || echo "not passed: ${bad[*]}"
	echo "$NAME: $pass passed, $failed failed, $skipped skipped (logs in $logs)"
	[ $((failed + skipped)) -eq 0 ]
}
main "$@"
