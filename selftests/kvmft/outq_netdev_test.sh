#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The output rule's tap binding against the device's and the module's
# lifetimes (docs/output-rule.md): a VM attached with `ftctl attach`, its
# tap bound with `ftctl tap`; the tap deleted while bound unbinds it; the
# module unloaded while a tap is bound lets go of it (the tap can be
# deleted at once: no reference left behind). The module is loaded again
# at the end (modprobe, else $KVMFT_KO, else this tree's kvmft.ko).
. "$(dirname "$0")/tap.sh"
tap_plan 6
dev=oqn$$

if ! need_root_kvm || ! "$FTCTL" info >/dev/null 2>&1 ||
   ! modprobe -q tun 2>/dev/null || ! command -v ip >/dev/null; then
	for t in bind status dev-gone rebind unload dev-free; do
		skip "$t" "needs root, /dev/kvm, kvmft loaded, tun and ip"
	done
	exit 0
fi
trap 'ip link del $dev 2>/dev/null; [ -d /sys/module/kvmft ] ||
	modprobe kvmft 2>/dev/null || insmod "${KVMFT_KO:-$top/kvmft.ko}"; tap_cleanup' EXIT

ifindex_of() { "$FTCTL" status --vm "$1" --json | grep -o '"ifindex": *[0-9]*' | grep -o '[0-9]*$'; }

start_vm n --iters 1 || give_up "the test VM did not start"
id=$(attach_pid "$VM_PID")
[ -n "$id" ] || give_up "no VM attached"
ip tuntap add "$dev" mode tap || give_up "cannot create tap $dev"
check "bind: ftctl tap --vm $id --dev $dev" "$FTCTL" tap --vm "$id" --dev "$dev"
want=$(cat "/sys/class/net/$dev/ifindex")
check "status: ftctl status shows ifindex $want bound" test "$(ifindex_of "$id")" = "$want"
check "dev-gone: deleting the bound tap unbinds it (ifindex 0)" \
	sh -c "timeout 60 ip link del $dev && test \"\$(\"$FTCTL\" status --vm $id --json | grep -o '\"ifindex\": *[0-9]*' | grep -o '[0-9]*\$')\" = 0"
ip tuntap add "$dev" mode tap || give_up "cannot create tap $dev again"
check "rebind: a new tap of the same name binds" "$FTCTL" tap --vm "$id" --dev "$dev"
check "unload: rmmod kvmft with a tap bound" timeout 120 rmmod kvmft
check "dev-free: the tap is deleted at once after unload" timeout 60 ip link del "$dev"
