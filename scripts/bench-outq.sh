#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the lab (scripts/bench.sh): what the output rule costs, in
# one run against the same tap with and without kvmft holding it
# (selftests/kvmft/outq_bench.c): a genl ack against an ioctl ack,
# throughput held-and-acked against plain for 64- and 1500-byte frames,
# and the latency the rule adds beyond the ack's round trip.
#   BENCH_OUTQ_PKTS     frames per throughput run (default 20000)
#   BENCH_OUTQ_SAMPLES  latency samples (default 500)
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
bench=$top/selftests/kvmft/outq_bench
die() { echo "bench-outq: $*" >&2; exit 1; }

[ -x "$bench" ] || die "$bench is not built (make selftests)"
# This tree's module for the booted kernel, as bench-guest.sh finds it.
ko=$top/kvmft.ko
[ "$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)" = "$(uname -r)" ] ||
	ko=$(modinfo -F filename kvmft 2>/dev/null)
[ -n "$ko" ] && [ -f "$ko" ] ||
	die "no kvmft.ko for $(uname -r) (make module KVER=$(uname -r), or make dkms-install)"
if [ -d /sys/module/kvmft ]; then
	rmmod kvmft || die "kvmft is loaded and cannot be unloaded"
fi
insmod "$ko" || die "insmod $ko failed"
trap 'rmmod kvmft 2>/dev/null' EXIT
trap 'exit 1' INT TERM
echo "kvmft bench: the output rule, a tap on a bridge to a veth in a namespace."
echo "In the lab (QEMU TCG) absolute numbers are far from hardware's: read the ratios."
"$bench" -p "${BENCH_OUTQ_PKTS:-20000}" -l "${BENCH_OUTQ_SAMPLES:-500}" |
	grep -v '^# +' || die "outq_bench failed"
