#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# 100 load/attach/detach/unload cycles. Odd cycles detach explicitly, even
# ones unload with the VM still attached. Before every unload the module's
# live objects are back to zero (after detach) and its refcount is 0; no
# leak is reported, the DKMS module is what modprobe loads.
. "$(dirname "$0")/tap.sh"
cycles=${CYCLES:-100}
tap_plan 5

if ! need_root_kvm || ! modinfo kvmft >/dev/null 2>&1; then
	for t in modprobe-dkms cycles live-objects refcount no-leak; do
		skip "$t" "needs root, /dev/kvm and the kvmft module installed (make dkms-install)"
	done
	exit 0
fi
rmmod kvmft 2>/dev/null
check "modprobe-dkms: modprobe kvmft loads the DKMS module" \
	sh -c "modprobe kvmft && grep -q . /sys/module/kvmft/refcnt"

bad_cycle= bad_live= bad_ref=
start_vm cyc --iters 1 || give_up "the test VM did not start"
pid=$VM_PID
n=1
while [ $n -le $cycles ]; do
	modprobe kvmft || { bad_cycle="$n: modprobe"; break; }
	id=$(attach_pid "$pid")
	[ -n "$id" ] || { bad_cycle="$n: attach"; break; }
	if [ $((n % 2)) = 1 ]; then
		"$FTCTL" detach --vm "$id" >/dev/null || { bad_cycle="$n: detach"; break; }
		wait_for 10 live_zero ||
			bad_live="$bad_live $n:$(cat /sys/kernel/debug/kvmft/live_objects)"
	fi
	ref=$(cat /sys/module/kvmft/refcnt)
	[ "$ref" = 0 ] || bad_ref="$bad_ref $n:$ref"
	rmmod kvmft || { bad_cycle="$n: rmmod"; break; }
	n=$((n + 1))
done
check "cycles: $cycles load/attach/detach/unload cycles${bad_cycle:+ (failed at $bad_cycle)}" test -z "$bad_cycle"
check "live-objects: zero after every detach${bad_live:+ (cycle:count$bad_live)}" test -z "$bad_live"
check "refcount: module refcount 0 before every unload${bad_ref:+ (cycle:ref$bad_ref)}" test -z "$bad_ref"
check "no-leak: the kernel log reports no kvmft leak" sh -c "! dmesg | grep -q 'kvmft: .*leaked'"
go_vm cyc
wait_vm cyc >/dev/null
modprobe kvmft
