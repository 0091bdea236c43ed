#!/usr/bin/env bash
# The service graph of `obsbpf daemon`: three pods on the node, a calls b, b calls c (relay.py
# from its request's thread), a calls c over HTTP/2 (nghttpd), and a calls d, a pod the daemon
# does not attach. Checks each
# edge's traces_service_graph_* series exactly, with both views where both ends are attached
# (request counts, failures, the server's and the client's histograms), the unattached peer
# left as its address with connection_type="virtual_node", the exposition through promtool, and
# the edges as a real Prometheus scraping the daemon sums them.
source "$(dirname "$0")/lib.sh"

for p in b c d; do
	pod_create $p || exit 1
	pod_run $p "$PY" "$ROOT/tests/integration/apps/relay.py" --port 8080 >/dev/null
	wait_port $p 8080 || exit 1
done
# c also serves HTTP/2 with prior knowledge (nghttpd): exchanges user space decodes.
mkdir -p "$T/www" && echo hello > "$T/www/index.html"
pod_run c nghttpd --no-tls -d "$T/www" 8081 >/dev/null
wait_port c 8081 || exit 1
pod_create a || exit 1
pod_logdir a shop >/dev/null && pod_logdir b shop >/dev/null && pod_logdir c stock >/dev/null || exit 1
A=$(pod_name a) B=$(pod_name b) C=$(pod_name c)

# d is not one of the daemon's pods: what a calls there has only a's view, to d's address.
agent_launch daemon /readyz --pod-pattern "$A" --pod-pattern "$B" --pod-pattern "$C" \
	--pod-logs "$POD_LOGS" || exit 1
prom_start || exit 1
attached() { agent_status --json | json 'print(len(d["pods"]))'; }
wait_until 10 'test "$(attached)" = 3' || fail "pods attached: $(attached)"

get() { pod_exec a curl -sS -o /dev/null -w '%{http_code}\n' "$1"; }
# a -> b -> c: 6 relayed 200s, 2 where c answers 500 and b 502; a -> b alone: 3 (b's /headers);
# a -> d: 4.
for i in 1 2 3 4 5 6; do get "http://$(pod_ip b):8080/relay?to=http://$(pod_ip c):8080/headers"; done > "$T/codes"
for i in 1 2; do get "http://$(pod_ip b):8080/relay?to=http://$(pod_ip c):8080/status/500"; done >> "$T/codes"
for i in 1 2 3; do get "http://$(pod_ip b):8080/headers"; done >> "$T/codes"
for i in 1 2 3 4; do get "http://$(pod_ip d):8080/headers"; done >> "$T/codes"
# a -> c over HTTP/2: 3 found, 2 missing (404s).
for p in index.html index.html index.html missing missing; do
	pod_exec a curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_code}\n' "http://$(pod_ip c):8081/$p"
done >> "$T/codes"
expect_eq "statuses a got" "$(sort "$T/codes" | uniq -c | awk '{ print $2 "x" $1 }' | xargs)" "200x16 404x2 502x2"

edge() { echo "client=\"$1\",server=\"$2\",connection_type=\"$3\""; }
AB=$(edge "$A" "$B" "") BC=$(edge "$B" "$C" "") AD=$(edge "$A" "$(pod_ip d)" virtual_node)
total() { metric_value traces_service_graph_request_total "$1"; }
wait_until 5 'test "$(total "$BC")" -ge 8 && test "$(total "$(edge "$A" "$C" "")")" -ge 5'
metrics > "$T/m.txt"
expect_eq "a -> b requests" "$(total "$AB")" 11
expect_eq "a -> b failed (b's 502s)" "$(metric_value traces_service_graph_request_failed_total "$AB")" 2
expect_eq "a -> b as the server b saw them" \
	"$(metric_value traces_service_graph_request_server_seconds_count "$AB")" 11
expect_eq "a -> b as the client a saw them" \
	"$(metric_value traces_service_graph_request_client_seconds_count "$AB")" 11
expect_eq "b -> c requests" "$(total "$BC")" 8
expect_eq "b -> c failed (c's 500s)" "$(metric_value traces_service_graph_request_failed_total "$BC")" 2
expect_eq "b -> c server view" "$(metric_value traces_service_graph_request_server_seconds_count "$BC")" 8
expect_eq "b -> c client view" "$(metric_value traces_service_graph_request_client_seconds_count "$BC")" 8
expect_eq "b -> c in the pods' namespaces" \
	"$(metric_value traces_service_graph_request_total "$BC" 'client_k8s_namespace_name="shop"' 'server_k8s_namespace_name="stock"')" 8
expect_eq "a -> d (not attached): its address, a virtual node" "$(total "$AD")" 4
expect_eq "a -> d has only the client's view" \
	"$(metric_value traces_service_graph_request_server_seconds_count "$AD")" 0
# HTTP/2: both views from user space's decoder; the client counts the 404s as failed.
AC=$(edge "$A" "$C" "")
expect_eq "a -> c (HTTP/2) requests" "$(total "$AC")" 5
expect_eq "a -> c (HTTP/2) failed" "$(metric_value traces_service_graph_request_failed_total "$AC")" 2
expect_eq "a -> c (HTTP/2) server view" "$(metric_value traces_service_graph_request_server_seconds_count "$AC")" 5
expect_eq "a -> c (HTTP/2) client view" "$(metric_value traces_service_graph_request_client_seconds_count "$AC")" 5
expect_eq "edges" "$(grep -c '^traces_service_graph_request_total{' "$T/m.txt")" 4
# The client view's +Inf bucket holds every request, and the histogram's sum is positive.
expect_eq "a -> b client +Inf bucket" \
	"$(metric_value traces_service_graph_request_client_seconds_bucket "$AB" 'le="+Inf"')" 11
if awk -v e="$BC" 'index($0, "traces_service_graph_request_server_seconds_sum{" e) == 1 { exit !($NF > 0) } END {}' "$T/m.txt" \
	&& grep -q "^traces_service_graph_request_server_seconds_sum{$BC" "$T/m.txt"; then
	ok "b -> c server durations sum to more than 0"
else
	fail "b -> c server sum: $(grep "^traces_service_graph_request_server_seconds_sum{$BC" "$T/m.txt")"
fi
if promtool check metrics < "$T/m.txt" > "$T/promtool.txt" 2>&1; then
	ok "promtool check metrics"
else
	fail "promtool check metrics: $(cat "$T/promtool.txt")"
fi

# What Grafana's service graph would query: Prometheus's view of the edges.
prom_edges() {
	curl -fsS "http://$PROM_ADDR/api/v1/query" --data-urlencode \
		'query=sum by (client, server) (traces_service_graph_request_total)' |
		json 'print(" ".join(sorted("%s>%s=%s" % (r["metric"]["client"], r["metric"]["server"], r["value"][1]) for r in d["data"]["result"])))'
}
want="$A>$B=11 $A>$C=5 $A>$(pod_ip d)=4 $B>$C=8"
want=$(echo "$want" | tr ' ' '\n' | sort | xargs)
wait_until 10 'test "$(prom_edges)" = "$want"'
expect_eq "Prometheus's edges" "$(prom_edges)" "$want"

# A detached pod's edges go with it.
echo 1 > "${POD_CG[b]}/cgroup.kill"
wait_until 10 'test "$(attached)" = 2'
expect_eq "b's edges gone with b" "$(metric_value traces_service_graph_request_total "server=\"$B\"")" 0
finish
