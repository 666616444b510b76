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
i=0
until ls -l /proc/$qpid/fd 2>/dev/null | grep -q 'anon_inode:kvm-vm'; do
	i=$((i + 1))
	[ $i -gt 300 ] && break
	sleep 0.1
done

id=$(attach_pid $qpid)
check "attach: ftctl attach --pid $qpid gave VM id '$id'" test -n "$id"
check "status: ftctl status --json lists VM $id with QEMU's pid" \
	sh -c "'$FTCTL' status --json | grep -q '\"pid\": *$qpid'"

"$FTCTL" events --json --count 2 --timeout 60 >"$work/events.out" 2>&1 &
ev=$!
# The EXISTS line comes after the subscription: from then on, nothing is missed.
i=0
until grep -q '"exists"' "$work/events.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 600 ] && break
	sleep 0.1
done
kill $qpid
wait $ev
check "destroy-event: DESTROY event for VM $id after QEMU was killed" \
	grep -q "\"destroy\"" "$work/events.out"
check "gone: ftctl status no longer lists VM '$id'" \
	sh -c "test -n '$id' && ! '$FTCTL' status --json | grep -q '\"id\": *$id[,}]'"
