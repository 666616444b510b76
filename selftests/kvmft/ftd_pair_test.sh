#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# ftd with the module: a pair on one lab host, then the primary's host
# dies and the backup goes live. The module's genl family lives in the
# initial network namespace only, so the two "hosts" are two ftd on two
# loopback ports, and the shared disk is a ramdisk (a loop device over a
# file in a kernel without brd, such as make check-debug's):
#
#   ftd A: host_id 1, port 7791 -- VM a (checksum_vm), primary
#   ftd B: host_id 2, port 7792 -- VM b (checksum_vm), backup
#   both VMs started with KVMFT_IDENTITY=pair-1; /dev/ram0 (or the
#   loop device): the arbitration area
#
# Pair; the log flows (B's module replays A's records); B's ftd restarts
# and the pair goes on (the module keeps the backup waiting; ftd takes its
# log again and A resends what B lacks); A's ftd is killed -9 and
# restarted, twice, and the pair goes on (the module keeps the primary's
# recording, KVMFT_LOG_KEEP, and the new ftd takes it up again where the
# backup's acks left it, docs/ftd-restart.md); the second time B holds
# records whose acks A's ftd never read (B stopped while A sends, then A
# stopped while B acks), which the new ftd acks to the module before it
# ships the rest. VM b must end with VM a's checksum. Then, with two new
# VMs c and d, host A dies (its ftd and its VM killed): B finds A silent,
# wins the disk, PROMOTEs, and VM d runs on live to the end of its loop.
# Heartbeats time out after 10 s here: the lab is slow, and a restarted
# ftd must be back before its peer gives up on it.
. "$(dirname "$0")/tap.sh"
FTD=${FTD:-$top/ctl/ftd}
tap_plan 18
names="pair taps held-outputs log-flows acks restart-resumes restart-flows primary-keep primary-restart primary-restart-flows primary-restart-ahead primary-restart-sum primary-restart-clean pair-again failover promoted-role runs-live says-why"

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1; then
	for t in $names; do skip "$t" "needs root, /dev/kvm and kvmft loaded"; done
	exit 0
fi
disk=/dev/ram0
if ! modprobe brd rd_nr=1 rd_size=1024 2>/dev/null || [ ! -b /dev/ram0 ]; then
	disk=$(truncate -s 1M "$work/disk" &&
		losetup --find --show "$work/disk" 2>/dev/null) || disk=
	if [ ! -b "$disk" ]; then
		for t in $names; do
			skip "$t" "no ramdisk (brd) nor loop device for the shared disk"
		done
		exit 0
	fi
	trap 'losetup -d "$disk"; tap_cleanup' EXIT
fi

(umask 077; "$FTCTL" genkey >"$work/psk")
for h in a b; do
	id=1 port=7791
	[ $h = b ] && id=2 port=7792
	cat >"$work/$h.conf" <<-EOF
	host_id = $id
	host_name = host$h
	key_file = $work/psk
	arb_disk = $disk
	listen = 127.0.0.1
	port = $port
	control_socket = $work/$h.sock
	state_dir = $work/$h.state
	hb_timeout_ms = 10000
	EOF
done
"$FTCTL" arb init --disk "$disk" --vm pair-1 --force >/dev/null ||
	give_up "ftctl arb init on $disk failed"
"$FTD" --foreground --config "$work/a.conf" >"$work/a.log" 2>&1 &
fa=$!
"$FTD" --foreground --config "$work/b.conf" >"$work/b.log" 2>&1 &
fb=$!
ctla() { FTD_SOCKET=$work/a.sock "$FTCTL" "$@"; }
ctlb() { FTD_SOCKET=$work/b.sock "$FTCTL" "$@"; }
wait_for 30 ctla status || give_up "ftd A did not start: $(cat "$work/a.log")"
wait_for 30 ctlb status || give_up "ftd B did not start: $(cat "$work/b.log")"

export KVMFT_IDENTITY=pair-1
# VM a must outlive both restarts of A's ftd: records it makes while no
# ftd reads its log die with it if it ends then (the module ends a
# reader-less recording when its VMM exits), and VM b, missing them,
# would go live with its own input. 20000 iterations were too few on a
# loaded lab (CI, both kernels' labs at once).
iters=60000
# Each VM's tap, as QEMU's ifname= would name it: ftd binds it.
modprobe -q tun 2>/dev/null
ip tuntap add "oqa$$" mode tap 2>/dev/null
ip tuntap add "oqb$$" mode tap 2>/dev/null
export KVMFT_TAP=oqa$$
start_vm a --iters "$iters" --seed 1 || give_up "VM a did not start"
pa=$VM_PID
ida=$(attach_pid "$pa")
export KVMFT_TAP=oqb$$
start_vm b --iters "$iters" --seed 2 || give_up "VM b did not start"
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
diag "before A's restart: held $(field held), replayed $(field replayed)"

# A's ftd killed -9 mid-stream: the module keeps VM a primary, recording
# without a reader; the restarted ftd takes the session up again.
fielda() { ctla status --json | grep -o "\"$1\":\"*[^,\"}]*" | head -1 | sed 's/^"[^"]*":"*//'; }
restart_a() {
	kill -9 "$fa"
	wait "$fa" 2>/dev/null
	"$FTD" --foreground --config "$work/a.conf" >>"$work/a.log" 2>&1 &
	fa=$!
}
grep -q '^checksum=' "$work/a.out" && diag "VM a ended before A's ftd was killed: raise --iters"
kill -9 "$fa"
wait "$fa" 2>/dev/null
orphan() { "$FTCTL" status --vm "$ida" --json | grep -q '"reader": *false' && is_role "$ida" primary; }
check "primary-keep: A's ftd killed -9: VM $ida stays primary, its recording kept without a reader" \
	wait_for 10 orphan
