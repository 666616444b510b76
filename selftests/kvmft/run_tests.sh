#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [TEST...]
#
# Run every kvmft selftest in this directory (the *_test binaries and the
# *_test.sh scripts), or just the ones named, printing their TAP output
# unchanged. Then print "# N skipped" and the summary line
# "N passed, N failed" (counted over the tests' TAP results; a program that
# fails without reporting a failed test counts as one failure). Exits
# non-zero if anything failed.
#
# KVMFT_TEST_TIMEOUT (seconds, default 1800) bounds each program. Each
# program's output is shown as it comes.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
timeout=${KVMFT_TEST_TIMEOUT:-1800}

# A test that is there but cannot run (a script that lost its +x) fails:
# it would otherwise be left out without a word.
notexec=
if [ $# -eq 0 ]; then
	set --
	for t in "$dir"/*_test "$dir"/*_test.sh; do
		[ -f "$t" ] || continue
		if [ -x "$t" ]; then
			set -- "$@" "$t"
		else
			notexec="$notexec $(basename "$t")"
		fi
	done
fi
[ $# -gt 0 ] || { echo "run_tests.sh: no tests in $dir" >&2; exit 1; }

pass=0 fail=0 skip=0
for t in $notexec; do
	echo "not ok - $t: not executable"
	fail=$((fail + 1))
done
out=$(mktemp) || exit 1
rcf=$(mktemp) || exit 1
trap 'rm -f "$out" "$rcf"' EXIT
for t in "$@"; do
	case $t in */*) ;; *) t=$dir/$t ;; esac
	echo "# selftests: kvmft: $(basename "$t")"
	{ timeout --kill-after=10 "$timeout" "$t" 2>&1; echo $? >"$rcf"; } | tee "$out"
	rc=$(cat "$rcf")
	# Top-level TAP results only; subtests are indented.
	p=$(grep -c -E '^ok [0-9]+' "$out" | tr -d ' ')
	s=$(grep -c -E '^ok [0-9]+.*# *SKIP' "$out" | tr -d ' ')
	f=$(grep -c -E '^not ok [0-9]+' "$out" | tr -d ' ')
	# A whole-program skip ("1..0 # SKIP") is one skipped test.
	if grep -q -E '^1\.\.0 # *SKIP' "$out"; then
		s=$((s + 1))
		p=$((p + 1))
	fi
	p=$((p - s))
	case $rc in
	0) ;;
	4) [ "$s" -gt 0 ] || s=$((s + 1)) ;;	# KSFT_SKIP
	124 | 137) echo "not ok - $(basename "$t"): timed out after ${timeout}s"
	   f=$((f + 1)) ;;
	*) [ "$f" -gt 0 ] || {
		echo "not ok - $(basename "$t"): exited with $rc"
		f=$((f + 1))
	   } ;;
	esac
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
echo "# $skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
