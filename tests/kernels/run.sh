#!/usr/bin/env bash
# Boots one of Debian's kernels (fetch.sh) under qemu on the host's own root filesystem and runs
# CMD inside it, in the work tree (the caller's directory when inside it, else the repo root).
#
# Usage: tests/kernels/run.sh KERNEL -- CMD...
#   KERNEL: a version (6.1.0-57-amd64) or a prefix of one (6.1, 6.12); fetched when not cached.
# Exit status: CMD's; 124 when KERNEL_TIMEOUT ran out (qemu killed); 125 when the guest never
# reported one (boot failure, panic).
#
# Environment:
#   KERNEL_MEM (4G), KERNEL_SMP (2), KERNEL_TIMEOUT (seconds of wall clock, 3600)
#   KERNEL_ACCEL: kvm or tcg (default: kvm when /dev/kvm opens, else tcg)
#   KERNEL_ENV: names of variables passed to CMD (default: ONLY)
#   KERNEL_WORK_DIR: the directory shared read-write at its own path (default: the repo root)
#   KERNEL_APPEND: more kernel command line; KERNEL_DMESG=FILE: the guest's kernel log there
#   OBSBPF_KERNEL_CACHE: where fetch.sh keeps the kernels (/var/cache/obsbpf-kernels)
set -euo pipefail

