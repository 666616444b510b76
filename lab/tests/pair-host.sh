#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One host of lab/tests/pair_test.sh, run inside a lab guest by lab/run:
#   pair-host.sh ID    (1 or 2)
# The two lab guests share a network (a virtio NIC each, 10.91.0.ID/24,
# joined on the build machine by QEMU's dgram netdev) and a disk (the
# virtio disk, the VMs' arbitration area). This host loads kvmft, starts
# its ftd, and then runs what the test writes into its out dir: cmd.N, a
# line of shell run with the helpers below, answered by done.N (exit
# status, then output). It keeps `st` (its ftd's `ftctl status --json`)
# current, and stops at `quit` or when its lab is killed.
set -u
id=${1:?usage: pair-host.sh ID}
out=${LAB_OUT:?run inside the lab (lab/run)}
repo=$(cd "$(dirname "$0")/../.." && pwd -P)
FTCTL=$repo/ctl/ftctl
FTD=$repo/ctl/ftd
CHECKSUM_VM=$repo/selftests/kvmft/checksum_vm
run=/run/pair
mkdir -p "$run"
say() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >>"$out/host.log"; }
fail() {
	say "setup failed: $*"
	echo "$*" >"$out/setup-failed"
	exit 1
}

# The shared network and disk.
modprobe virtio_net && modprobe virtio_blk && modprobe dm_mod ||
	fail "modprobe virtio_net virtio_blk dm_mod"
dev=
for n in /sys/class/net/*; do
	[ "$(basename "$n")" = lo ] || { dev=$(basename "$n"); break; }
done
[ -n "$dev" ] || fail "no network device (the test's dgram NIC)"
ip addr add "10.91.0.$id/24" dev "$dev" && ip link set "$dev" up ||
	fail "cannot set up $dev"
[ -b /dev/vda ] || fail "no /dev/vda (the shared disk)"
# The arbitration area through device-mapper, so that a test can make it
# fail (disk_fail) without touching the other host's view.
size=$(blockdev --getsz /dev/vda)
# No udev in the lab: dmsetup makes the node itself.
dmsetup create --noudevsync arb --table "0 $size linear /dev/vda 0" &&
	dmsetup mknodes arb && [ -b /dev/mapper/arb ] ||
	fail "dmsetup create arb (/dev/mapper/arb)"

if [ -n "${KVMFT_KO:-}" ]; then
	insmod "$KVMFT_KO" || fail "insmod $KVMFT_KO"
else
	modprobe kvmft || fail "modprobe kvmft (the DKMS module)"
fi
(umask 077 && cp "$out/psk" "$run/psk") || fail "no key from the test"
cat >"$run/ftd.conf" <<EOF
host_id = $id
host_name = host$id
key_file = $run/psk
arb_disk = /dev/mapper/arb
listen = 10.91.0.$id
port = 7791
control_socket = $run/ftd.sock
state_dir = $run/state
hb_interval_ms = ${PAIR_HB_INTERVAL_MS:-100}
hb_timeout_ms = ${PAIR_HB_TIMEOUT_MS:-1000}
EOF
ctl() { FTD_SOCKET=$run/ftd.sock "$FTCTL" "$@"; }
# start_ftd: ftd in the background (pid in ftd), answering within 30 s.
start_ftd() {
	"$FTD" --foreground --config "$run/ftd.conf" >>"$out/ftd.log" 2>&1 &
	ftd=$!
	j=0
	until ctl status >/dev/null 2>&1; do
		j=$((j + 1))
		[ $j -lt 300 ] && kill -0 "$ftd" 2>/dev/null || return 1
		sleep 0.1
	done
}
start_ftd || fail "ftd did not start"

# Helpers for the commands.
VM='' VM_PID=''
# vm SEED ITERS: a fresh checksum_vm, the pair's VM (identity pair-1),
# waiting to run; attached; its id in VM.
vm() {
	vm_stop
	rm -f "$run/vm.go" "$run/vm.out"
	KVMFT_IDENTITY=pair-1 "$CHECKSUM_VM" --wait-file "$run/vm.go" \
		--seed "$1" --iters "$2" >"$run/vm.out" 2>&1 &
	j=0
	until grep -q '^ready pid=' "$run/vm.out" 2>/dev/null; do
		j=$((j + 1))
		[ $j -lt 600 ] || { cat "$run/vm.out"; return 1; }
		sleep 0.1
	done
	VM_PID=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$run/vm.out")
	VM=$("$FTCTL" attach --pid "$VM_PID" | sed -n 's/^attached vm \([0-9]*\).*/\1/p')
	[ -n "$VM" ] && echo "vm $VM pid $VM_PID"
}
go() { touch "$run/vm.go"; }
vm_stop() {
	[ -n "$VM_PID" ] && kill -9 "$VM_PID" 2>/dev/null
	VM='' VM_PID=''
	return 0
}
# The VM's exits so far (its role none: it runs live), and its output.
vm_out() { cat "$run/vm.out"; }
role() { "$FTCTL" status --vm "$VM" --json | grep -o '"role": *"[a-z]*"' | sed 's/.*"\([a-z]*\)"$/\1/'; }
# link_cut / link_heal: this host's end of the pair's links (logging,
# heartbeats); the disk stays.
link_cut() { ip link set "$dev" down; }
link_heal() { ip link set "$dev" up; }
# disk_fail: every I/O to the arbitration area fails from now on.
disk_fail() {
	dmsetup suspend --noudevsync arb &&
		dmsetup reload arb --table "0 $size error" &&
		dmsetup resume --noudevsync arb
}
# race BASE: ask for generation BASE+1 on the shared area, forced.
race() {
	"$FTCTL" arb acquire --disk /dev/mapper/arb --host-id "$id" \
		--name "host$id" --base "$1" --timeout 20000
}
# fresh_ftd: ftd started again with no pair kept (for the next pair).
fresh_ftd() {
	kill "$ftd" 2>/dev/null
	wait "$ftd" 2>/dev/null
	rm -rf "$run/state"
	start_ftd
}

# Keep `st` current: the test reads roles and positions from it.
(
	while :; do
		ctl status --json >"$run/st.tmp" 2>&1 && mv "$run/st.tmp" "$out/st"
		sleep 0.2
	done
) &
say "host $id ready: $dev 10.91.0.$id, ftd $ftd"
echo "$id" >"$out/ready"

n=1
while :; do
	if [ ! -f "$out/cmd.$n" ]; then
		sleep 0.02
		continue
	fi
	c=$(cat "$out/cmd.$n")
	[ "$c" = quit ] && break
	say "cmd.$n: $c"
	# In this shell, not a subshell: vm sets VM for the commands after.
	eval "$c" >"$run/o" 2>&1 </dev/null
	rc=$?
	say "cmd.$n: exit $rc"
	{ echo "$rc"; cat "$run/o"; } >"$out/done.$n.tmp"
	mv "$out/done.$n.tmp" "$out/done.$n"
	n=$((n + 1))
done
vm_stop
kill "$ftd" 2>/dev/null
wait "$ftd" 2>/dev/null
dmsetup remove --noudevsync arb 2>/dev/null
echo 0
