#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# linux-guest.sh [--kver KVER] [--out DIR]
#
# Build what a contract Linux guest (DESIGN §6) needs, for
# selftests/kvmft/linux_guest.sh:
#   DIR/vmlinuz        Debian's kernel from /boot (KVER: $LINUX_GUEST_KVER,
#                      else scripts/debian-kver.sh's default)
#   DIR/initramfs.cpio busybox-static, the modules that `modprobe -a
#                      --show-depends ata_piix sd_mod ne2k-pci` lists, and
#                      scripts/linux-guest-init as /init
#   DIR/disk.img       16 MiB raw disk; its first 4 MiB a known pattern
#   DIR/cmdline        the kernel command line (libata.dma=0: ata_piix
#                      otherwise uses bus-master DMA)
#   DIR/expect         what the guest must print: read= (md5 of the first
#                      4 MiB of the disk)
# DIR defaults to build/linux-guest/KVER. Rebuilt only when an input
# changed; prints DIR. Needs no root and no lab: runs on the build machine,
# and in the lab (where the repository is read-only) with --out elsewhere.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
die() {
	echo "linux-guest: $*" >&2
	exit 1
}
kver=${LINUX_GUEST_KVER:-} out=
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) echo "usage: linux-guest.sh [--kver KVER] [--out DIR]" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] || kver=$("$top/scripts/debian-kver.sh") || die "cannot tell KVER"
[ -n "$out" ] || out=$top/build/linux-guest/$kver
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || die "$vmlinuz not found (make deps)"
busybox=$(command -v busybox) || die "busybox not found; install busybox-static"
# A dynamically linked busybox would need its libraries in the initramfs.
file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked' &&
	die "$busybox is dynamically linked; install busybox-static"
init=$top/scripts/linux-guest-init
mods=$(modprobe -S "$kver" -a --show-depends ata_piix sd_mod ne2k-pci) ||
	die "cannot list the guest's modules for $kver"
mods=$(echo "$mods" | awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
cmdline="console=ttyS0 libata.dma=0 panic=-1 lg.ip=10.77.0.2/24 lg.host=10.77.0.1 lg.loops=20000"

# The key: every input's name, size and time, this script and the init.
# shellcheck disable=SC2086
key=$({ cat "$0" "$init"; echo "$cmdline"; stat -L -c "%n %s %Y" "$vmlinuz" "$busybox" $mods; } | cksum)
if [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$out" 2>/dev/null || die "cannot create $out"
[ -w "$out" ] || die "$out is stale and not writable (read-only repository? use --out)"
stage=$(mktemp -d "$out/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/root/bin" "$stage/root/mod" "$stage/root/tmp" "$stage/root/dev" \
	"$stage/root/kproc"
cp "$busybox" "$stage/root/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/root/bin/$a"
done
cp "$init" "$stage/root/init"
chmod 755 "$stage/root/init"
i=10
for f in $mods; do
	d=$stage/root/mod/$i-$(basename "$f" | sed 's/\.ko.*/.ko/')
	case $f in
	*.xz) xz -dc "$f" >"$d" ;;
	*.gz) gzip -dc "$f" >"$d" ;;
	*.zst) zstd -qdc "$f" >"$d" ;;
	*) cp "$f" "$d" ;;
	esac
	i=$((i + 1))
done
(cd "$stage/root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$stage/initramfs.cpio"

# The disk: a pattern the guest reads back (4 MiB), room to write (at 8 MiB).
seq 1 2000000 | head -c 4194304 >"$stage/disk.img"
truncate -s 16M "$stage/disk.img"
read_md5=$(head -c 4194304 "$stage/disk.img" | md5sum | cut -d' ' -f1)

cp "$vmlinuz" "$stage/vmlinuz"
echo "$cmdline" >"$stage/cmdline"
echo "read=$read_md5" >"$stage/expect"
for f in vmlinuz initramfs.cpio disk.img cmdline expect; do
	mv "$stage/$f" "$out/$f"
done
echo "$key" >"$out/key"
echo "$out"
