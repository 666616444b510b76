#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: everything that can be tested, in order of cost.
#   1. build (module with W=1, userspace with -Werror)
#   2. checkpatch --strict on kmod/; unit tests of ctl/ on this machine,
#      under ASan/UBSan; ftd between network namespaces (no KVM needed)
#   3. DKMS add/build/install for the Debian kernel
#   4. the lab's own tests (boots the lab)
#   5. the selftests inside the lab, with the DKMS module
# Every step writes TAP to build/check/*.tap; the last line is the summary.
#
# make check-debug (scripts/check-debug.sh) runs this same pipeline for its
# debug kernel: KVER names the kernel (make passes it on), CHECK_OUT the
# output dir, KVMFT_TEST_TIMEOUT each selftest program's limit in the lab,
# KVMFT_STRESS_ITERS the rounds of each race in stress_test,
# CHECK_LAB_TIMEOUT the selftests lab's limit (2400 s), LAB_MEM the labs'
# memory and LAB_TIMEOUT_SCALE a factor for their limits.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
# shellcheck source=scripts/host-lock.sh
. "$top/scripts/host-lock.sh"
host_lock check
out=${CHECK_OUT:-$top/build/check}
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
# Diagnostics with a file and line (compiler, kbuild, makefiles) and those
# of the compiler drivers and the linker; not make's clock-skew or
# jobserver notes, which say nothing about the code.
if grep -E '^[^ :]+:[0-9]+(:[0-9]+)?: warning:|^WARNING:|^(cc1|clang|[^ ]*ld(\.[a-z]+)?): warning:' \
	"$out/build.log" >"$out/build-warn.log"; then
	{ echo "not ok 1 - build: warning free"; sed 's/^/# /' "$out/build-warn.log"; } >"$out/build-warn.tap"
	cat "$out/build-warn.tap"
fi

# A step that exited non-zero without a "not ok" of its own still fails.
step_status() {
	[ "$3" = 0 ] && return
	grep -q '^not ok' "$out/$2.tap" && return
	echo "not ok 1 - $1: exited with status $3" | tee -a "$out/$2.tap"
}

say "checkpatch"
scripts/checkpatch.sh | tee "$out/checkpatch.tap"
step_status checkpatch checkpatch "${PIPESTATUS[0]}"

say "unit tests (ctl, ASan/UBSan)"
make -s -C ctl test 2>&1 | tee "$out/unit.tap"
step_status "unit tests" unit "${PIPESTATUS[0]}"

say "namespace tests (ftd, ASan/UBSan)"
make -s -C ctl netns-test 2>&1 | tee "$out/netns.tap"
step_status "namespace tests" netns "${PIPESTATUS[0]}"

say "DKMS"
scripts/dkms.sh --tap | tee "$out/dkms.tap"
step_status DKMS dkms "${PIPESTATUS[0]}"

say "lab self-tests"
lab/tests/lab_test.sh 2>&1 | tee "$out/lab-self.tap"
step_status "lab self-tests" lab-self "${PIPESTATUS[0]}"

say "selftests in the lab"
# The selftests take about 5 minutes; the limit is for a hung guest only.
lab_timeout=${CHECK_LAB_TIMEOUT:-2400}
# The guest does not inherit this environment; the command line carries it.
set -- scripts/lab-selftests.sh
[ -z "${KVMFT_TEST_TIMEOUT:-}" ] || set -- env "KVMFT_TEST_TIMEOUT=$KVMFT_TEST_TIMEOUT" "$@"
[ -z "${KVMFT_STRESS_ITERS:-}" ] || set -- env "KVMFT_STRESS_ITERS=$KVMFT_STRESS_ITERS" "$@"
lab/run --timeout "$lab_timeout" --out "$out/lab" -- "$@" 2>&1 |
	tr -d '\r' | tee "$out/lab.raw"
labst=${PIPESTATUS[0]}
# Only the TAP that the guest wrote counts, not the console chatter; what
# it wrote before a timeout or crash still counts.
cat "$out/lab/log" >"$out/lab.tap" 2>/dev/null
if [ -f "$out/lab/kernel-log.tap" ]; then
	cat "$out/lab/kernel-log.tap" >>"$out/lab.tap"
else
	case $labst in
	124) why="timed out after $((lab_timeout * ${LAB_TIMEOUT_SCALE:-1})) s" ;;
	*) why="the guest ended without its kernel-log check (exit $labst; crashed?)" ;;
	esac
	{ echo "not ok 1 - lab: $why"; tail -n 30 "$out/lab.raw" | sed 's/^/# /'; } >>"$out/lab.tap"
fi

say "done"
scripts/tap-summary.sh "$out"/*.tap
