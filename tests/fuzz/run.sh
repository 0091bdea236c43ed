#!/usr/bin/env bash
# Runs libFuzzer targets one after the other (the machine's cores are shared):
#   run.sh DIR SECONDS NAME...   runs DIR/fuzz_NAME for SECONDS each
# (or until $FUZZ_RUNS executions, when set and reached first) on DIR/corpus/NAME (seeded from
# tests/fuzz/corpus/NAME, kept between runs), with -max_len from $FUZZ_MAX_LEN ("name:len ..."),
# and prints per target the executions, coverage (cov:/ft: of libFuzzer's final stats), crashes
# (inputs saved in DIR/artifacts/NAME) and the seconds it ran. Ends with the line CI reads,
# "fuzz: N passed, N failed"; exits non-zero when any target failed.
set -u
dir=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

max_len() {
	local e
	for e in ${FUZZ_MAX_LEN:-}; do
		[ "${e%%:*}" = "$1" ] && { echo "${e#*:}"; return; }
	done
	echo 4096
}

passed=0 failed=0
for name in "$@"; do
	bin=$dir/fuzz_$name corpus=$dir/corpus/$name art=$dir/artifacts/$name log=$dir/logs/$name.log
	mkdir -p "$corpus" "$art" "$dir/logs"
	# -n: what earlier runs found stays; the seeds are only added
	[ -d "$here/corpus/$name" ] && cp -rn "$here/corpus/$name/." "$corpus/"
	dict=()
	[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
	mark=$dir/logs/$name.start
	touch "$mark"
	before=$(find "$art" -type f | wc -l)
	t0=$(date +%s)
	"$bin" -max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" -max_len="$(max_len "$name")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
		"${dict[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
	crashes=$(($(find "$art" -type f | wc -l) - before))
	printf '%-12s %10s execs  %-20s crashes: %d  %5ss\n' "$name" "${execs:-?}" "${cov:-cov: ?}" \
		"$crashes" "$took"
	if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	grep -m1 -E '^SUMMARY|^==[0-9]+==ERROR|check failed|ERROR: libFuzzer' "$log" | sed 's/^/    /'
	find "$art" -type f -newer "$mark" | head -3 | sed 's/^/    input: /'
	echo "    log: $log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