"$FTD" --foreground --config "$work/a.conf" >>"$work/a.log" 2>&1 &
fa=$!
agains() { grep -c "primary again from record" "$work/a.log"; }
again() { [ "$(agains)" -ge "$1" ] && [ "$(fielda state)" = primary ] && [ "$(field state)" = backup ]; }
check "primary-restart: A's ftd back: primary again from the backup's next record, B stays backup" \
	wait_for 30 again 1
r0=$(field held)
check "primary-restart-flows: ... and the log flows on, A primary (held from $r0)" wait_for 60 more
diag "$(grep "primary again from record" "$work/a.log" | tail -n 1)"

grep -q '^checksum=' "$work/a.out" && diag "VM a ended before the second kill: raise --iters"
kill -STOP "$fb"
sleep 1
kill -STOP "$fa"
kill -CONT "$fb"
sleep 2
t0=$(date +%s)
restart_a
ahead() {
	sed -n 's/.*primary again from record \([0-9]*\) (the module had acks to \([0-9]*\)).*/\1 \2/p' "$work/a.log" |
		tail -n 1 | { read -r nx ak && [ "$nx" -gt $((ak + 1)) ]; }
}
# Only the log line counts here: VM a may end (and A's state with it)
# before a slow lab polls; the sum and clean checks below cover the rest.
ahead_again() { [ "$(agains)" -ge 2 ] && ahead; }
wait_for 90 ahead_again
st=$?
diag "A's second restart: $(($(date +%s) - t0)) s to 'primary again'; A $(fielda state), B $(field state)"
check "primary-restart-ahead: B held records beyond A's acks: the new ftd acks them to the module and ships from B's next ($(grep "primary again from record" "$work/a.log" | tail -n 1 | sed 's/.*from record/from record/'))" \
	test $st = 0
suma=$(wait_vm a)	# up to 300 s
sumb=$(wait_vm b)
check "primary-restart-sum: VM b, through two kills of A's ftd, computes VM a's checksum ($suma = $sumb)" \
	test -n "$suma" -a "$suma" = "$sumb"
check "primary-restart-clean: no divergence, nothing out of sequence, no log error, no restart refused" \
	sh -c "! grep -q 'diverged\|out of sequence\|log-error\|cannot go on' '$work/a.log' '$work/b.log'"
if [ "$tap_failed" != 0 ]; then
	tail -n 25 "$work/a.log" | sed 's/^/# a.log: /'
	tail -n 25 "$work/b.log" | sed 's/^/# b.log: /'
fi
diag "after: $(ctla status --json | grep -o '"why":"[^"]*"' | head -n 1)"

# Host A dies, with two new VMs (a and b have ended): both ftd start
# afresh, so that only the new pair is theirs, on a fresh area.
kill "$fa" "$fb"
wait "$fa" "$fb" 2>/dev/null
"$FTCTL" arb init --disk "$disk" --vm pair-1 --force >/dev/null ||
	give_up "ftctl arb init on $disk failed"
start_vm c --iters 20000 --seed 3 || give_up "VM c did not start"
pc=$VM_PID
idc=$(attach_pid "$pc")
start_vm d --iters 20000 --seed 4 || give_up "VM d did not start"
idd=$(attach_pid "$VM_PID")
[ -n "$idc" ] && [ -n "$idd" ] || give_up "ftctl attach failed"
"$FTD" --foreground --config "$work/a.conf" >>"$work/a.log" 2>&1 &
fa=$!
"$FTD" --foreground --config "$work/b.conf" >>"$work/b.log" 2>&1 &
fb=$!
wait_for 30 ctla status || give_up "ftd A did not start again"
wait_for 30 ctlb status || give_up "ftd B did not start again"
ctla pair --vm "$idc" --peer 127.0.0.1:7792 --timeout 60 >"$work/pair.out" 2>&1
check "pair-again: VM $idc primary on A, VM $idd backup on B" \
	grep -q "primary, paired with hostb" "$work/pair.out"
go_vm c
go_vm d
wait_for 120 replayed || diag "B's VM d replays nothing yet"
diag "before the failure: held $(field held), replayed $(field replayed)"

kill -9 "$fa" "$pc"		# host A dies: its ftd and its VM
live() { [ "$(field state)" = live ]; }
check "failover: host A dies: B wins the disk and goes live" wait_for 60 live
check "promoted-role: VM $idd's role is none (promoted by the module)" is_role "$idd" none
sum=$(wait_vm d)	# up to 300 s
check "runs-live: the promoted VM runs on live to the end of its loop (checksum $sum)" test -n "$sum"
check "says-why: B says why: it won a generation" sh -c "grep -q 'won generation' '$work/b.log'"
sed 's/^/# b.log: /' "$work/b.log" | tail -n 8
kill "$fb" 2>/dev/null
ip link del "oqa$$" 2>/dev/null
ip link del "oqb$$" 2>/dev/null
