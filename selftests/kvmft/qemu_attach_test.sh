#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Stock QEMU with -enable-kvm, attached by `ftctl attach --pid`: the module
# takes the VM fd out of QEMU itself (pidfd_getfd), `ftctl status --json`
# shows it, and killing QEMU produces a DESTROY event.
. "$(dirname "$0")/tap.sh"
tap_plan 4

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1 ||
	! command -v qemu-system-x86_64 >/dev/null; then
	for t in attach status destroy-event gone; do
		skip "$t" "needs root, /dev/kvm, qemu-system-x86_64 and kvmft loaded"
	done
	exit 0
fi

# Paused (-S): the VM and its vCPU exist, nothing runs.
qemu-system-x86_64 -enable-kvm -machine pc -cpu host -m 64 -nodefaults \
	-display none -S -qmp "unix:$work/qmp,server=on,wait=off" \
	>"$work/qemu.out" 2>&1 &
qpid=$!
# Stock QEMU loads ~100 libraries over 9p in a TCG guest: give it time.
has_vm_fd() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'anon_inode:kvm-vm'; }
vm_fd_or_gone() { has_vm_fd "$1" || ! kill -0 "$1" 2>/dev/null; }
wait_for 300 vm_fd_or_gone $qpid
if ! has_vm_fd $qpid; then
	diag "QEMU (pid $qpid) did not create its VM within 300 s:"
	sed 's/^/# /' "$work/qemu.out"
fi

id=$(attach_pid $qpid)
check "attach: ftctl attach --pid $qpid gave VM id '$id'" test -n "$id"
[ -n "$id" ] || give_up "no VM attached"
check "status: ftctl status --json lists VM $id with QEMU's pid" \
	sh -c "'$FTCTL' status --json | grep -q '\"pid\": *$qpid'"

"$FTCTL" events --json >"$work/events.out" 2>&1 &
ev=$!
# The VM's EXISTS line comes after the subscription: nothing is missed later.
wait_for 120 has_event "$work/events.out" exists "$id" ||
	diag "ftctl events did not list VM '$id' within 120 s"
kill $qpid
check "destroy-event: DESTROY event for VM $id after QEMU was killed" \
	wait_for 120 has_event "$work/events.out" destroy "$id"
kill $ev 2>/dev/null
check "gone: ftctl status no longer lists VM '$id'" \
	sh -c "test -n '$id' && ! '$FTCTL' status --json | grep -q '\"id\": *$id[,}]'"
