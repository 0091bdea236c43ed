#!/usr/bin/env bash
# The verifier budget: every BPF program must verify within 150k processed instructions (15% of
# the kernel's 1M limit) on this kernel, built by each of Debian's clang 14, 16 and 19 that is
# installed. `obsbpf probe` loads each program alone, as attach does, with the verifier's
# statistics; this fails on any program over the budget or refused, and prints every count.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "verifier budget: needs root (BPF)"; exit 1; }

passed=0 failed=0
check() { # CLANG OBSBPF
	local out
	out=$("$2" probe 2>&1)
	echo "== $1"
	echo "$out" | sed -n '/^programs/,$p' | sed '$d' | sed 's/^/   /'
	local loaded bad
	loaded=$(echo "$out" | grep -c '^ok ')
	bad=$(echo "$out" | grep -cE '^(BIG|FAIL) ')
	if [ "$loaded" -ge 4 ] && [ "$bad" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); echo "   -> FAILED ($bad over the budget or refused, $loaded within it)"
	fi
}

default=$(make -s --no-print-directory -f - <<<'include Makefile
print: ; @echo $(CLANG)' print)
for v in 14 16 19; do
	c=clang-$v
	command -v "$c" >/dev/null || { echo "== $c: not installed, skipped"; continue; }
	if [ "$(readlink -f "$(command -v "$default")")" = "$(readlink -f "$(command -v "$c")")" ]; then
		make -s --no-print-directory build/obsbpf >/dev/null || exit 1
		check "$c (the default build)" build/obsbpf
	else
		make -s --no-print-directory BUILD="build/$c" CLANG="$c" "build/$c/obsbpf" >/dev/null 2>&1 ||
			{ echo "== $c: build failed"; failed=$((failed + 1)); continue; }
		check "$c" "build/$c/obsbpf"
	fi
done
echo "verifier-budget: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
