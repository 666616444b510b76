#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the lab: selftests/kvmft/linux_guest.sh with this tree's
# kvmft.ko (LG_MODULE: another build of it; insmod, experimental_lapic=1)
# and KVM's interrupt tracepoints
# on, then leaves the evidence in the lab's out dir:
#   linux-guest/   serial logs, QMP transcripts, status samples, ftctl output
#   dmesg          the kernel log (kvmft's pr_warn lines are not on the console)
#   trace          kvm_set_irq, kvm_msi_set_irq, kvm_inj_virq,
#                  kvm_apic_accept_irq, kvm_pic_set_irq (LG_TRACE=0: off)
#
#   nice -n 19 lab/run --timeout 2400 --out /work/out-linux-N -- scripts/linux-guest-lab.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd -P)
out=${LAB_OUT:?run inside the lab (lab/run)}
mod=${LG_MODULE:-$top/kvmft.ko}
if [ ! -c /dev/kvmft ]; then
	insmod "$mod" experimental_lapic=1 || {
		echo "not ok 1 - insmod $mod experimental_lapic=1"
		exit 1
	}
fi
t=/sys/kernel/tracing
if [ "${LG_TRACE:-1}" = 1 ] && [ -d $t/events/kvm ]; then
	echo 16384 >$t/buffer_size_kb
	for e in kvm_set_irq kvm_msi_set_irq kvm_inj_virq kvm_apic_accept_irq \
		kvm_pic_set_irq kvm_ioapic_set_irq; do
		[ -d $t/events/kvm/$e ] && echo 1 >$t/events/kvm/$e/enable
	done
	echo 1 >$t/tracing_on
fi
LG_KEEP=$out/linux-guest "$top/selftests/kvmft/linux_guest.sh"
rc=$?
[ -d $t/events/kvm ] && echo 0 >$t/tracing_on && cat $t/trace >"$out/trace" 2>/dev/null
dmesg >"$out/dmesg"
exit $rc
