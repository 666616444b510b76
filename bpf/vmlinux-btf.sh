#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vmlinux-btf.sh OUT [KVER]
#
# Write the raw BTF of a kernel to OUT, for `bpftool btf dump` to turn into
# vmlinux.h. The programs run on Debian's kernel (the lab boots it), and the
# machine that builds them may run another one, so the BTF is taken, in
# order of preference, from:
#
#   1. $BTF, if set: a raw BTF file or an ELF image with a .BTF section;
#   2. /boot/vmlinuz-KVER: the bzImage's compressed payload is the ELF
#      vmlinux with its .BTF section (only symbols and debug info are
#      stripped), so it is decompressed and .BTF cut out of it;
#   3. /sys/kernel/btf/vmlinux, the running kernel's, with a warning.
#
# Any of them works at run time because the programs use only CO-RE
# relocatable accesses; the choice only decides which kernel's type names
# vmlinux.h offers at compile time.
set -eu

out=${1:?usage: vmlinux-btf.sh OUT [KVER]}
kver=${2:-}
tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.elf"' EXIT

note() { echo "vmlinux-btf: $*" >&2; }

valid_btf() {
	bpftool btf dump file "$1" format raw 2>/dev/null | head -n1 | grep -q .
}

# Little-endian unsigned integer of $3 bytes at offset $2 of file $1.
le() {
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}

# Decompress the payload of bzImage $1 to $2. The kernel appends its own
# size after every payload, hence the tolerance of trailing bytes (zstd,
# Debian's 6.12, has none: the size is cut off).
bzimage_payload() {
	[ "$(od -An -c -j 514 -N 4 "$1" | tr -d ' ')" = HdrS ] || return 1
	setup=$(le "$1" 497 1)
	[ "$setup" != 0 ] || setup=4
	start=$(((setup + 1) * 512 + $(le "$1" 584 4)))
	len=$(le "$1" 588 4)
	magic=$(od -An -tx1 -j "$start" -N 4 "$1" | tr -d ' ')
	payload() { tail -c +$((start + 1)) "$1" | head -c "$len"; }
	case $magic in
	fd377a58) payload "$1" | xz -dc --single-stream >"$2" ;;
	1f8b*) payload "$1" | gzip -dc >"$2" 2>/dev/null || [ $? = 2 ] ;;
	28b52ffd) payload "$1" | head -c $((len - 4)) | zstd -qdc >"$2" ;;
	*) note "$1: unsupported payload compression (magic $magic)"; return 1 ;;
	esac
}

from_elf() {
	objcopy -O binary --only-section=.BTF "$1" "$2" 2>/dev/null &&
		[ -s "$2" ] && valid_btf "$2"
}

if [ -n "${BTF:-}" ]; then
	if valid_btf "$BTF"; then
		cp "$BTF" "$tmp"
	else
		from_elf "$BTF" "$tmp" || { note "BTF=$BTF holds no usable BTF"; exit 1; }
	fi
	note "using BTF=$BTF"
elif [ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] &&
	bzimage_payload "/boot/vmlinuz-$kver" "$tmp.elf" &&
	from_elf "$tmp.elf" "$tmp"; then
	note "using the BTF of /boot/vmlinuz-$kver"
elif valid_btf /sys/kernel/btf/vmlinux; then
	note "warning: no BTF for '${kver:-?}' from /boot; using the running kernel's ($(uname -r))"
	cp /sys/kernel/btf/vmlinux "$tmp"
else
	note "no kernel BTF found (set BTF=FILE)"
	exit 1
fi
mv "$tmp" "$out"
