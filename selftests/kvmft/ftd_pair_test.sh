#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# ftd with the module: a pair on one lab host, then the primary's host
# dies and the backup goes live. The module's genl family lives in the
# initial network namespace only, so the two "hosts" are two ftd on two
# loopback ports, and the shared disk is a ramdisk:
#
#   ftd A: host_id 1, port 7791 -- VM a (checksum_vm), primary
#   ftd B: host_id 2, port 7792 -- VM b (checksum_vm), backup
#   both VMs started with KVMFT_IDENTITY=pair-1; /dev/ram0: the
#   arbitration area
#
# Pair; the log flows (B's module replays A's records); B's ftd restarts
# and the pair goes on (the module keeps the backup waiting; ftd takes its
# log again and A resends what B lacks); then host A dies (its ftd and
# its VM killed): B finds A silent, wins the disk, PROMOTEs, and VM b runs
# on live to the end of its loop. Heartbeats time out after 10 s here: the
# lab is slow, and B's ftd must be back before A gives up on it.
. "$(dirname "$0")/tap.sh"
FTD=${FTD:-$top/ctl/ftd}
tap_plan 11
names="pair taps held-outputs log-flows acks restart-resumes restart-flows failover promoted-role runs-live says-why"

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1; then
	for t in $names; do skip "$t" "needs root, /dev/kvm and kvmft loaded"; done
	exit 0
fi
if ! modprobe brd rd_nr=1 rd_size=1024 2>/dev/null || [ ! -b /dev/ram0 ]; then
	for t in $names; do skip "$t" "no ramdisk (brd) for the shared disk"; done
	exit 0
fi

(umask 077; "$FTCTL" genkey >"$work/psk")
for h in a b; do
	id=1 port=7791
	[ $h = b ] && id=2 port=7792
	cat >"$work/$h.conf" <<-EOF
	host_id = $id
	host_name = host$h
	key_file = $work/psk
	arb_disk = /dev/ram0
	listen = 127.0.0.1
	port = $port
	control_socket = $work/$h.sock
	state_dir = $work/$h.state
	hb_timeout_ms = 10000
	EOF
done
"$FTCTL" arb init --disk /dev/ram0 --vm pair-1 --force >/dev/null ||
	give_up "ftctl arb init on /dev/ram0 failed"
"$FTD" --foreground --config "$work/a.conf" >"$work/a.log" 2>&1 &
fa=$!
"$FTD" --foreground --config "$work/b.conf" >"$work/b.log" 2>&1 &
fb=$!
ctla() { FTD_SOCKET=$work/a.sock "$FTCTL" "$@"; }
ctlb() { FTD_SOCKET=$work/b.sock "$FTCTL" "$@"; }
wait_for 30 ctla status || give_up "ftd A did not start: $(cat "$work/a.log")"
wait_for 30 ctlb status || give_up "ftd B did not start: $(cat "$work/b.log")"

export KVMFT_IDENTITY=pair-1
# Each VM's tap, as QEMU's ifname= would name it: ftd binds it.
modprobe -q tun 2>/dev/null
ip tuntap add "oqa$$" mode tap 2>/dev/null
ip tuntap add "oqb$$" mode tap 2>/dev/null
export KVMFT_TAP=oqa$$
start_vm a --iters 20000 --seed 1 || give_up "VM a did not start"
pa=$VM_PID
ida=$(attach_pid "$pa")
export KVMFT_TAP=oqb$$
start_vm b --iters 20000 --seed 2 || give_up "VM b did not start"
idb=$(attach_pid "$VM_PID")
unset KVMFT_TAP
[ -n "$ida" ] && [ -n "$idb" ] || give_up "ftctl attach failed"

ctla pair --vm "$ida" --peer 127.0.0.1:7792 --timeout 60 >"$work/pair.out" 2>&1
check "pair: VM $ida primary on A, VM $idb backup on B" \
	grep -q "primary, paired with hostb" "$work/pair.out"
ifindex_of() { "$FTCTL" status --vm "$1" --json | grep -o '"ifindex": *[0-9]*' | grep -o '[0-9]*$'; }
taps_bound() {
	[ "$(ifindex_of "$ida")" = "$(cat /sys/class/net/oqa$$/ifindex)" ] &&
	[ "$(ifindex_of "$idb")" = "$(cat /sys/class/net/oqb$$/ifindex)" ]
}
check "taps: ftd bound each VM's tap (KVMFT_TAP, as QEMU's ifname=)" wait_for 30 taps_bound
check "held-outputs: A's ftd status shows the primary's held outputs" \
	sh -c "FTD_SOCKET='$work/a.sock' '$FTCTL' status | grep -q 'held outputs: [0-9]* packets' &&
		FTD_SOCKET='$work/a.sock' '$FTCTL' status --json | grep -q '\"held_outputs\": *{\"tap_ifindex\": *[1-9]'"
go_vm a
go_vm b
field() { ctlb status --json | grep -o "\"$1\":\"*[^,\"}]*" | head -1 | sed 's/^"[^"]*":"*//'; }
replayed() { [ "$(field replayed)" -gt 100 ] 2>/dev/null; }
check "the log flows: B's VM replays A's records" wait_for 120 replayed
# The output rule: A's ftd hands the backup's acks to the module.
acks_in() { "$FTCTL" status --vm "$ida" --json | grep -q '"acks": *[1-9]'; }
check "acks: A's module has the backup's acks (ftctl status outq.acks)" wait_for 60 acks_in
diag "before B's restart: held $(field held), replayed $(field replayed)"

# B's ftd restarts: the pair must go on.
kill -TERM "$fb"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 20 gone "$fb" || give_up "ftd B did not exit on SIGTERM"
"$FTD" --foreground --config "$work/b.conf" >>"$work/b.log" 2>&1 &
fb=$!
backup_again() { [ "$(field state)" = backup ] && grep -q "ftd restarted: backup of" "$work/b.log"; }
check "B's ftd restarts: it takes the backup's log again" wait_for 30 backup_again
r0=$(field held)
more() { [ "$(field held)" -gt "$((r0 + 100))" ] 2>/dev/null && \
	[ "$(FTD_SOCKET=$work/a.sock "$FTCTL" status --json | grep -o '"state":"[a-z]*"' | head -1)" = '"state":"primary"' ]; }
check "... and the log flows again, A still primary (held from $r0)" wait_for 60 more
diag "before the failure: held $(field held), replayed $(field replayed)"

kill -9 "$fa" "$pa"		# host A dies: its ftd and its VM
live() { [ "$(field state)" = live ]; }
check "host A dies: B wins the disk and goes live" wait_for 60 live
check "VM $idb's role is none (promoted by the module)" is_role "$idb" none
sum=$(wait_vm b)	# up to 300 s
check "the promoted VM runs on live to the end of its loop (checksum $sum)" test -n "$sum"
check "B says why: it won a generation" sh -c "grep -q 'won generation' '$work/b.log'"
sed 's/^/# b.log: /' "$work/b.log" | tail -n 8
kill "$fb" 2>/dev/null
ip link del "oqa$$" 2>/dev/null
ip link del "oqb$$" 2>/dev/null
