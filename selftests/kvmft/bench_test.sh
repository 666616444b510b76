#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench` in small: scripts/bench-guest.sh with few iterations must
# print every configuration with a ratio, and the exit counts must show
# what each configuration is (RDTSC exits only when attached with a role).
# It measures nothing; the numbers are the benchmark's, not a test's.
. "$(dirname "$0")/tap.sh"
tap_plan 5
bench_guest=$top/scripts/bench-guest.sh

if ! need_root_kvm || ! { [ -f "$top/kvmft.ko" ] || modinfo kvmft >/dev/null 2>&1; } ||
   ! [ -x "$here/exit_bench" ]; then
	for t in runs table baseline-no-tsc-exits primary-tsc-exits outq; do
		skip "$t" "needs root, /dev/kvm, kvmft.ko and exit_bench built (make)"
	done
	exit 0
fi
was_loaded=
[ -d /sys/module/kvmft ] && was_loaded=1

BENCH_ITERS=300 BENCH_ROUNDS=1 "$bench_guest" >"$work/bench.out" 2>&1
st=$?
sed 's/^/# /' "$work/bench.out"
BENCH_OUTQ_PKTS=640 BENCH_OUTQ_SAMPLES=20 "$top/scripts/bench-outq.sh" >"$work/outq.out" 2>&1
st_outq=$?
sed 's/^/# /' "$work/outq.out"
[ -n "$was_loaded" ] && modprobe kvmft
check "runs: bench-guest.sh exits 0" test $st = 0
check "table: every configuration has a ratio" sh -c "
	for c in baseline loaded armed attached primary backup; do
		grep -qE \"^\$c +[0-9.]+ +[0-9.]+ +[0-9.]+x\$\" '$work/bench.out' || exit 1
	done"
# exits/iter: 1 IN for an unattached VM, 1 IN + 1 RDTSC when recording.
per_iter() { awk -v c="$1" '$1 == c { print $3 }' "$work/bench.out"; }
check "baseline-no-tsc-exits: baseline makes < 1.5 exits per iteration ($(per_iter baseline))" \
	awk -v v="$(per_iter baseline)" 'BEGIN { exit !(v != "" && v < 1.5) }'
check "primary-tsc-exits: primary makes >= 2 exits per iteration ($(per_iter primary))" \
	awk -v v="$(per_iter primary)" 'BEGIN { exit !(v != "" && v >= 2) }'
check "outq: bench-outq.sh gives the ack costs, both ratios and the added latency" sh -c "
	test $st_outq = 0 &&
	for m in ack_genl ack_ioctl tput_ratio_64 tput_ratio_1500 latency_added; do
		grep -qE \"^outq \$m -?[0-9.]+ \" '$work/outq.out' || exit 1
	done"
