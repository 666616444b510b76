#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The record/replay demonstration, run inside the lab by scripts/demo.sh:
#
#   VM A: guest reads the TSC and a port the VMM fills with random values,
#         10,000 times, folding both into a checksum; kvmft records it.
#   VM B: same guest, later, other random values; kvmft replays A's log.
#   VM C: same guest, not attached.
#
# B must print A's checksum and C another one.
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
export FTCTL="$top/ctl/ftctl" CHECKSUM_VM="$top/selftests/kvmft/checksum_vm"
. "$top/selftests/kvmft/tap.sh"
iters=${DEMO_ITERS:-10000}
port=0x71
say() { echo "demo: $*"; }
die() {
	say "FAIL: $*"
	tap_failed=1
	exit 1
}
[ -x "$FTCTL" ] && [ -x "$CHECKSUM_VM" ] || die "build first: $FTCTL, $CHECKSUM_VM"

modprobe kvmft || die "modprobe kvmft failed"
say "kvmft loaded: $("$FTCTL" info | tr '\n' ' ')"

say "VM A: recording $iters iterations (random port values, live TSC)"
start_vm a --iters $iters --port $port --stats || die "VM A did not start"
ida=$(attach_pid "$VM_PID")
[ -n "$ida" ] || die "ftctl attach --pid $VM_PID failed"
"$FTCTL" record --vm "$ida" --out "$work/a.log" &
rec=$!
wait_role "$ida" primary || die "VM A did not become primary"
"$FTCTL" status
go_vm a
suma=$(wait_vm a)
wait $rec
say "VM A log: $(wc -c <"$work/a.log") bytes; first records:"
"$FTCTL" log-dump --in "$work/a.log" | head -n 6

say "VM B: replaying A's log (other random values, later TSC)"
start_vm b --iters $iters --port $port --stats || die "VM B did not start"
idb=$(attach_pid "$VM_PID")
[ -n "$idb" ] || die "ftctl attach --pid $VM_PID failed"
"$FTCTL" replay --vm "$idb" --in "$work/a.log" &
rep=$!
wait_role "$idb" backup || die "VM B did not become backup"
go_vm b
sumb=$(wait_vm b)
wait $rep

say "VM C: the same guest, not attached"
start_vm c --iters $iters --port $port --stats || die "VM C did not start"
go_vm c
sumc=$(wait_vm c)

echo
echo "  recorded   (VM A): $suma"
echo "  replayed   (VM B): $sumb"
echo "  unattached (VM C): $sumc"
echo
if [ -n "$suma" ] && [ "$suma" = "$sumb" ] && [ "$sumc" != "$suma" ]; then
	say "PASS: the replayed VM computed the recorded checksum; the unattached one did not"
	exit 0
fi
die "checksums do not show record and replay"
