# shellcheck shell=bash
# Shared by run.sh and matrix.sh (sourced).

# qemu's CPU for each accelerator. KVM: the host's CPU without IA32_ARCH_CAPABILITIES: nested
# under some hypervisors (a Firecracker VM of this kind) KVM refuses that MSR (0x10a) and qemu
# 7.2 aborts at the first vCPU reset; the guest boots with mitigations=off and has no use for it.
kernel_cpu() {
	case $1 in
	kvm) echo host,-arch-capabilities ;;
	*) echo max ;;
	esac
}

# kvm when qemu can start a vCPU with it, else tcg; KERNEL_ACCEL=kvm|tcg overrides. /dev/kvm
# opening is not enough (a nested KVM may refuse the vCPU's MSRs): a paused machine with one
# vCPU is created and quit at once, ~0.1 s. (`<>` on a missing path would create a file: -c first.)
kernel_accel() {
	if [ -n "${KERNEL_ACCEL:-}" ]; then
		echo "$KERNEL_ACCEL"
		return
	fi
	# PVM (kvm_pvm: KVM without hardware virtualization, for nested clouds) runs only kernels
	# built as PVM guests; in their decompressor Debian's 6.1 hangs and 6.12 stops with a KVM
	# emulation failure (measured).
	if [ -d /sys/module/kvm_pvm ]; then
		echo "kernels: /dev/kvm is PVM (kvm_pvm), which boots only PVM guest kernels: TCG" >&2
	elif [ -c /dev/kvm ] && { : <>/dev/kvm; } 2>/dev/null; then
		local err
		if err=$(echo quit | timeout 20 qemu-system-x86_64 -enable-kvm -cpu "$(kernel_cpu kvm)" -S \
			-display none -nodefaults -monitor stdio -m 64 2>&1 >/dev/null); then
			echo kvm
			return
		fi
		echo "kernels: /dev/kvm is there but qemu cannot run a vCPU with it (${err##*$'\n'}): TCG" >&2
	fi
	echo tcg
}
