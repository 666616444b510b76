#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the lab (lab/run): load the DKMS-installed module the way a
# host would, run every selftest (or the ones named), then unload and
# check nothing leaked.
# Prints TAP; lab/run adds the kernel-log line.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }

if modprobe kvmft && [ -c /dev/kvmft ]; then
	ok "lab: modprobe kvmft loads the DKMS module ($(modinfo -F filename kvmft))"
else
	not_ok "lab: modprobe kvmft"
fi

# One hung program fails on its own, well before lab/run's limit.
KVMFT_TEST_TIMEOUT=${KVMFT_TEST_TIMEOUT:-600} "$top/selftests/kvmft/run_tests.sh" "$@"
rc=$?

# Back to a module with nothing attached: every object must be gone.
# Objects go in RCU callbacks: allow them a moment.
modprobe kvmft
i=0
live=$(cat /sys/kernel/debug/kvmft/live_objects 2>/dev/null)
while [ "$live" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
	live=$(cat /sys/kernel/debug/kvmft/live_objects 2>/dev/null)
done
[ "$live" = 0 ] && ok "lab: no live kvmft objects after the tests" ||
	not_ok "lab: no live kvmft objects after the tests (live_objects=$live)"
rmmod kvmft && ok "lab: rmmod kvmft" || not_ok "lab: rmmod kvmft"
dmesg | grep -q 'kvmft: .*leaked' && not_ok "lab: kvmft reported a leak at unload" ||
	ok "lab: no leak reported at unload"
exit $rc
