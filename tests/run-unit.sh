#!/usr/bin/env bash
# Runs the cmocka unit-test binaries given as arguments (plain and ASan/UBSan builds) and ends
# with the summary line CI reads: "N passed, N failed" (named by $UNIT_NAME, default unit).
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0
for bin in "$@"; do
	echo "== $bin"
	out=$("$bin" 2>&1); rc=$?
	echo "$out" | grep -E '^\[  (PASSED|FAILED|  OK|ERROR|  FAILED)' | grep -v '^\[       OK' || true
	n_ok=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	n_bad=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	passed=$((passed + ${n_ok:-0}))
	failed=$((failed + ${n_bad:-0}))
	if [ "$rc" -ne 0 ]; then
		[ -z "$n_bad" ] && failed=$((failed + 1))
		echo "$out" | tail -30
	fi
done
echo "${UNIT_NAME:-unit}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
