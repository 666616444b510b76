#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: everything that can be tested, in order of cost, for every
# kernel in KVERS (make sets it: KVER if given, else every supported
# kernel installed, docs/kernels.md):
#   1. build (module with W=1 for each kernel, userspace with -Werror)
#   2. checkpatch --strict on kmod/; unit tests of ctl/ on this machine,
#      under ASan/UBSan; ftd between network namespaces (no KVM needed)
#   3. DKMS add/build/install, side by side for every kernel
#   4. the lab's own tests (boots the lab), per kernel
#   5. the selftests inside the lab, with the DKMS module, per kernel
# Every step writes TAP to build/check/*.tap, kernel-bound ones with the
# kernel in each test's name; the last line is the summary.
#
# make check-debug (scripts/check-debug.sh) runs this same pipeline for its
# debug kernel: KVERS (else KVER) names the kernels, CHECK_OUT the
# output dir, KVMFT_TEST_TIMEOUT each selftest program's limit in the lab,
# KVMFT_STRESS_ITERS the rounds of each race in stress_test,
# CHECK_LAB_TIMEOUT the selftests lab's limit (2400 s), LAB_MEM the labs'
# memory and LAB_TIMEOUT_SCALE a factor for their limits; with
# CHECK_RESUME_DIR, CHECK_JOBS resumable labs run at once (1).
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
kvers=${KVERS:-${KVER:-$(scripts/debian-kver.sh --all)}}
# The first kernel is the default one: its module is built last, so that
# ./kvmft.ko is for it when check ends.
first=${kvers%% *}
export KVERS="$kvers"

say() { echo "== check: $* ($(($(date +%s) - start))s)" >&2; }

# TAP from a kernel-bound step, with the kernel in each test's name.
tag() {
	sed -E "s/^((not )?ok [0-9]+)( -)? /\1 - $1: /"
}

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
# Kbuild rebuilds what a kernel change touches (the command lines name the
# kernel, kmod/compat/generated.h included).
for k in $(echo "$kvers" | tr ' ' '\n' | tac); do
	tap_step "build: $k: module (W=1)" "build-$k" make -s module KVER="$k" KVERS="$k"
