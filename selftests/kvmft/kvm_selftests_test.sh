#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own KVM selftests (built from Debian's linux-source of the
# running kernel's series by selftests/kvm-selftests.sh) must behave the
# same on a host where kvmft is
# loaded and recording another VM: kvmft touches only the VMs attached to
# it.
#
#   pass 1: kvmft not loaded                      -> each test's baseline
#   pass 2: kvmft loaded, a checksum_vm attached and primary (ftctl record
#           running), so every hook is armed, and a pair replaying
#           alongside (B follows A through a pipe)  -> each test again
#
# A test that passes in pass 1 must pass in pass 2. One that fails or skips
# without kvmft too (the lab is nested KVM under TCG, where a few do) is a
# SKIP that gives its baseline result.
. "$(dirname "$0")/tap.sh"
# The set built from the running kernel's own series (selftests/Makefile).
series=$(uname -r | cut -d. -f1,2)
bin=$top/build/kvm-selftests/$series/bin
tests=$(ls "$bin" 2>/dev/null | grep -v '^\.')

if [ -z "$tests" ]; then
	tap_plan 1
	skip "kvm-selftests" "not built for $series: $bin is empty (make selftests KVER=$(uname -r))"
	exit 0
fi
# shellcheck disable=SC2086
set -- $tests
tap_plan $(($# + 3))
# KVMFT_KO: a kvmft.ko to insmod instead (as stress_test takes it), for
# a lab without the DKMS module.
ko=${KVMFT_KO:-}
if ! need_root_kvm || ! { [ -f "$ko" ] || modinfo kvmft >/dev/null 2>&1; }; then
	for t in "$@" armed-throughout pair-replayed only-attached; do
		skip "$t" "needs root, /dev/kvm and the kvmft module installed"
	done
	exit 0
fi

# run PASS: every test, its exit status into $work/PASS.TEST.rc
run() {
	for t in $tests; do
		(cd "$work" && timeout -k 10 300 "$bin/$t" >"$work/$1.$t.out" 2>&1)
		echo $? >"$work/$1.$t.rc"
	done
}
last_line() { grep -v '^[[:space:]]*$' "$work/$1.$2.out" | tail -n 1; }

rmmod kvmft 2>/dev/null
[ -d /sys/module/kvmft ] && give_up "kvmft is loaded and cannot be unloaded"
diag "pass 1: kvmft not loaded"
run base

if [ -n "$ko" ]; then
	insmod "$ko" || give_up "insmod $ko failed"
else
	modprobe kvmft || give_up "modprobe kvmft failed"
fi
start_vm arm --iters 1 || give_up "the recording VM did not start"
id=$(attach_pid "$VM_PID")
[ -n "$id" ] || give_up "ftctl attach --pid $VM_PID failed"
"$FTCTL" record --vm "$id" --out "$work/arm.log" >"$work/rec.out" 2>&1 &
wait_role "$id" primary || give_up "VM $id never became primary"
# The pair runs at the lowest priority (the lab has one CPU), so that it
# goes on all through pass 2 without starving the tests.
start_vm pa --iters 20000 --seed 11 || give_up "the pair's VM A did not start"
pa_pid=$VM_PID
ida=$(attach_pid "$VM_PID")
start_vm pb --iters 20000 --seed 12 || give_up "the pair's VM B did not start"
pb_pid=$VM_PID
idb=$(attach_pid "$VM_PID")
[ -n "$ida" ] && [ -n "$idb" ] || give_up "ftctl attach failed (A '$ida', B '$idb')"
"$FTCTL" record --vm "$ida" --out - 2>"$work/pa.err" |
	"$FTCTL" replay --vm "$idb" --in - >"$work/pb.err" 2>&1 &
pair=$!
wait_role "$ida" primary && wait_role "$idb" backup ||
	give_up "the pair did not form: $(cat "$work/pa.err" "$work/pb.err")"
renice -n 19 -p "$pa_pid" "$pb_pid" >/dev/null
go_vm pb
go_vm pa
diag "pass 2: kvmft loaded, VM $id attached and primary, VMs $ida and $idb a pair"
run armed

for t in $tests; do
	base=$(cat "$work/base.$t.rc") armed=$(cat "$work/armed.$t.rc")
	case $base in
	0)
		if [ "$armed" = 0 ]; then
			ok "$t: passes with kvmft armed, as without it"
		else
			not_ok "$t: passes without kvmft, exit $armed with it armed"
			tail -n 20 "$work/armed.$t.out" | sed 's/^/# /'
		fi ;;
	4) skip "$t" "skips without kvmft too: $(last_line base "$t")" ;;
	*) skip "$t" "fails without kvmft too in the lab (exit $base): $(last_line base "$t")" ;;
	esac
done
check "armed-throughout: VM $id stayed primary while they ran" is_role "$id" primary
grep -q '^checksum=' "$work/pa.out" && diag "the pair ended during pass 2" ||
	diag "the pair was still running at the end of pass 2"
renice -n 0 -p "$pa_pid" "$pb_pid" >/dev/null 2>&1
suma=$(wait_vm pa)
sumb=$(wait_vm pb)
wait $pair
check "pair-replayed: B, replaying A alongside the tests, computes A's checksum ($suma = $sumb)" \
	test -n "$suma" -a "$suma" = "$sumb"
# The pair's VMMs exit once they printed their checksums.
one_vm() { test "$("$FTCTL" status --json | jq '.vms | length')" = 1; }
check "only-attached: kvmft lists one VM, the one attached" wait_for 60 one_vm
go_vm arm
wait_vm arm >/dev/null
