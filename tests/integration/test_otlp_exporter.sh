#!/usr/bin/env bash
# The exporter's options for hosted backends, against the real OTLP receiver (node/otlp_recv.js:
# the OpenTelemetry JS protobuf root, Node's https, grpc-js over TLS), for OTLP/HTTP and
# OTLP/gRPC: request headers from OTEL_EXPORTER_OTLP_HEADERS and --otlp-header (merged, the
# flag winning), the User-Agent, gzip request bodies (--otlp-compression; Content-Encoding,
# grpc-encoding) that decode to the same spans, TLS verified with --otlp-ca-file or
# OTEL_EXPORTER_OTLP_CERTIFICATE (certificates made here with the openssl CLI), an untrusted
# server and a trusted certificate for another address refused with the reason in the log, and mutual TLS with --otlp-client-cert/-key. The
# events come from tests/drivers/otlp_driver.c, which feeds the real tracer without a kernel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/otlp_lib.sh"
. "$(dirname "$0")/tls_lib.sh"

DRIVER=${OTLP_DRIVER:-$ROOT/build/drivers/otlp_driver}
[ -x "$DRIVER" ] || { echo "  FAIL: $DRIVER not built (make build/drivers/otlp_driver)"; exit 1; }

# drive PROTO SCHEME SPANS SECONDS ARGS...: the driver against the receiver (SCHEME http or
# https); its final metrics go to $T/m.txt, its log to $T/driver.log.
drive() {
	local proto=$1 scheme=$2 n=$3 secs=$4; shift 4
	local port=$OTLP_HTTP_PORT
	[ "$proto" = grpc ] && port=$OTLP_GRPC_PORT
	"$DRIVER" "$n" "$secs" -- --otlp-endpoint "$scheme://127.0.0.1:$port" --otlp-protocol "$proto" \
		--otlp-batch 10 "$@" >"$T/m.txt" 2>"$T/driver.log"
}
exported() { file_metric "$T/m.txt" obsbpf_trace_spans_exported_total; }
# req_field EXPR: python EXPR over each request line r of $OUT.req, printed one per line.
req_field() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print('"$1"')' "$OUT.req"; }
# spans_ok N: spans 0..N-1 of the driver each once, named, in their traces, from its pod (the
# full attribute check is test_trace_export's; here the bytes only have to survive gzip and TLS).
spans_ok() { "$PY" -c 'import json,sys
n = int(sys.argv[2]); got = {}
for l in open(sys.argv[1]):
    s = json.loads(l); i = int(s["span_id"][8:], 16) - 1
    tr = i - 1 if i % 2 else i
    assert i not in got and 0 <= i < n, "span %d twice or unexpected" % i
    assert s["name"] == ("POST" if i % 2 else "GET /users/:id"), s["name"]
    assert s["trace_id"] == "0b5bbf00" + "0" * 16 + "%08x" % tr, s["trace_id"]
    assert s["resource"]["k8s.pod.name"] == "driver-pod", s["resource"]
    got[i] = s
assert len(got) == n, "%d of %d spans" % (len(got), n)' "$OUT" "$1" >"$T/check.out" 2>&1 || { tail -1 "$T/check.out"; return 1; }; }

# The server's certificate (for 127.0.0.1) and a client certificate (its own CA).
tls_cert collector 127.0.0.1 || exit 1
tls_cert elsewhere 10.203.255.254 || exit 1
# a certificate for a DNS name (gRPC sends it as SNI and checks it; libcurl does the same)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
	-keyout "$T/named.key" -out "$T/named.crt" 2>/dev/null || { fail "openssl: no named certificate"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=obsbpf-client" \
	-keyout "$T/client.key" -out "$T/client.crt" 2>/dev/null || { fail "openssl: no client certificate"; exit 1; }
VERSION=$("$OBSBPF" --version | awk '{print $2}')

for P in http grpc; do
	echo "-- $P"
	OUT=$T/$P.jsonl

	# 1. headers, User-Agent, gzip: 20 spans in 2 requests, each compressed, intact.
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" || { fail "$P: receiver did not start"; continue; }
	OTEL_EXPORTER_OTLP_HEADERS='api-key=env%20secret,x-tenant=from-env' \
		drive "$P" http 20 20 --otlp-header x-tenant=from-flag --otlp-header X-Extra=1 --otlp-compression gzip
	expect_eq "$P gzip: spans received" "$(otlp_spans "$OUT")" 20
	spans_ok 20 && ok "$P gzip: spans intact after inflating" || fail "$P gzip: spans differ"
	expect_eq "$P gzip: every request compressed" "$(req_field 'r["encoding"]' | sort -u)" gzip
	expect_eq "$P: header from OTEL_EXPORTER_OTLP_HEADERS (percent-decoded)" \
		"$(req_field 'r["headers"].get("api-key")' | sort -u)" "env secret"
	expect_eq "$P: --otlp-header wins over the variable" "$(req_field 'r["headers"].get("x-tenant")' | sort -u)" from-flag
	expect_eq "$P: --otlp-header (name lower-cased)" "$(req_field 'r["headers"].get("x-extra")' | sort -u)" 1
	expect_eq "$P: User-Agent" "$(req_field 'r["headers"].get("user-agent", "").split()[0]' | sort -u)" "obsbpf/$VERSION"
	grep -q "env secret" "$T/driver.log" && fail "$P: a header value was logged" || ok "$P: header values never logged"
	# without compression the body goes as is
	rm -f "$OUT" "$OUT.req"
	drive "$P" http 10 20
	expect_eq "$P: uncompressed by default" "$(req_field 'r["encoding"]' | sort -u)" identity
	otlp_recv_kill

	# 2. TLS: the collector's certificate verified with --otlp-ca-file (or the variable).
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --tls-cert "$T/collector.crt" --tls-key "$T/collector.key" ||
		{ fail "$P: TLS receiver did not start"; continue; }
	drive "$P" https 20 20 --otlp-ca-file "$T/collector.crt" --otlp-compression gzip
	expect_eq "$P TLS: spans received (--otlp-ca-file)" "$(otlp_spans "$OUT")" 20
	spans_ok 20 && ok "$P TLS: spans intact" || fail "$P TLS: spans differ"
	rm -f "$OUT" "$OUT.req"
	OTEL_EXPORTER_OTLP_CERTIFICATE=$T/collector.crt drive "$P" https 10 20
	expect_eq "$P TLS: spans received (OTEL_EXPORTER_OTLP_CERTIFICATE)" "$(otlp_spans "$OUT")" 10
	# the system's CA store does not trust the test's certificate: nothing sent, said why
	rm -f "$OUT" "$OUT.req"
	drive "$P" https 10 3
	expect_eq "$P TLS: untrusted collector: nothing exported" "$(exported)" 0
	expect_eq "$P TLS: untrusted collector: no request decoded" "$(otlp_spans "$OUT")" 0
	grep -qi "certificate" "$T/driver.log" && ok "$P TLS: the log says why: $(grep -im1 certificate "$T/driver.log")" ||
		fail "$P TLS: no certificate error in the log: $(head -3 "$T/driver.log")"
	otlp_recv_kill
	# a DNS name: the certificate is checked against it
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --tls-cert "$T/named.crt" --tls-key "$T/named.key" ||
		{ fail "$P: TLS receiver did not start"; continue; }
	port=$OTLP_HTTP_PORT
	[ "$P" = grpc ] && port=$OTLP_GRPC_PORT
	"$DRIVER" 10 20 -- --otlp-endpoint "https://localhost:$port" --otlp-protocol "$P" --otlp-batch 10 \
		--otlp-ca-file "$T/named.crt" >"$T/m.txt" 2>"$T/driver.log"
	expect_eq "$P TLS: spans received at https://localhost (a DNS name in the certificate)" "$(otlp_spans "$OUT")" 10
	otlp_recv_kill
	# a certificate the CA vouches for, but for another address: refused (the name or address
	# is checked, not only the signature)
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --tls-cert "$T/elsewhere.crt" --tls-key "$T/elsewhere.key" ||
		{ fail "$P: TLS receiver did not start"; continue; }
	drive "$P" https 10 3 --otlp-ca-file "$T/elsewhere.crt"
	expect_eq "$P TLS: a certificate for another address: nothing exported" "$(exported)" 0
	expect_eq "$P TLS: a certificate for another address: no request decoded" "$(otlp_spans "$OUT")" 0
	grep -qi "mismatch\|match" "$T/driver.log" && ok "$P TLS: the log says why: $(grep -im1 "match" "$T/driver.log")" ||
		fail "$P TLS: no name mismatch in the log: $(head -3 "$T/driver.log")"
	# a plain http:// exporter against the TLS port fails too (no silent downgrade)
	drive "$P" http 10 3
	expect_eq "$P TLS: plain exporter against TLS: nothing exported" "$(exported)" 0
	otlp_recv_kill

	# 3. mutual TLS: the collector requires a client certificate.
	OTLP_HTTP_PORT= OTLP_GRPC_PORT=
	rm -f "$OUT" "$OUT.req"
	otlp_recv_start "$OUT" --tls-cert "$T/collector.crt" --tls-key "$T/collector.key" --client-ca "$T/client.crt" ||
		{ fail "$P: mTLS receiver did not start"; continue; }
	drive "$P" https 10 3 --otlp-ca-file "$T/collector.crt"
	expect_eq "$P mTLS: without a client certificate: nothing exported" "$(exported)" 0
	drive "$P" https 20 20 --otlp-ca-file "$T/collector.crt" --otlp-client-cert "$T/client.crt" \
		--otlp-client-key "$T/client.key"
	expect_eq "$P mTLS: spans received with --otlp-client-cert" "$(otlp_spans "$OUT")" 20
	[ "$P" = http ] && expect_eq "$P mTLS: the collector saw the client's certificate" \
		"$(req_field 'r.get("client_cn")' | sort -u)" obsbpf-client
	otlp_recv_kill
done

# Wrong options: the agent says so in one line naming the flag or variable, and exits before
# anything is loaded.
run_err() { # DESC WANT ARGS...
	local desc=$1 want=$2 rc=0; shift 2
	"$OBSBPF" daemon --listen 127.0.0.1:19322 --control-socket "$T/err.sock" --pin-dir "$PIN_DIR" \
		--pod-logs "$T/none" "$@" >/dev/null 2>"$T/err" || rc=$?
	if [ $rc -ne 0 ] && [ "$(grep -c . "$T/err")" -eq 1 ] && grep -qF -- "$want" "$T/err"; then
		ok "$desc: $(cat "$T/err")"
	else
		fail "$desc: rc=$rc: $(cat "$T/err")"
	fi
}
run_err "header without =" "--otlp-header 'nope': expected NAME=VALUE" \
	--otlp-endpoint http://127.0.0.1:1 --otlp-header nope
run_err "reserved header" "a header the exporter sets itself" \
	--otlp-endpoint http://127.0.0.1:1 --otlp-header Content-Type=x
OTEL_EXPORTER_OTLP_HEADERS='a=b,c' run_err "bad variable" "OTEL_EXPORTER_OTLP_HEADERS: 'c': expected NAME=VALUE" \
	--otlp-endpoint http://127.0.0.1:1
# the value of a refused header is not in the message (a secret, or a line break)
run_err "bad value, not echoed" "--otlp-header 'x-key=': header value with a control character" \
	--otlp-endpoint http://127.0.0.1:1 --otlp-header "x-key=sec$(printf '\001')ret"
grep -q sec "$T/err" && fail "a refused header's value was logged" || ok "a refused header's value was not logged"
OTEL_EXPORTER_OTLP_TIMEOUT=10s run_err "bad timeout variable" "OTEL_EXPORTER_OTLP_TIMEOUT 10s: expected a time in milliseconds" \
	--otlp-endpoint http://127.0.0.1:1
run_err "bad compression" "--otlp-compression br: expected gzip or none" \
	--otlp-endpoint http://127.0.0.1:1 --otlp-compression br
run_err "CA file for http://" "set an https:// endpoint for TLS" \
	--otlp-endpoint http://127.0.0.1:1 --otlp-ca-file "$T/collector.crt"
run_err "missing CA file" "--otlp-ca-file $T/nope.pem: No such file or directory" \
	--otlp-endpoint https://127.0.0.1:1 --otlp-ca-file "$T/nope.pem"
run_err "cert without key" "needs --otlp-client-key too" \
	--otlp-endpoint https://127.0.0.1:1 --otlp-client-cert "$T/client.crt"
run_err "gRPC: a key that is not the certificate's" "--otlp-client-key $T/collector.key" \
	--otlp-endpoint https://127.0.0.1:1 --otlp-protocol grpc --otlp-client-cert "$T/client.crt" \
	--otlp-client-key "$T/collector.key"
finish
