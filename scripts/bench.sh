#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the controller's failover times and logging bandwidth
# (ctl/tests/netns_bench.sh, on this machine); then build the module and
# exit_bench, boot the lab and measure what kvmft costs a VM there
# (scripts/bench-guest.sh), side by side in one run, and what the output
# rule costs a tap (scripts/bench-outq.sh). BENCH_ITERS, BENCH_ROUNDS,
# BENCH_FAILOVERS and BENCH_OUTQ_* pass through.
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
	BENCH_ROUNDS="${BENCH_ROUNDS:-3}" \
	BENCH_OUTQ_PKTS="${BENCH_OUTQ_PKTS:-20000}" \
	BENCH_OUTQ_SAMPLES="${BENCH_OUTQ_SAMPLES:-500}" \
	sh -c 'scripts/bench-guest.sh && scripts/bench-outq.sh'
