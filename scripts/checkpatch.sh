#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over the kernel code, as one TAP line. The script
# comes from Debian's linux-source-6.1 tarball, extracted once to build/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
dir=$top/build/checkpatch
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
	[ -n "$tarball" ] || { echo "not ok 1 - checkpatch: linux-source-6.1 not installed (make deps)"; exit 1; }
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch || exit 1
fi
cd "$top"
if out=$("$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	-f kmod/*.c kmod/*.h kmod/uapi/linux/kvmft.h 2>&1 | grep -v '^total:'); [ -z "$out" ]; then
	echo "ok 1 - checkpatch --strict: kmod/ clean"
else
	echo "not ok 1 - checkpatch --strict: kmod/ clean"
	echo "$out" | sed 's/^/# /'
	exit 1
fi
