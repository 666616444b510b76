#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel release that Debian's linux-headers-amd64 depends on,
# e.g. 6.1.0-56-amd64. The module is built for it and the lab boots it.
set -e
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || {
	echo "linux-headers-amd64 is not installed; run 'make deps'" >&2
	exit 1
}
echo "$dep" | sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p' | head -n1
