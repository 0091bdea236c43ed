#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh against the ASan/UBSan build of the agent (or $OBSBPF)
# and ends with the summary line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
export OBSBPF=${OBSBPF:-$PWD/build/asan/obsbpf}
# libbpf and libmicrohttpd keep a few allocations for the process lifetime; leaks are checked in
# the unit tests, where every allocation is ours.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ "$(id -u)" -eq 0 ] || { echo "integration tests need root (BPF, netns, cgroups)"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# Each test's time limit: INTEGRATION_TIMEOUT seconds (300). tests/kernels/suite.sh sets it
# from its own per-test limits, which are longer under qemu without KVM.
limit=${INTEGRATION_TIMEOUT:-300}

# Each test's output is kept until the end, where the checks of the failed ones are repeated:
# a CI log cut in the middle still ends with what failed. (A file, not a pipe through tee: a
# process a test left behind would hold a pipe open.)
logs=$(mktemp -d /tmp/obsbpf-integration.XXXXXX)
trap 'rm -rf "$logs"' EXIT

passed=0 failed=0 stopped=0 names=()
for t in tests/integration/test_*.sh; do
	[ -n "${ONLY:-}" ] && [[ "$t" != *"$ONLY"* ]] && continue
	name=$(basename "$t" .sh)
	echo "== $name"
	timeout --kill-after=10 "$limit" bash "$t" > "$logs/$name.log" 2>&1
	rc=$?
	cat "$logs/$name.log"
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); names+=("$(basename "$t" .sh)")
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "   -> FAILED (still running after ${limit}s: stopped)"
			stopped=$((stopped + 1))
		else
			echo "   -> FAILED"
		fi
	fi
done
for n in "${names[@]}"; do
	echo "-- $n, its failed checks:"
	checks=$(grep -E '^  FAIL|ERROR: AddressSanitizer|runtime error' "$logs/$n.log" | head -20)
	echo "${checks:-  (none printed: its output is above)}"
done
[ "$failed" -gt 0 ] && echo "failed: ${names[*]}"
echo "integration: $passed passed, $failed failed"
# 124, timeout(1)'s status, when every failed test was stopped at the limit (suite.sh: TIME).
[ "$failed" -eq 0 ] || { [ "$failed" -eq "$stopped" ] && exit 124; exit 1; }
