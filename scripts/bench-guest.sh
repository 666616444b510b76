#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the lab (scripts/bench.sh): what kvmft costs a VM, measured
# side by side. Each round runs selftests/kvmft/exit_bench once without
# kvmft (baseline) and once with this tree's kvmft.ko (loaded, armed,
# attached, primary, backup); the table shows each configuration's median
# time and exit count per iteration, and the time's ratio to the baseline's.
#   BENCH_ITERS   guest iterations per configuration (default 20000)
#   BENCH_ROUNDS  rounds (default 3)
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
iters=${BENCH_ITERS:-20000}
rounds=${BENCH_ROUNDS:-3}
bench=$top/selftests/kvmft/exit_bench
die() { echo "bench: $*" >&2; exit 1; }

[ -x "$bench" ] || die "$bench is not built (make selftests)"
# This tree's module for the booted kernel: ./kvmft.ko if built for it,
# else the installed one (make check installs this tree's with DKMS for
# every kernel it tests, and ./kvmft.ko is only the first kernel's).
ko=$top/kvmft.ko
[ "$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)" = "$(uname -r)" ] ||
	ko=$(modinfo -F filename kvmft 2>/dev/null)
[ -n "$ko" ] && [ -f "$ko" ] ||
	die "no kvmft.ko for $(uname -r) (make module KVER=$(uname -r), or make dkms-install)"
if [ -d /sys/module/kvmft ]; then
	rmmod kvmft || die "kvmft is loaded and cannot be unloaded"
fi
raw=$(mktemp /tmp/kvmft-bench.XXXXXX)
trap 'rm -f "$raw"; rmmod kvmft 2>/dev/null' EXIT
trap 'exit 1' INT TERM	# dash runs the EXIT trap only on a normal exit

r=1
while [ "$r" -le "$rounds" ]; do
	echo "# round $r of $rounds: $iters iterations per configuration" >&2
	"$bench" --iters "$iters" >>"$raw" || die "exit_bench failed without kvmft"
	insmod "$ko" || die "insmod $ko failed"
	"$bench" --iters "$iters" >>"$raw" || die "exit_bench failed with kvmft"
	rmmod kvmft || die "rmmod kvmft failed"
	r=$((r + 1))
done

echo "kvmft bench: checksum guest, 1 RDTSC + 1 IN per iteration, $iters iterations,"
echo "median of $rounds rounds. In the lab (nested KVM under QEMU TCG) absolute"
echo "times are far from hardware's: read the ratios."
awk -v order="baseline loaded armed attached primary backup" -v iters="$iters" '
function median(a, name,    n, i, j, t, v) {
	n = cnt[name]
	for (i = 1; i <= n; i++)
		v[i] = a[name, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
NF == 3 { cnt[$1]++; ns[$1, cnt[$1]] = $2; exits[$1, cnt[$1]] = $3 }
END {
	split(order, names, " ")
	if (!cnt["baseline"]) { print "bench: no baseline measured" > "/dev/stderr"; exit 1 }
	base = median(ns, "baseline")
	printf "%-10s %12s %12s %12s\n", "config", "ns/iter", "exits/iter", "vs baseline"
	for (k = 1; k in names; k++) {
		c = names[k]
		if (!cnt[c]) { printf "%-10s %12s\n", c, "missing"; bad = 1; continue }
		m = median(ns, c)
		printf "%-10s %12.1f %12.2f %11.2fx\n", c, m, median(exits, c) / iters, m / base
	}
	exit bad
}' "$raw"
