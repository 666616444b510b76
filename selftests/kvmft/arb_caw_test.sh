#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Arbitration by SCSI COMPARE AND WRITE on scsi_debug, which emulates the
# command: an area made with `ftctl arb init --caw`, one host winning and
# another learning it lost, and two hosts (processes) racing for each of
# 100 generations: exactly one wins every time. No KVM needed; the lab
# is where a SCSI disk can be made.
. "$(dirname "$0")/tap.sh"
tap_plan 5
names="init acquire lost race stale"

if [ "$(id -u)" != 0 ] || ! modprobe sd_mod 2>/dev/null ||
   ! modprobe scsi_debug dev_size_mb=4 2>/dev/null; then
	for t in $names; do skip "$t" "needs root and the scsi_debug module"; done
	exit 0
fi
trap 'rmmod scsi_debug 2>/dev/null; tap_cleanup' EXIT
sdev() {
	for b in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do
		[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && echo "/dev/${b##*/}" && return 0
	done
	return 1
}
wait_for 30 sdev || give_up "scsi_debug made no disk"
dev=$(sdev)
diag "scsi_debug disk: $dev"
arb() { "$FTCTL" arb "$@" --disk "$dev"; }

check "init --caw on $dev" sh -c "\"$FTCTL\" arb init --disk $dev --vm caw-1 --caw --force | grep -q 'COMPARE AND WRITE'"
check "host 1 wins generation 1" sh -c "\"$FTCTL\" arb acquire --disk $dev --host-id 1 --name h1 --base 0 | grep -q 'won generation 1'"
"$FTCTL" arb acquire --disk "$dev" --host-id 2 --name h2 --base 0 >"$work/lost" 2>&1
rc=$?
check "host 2 asking for generation 1 loses to host 1 (exit $rc)" sh -c "[ $rc = 6 ] && grep -q 'belongs to host 1 (h1)' '$work/lost'"
good=0
for g in $(seq 1 100); do
	"$FTCTL" arb acquire --disk "$dev" --host-id 1 --name h1 --base $g >/dev/null 2>&1 & a=$!
	"$FTCTL" arb acquire --disk "$dev" --host-id 2 --name h2 --base $g >/dev/null 2>&1 & b=$!
	wait $a; ra=$?; wait $b; rb=$?
	{ [ $ra = 0 ] && [ $rb = 6 ]; } || { [ $ra = 6 ] && [ $rb = 0 ]; } && good=$((good + 1))
done
check "two hosts race 100 times on COMPARE AND WRITE: exactly one wins each time ($good)" test $good = 100
"$FTCTL" arb acquire --disk "$dev" --host-id 1 --name h1 --base 500 >"$work/stale" 2>&1
rc=$?
check "a host that knows a newer generation than the disk is refused (exit $rc)" \
	sh -c "[ $rc = 3 ] && grep -q 'already knows generation 500' '$work/stale'"
