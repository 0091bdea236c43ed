# shellcheck shell=bash
# Shared by run.sh and matrix.sh (sourced).

# kvm when /dev/kvm opens (being there is not enough: permissions, a container's device list),
# else tcg; KERNEL_ACCEL=kvm|tcg overrides. (`<>` on a missing path would create a file: -c first.)
kernel_accel() {
	if [ -n "${KERNEL_ACCEL:-}" ]; then
		echo "$KERNEL_ACCEL"
	elif [ -c /dev/kvm ] && { : <>/dev/kvm; } 2>/dev/null; then
		echo kvm
	else
		echo tcg
	fi
}
