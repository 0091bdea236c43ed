#!/usr/bin/env bash
# Installs the Debian 12 packages obsbpf needs to build, test and run its demo.
# Idempotent: installs only what is missing, so `make test` stays fast on a ready machine.
set -euo pipefail

# gcc: the user-space compiler (CC=cc); a bare image such as deploy/Dockerfile's has none.
build_pkgs=(make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
	libmicrohttpd-dev libcmocka-dev libcurl4-openssl-dev libjson-c-dev libmsgpack-dev nettle-dev
	libprotobuf-c-dev protobuf-c-compiler libnghttp2-dev libhttp-parser-dev
	libssl-dev) # OpenSSL: OTLP/gRPC over TLS
# python3-yaml, binutils (readelf): the deploy/ lint test; python3-prometheus-client: its
# OpenMetrics parser checks /metrics (test_exemplars).
test_pkgs=(iproute2 procps psmisc curl nginx-light wrk prometheus python3 prometheus-pushgateway
	python3-msgpack python3-yaml binutils libcap2-bin clang-format-14 python3-prometheus-client libclang-rt-14-dev
	clang-16 clang-19 # the verifier budget is checked with each of Debian's clangs
	nghttp2-server nghttp2-client nghttp2-proxy python3-grpcio python3-h2 # HTTP/2: nghttpd, nghttp, h2load, nghttpx; gRPC
	wget openssl # TLS: a client on GnuTLS (not probed: reported not visible), certificates
	chromium) # test_demo: the demo's Prometheus graph page, rendered headless

# The kernel tests (tests/kernels/): qemu boots Debian's kernels (apt-get download, dpkg-deb -x,
# depmod) from a busybox-static initramfs (cpio; xz unpacks the modules busybox's insmod loads).
kernel_pkgs=(qemu-system-x86 busybox-static cpio kmod xz-utils)

# No argument: everything `make test` needs; --build-only: the build; --kernels: the kernel tests.
case ${1:-} in
--build-only) want=("${build_pkgs[@]}") ;;
--kernels) want=("${kernel_pkgs[@]}") ;;
*) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${kernel_pkgs[@]}") ;;
esac

# The log tests also run against the fluent org's FluentServer, the trace tests against OTLP
# receivers on the OpenTelemetry JS protobuf root and grpc-js (npm, pinned by package-lock.json).
npm_test_deps() {
	[ "${1:-}" = "--build-only" ] || [ "${1:-}" = "--kernels" ] && return 0
	local dir
	dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/node"
	[ -d "$dir/node_modules/@fluent-org/logger" ] && [ -d "$dir/node_modules/@grpc/grpc-js" ] &&
		[ -d "$dir/node_modules/@opentelemetry/otlp-transformer" ] && return 0
	if ! command -v npm >/dev/null; then
		# Debian's npm (with its nodejs) where the machine has no Node.js of its own.
		if [ "$(id -u)" -ne 0 ]; then
			echo "obsbpf: npm not found: the log and trace tests need it (apt-get install npm)" >&2
			return 1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
	npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
}
trap 'npm_test_deps "${1:-}"' EXIT

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "obsbpf: missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "obsbpf: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the tests run their own instances.
for svc in nginx prometheus prometheus-pushgateway; do
	if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
