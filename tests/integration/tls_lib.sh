# TLS helpers for the integration tests (sourced after lib.sh).

# tls_cert NAME IP: a self-signed certificate for IP, made now with the openssl CLI: $T/NAME.crt
# (what clients trust) and $T/NAME.pem (certificate and key, what servers load).
tls_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" -addext "subjectAltName=IP:$2" \
		-keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null || { fail "openssl req: no certificate"; return 1; }
	cat "$T/$1.crt" "$T/$1.key" > "$T/$1.pem"
}

# nginx_tls_conf PORT PEM: an nginx config serving HTTPS (h2 by ALPN) on PORT; prints its path.
nginx_tls_conf() {
	sed "s|@T@|$T|g; s|@PORT@|$1|g; s|@CERT@|$2|g" "$ROOT/tests/integration/apps/nginx-tls.conf" > "$T/nginx-tls-$1.conf"
	echo "$T/nginx-tls-$1.conf"
}

# tls_unparsed: the agent's TLS connections whose plaintext was not seen.
tls_unparsed() { metric_value obsbpf_connections_unparsed_total 'protocol="tls"'; }
