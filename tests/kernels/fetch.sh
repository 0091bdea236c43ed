#!/usr/bin/env bash
# Prepares Debian's own kernels for tests/kernels/run.sh: the newest linux-image-6.1.0-*-amd64 and
# linux-image-6.12.*+deb12-amd64 (unsigned) that apt offers, downloaded and unpacked into the
# cache ($OBSBPF_KERNEL_CACHE, default /var/cache/obsbpf-kernels), never installed: nothing goes
# to /boot and dpkg's database stays untouched.
#
# Usage: fetch.sh [SERIES...]   (SERIES: 6.1, 6.12; default both)
# Prints the prepared kernel versions (uname -r), one a line, on stdout; progress on stderr.
# Idempotent: a version the cache holds is not fetched again.
set -euo pipefail

CACHE=${OBSBPF_KERNEL_CACHE:-/var/cache/obsbpf-kernels}
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)

say() { echo "fetch: $*" >&2; }

# The package name regex of each series; flavours (cloud, rt) are other packages, left out.
pkg_regex() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	*) say "unknown series '$1' (known: 6.1 6.12)"; return 1 ;;
	esac
}

# Newest package of the series that has an installable candidate (the lists can name packages
# whose archive has moved on).
newest_pkg() {
	local p
	for p in $(apt-cache search --names-only "$1" | awk '{ print $1 }' | sort -rV); do
		apt-cache policy "$p" | grep -q 'Candidate: (none)' || { echo "$p"; return 0; }
	done
	return 1
}

# An offline machine still runs what the cache already holds: the newest cached version.
cached_version() {
	local glob
	case $1 in
	6.1) glob='6.1.0-*-amd64' ;;
	6.12) glob='6.12.*+deb12-amd64' ;;
	esac
	(cd "$CACHE" 2>/dev/null && for d in $glob; do [ -e "$d/.ready" ] && echo "$d"; done) |
		sort -V | tail -n 1
}

prepare() { # PACKAGE VERSION
	local pkg=$1 ver=$2 dir=$CACHE/$2 tmp
	[ -e "$dir/.ready" ] && return 0
	say "downloading $pkg"
	rm -rf "$dir"
	mkdir -p "$dir"
	tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
	# apt-get download writes into the cwd; as root it warns that _apt cannot write there.
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -q "$pkg" >&2)
	dpkg-deb -x "$tmp"/*.deb "$dir/tree"
	rm -rf "$tmp"
	# Bookworm's packages ship /lib/modules; depmod -b wants BASE/lib/modules/VERSION.
	[ -d "$dir/tree/lib/modules/$ver" ] || { say "$pkg: no lib/modules/$ver in the package"; return 1; }
	[ -f "$dir/tree/boot/vmlinuz-$ver" ] || { say "$pkg: no boot/vmlinuz-$ver in the package"; return 1; }
	depmod -b "$dir/tree" "$ver"
	touch "$dir/.ready"
}

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null && command -v depmod >/dev/null ||
	{ say "needs apt-get, dpkg-deb and depmod (kmod): deploy/install-deps.sh --kernels"; exit 1; }
mkdir -p "$CACHE"
# Two runs preparing the same kernel at once would unpack over each other.
exec 9>"$CACHE/.lock"
flock 9

updated=
for s in "${series[@]}"; do
	re=$(pkg_regex "$s")
	pkg=$(newest_pkg "$re") || pkg=
	if [ -z "$pkg" ] && [ -z "$updated" ] && [ "$(id -u)" -eq 0 ]; then
		say "no $s kernel in the apt lists: apt-get update"
		apt-get update -qq >&2 || true
		updated=1
		pkg=$(newest_pkg "$re") || pkg=
	fi
	if [ -z "$pkg" ]; then
		ver=$(cached_version "$s")
		[ -n "$ver" ] || { say "no $s kernel offered by apt and none cached in $CACHE"; exit 1; }
		say "apt offers no $s kernel; using the cached $ver"
		echo "$ver"
		continue
	fi
	ver=${pkg#linux-image-}
	ver=${ver%-unsigned}
	if ! prepare "$pkg" "$ver"; then
		# A failed download (offline) falls back to what the cache has.
		rm -rf "${CACHE:?}/$ver"
		old=$(cached_version "$s")
		[ -n "$old" ] || { say "could not prepare $pkg"; exit 1; }
		say "could not prepare $pkg; using the cached $old"
		ver=$old
	fi
	echo "$ver"
done
