#!/usr/bin/env bash
# Hostile app metrics endpoints (apps/hostile_metrics.py, in a pod, scraped by the real agent
# every second): endless, 1 GiB announced and streamed, a gzip bomb, a million series,
# megabyte-long label values and metric name, a label value that is not UTF-8, and one byte a
# second. Each scrape ends in a limit
# and a counted error by reason; the agent's own /metrics and /healthz keep answering and its
# RSS stays within a stated bound above its level before; a good scrape recovers.
# (test_appmetrics covers malformed text, HTTP errors and an unreachable app.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

MAX_MB=16          # --app-metrics-max-mb: the body limit
# RSS above the level before: the body (up to MAX_MB, in a buffer that doubles: 2 x MAX_MB),
# the parser's arrays, ASan's quarantine of what was freed (16 MiB, fault_lib.sh) and slack.
GROWTH_MIB=$((4 * MAX_MB + 16))

pod_create web
APP=$T/app
mkdir -p "$APP"
echo good > "$APP/mode"
pod_run web "$PY" "$ROOT/tests/integration/apps/hostile_metrics.py" --dir "$APP" > /dev/null
wait_port web 8080 || exit 1
agent_start --pod "$(pod_name web)" --app-metrics-interval 1 --app-metrics-timeout 1000 \
	--app-metrics-max-mb "$MAX_MB" || exit 1
wait_until 10 '[ "$(metric_value obsbpf_app_up)" = 1 ]' && ok "good scrape before the faults" \
	|| fail "app never up: $(metrics | grep '^obsbpf_app')"
sleep 1
BASE_KIB=$(rss_now_kib "$AGENT_PID")

scrapes_of() { grep -cx "$1" "$APP/requests" 2>/dev/null || echo 0; }
# agent_answers: the agent's own endpoints answer, each within 2 s, while the app misbehaves.
agent_answers() {
	curl -fsS -m 2 -o /dev/null "http://$AGENT_ADDR/healthz" &&
		curl -fsS -m 2 -o "$T/own.txt" "http://$AGENT_ADDR/metrics" &&
		grep -q '^obsbpf_app_scrapes_total' "$T/own.txt"
}

# hostile MODE REASON [REASON2]: switches the app to MODE; at least two scrapes of it must fail
# with REASON counted, the app's series withdrawn, the agent answering, RSS bounded.
hostile() {
	local mode=$1 reason=$2 before max answered=0 i
	before=$(metric_value obsbpf_app_scrape_errors_total "reason=\"$reason\"")
	rss_watch "$AGENT_PID" "$T/rss-$mode"
	echo "$mode" > "$APP/mode"
	for i in $(seq 40); do
		agent_answers && answered=$((answered + 1))
		[ "$(metric_value obsbpf_app_scrape_errors_total "reason=\"$reason\"")" -ge $((before + 2)) ] && break
		sleep 0.25
	done
	rss_stop
	local got=$(( $(metric_value obsbpf_app_scrape_errors_total "reason=\"$reason\"") - before ))
	expect_ge "$mode: scrapes failed with reason=\"$reason\"" "$got" 2
	expect_eq "$mode: the agent answered /healthz and /metrics every time ($i polls)" "$answered" "$i"
	expect_eq "$mode: obsbpf_app_up" "$(metric_value obsbpf_app_up)" 0
	expect_eq "$mode: no app series served" "$(metrics | grep -c '^hostile_')" 0
	max=$(rss_max_kib "$T/rss-$mode")
	[ $((max - BASE_KIB)) -le $((GROWTH_MIB * 1024)) ] \
		&& ok "$mode: RSS at most ${max} KiB, $(( (max - BASE_KIB) / 1024 )) MiB above the ${BASE_KIB} KiB before (bound $GROWTH_MIB MiB)" \
		|| fail "$mode: RSS grew by $(( (max - BASE_KIB) / 1024 )) MiB (bound $GROWTH_MIB MiB)"
	echo "$mode $BASE_KIB $max" >> "$T/rss-summary"
}

hostile endless too_large
hostile huge too_large
dur=$(metrics | awk '/^obsbpf_app_scrape_duration_seconds/ { print $NF }')
awk -v d="$dur" 'BEGIN { exit !(d < 0.5) }' && ok "huge: refused on its Content-Length, in $dur s" \
	|| fail "huge: the scrape took $dur s (read the body?)"
hostile gzipbomb too_large # the limit is on the inflated bytes
hostile million series_limit
hostile longlabel label_limit
hostile longname label_limit
hostile badutf8 parse
hostile trickle timeout
expect_ge "trickle: the app saw its scrapes" "$(scrapes_of trickle)" 2

echo good > "$APP/mode"
wait_until 10 '[ "$(metric_value obsbpf_app_up)" = 1 ]' && ok "a good scrape recovers" \
	|| fail "app not up again: $(metrics | grep '^obsbpf_app')"
expect_eq "its series served again" "$(metric_value hostile_ok_total)" 1
promtool check metrics < <(metrics) > "$T/promtool.txt" 2>&1 \
	&& ok "promtool accepts /metrics after the faults" || fail "promtool: $(cat "$T/promtool.txt")"
log "RSS (mode, KiB before, KiB max): $(tr '\n' ';' < "$T/rss-summary")"
agent_stop || fail "agent exit status"
finish
