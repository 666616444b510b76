#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A VM made by the test VMM, attached with `ftctl attach --pid`, seen in
# `ftctl status --json`, then its VMM killed with SIGKILL: the module must
# notice the VM is gone on its own and emit DESTROY.
. "$(dirname "$0")/tap.sh"
tap_plan 4

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1; then
	for t in attach status destroy-event gone; do
		skip "$t" "needs root, /dev/kvm and kvmft loaded"
	done
	exit 0
fi

start_vm k --iters 1 || give_up "the test VM did not start"
pid=$VM_PID
id=$(attach_pid "$pid")
check "attach: ftctl attach --pid $pid gave VM id '$id'" test -n "$id"
[ -n "$id" ] || give_up "no VM attached"
check "status: ftctl status --json lists VM '$id' with role none and pid $pid" \
	sh -c "'$FTCTL' status --vm '$id' --json | grep -q '\"pid\": *$pid' &&
		'$FTCTL' status --vm '$id' --json | grep -q '\"role\": *\"none\"'"

"$FTCTL" events --json >"$work/events.out" 2>&1 &
ev=$!
# The VM's EXISTS line comes after the subscription: nothing is missed later.
wait_for 120 has_event "$work/events.out" exists "$id" ||
	diag "ftctl events did not list VM '$id' within 120 s"
kill -KILL "$pid"
check "destroy-event: DESTROY event for VM '$id' after its VMM was killed" \
	wait_for 120 has_event "$work/events.out" destroy "$id"
kill $ev 2>/dev/null
check "gone: ftctl status no longer lists VM '$id'" \
	sh -c "test -n '$id' && ! '$FTCTL' status --json | grep -q '\"id\": *$id[,}]'"
