#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the controller's failover times and logging bandwidth
# (ctl/tests/netns_bench.sh, on this machine); then build the module and
# exit_bench, boot the lab and measure what kvmft costs a VM there
# (scripts/bench-guest.sh), side by side in one run. BENCH_ITERS,
# BENCH_ROUNDS and BENCH_FAILOVERS pass through.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
# shellcheck source=scripts/host-lock.sh
. "$top/scripts/host-lock.sh"
host_lock bench
echo "== bench: the controller (ftd between two namespaces, no KVM)"
make -s -C ctl bench
echo "== bench: building kvmft.ko and exit_bench"
make -s module selftests
echo "== bench: booting the lab"
exec lab/run --out "$top/build/bench" -- env BENCH_ITERS="${BENCH_ITERS:-20000}" \
	BENCH_ROUNDS="${BENCH_ROUNDS:-3}" scripts/bench-guest.sh
