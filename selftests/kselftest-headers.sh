#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest-headers.sh TARBALL DESTDIR
#
# Extract the kselftest headers (kselftest.h, kselftest_harness.h and the
# local headers they include, transitively) from Debian's linux-source
# tarball into DESTDIR. Extracting is slow (the tarball is large), so the
# Makefile runs this once and keeps the result.
set -eu
tarball=$1
dest=$2
member=linux-source-6.1/tools/testing/selftests

[ -r "$tarball" ] || {
	echo "error: $tarball not found; run 'make deps' (linux-source-6.1)" >&2
	exit 1
}
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
want="kselftest.h kselftest_harness.h"
while [ -n "$want" ]; do
	members=
	for h in $want; do
		members="$members $member/$h"
	done
	# shellcheck disable=SC2086
	tar -xf "$tarball" -C "$tmp" --strip-components=4 $members
	# Headers they include with quotes and that we do not have yet.
	want=
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$tmp"/*.h | sort -u); do
		case $inc in
		*/*)
			echo "error: kselftest header includes $inc; not supported" >&2
			exit 1 ;;
		esac
		[ -e "$tmp/$inc" ] || want="$want $inc"
	done
done
rm -rf "$dest"
mv "$tmp" "$dest"
