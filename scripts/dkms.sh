#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Add, build and install this tree's module with DKMS for every kernel in
# $KVERS (else $KVER, else Debian's default), side by side, replacing any
# earlier kvmft version, so `modprobe kvmft` loads it on each. With --tap,
# report each step as a TAP line instead of stopping at the first failure.
# Not under a running lab (scripts/host-lock.sh: make check holds it).
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
kvers=${KVERS:-${KVER:-$("$top/scripts/debian-kver.sh")}}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
tap=0
[ "${1:-}" = --tap ] && tap=1
n=0 failed=0
log=$top/build/dkms.log
mkdir -p "$top/build"
: >"$log"

step() {
	name=$1
	shift
	n=$((n + 1))
	if "$@" >>"$log" 2>&1; then
		[ $tap = 1 ] && echo "ok $n - dkms: $name"
		return 0
	fi
	failed=1
	if [ $tap = 1 ]; then
		echo "not ok $n - dkms: $name"
		tail -n 20 "$log" | sed 's/^/# /'
	else
		echo "dkms: $name failed; see $log" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
}

# dkms copies the source tree into /usr/src/kvmft-$ver; give it a clean
# copy without build output, and drop whatever version was there.
src=/usr/src/kvmft-$ver
remove_old() {
	dkms status -m kvmft 2>/dev/null | sed -n 's/^kvmft\/\([^,:]*\).*/\1/p' |
		sort -u | while read -r v; do
			dkms remove -m kvmft -v "$v" --all || true
		done
	rm -rf "$src"
}
copy_src() {
	mkdir -p "$src" &&
		(cd "$top" && tar -cf - Kbuild Makefile dkms.conf kmod scripts) |
		tar -xf - -C "$src" &&
		find "$src" -name '*.o' -o -name '.*.cmd' -o -name '*.ko' \
			-o -name generated.h | xargs rm -f
}
step "remove earlier versions" remove_old
step "copy source to $src" copy_src
step "add kvmft/$ver" dkms add -m kvmft -v "$ver"
# DKMS builds each kernel's module in its own tree, after a clean.
for kver in $kvers; do
	step "build for $kver" dkms build -m kvmft -v "$ver" -k "$kver"
	step "install for $kver" dkms install -m kvmft -v "$ver" -k "$kver" --force
	step "modinfo finds the DKMS module for $kver" sh -c "modinfo -k '$kver' kvmft | grep -q '^filename:.*updates/dkms/kvmft.ko'"
done
[ $tap = 1 ] || echo "dkms: kvmft $ver installed for $kvers"
exit $failed
