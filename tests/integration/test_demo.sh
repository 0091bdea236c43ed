#!/usr/bin/env bash
# `make demo` (tests/demo.sh) shows the four signals: it runs here on ports of its own until its
# report is out, then the test checks the report (a graph URL whose queries return samples from
# the demo's Prometheus, a span tree of a whole checkout, forwarded log lines with trace ids,
# `obsbpf observe` lines; the graph page rendered by headless Chromium drew its series) and
# stops it with SIGINT, as Ctrl-C would: it must exit 0, print no
# traceback, and leave no pod behind.
source "$(dirname "$0")/lib.sh"

DEMO_OUT=$T/demo.out
# its own session, so that the SIGINT below reaches it as a terminal's Ctrl-C reaches a process
# group, and not this test
DEMO_PORT=19334 DEMO_PROM_PORT=19336 OBSBPF="$OBSBPF" setsid "$ROOT/tests/demo.sh" >"$DEMO_OUT" 2>&1 </dev/null &
DEMO=$!
BG_PIDS+=($DEMO)
reported() { grep -q "Ctrl-C stops the demo" "$DEMO_OUT"; }
if ! wait_for 150 reported; then
	fail "the demo did not get to its report: $(tail -5 "$DEMO_OUT")"
	finish
fi
ok "the demo printed its report"
sed 's/^/    | /' "$DEMO_OUT"

url=$(grep -o 'http://127.0.0.1:19336/graph?[^ ]*' "$DEMO_OUT" | head -1)
[ -n "$url" ] && ok "a Prometheus graph URL" || fail "no graph URL"
expect_eq "the graph page answers" "$(curl -sL -o /dev/null -w '%{http_code}' "$url")" 200
# What the graph page asks Prometheus: each expression over the last minutes.
samples() {
	"$PY" - "$url" <<'PY'
import json, sys, time, urllib.parse, urllib.request
u = urllib.parse.urlparse(sys.argv[1])
q = urllib.parse.parse_qs(u.query)
now = time.time()
for k in ("g0.expr", "g1.expr"):
    r = json.load(urllib.request.urlopen("http://%s/api/v1/query_range?%s" % (u.netloc, urllib.parse.urlencode(
        {"query": q[k][0], "start": now - 300, "end": now, "step": 2}))))
    print(sum(len(s["values"]) for s in r["data"]["result"]), end=" ")
PY
}
got=$(samples)
read -r rate_n p99_n <<<"$got"
expect_ge "the graph's request rate has samples" "${rate_n:-0}" 1
expect_ge "the graph's p99 has samples" "${p99_n:-0}" 1
# The page itself, in headless Chromium (Debian's): it renders both graphs, and its own queries
# of Prometheus' API found the series ("Total time series: 1" under each graph, from the
# query_range answer it drew). The screenshot is kept in build/demo-graph.png.
if command -v chromium >/dev/null; then
	chrome() { (cd "$T" && HOME=$T timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
		--hide-scrollbars --window-size=1280,1400 --virtual-time-budget=8000 "$@" "$url" 2>>"$T/chromium.log"); }
	chrome --dump-dom > "$T/graph.html"
	expect_eq "Chromium: both graphs drew a series" \
		"$(grep -o 'Total time series: [0-9]*' "$T/graph.html" | awk '$4 >= 1' | wc -l)" 2
	chrome --screenshot="$T/graph.png" >/dev/null
	expect_ge "Chromium: a screenshot of the graph page (bytes)" "$(stat -c %s "$T/graph.png" 2>/dev/null || echo 0)" 20000
	cp "$T/graph.png" "$ROOT/build/demo-graph.png" 2>/dev/null
else
	fail "chromium is not installed (deploy/install-deps.sh installs it)"
fi
expect_ge "a span tree: web's checkout, its calls, api's spans" \
	"$(grep -cE '^ *(├─|└─|│  └─|   └─) (CLIENT|SERVER)' "$DEMO_OUT")" 4
grep -qE 'trace [0-9a-f]{32} \(5 spans\)' "$DEMO_OUT" && ok "a whole trace: 5 spans" || fail "no 5-span trace"
expect_ge "forwarded log lines with trace ids" "$(grep -cE '^ +demo-(web|api) +trace_id=[0-9a-f]{32}' "$DEMO_OUT")" 3
expect_ge "obsbpf observe lines" "$(grep -cE 'demo/demo-web +(<-|->) ' "$DEMO_OUT")" 1
grep -qE 'the last 10 s: [0-9.]+ requests/s, p99 [0-9.]+ ms' "$DEMO_OUT" && ok "rate and p99 printed" || fail "no rate/p99"

kill -INT -- -"$DEMO"
stopped() { ! kill -0 "$DEMO" 2>/dev/null; }
wait_for 20 stopped && ok "SIGINT stops the demo" || fail "the demo still runs after SIGINT"
wait "$DEMO"
expect_eq "the demo exits 0" $? 0
tb=$(grep -ciE 'traceback|KeyboardInterrupt' "$DEMO_OUT")
expect_eq "no traceback" "$tb" 0
[ "$tb" = 0 ] || grep -iE -B2 -A8 'traceback|KeyboardInterrupt' "$DEMO_OUT" | sed 's/^/    | /'
grep -q "obsbpf demo: stopping" "$DEMO_OUT" && ok "it says it stops" || fail "no stopping line"
expect_eq "its pods are gone" "$(ip netns list | grep -c -- '-demo-')" 0
expect_eq "its Prometheus is gone" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:19336/-/ready")" 000
finish
