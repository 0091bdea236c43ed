#!/usr/bin/env bash
# One kernel's column of the matrix (matrix.sh runs it on the host, or in a guest through
# run.sh): `build/obsbpf probe`, then each integration test alone (tests/integration/run.sh with
# ONLY), each under its own timeout, so that one hung test costs its timeout and not the run.
# Everything is printed; for matrix.sh, one line per item:
#   result: NAME pass|FAIL|TIME SECONDS
#
# Usage: suite.sh [TEST...]   (tests/integration names without .sh; none: every test)
# Env: TEST_TIMEOUT (seconds per test, 300); TEST_TIMEOUTS ("name=seconds ..." per test).
set -uo pipefail

# In a function: bash reads a script while running it, and an edit during a long run would
# otherwise run half-old, half-new lines.
main() {
	# Ctrl-C ends the run, not just the test or kernel in the foreground.
	trap 'exit 130' INT TERM
	cd "$(dirname "$0")/../.." || exit 1

	tests=("$@")
	if [ ${#tests[@]} -eq 0 ]; then
		for f in tests/integration/test_*.sh; do tests+=("$(basename "$f" .sh)"); done
	fi

	declare -A tmo
	for kv in ${TEST_TIMEOUTS:-}; do tmo[${kv%%=*}]=${kv#*=}; done

	result() { echo "result: $1 $2 $3"; }
	status_of() { # RC: pass, TIME (timeout(1)'s 124, or 137 after its KILL), FAIL
		case $1 in 0) echo pass ;; 124 | 137) echo TIME ;; *) echo FAIL ;; esac
	}

	echo "suite: kernel $(uname -r), tests: ${tests[*]}"
	t0=$SECONDS
	# probe loads every program: it fails on a program the verifier refuses; a program over the
	# 150k-instruction budget (BIG) fails here too. The objects of the other clangs that
	# `make verifier-budget` built are probed as well.
	for bin in build/obsbpf build/clang-*/obsbpf; do
		[ -x "$bin" ] || continue
		name=probe; [ "$bin" = build/obsbpf ] || name=probe-$(basename "$(dirname "$bin")")
		t0=$SECONDS
		out=$(timeout -k 5 120 "$bin" probe 2>&1)
		rc=$?
		echo "$out"
		echo "$out" | grep -q '^BIG ' && rc=1
		result "$name" "$(status_of $rc)" $((SECONDS - t0))
	done

	for t in "${tests[@]}"; do
		if [ ! -f "tests/integration/$t.sh" ]; then
			echo "suite: no tests/integration/$t.sh"
			result "$t" FAIL 0
			continue
		fi
		t0=$SECONDS
		lim=${tmo[$t]:-${TEST_TIMEOUT:-300}}
		# run.sh's own limit for the test, 20 s inside this one: a test that overruns is stopped
		# there (its cleanup runs; run.sh exits 124: TIME); this one is for a run.sh that hangs.
		# (run.sh's default of 300 s had stopped every test at 300 s, whatever the limit here.)
		ilim=$((lim > 40 ? lim - 20 : lim))
		# The slash and .sh make ONLY (a substring match) select this test alone.
		ONLY="/$t.sh" INTEGRATION_TIMEOUT=$ilim timeout -k 10 "$lim" tests/integration/run.sh
		rc=$?
		if [ $rc -ne 0 ] && [ "${TEST_RETRY:-0}" = 1 ]; then
			echo "suite: $t failed (rc $rc): retried once, as under emulation timing can fail a test"
			ONLY="/$t.sh" INTEGRATION_TIMEOUT=$ilim timeout -k 10 "$lim" tests/integration/run.sh
			rc=$?
		fi
		[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "suite: $t ran over its limit (${ilim}s in run.sh, ${lim}s here)"
		result "$t" "$(status_of $rc)" $((SECONDS - t0))
	done
}
main "$@"
