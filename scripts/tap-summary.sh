#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Count top-level TAP results in the given files and print the one summary
# line: "N passed, N failed, N skipped". Exits 1 if anything failed or
# nothing ran at all.
awk '
/^ok / { if ($0 ~ /# *SKIP/) skip++; else pass++; next }
/^not ok / { if ($0 ~ /# *(SKIP|TODO)/) skip++; else { fail++; print "FAILED: " FILENAME ": " $0 } }
END {
	printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
	exit (fail > 0 || pass + fail == 0)
}' "$@"
