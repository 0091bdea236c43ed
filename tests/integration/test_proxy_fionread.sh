#!/usr/bin/env bash
# nginx as a reverse proxy in the attached pod: its upstream connections are client sockets in
# obsbpf's sockhash. On kernels with the sockmap FIONREAD regression (929e30f93125; this host's
# 6.18.44) such a socket reports FIONREAD 0 and nginx stalled on every 64 KiB response until the
# client gave up. The agent detects the regression at start and avoids it; on kernels without
# it nothing is needed. Either way every response arrives whole, and the upstream calls are
# measured (so the sockets really were in the sockhash).
source "$(dirname "$0")/lib.sh"

pod_create up
pod_create proxy
mkdir -p "$T/www"
head -c 65536 /dev/urandom > "$T/www/big.bin"
head -c 1048576 /dev/urandom > "$T/www/huge.bin"
pod_run up "$PY" -m http.server 8080 --bind 0.0.0.0 --directory "$T/www" >/dev/null
sed "s|@T@|$T|g; s|@PORT@|8081|g; s|@UPSTREAM@|$(pod_ip up):8080|g" \
	"$ROOT/tests/integration/apps/nginx-proxy.conf" > "$T/nginx-proxy.conf"
wait_port up 8080 || exit 1
agent_start --pod "$(pod_name proxy)" --app-metrics off || exit 1
pod_run proxy nginx -c "$T/nginx-proxy.conf" >/dev/null
wait_port proxy 8081 || exit 1
PROXY=$(pod_ip proxy)

hazard=$(agent_status --json | json 'print(",".join(h["name"] for h in d["kernel"]["hazards"]))')
log "kernel $(uname -r): hazards [${hazard:-none}]"
if "$OBSBPF" probe 2>/dev/null | grep -q '^HAZ  sockmap FIONREAD'; then
	expect_eq "/status names the FIONREAD hazard this kernel has" \
		"$(echo "$hazard" | tr , '\n' | grep -cx sockmap_fionread)" 1
	expect_eq "the sk_skb verdict that avoids it is attached" \
		"$(agent_status --json | json 'print(sum(1 for p in d["programs"] if p["name"] == "obsbpf_skb_pass" and p["attached"]))')" 1
fi

want64=$(sha256sum < "$T/www/big.bin")
want1m=$(sha256sum < "$T/www/huge.bin")
ok64=0 ok1m=0
for i in $(seq 6); do
	got=$(curl -fsS --max-time 10 "http://$PROXY:8081/big.bin" | sha256sum)
	[ "$got" = "$want64" ] && ok64=$((ok64 + 1))
done
for i in $(seq 3); do
	got=$(curl -fsS --max-time 10 "http://$PROXY:8081/huge.bin" | sha256sum)
	[ "$got" = "$want1m" ] && ok1m=$((ok1m + 1))
done
expect_eq "64 KiB responses through the proxy, whole and in time" "$ok64" 6
expect_eq "1 MiB responses through the proxy, whole and in time" "$ok1m" 3
expect_eq "the proxy's upstream calls measured (client side)" \
	"$(metric_value http_client_request_duration_seconds_count 'code="200"')" 9
expect_eq "the proxy's own requests measured (server side)" \
	"$(metric_value http_server_request_duration_seconds_count 'code="200"')" 9
[ "$FAILS" -gt 0 ] && { echo "  nginx error log:"; tail -5 "$T/nginx-proxy-error.log"; }
agent_stop
expect_eq "agent exits 0 on SIGTERM" $? 0
finish
