#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs each unit test binary given as an argument and prints one TAP stream:
# each binary is a test point whose own TAP output is indented beneath it
# (a TAP 14 subtest). Ends with "N passed, N failed, N skipped" over the
# individual checks, and exits non-zero if any check or binary failed.

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0 failed=0 skipped=0 n=0 bad=0

echo "TAP version 13"
echo "1..$#"
for t in "$@"; do
	n=$((n + 1))
	name=$(basename "$t")
	"$t" >"$out" 2>&1
	rc=$?
	sed 's/^/    /' "$out"
	p=$(grep -c '^ok ' "$out")
	s=$(grep -c '^ok .*# SKIP' "$out")
	f=$(grep -c '^not ok ' "$out")
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ]; then
		# A crash or a short plan with no failed check still fails.
		[ "$f" -eq 0 ] && failed=$((failed + 1))
		echo "not ok $n - $name (exit $rc)"
		bad=1
	else
		echo "ok $n - $name"
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $bad
