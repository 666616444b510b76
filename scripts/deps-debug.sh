#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install what `make check-debug` needs on top of `make deps`: the tools to
# build a kernel from Debian's linux-source-6.1 (pahole from dwarves for its
# BTF). Idempotent and quiet when everything is already there.
set -e
PKGS="build-essential bc bison flex libssl-dev libelf-dev dwarves rsync cpio
 kmod xz-utils patch python3 linux-source-6.1 dkms qemu-system-x86 busybox-static"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps-debug: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps-debug: need root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
