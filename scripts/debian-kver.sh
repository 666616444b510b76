#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# debian-kver.sh [SERIES | --all]
#
# Print the release of a Debian 12 kernel the module is built for and the
# lab boots:
#   (none)   Debian's default, the one linux-headers-amd64 depends on
#            (e.g. 6.1.0-57-amd64)
#   SERIES   e.g. 6.12: the one linux-headers-SERIES-amd64 depends on, else
#            the newest installed linux-headers-SERIES.*-amd64
#   --all    every supported kernel installed (the default, then 6.12),
#            one a line: what make check, DKMS and the KVM selftests cover
# A kernel counts as installed when its headers and /boot/vmlinuz are.
set -e
SERIES="6.12"	# supported besides the default; make deps installs them

dep_of() {
	dpkg-query -W -f='${Depends}' "$1" 2>/dev/null |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p' | head -n1
}

series() {
	k=$(dep_of "linux-headers-$1-amd64")
	[ -n "$k" ] || k=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		"linux-headers-$1.*-amd64" 2>/dev/null |
		sed -n "s/^ii *linux-headers-\($1\.[0-9][^ ]*-amd64\)\$/\1/p" |
		sort -V | tail -n1)
	[ -n "$k" ] && echo "$k"
}

installed() { [ -d "/lib/modules/$1/build" ] && [ -r "/boot/vmlinuz-$1" ]; }

case ${1:-} in
'')
	k=$(dep_of linux-headers-amd64)
	[ -n "$k" ] || {
		echo "linux-headers-amd64 is not installed; run 'make deps'" >&2
		exit 1
	}
	echo "$k" ;;
--all)
	"$0"
	for s in $SERIES; do
		k=$(series "$s") && installed "$k" && echo "$k"
	done
	: ;;
*.*)
	k=$(series "$1") || {
		echo "no Debian $1 kernel headers installed; run 'make deps'" >&2
		exit 1
	}
	echo "$k" ;;
*)
	echo "usage: debian-kver.sh [SERIES | --all]" >&2
	exit 2 ;;
esac