done
tap_step "build: bpf, ctl, selftests" build make -s bpf ctl selftests KVER="$first"
if grep -q '^not ok' "$out"/build*.tap; then
	scripts/tap-summary.sh "$out"/*.tap
	exit 1
fi
# Diagnostics with a file and line (compiler, kbuild, makefiles) and those
# of the compiler drivers and the linker; not make's clock-skew or
# jobserver notes, which say nothing about the code.
for f in "$out"/build*.log; do
	b=$(basename "$f" .log)
	if grep -E '^[^ :]+:[0-9]+(:[0-9]+)?: warning:|^WARNING:|^(cc1|clang|[^ ]*ld(\.[a-z]+)?): warning:' \
		"$f" >"$out/$b-warn.log"; then
		{ echo "not ok 1 - $b: warning free"; sed 's/^/# /' "$out/$b-warn.log"; } >"$out/$b-warn.tap"
		cat "$out/$b-warn.tap"
	fi
done

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

say "DKMS: $kvers"
scripts/dkms.sh --tap | tee "$out/dkms.tap"
step_status DKMS dkms "${PIPESTATUS[0]}"

for k in $kvers; do
	say "lab self-tests: $k"
	KVER=$k lab/tests/lab_test.sh 2>&1 | tag "$k" | tee "$out/lab-self-$k.tap"
	step_status "$k: lab self-tests" "lab-self-$k" "${PIPESTATUS[0]}"
done

# The selftests take about 5 minutes per kernel; the limit is for a hung
# guest only.
lab_timeout=${CHECK_LAB_TIMEOUT:-2400}
# The guest does not inherit this environment; the command line carries it.
set -- scripts/lab-selftests.sh
[ -z "${KVMFT_TEST_TIMEOUT:-}" ] || set -- env "KVMFT_TEST_TIMEOUT=$KVMFT_TEST_TIMEOUT" "$@"
[ -z "${KVMFT_STRESS_ITERS:-}" ] || set -- env "KVMFT_STRESS_ITERS=$KVMFT_STRESS_ITERS" "$@"
# A lab per kernel, its output in $out/lab-$k.tap. With CHECK_RESUME_DIR
# (make check-debug, whose programs outlast a session) one lab per program
# instead: a program whose lab passed whole (its tests, the module's
# unload, a clean kernel log) on this code is kept there and not run
# again; its lab's output still counts.
lab_selftests() { # KVER OUTDIR [PROGRAM]
	local k=$1 o=$2 labst c=("${cmd[@]}")
	shift 2
	# CHUNK_ITERS: this lab's share of a race's rounds (the last env wins).
	[ -z "${CHUNK_ITERS:-}" ] ||
		c=("${cmd[@]:0:${#cmd[@]}-1}" env "KVMFT_STRESS_ITERS=$CHUNK_ITERS" "${cmd[-1]}")
	# The console to the terminal, TAP to stdout.
	lab/run --kver "$k" --timeout "$lab_timeout" --out "$o" -- \
		${KVMFT_STRESS_ONLY:+env "KVMFT_STRESS_ONLY=$KVMFT_STRESS_ONLY"} \
		"${c[@]}" "$@" 2>&1 |
		tr -d '\r' | tee "$o.raw" >&2
	labst=${PIPESTATUS[0]}
	# Only the TAP that the guest wrote counts, not the console chatter;
	# what it wrote before a timeout or crash still counts.
	cat "$o/log" 2>/dev/null
	if [ -f "$o/kernel-log.tap" ]; then
		cat "$o/kernel-log.tap"
	else
		case $labst in
		124) why="timed out after $((lab_timeout * ${LAB_TIMEOUT_SCALE:-1})) s" ;;
		*) why="the guest ended without its kernel-log check (exit $labst; crashed?)" ;;
		esac
		echo "not ok 1 - lab: $why"
		tail -n 30 "$o.raw" | sed 's/^/# /'
	fi
}
cmd=("$@")
resume=${CHECK_RESUME_DIR:-}
# One resumable program: its lab's TAP in $out/lab-$k.d/$t.tap, kept in
# $resume when it passed whole, named after the program's own source (the
# rest of the code is $resume's key).
resume_one() { # KVER PROGRAM[@TEST[:CHUNK]]
	local k=$1 t=${2%@*} only='' src kept iters=''
	[ "$t" = "$2" ] || only=${2#*@}
	# A stress race's rounds in CHECK_STRESS_CHUNKS labs of their own.
	case $only in *:*)
		only=${only%:*}
		iters=$((${KVMFT_STRESS_ITERS:-10} / ${CHECK_STRESS_CHUNKS:-1}))
		;;
	esac
	if [ ! -x "selftests/kvmft/$t" ]; then
		echo "not ok 1 - $k: $t: not executable" >"$out/lab-$k.d/$2.tap"
		return
	fi
	src=$(git rev-parse -q --verify "HEAD:selftests/kvmft/$t.c" 2>/dev/null ||
		git rev-parse -q --verify "HEAD:selftests/kvmft/$t" 2>/dev/null) ||
		src=unknown
	kept=$resume/$k/$2-$(echo "$src" | cut -c1-12).tap
	if [ -f "$kept" ]; then
		say "$k: $2 passed on this code before: $kept"
		cp "$kept" "$out/lab-$k.d/$2.tap"
		return
	fi
	say "$k: $2"
	# One stress race per lab: the other tests' SKIPs are not results.
	KVMFT_STRESS_ONLY=$only CHUNK_ITERS=$iters \
		lab_selftests "$k" "$out/lab-$k.d/$2" "$t" |
		grep -v '# SKIP not in KVMFT_STRESS_ONLY' |
		tag "$k" >"$out/lab-$k.d/$2.tap"
	grep -q '^not ok' "$out/lab-$k.d/$2.tap" || cp "$out/lab-$k.d/$2.tap" "$kept"
	say "$k: $2 done"
}
# CHECK_JOBS labs at once (each lab is one vCPU); every worker takes the
# next program nobody has claimed, the longest ones first.
resume_worker() { # KVER PROGRAM...
	local k=$1 t
	shift
	for t in "$@"; do
		mkdir "$out/lab-$k.d/$t.claim" 2>/dev/null || continue
		resume_one "$k" "$t"
	done
}
for k in $kvers; do
	say "selftests in the lab: $k"
	if [ -z "$resume" ]; then
		lab_selftests "$k" "$out/lab-$k" | tag "$k" >"$out/lab-$k.tap"
		continue
	fi
	mkdir -p "$resume/$k" "$out/lab-$k.d"
	# The longest first: stress_test's races (each in its own lab, so
	# that a run cut short keeps the races done), replay_test.
	progs=()
	for t in $(sed -nE 's/^TEST(_F)?(_TIMEOUT)?\(([a-z0-9_]+, *)?([a-z0-9_]+).*/stress_test@\4/p' \
		selftests/kvmft/stress_test.c) replay_test \
		selftests/kvmft/*_test selftests/kvmft/*_test.sh; do
		t=$(basename "$t")
		[ -f "selftests/kvmft/${t%@*}" ] || continue
		[ "$t" != stress_test ] || continue	# run race by race
		case " ${progs[*]} " in *" $t "*) continue ;; esac
		if [ "${t%@*}" = stress_test ] && [ "${CHECK_STRESS_CHUNKS:-1}" -gt 1 ]; then
			for ((c = 1; c <= CHECK_STRESS_CHUNKS; c++)); do
				progs+=("$t:$c")
			done
		else
			progs+=("$t")
		fi
	done
	for ((j = 0; j < ${CHECK_JOBS:-1}; j++)); do
		resume_worker "$k" "${progs[@]}" &
		sleep 5
	done
	wait
	: >"$out/lab-$k.tap"
	for t in "${progs[@]}"; do
		if [ -f "$out/lab-$k.d/$t.tap" ]; then
			cat "$out/lab-$k.d/$t.tap"
		else
			echo "not ok 1 - $k: $t: no result"
		fi >>"$out/lab-$k.tap"
	done
done

say "done"
scripts/tap-summary.sh "$out"/*.tap
