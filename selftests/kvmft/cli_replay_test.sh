#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The record/replay slice through the operator's CLI:
#
#   VM A (random port values, live TSC) --ftctl record--> a.log
#   VM B (other random values, later)   <--ftctl replay-- a.log
#   VM C (not attached, running alongside A)
#
# B must compute A's checksum (only the module can make them agree); C must
# not, and C's RDTSCs must not be intercepted (its exits stay below the
# number of PIO reads plus a small margin).
. "$(dirname "$0")/tap.sh"
iters=10000
port=0x71
tap_plan 7

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1; then
	for t in record replay-same replay-exit unattached-differs unattached-not-intercepted recorded-count log-dump; do
		skip "$t" "needs root, /dev/kvm and kvmft loaded"
	done
	exit 0
fi

start_vm a --iters $iters --port $port --seed 1 --stats || give_up "VM A did not start"
ida=$(attach_pid "$VM_PID")
[ -n "$ida" ] || give_up "ftctl attach --pid $VM_PID (VM A) failed"
"$FTCTL" record --vm "$ida" --out "$work/a.log" >"$work/rec.out" 2>&1 &
rec=$!
if ! wait_role "$ida" primary; then
	sed 's/^/# /' "$work/rec.out"
	give_up "VM A never became primary"
fi
# C runs alongside A while A is attached and recording: another VM on the
# host must see no interception.
start_vm c --iters $iters --port $port --seed 2 --stats || give_up "VM C did not start"
go_vm a
go_vm c
suma=$(wait_vm a)
wait $rec
recst=$?
[ $recst = 0 ] || sed 's/^/# /' "$work/rec.out"
check "record: ftctl record exited 0 and wrote A's log (checksum $suma)" test $recst = 0 -a -s "$work/a.log"

start_vm b --iters $iters --port $port --seed 2 --stats || give_up "VM B did not start"
idb=$(attach_pid "$VM_PID")
[ -n "$idb" ] || give_up "ftctl attach --pid $VM_PID (VM B) failed"
"$FTCTL" replay --vm "$idb" --in "$work/a.log" >"$work/rep.out" 2>&1 &
rep=$!
if ! wait_role "$idb" backup; then
	sed 's/^/# /' "$work/rep.out"
	give_up "VM B never became backup"
fi
go_vm b
sumb=$(wait_vm b)
wait $rep
repst=$?
check "replay-same: replayed VM B computes A's checksum ($sumb)" test -n "$suma" -a "$suma" = "$sumb"
check "replay-exit: ftctl replay exited 0" test $repst = 0

sumc=$(wait_vm c)
check "unattached-differs: unattached VM C computes another checksum ($sumc)" test -n "$sumc" -a "$sumc" != "$suma"
exc=$(vm_exits c)
exa=$(vm_exits a)
# Every iteration makes one PIO exit; an intercepted RDTSC makes another.
check "unattached-not-intercepted: C exits $exc < $((3 * iters / 2)), A exits $exa >= $((2 * iters))" \
	test "${exc:-0}" -gt 0 -a "${exc:-0}" -lt $((3 * iters / 2)) -a "${exa:-0}" -ge $((2 * iters))
records=$("$FTCTL" log-dump --in "$work/a.log" | grep -c '^ *[0-9]')
check "recorded-count: log has >= 2x$iters records ($records)" test "$records" -ge $((2 * iters))
check "log-dump: ftctl log-dump --json parses the log" sh -c "'$FTCTL' log-dump --in '$work/a.log' --json >/dev/null"
