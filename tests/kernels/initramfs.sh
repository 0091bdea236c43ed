#!/usr/bin/env bash
# Builds the initramfs that boots a cached kernel (see fetch.sh) into the host's own root:
# busybox-static, tests/kernels/init as /init, and the modules /init needs before the root is
# there (virtio-pci, 9p, overlay: modules or built in depending on the kernel's config), taken
# in dependency order from the unpacked tree and decompressed, since busybox's insmod reads
# plain .ko only.
#
# Usage: initramfs.sh VERSION   Prints the path of the cpio.gz (in the cache, next to the tree).
# Rebuilt only when /init, busybox or the module list change.
set -euo pipefail

CACHE=${OBSBPF_KERNEL_CACHE:-/var/cache/obsbpf-kernels}
HERE=$(cd "$(dirname "$0")" && pwd)
ver=${1:?usage: initramfs.sh VERSION}
dir=$CACHE/$ver
tree=$dir/tree
BUSYBOX=${BUSYBOX:-/bin/busybox}
# What /init loads: the 9p transport and filesystem, virtio-pci under it, overlay for the root.
MODULES=(virtio_pci 9pnet_virtio 9p overlay)

[ -e "$dir/.ready" ] || { echo "initramfs: $ver is not in $CACHE (tests/kernels/fetch.sh)" >&2; exit 1; }
# The initramfs has no libc: busybox must be the static build (ldd says so).
[[ "$(ldd "$BUSYBOX" 2>&1 || true)" == *"not a dynamic executable"* ]] ||
	{ echo "initramfs: $BUSYBOX is not a static busybox (apt-get install busybox-static)" >&2; exit 1; }

# modprobe --show-depends prints "insmod PATH" in load order, "builtin NAME" for built-ins.
mods=()
for m in "${MODULES[@]}"; do
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		[[ " ${mods[*]} " == *" $path "* ]] || mods+=("$path")
	done < <(modprobe -d "$tree" -S "$ver" --show-depends "$m")
done

# One build at a time per kernel: concurrent runs share the cache.
exec 9>"$dir/.initramfs.lock"
flock 9
stamp=$( { sha256sum "$HERE/init" "$BUSYBOX" | cut -d' ' -f1; printf '%s\n' "${mods[@]}"; } | sha256sum | cut -d' ' -f1)
out=$dir/initramfs.cpio.gz
if [ -f "$out" ] && [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,modules,lower,rw,newroot,results}
cp "$BUSYBOX" "$work/bin/busybox"
cp "$HERE/init" "$work/init"
chmod 755 "$work/init"
: > "$work/modules/order"
for p in "${mods[@]}"; do
	name=$(basename "$p")
	case $name in
	*.ko.xz) xz -dc "$p" > "$work/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$p" > "$work/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz) gzip -dc "$p" > "$work/modules/${name%.gz}"; name=${name%.gz} ;;
	*) cp "$p" "$work/modules/$name" ;;
	esac
	echo "$name" >> "$work/modules/order"
done
# /dev/console must exist before /init runs: the kernel opens it for init's stdio.
mknod -m 600 "$work/dev/console" c 5 1
(cd "$work" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" > "$dir/initramfs.stamp"
echo "$out"
