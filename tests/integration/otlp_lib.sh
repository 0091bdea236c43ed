# Helpers for the span export tests (source after lib.sh): the OTLP receiver (node/otlp_recv.js,
# decoding with the OpenTelemetry JS protobuf root, gRPC through grpc-js) and the checks of
# what it received.

OTLP_RECV_PID= OTLP_HTTP_PORT= OTLP_GRPC_PORT=
NODE=${NODE:-node}

# otlp_recv_start OUT [ARGS...]: starts the receiver on both protocols (on the same ports as
# before when OTLP_*_PORT are set), recording spans in OUT and requests in OUT.req.
otlp_recv_start() {
	otlp_recv_spawn "$@" && otlp_recv_ports
}

# otlp_recv_load OUT [ARGS...]: the same receiver, loaded but not listening yet (its ports
# refuse); otlp_recv_listen opens them, within milliseconds. For a collector that comes up at
# a moment the test chooses: node's own start takes many seconds under qemu without KVM.
otlp_recv_load() {
	local out=$1; shift
	rm -f "$T/otlp.loaded"
	otlp_recv_spawn "$out" --hold "$T/otlp.loaded" "$@" || return 1
	port_file_wait "otlp receiver" "$OTLP_RECV_PID" "$T/otlp.loaded" "$T/otlp_recv.log" 60
}

otlp_recv_listen() {
	kill -USR2 "$OTLP_RECV_PID" && otlp_recv_ports
}

# otlp_recv_spawn OUT [ARGS...]: starts node; otlp_recv_ports: waits until it listens.
otlp_recv_spawn() {
	local out=$1; shift
	rm -f "$T/otlp.port"
	"$NODE" "$ROOT/tests/integration/node/otlp_recv.js" --out "$out" --port-file "$T/otlp.port" \
		--http "${OTLP_HTTP_PORT:-0}" --grpc "${OTLP_GRPC_PORT:-0}" "$@" 2>>"$T/otlp_recv.log" &
	OTLP_RECV_PID=$!
	BG_PIDS+=("$OTLP_RECV_PID")
}

otlp_recv_ports() {
	# Up to 60 s: under qemu without KVM (tests/kernels) node takes many seconds to load.
	port_file_wait "otlp receiver" "$OTLP_RECV_PID" "$T/otlp.port" "$T/otlp_recv.log" 60 || return 1
	OTLP_HTTP_PORT=$(sed -n 's/.*http=\([0-9]*\).*/\1/p' "$T/otlp.port")
	OTLP_GRPC_PORT=$(sed -n 's/.*grpc=\([0-9]*\).*/\1/p' "$T/otlp.port")
}

otlp_recv_kill() {
	[ -n "$OTLP_RECV_PID" ] && kill -KILL "$OTLP_RECV_PID" 2>/dev/null && wait "$OTLP_RECV_PID" 2>/dev/null
	OTLP_RECV_PID=
}

# otlp_endpoint PROTO: the --otlp-endpoint of the running receiver for http or grpc.
otlp_endpoint() {
	if [ "$1" = grpc ]; then echo "http://127.0.0.1:$OTLP_GRPC_PORT"; else echo "http://127.0.0.1:$OTLP_HTTP_PORT"; fi
}

# file_metric FILE NAME [LABEL_SUBSTRING...]: like metric_value, on a saved /metrics text.
file_metric() {
	local f=$1 name=$2; shift 2
	awk -v n="$name" -v pats="$*" '
		BEGIN { np = split(pats, p, " ") }
		$1 ~ "^" n "[{ ]" || $1 == n {
			ok = 1; for (i = 1; i <= np; i++) if (index($0, p[i]) == 0) ok = 0
			if (ok) s += $NF
		}
		END { printf "%d\n", s }' "$f"
}

# otlp_spans OUT: number of span lines received.
otlp_spans() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