# In a function: bash reads a script while running it, and an edit during a long run would
# otherwise run half-old, half-new lines.
main() {
	HERE=$(cd "$(dirname "$0")" && pwd)
	source "$HERE/lib.sh"
	ROOT=$(cd "$HERE/../.." && pwd)
	CACHE=${OBSBPF_KERNEL_CACHE:-/var/cache/obsbpf-kernels}
	MEM=${KERNEL_MEM:-4G}
	SMP=${KERNEL_SMP:-2}
	TMO=${KERNEL_TIMEOUT:-3600}
	SHARE=$(realpath "${KERNEL_WORK_DIR:-$ROOT}")

	usage() { echo "usage: $0 KERNEL -- CMD..." >&2; exit 2; }
	[ $# -ge 3 ] && [ "$2" = -- ] || usage
	want=$1
	shift 2
	[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (qemu shares / with the guest's root)" >&2; exit 1; }
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "run.sh: no qemu-system-x86_64: deploy/install-deps.sh --kernels" >&2; exit 1; }

	# VERSION or a prefix that ends at a component boundary: 6.1 is 6.1.0-57-amd64, not 6.12.x.
	resolve() {
		(cd "$CACHE" 2>/dev/null && for d in *; do
			[ -e "$d/.ready" ] || continue
			case $d in "$want" | "$want".* | "$want"-* | "$want"+*) echo "$d" ;; esac
		done) | sort -V | tail -n 1
	}
	ver=$(resolve)
	if [ -z "$ver" ]; then
		case $want in
		6.1 | 6.1.*) series=6.1 ;;
		6.12 | 6.12.*) series=6.12 ;;
		*) echo "run.sh: no kernel '$want' in $CACHE, and fetch.sh knows only 6.1 and 6.12" >&2; exit 1 ;;
		esac
		"$HERE/fetch.sh" "$series" >/dev/null
		ver=$(resolve)
		[ -n "$ver" ] || { echo "run.sh: fetch.sh prepared no kernel matching '$want'" >&2; exit 1; }
	fi
	initrd=$("$HERE/initramfs.sh" "$ver")
	kernel=$CACHE/$ver/tree/boot/vmlinuz-$ver

	accel=$(kernel_accel)
	case $accel in kvm | tcg) ;; *) echo "run.sh: KERNEL_ACCEL must be kvm or tcg" >&2; exit 2 ;; esac

	res=$(mktemp -d /tmp/obsbpf-kernel.XXXXXX)
	qpid=
	cleanup() {
		if [ -n "$qpid" ]; then
			kill -TERM "$qpid" 2>/dev/null || true
			wait "$qpid" 2>/dev/null || true
		fi
		rm -rf "$res"
	}
	trap cleanup EXIT
	trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM HUP

	cwd=$(realpath "$PWD")
	case $cwd in "$SHARE" | "$SHARE"/*) ;; *) cwd=$SHARE ;; esac
	{
		printf 'REPO_DIR=%q\n' "$SHARE"
		printf 'MOD_DIR=%q\n' "$(realpath "$CACHE/$ver/tree/lib/modules/$ver")"
		printf 'CWD=%q\n' "$cwd"
	} > "$res/config"
	{
		for v in ${KERNEL_ENV-ONLY}; do
			[ -n "${!v+set}" ] && printf 'export %s=%q\n' "$v" "${!v}"
		done
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} > "$res/cmd.sh"
	cp "$HERE/guest.sh" "$res/guest.sh"

	# Runs qemu with accelerator $1 until it exits; its exit status. Under KVM, a guest that has
	# not come up (init touches results/booted) within KERNEL_BOOT_WAIT seconds is killed and
	# the function returns 222: some hosts' /dev/kvm opens and starts vCPUs but cannot
	# run these kernels.
	boot() {
		local acc=$1 args
		case $acc in
		kvm) args=(-enable-kvm -cpu "$(kernel_cpu kvm)") ;;
		tcg) args=(-accel tcg,thread=multi -cpu "$(kernel_cpu tcg)") ;;
		esac
		# stdin is /dev/null: qemu leaves the terminal alone, and Ctrl-C reaches this script's
		# trap. -display none -serial stdio, not -nographic: with -nographic SeaBIOS also
		# draws on the serial line, and the console would open with its screen-clearing escapes.
		timeout -k 10 "$TMO" qemu-system-x86_64 "${args[@]}" -smp "$SMP" -m "$MEM" \
			-display none -nodefaults -serial stdio -monitor none -nic none -no-reboot \
			-kernel "$kernel" -initrd "$initrd" -append "$append" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,readonly=on \
			-virtfs "local,path=$SHARE,mount_tag=work,security_model=none,multidevs=remap" \
			-virtfs "local,path=$res,mount_tag=results,security_model=none" \
			</dev/null &
		qpid=$!
		if [ "$acc" = kvm ]; then
			local waited=0
			while [ ! -e "$res/booted" ] && kill -0 "$qpid" 2>/dev/null; do
				if [ "$waited" -ge "$((${KERNEL_BOOT_WAIT:-30} * 10))" ]; then
					kill -TERM "$qpid" 2>/dev/null || true
					wait "$qpid" 2>/dev/null || true
					qpid=
					return 222
				fi
				sleep 0.1
				waited=$((waited + 1))
			done
		fi
		local rc=0
		wait "$qpid" || rc=$?
		qpid=
		return "$rc"
	}

	# panic=-1 with -no-reboot: a panicking guest ends qemu at once instead of at the timeout.
	append="console=ttyS0 quiet panic=-1 mitigations=off rdinit=/init ${KERNEL_APPEND:-}"
	echo "run.sh: booting $ver ($accel, $SMP cpus, $MEM) for: $*" >&2
	start=$(date +%s%N)
	qrc=0
	boot "$accel" || qrc=$?
	if [ "$qrc" -eq 222 ]; then
		echo "run.sh: $ver did not boot under KVM in ${KERNEL_BOOT_WAIT:-30}s (a nested KVM that cannot run it): TCG" >&2
		rm -f "$res/booted"
		start=$(date +%s%N)
		qrc=0
		boot tcg || qrc=$?
	fi
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	took=$((ms / 1000)).$((ms % 1000 / 100))

	if [ -n "${KERNEL_DMESG:-}" ] && [ -f "$res/dmesg" ]; then cp "$res/dmesg" "$KERNEL_DMESG"; fi
	# A BPF change can make the kernel warn without failing the command: show it.
	if [ -f "$res/dmesg" ] && grep -qE 'WARNING:|BUG:|Oops|Call Trace' "$res/dmesg"; then
		echo "run.sh: the guest kernel logged warnings:" >&2
		grep -E -A3 'WARNING:|BUG:|Oops' "$res/dmesg" | head -n 40 >&2
	fi
	if [ -f "$res/rc" ]; then
		rc=$(cat "$res/rc")
		printf 'run.sh: %s: exit %s after %ss\n' "$ver" "$rc" "$took" >&2
		exit "$rc"
	fi
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		printf 'run.sh: %s: no result after KERNEL_TIMEOUT=%ss: qemu killed\n' "$ver" "$TMO" >&2
		exit 124
	fi
	printf 'run.sh: %s: the guest never reported an exit status (qemu exit %s after %ss)\n' \
		"$ver" "$qrc" "$took" >&2
	exit 125
}
main "$@"
