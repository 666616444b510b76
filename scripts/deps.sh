#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package the build, the lab and the tests need.
# Idempotent and quiet when everything is already there. Two kernels
# (docs/kernels.md): Debian 12's default 6.1 and its 6.12, image, headers
# and source each (the 6.12 ones come from bookworm-security, which a
# Debian 12 host already lists).
set -e
PKGS="build-essential make gcc clang llvm pkg-config kmod cpio xz-utils zstd
 linux-image-amd64 linux-headers-amd64 linux-source-6.1 dkms
 linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
 qemu-system-x86 busybox-static iproute2 rsync dmsetup
 libnl-3-dev libnl-genl-3-dev libbpf-dev bpftool libelf-dev zlib1g-dev
 libasan8 libubsan1"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install packages" >&2
	exit 1
fi
# A kernel's postinst runs DKMS for it: not under another run's lab.
# shellcheck source=scripts/host-lock.sh
. "$(dirname "$0")/host-lock.sh"
host_lock deps
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
