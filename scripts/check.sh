#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: everything that can be tested, in order of cost.
#   1. build (module with W=1, userspace with -Werror)
#   2. checkpatch --strict on kmod/; unit tests of ctl/ on this machine,
#      under ASan/UBSan
#   3. DKMS add/build/install for the Debian kernel
#   4. the lab's own tests (boots the lab)
#   5. the selftests inside the lab, with the DKMS module
# Every step writes TAP to build/check/*.tap; the last line is the summary.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
out=$top/build/check
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)

say() { echo "== check: $* ($(($(date +%s) - start))s)" >&2; }

# A step that is not itself TAP becomes one TAP line.
tap_step() {
	name=$1 file=$2
	shift 2
	if "$@" >"$out/$file.log" 2>&1; then
		echo "ok 1 - $name" >"$out/$file.tap"
	else
		{ echo "not ok 1 - $name"; tail -n 30 "$out/$file.log" | sed 's/^/# /'; } >"$out/$file.tap"
	fi
	cat "$out/$file.tap"
}

say "build"
tap_step "build: module (W=1), bpf, ctl, selftests" build make -s all
if grep -q '^not ok' "$out/build.tap"; then
	scripts/tap-summary.sh "$out"/*.tap
	exit 1
fi
grep -E 'warning:' "$out/build.log" && {
	echo "not ok 1 - build: warning free" >"$out/build-warn.tap"
	cat "$out/build-warn.tap"
}

say "checkpatch"
scripts/checkpatch.sh | tee "$out/checkpatch.tap"

say "unit tests (ctl, ASan/UBSan)"
make -s -C ctl test 2>&1 | tee "$out/unit.tap"

say "DKMS"
scripts/dkms.sh --tap | tee "$out/dkms.tap"

say "lab self-tests"
lab/tests/lab_test.sh 2>&1 | tee "$out/lab-self.tap"

say "selftests in the lab"
lab/run --out "$out/lab" -- scripts/lab-selftests.sh 2>&1 |
	tr -d '\r' | tee "$out/lab.raw"
# Only the TAP that the guest wrote counts, not the console chatter.
cat "$out/lab/log" "$out/lab/kernel-log.tap" >"$out/lab.tap" 2>/dev/null ||
	echo "not ok 1 - lab: selftests produced no results (guest crashed?)" >"$out/lab.tap"

say "done"
scripts/tap-summary.sh "$out"/*.tap
