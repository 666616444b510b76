#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over the kernel code, one TAP line per kernel
# series: the script of each Debian linux-source installed (6.1, 6.12;
# newer ones check more), extracted once to build/checkpatch/SERIES/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top" || exit 1
n=0 failed=0
tarballs=$(ls /usr/src/linux-source-*.tar.* 2>/dev/null)
if [ -z "$tarballs" ]; then
	echo "not ok 1 - checkpatch: no linux-source installed (make deps)"
	exit 1
fi
for tarball in $tarballs; do
	series=$(basename "$tarball" | sed 's/^linux-source-\(.*\)\.tar\..*/\1/')
	dir=$top/build/checkpatch/$series
	n=$((n + 1))
	if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
		mkdir -p "$dir"
		tar -xf "$tarball" -C "$dir" --strip-components=1 \
			"linux-source-$series/scripts/checkpatch.pl" \
			"linux-source-$series/scripts/spelling.txt" \
			"linux-source-$series/scripts/const_structs.checkpatch" || {
			echo "not ok $n - checkpatch $series: cannot extract it from $tarball"
			failed=1
			continue
		}
	fi
	# shellcheck disable=SC2046
	if out=$("$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		-f kmod/*.c kmod/*.h kmod/compat/compat.[ch] kmod/uapi/linux/kvmft.h \
		$(ls kmod/compat/probes/*.c 2>/dev/null) 2>&1 | grep -v '^total:'); [ -z "$out" ]; then
		echo "ok $n - checkpatch --strict ($series): kmod/ clean"
	else
		echo "not ok $n - checkpatch --strict ($series): kmod/ clean"
		echo "$out" | sed 's/^/# /'
		failed=1
	fi
done
exit $failed
