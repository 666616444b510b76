/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvmft_exits.bpf.c and its reader (ctl/cmd_exits.c) share: the keys
 * and values of the exit_stats map.
 */
#ifndef KVMFT_EXITS_H
#define KVMFT_EXITS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The isa argument of the kvm_exit tracepoint (KVM_ISA_* in kvm's trace.h). */
#define KVMFT_ISA_VMX 1
#define KVMFT_ISA_SVM 2

/* Distinct (isa, reason) pairs kept; a VMX or SVM host uses well under it. */
#define KVMFT_EXITS_MAX_REASONS 1024

struct kvmft_exit_key {
	__u32 isa;
	__u32 reason;	/* as traced: VMX with its flag bits, SVM exit code */
};

/*
 * Per CPU, cumulative since load. count is taken at kvm_exit; lat_ns and
 * lat_samples at the next kvm_entry of the same thread, so an exit whose
 * entry has not happened yet is counted but not yet timed.
 */
struct kvmft_exit_stat {
	__u64 count;
	__u64 lat_ns;
	__u64 lat_samples;
};

#endif /* KVMFT_EXITS_H */
