#!/usr/bin/env bash
# The kernel smoke test `make test` can afford: probe and a few integration tests on Debian's
# 6.1 and 6.12 (not the host's, which the integration target covers), under qemu. With TCG
# (no /dev/kvm) that is ~2 min per test per kernel; see matrix.sh for the table it prints.
#
# Usage: tests/kernels/smoke.sh   (`make kernel-smoke` builds what it needs first)
# Env: TESTS (default "test_server_metrics test_trace_propagation"), KERNELS ("6.1 6.12"),
#      and matrix.sh's (TEST_TIMEOUT, TEST_TIMEOUTS, MATRIX_LOGS).
set -euo pipefail
export TESTS=${TESTS:-test_server_metrics test_trace_propagation}
export KERNELS=${KERNELS:-6.1 6.12}
export MATRIX_NAME=kernel-smoke
exec "$(dirname "$0")/matrix.sh"
