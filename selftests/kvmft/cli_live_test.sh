#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Live lockstep through a pipe, with the operator's CLI:
#
#   VM A (random port values, live TSC) --ftctl record --out - --+
#                                                                | pipe
#   VM B (other random values)        <--ftctl replay --in - ----+
#
# A and B run at the same time; B follows A's log as A runs. B must end
# with A's checksum and stay a backup (it never goes live by itself) until
# promoted. A stream whose header is not a log is refused before the VM
# is touched.
. "$(dirname "$0")/tap.sh"
iters=5000
port=0x71
tap_plan 7

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1; then
	for t in live-same verify record-exit replay-exit stays-backup promoted bad-stream; do
		skip "$t" "needs root, /dev/kvm and kvmft loaded"
	done
	exit 0
fi

"$FTCTL" events --json >"$work/events.out" 2>&1 &
start_vm a --iters $iters --port $port --seed 11 || give_up "VM A did not start"
ida=$(attach_pid "$VM_PID")
start_vm b --iters $iters --port $port --seed 12 || give_up "VM B did not start"
idb=$(attach_pid "$VM_PID")
[ -n "$ida" ] && [ -n "$idb" ] || give_up "ftctl attach failed (A '$ida', B '$idb')"

(
	"$FTCTL" record --vm "$ida" --out - 2>"$work/rec.err"
	echo $? >"$work/rec.rc"
) | (
	"$FTCTL" replay --vm "$idb" --in - >"$work/rep.out" 2>&1
	echo $? >"$work/rep.rc"
) &
pipe=$!
if ! wait_role "$ida" primary; then
	sed "s/^/# rec: /" "$work/rec.err"; sed "s/^/# rep: /" "$work/rep.out"
	give_up "VM A never became primary"
fi
if ! wait_role "$idb" backup; then
	sed "s/^/# rec: /" "$work/rec.err"; sed "s/^/# rep: /" "$work/rep.out"
	give_up "VM B never became backup"
fi
# Both sides hash their memory when their log reaches record 3001.
"$FTCTL" verify --vm "$ida" --at 3001 >"$work/va.out" 2>&1 &
va=$!
"$FTCTL" verify --vm "$idb" --at 3001 >"$work/vb.out" 2>&1 &
vb=$!
go_vm b
go_vm a
suma=$(wait_vm a)
sumb=$(wait_vm b)
wait $pipe
wait $va
wait $vb
check "live-same: B, following A through a pipe, computes A's checksum ($suma = $sumb)" \
	test -n "$suma" -a "$suma" = "$sumb"
hash_of() { sed -n 's/.*memory at record 3001: \([0-9a-f]*\)$/\1/p' "$1"; }
ha=$(hash_of "$work/va.out")
hb=$(hash_of "$work/vb.out")
[ -n "$ha" ] || sed 's/^/# A: /' "$work/va.out"
[ -n "$hb" ] || sed 's/^/# B: /' "$work/vb.out"
check "verify: ftctl verify at record 3001 gives the same memory hash on A and B ($ha = $hb)" \
	test -n "$ha" -a "$ha" = "$hb"
check "record-exit: ftctl record --out - exited 0 ($(cat "$work/rec.err" 2>/dev/null | tail -n1))" \
	test "$(cat "$work/rec.rc" 2>/dev/null)" = 0
check "replay-exit: ftctl replay --in - exited 0" \
	test "$(cat "$work/rep.rc" 2>/dev/null)" = 0
# B's VMM exits once it printed its checksum: B must have left as a
# backup, never having changed to role none on its own.
wait_for 120 has_event "$work/events.out" destroy "$idb" ||
	diag "no DESTROY event for B within 120 s"
grep "\"id\": *$idb[,}]" "$work/events.out" | grep '"event": *"change"' >"$work/b.changes"
check "stays-backup: B became a backup and never went live on its own (no CHANGE to role none)" \
	sh -c "grep -q '\"role\": *\"backup\"' '$work/b.changes' && ! grep -q '\"role\": *\"none\"' '$work/b.changes'"
check "promoted: ftctl replay says B waits for promotion" \
	grep -q "stays a backup" "$work/rep.out"

start_vm c --iters 1 || give_up "VM C did not start"
idc=$(attach_pid "$VM_PID")
printf 'not a log at all' | "$FTCTL" replay --vm "$idc" --in - >"$work/bad.out" 2>&1
bad=$?
check "bad-stream: a stream that is not a log is refused (exit $bad) and C keeps role none" \
	sh -c "test $bad -ne 0 && grep -q 'standard input' '$work/bad.out' && '$FTCTL' status --vm '$idc' --json | grep -q '\"role\": *\"none\"'"
