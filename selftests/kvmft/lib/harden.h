/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by harden_test.c and guest/harden_guest.c. */
#ifndef KVMFT_HARDEN_H
#define KVMFT_HARDEN_H

enum harden_case {
	HG_TSC_SYNC = 1,	/* a1 reads: GUEST_SYNC(tsc) after each */
	HG_TSC_SPIN,		/* a1 reads, then GUEST_DONE(last tsc) */
	HG_TOUCH,		/* read the u64 at gpa a1, GUEST_DONE(it, tsc) */
	HG_MSR_READS,		/* a1 rounds of RDMSR TSC and APIC base,
				 * folded: GUEST_DONE(checksum, last TSC) */
	HG_RDMSR,		/* RDMSR a1 once: GUEST_DONE(value) or #GP */
	HG_RDPMC,		/* RDPMC 0: GUEST_DONE(value) or #GP */
	HG_DET_MIX,		/* a1 rounds of CPUID, IN from HG_PORT and
				 * RDMSR: 3 deterministic exits each, then
				 * GUEST_DONE(a1): one more */
	HG_LAPIC_TIMER,		/* see below */
	HG_LAPIC_SPARSE,	/* HG_LAPIC_TIMER, a CPUID every 1024 counts */
	HG_LAPIC_SPARSE_IO,	/* ... and an MMIO read of HG_MMIO_GPA and an
				 * IN from HG_PORT 256 and 512 counts after */
	HG_MMIO_READS,		/* a1 rounds of MMIO reads of 1, 2, 4 and 8
				 * bytes at HG_MMIO_GPA and an IN, folded:
				 * GUEST_DONE(checksum, a1) */
	HG_LAPIC_MIX,		/* HG_LAPIC_SPARSE, and every 1024 counts an
				 * IN, an INSB of 4, an MMIO read, an RDTSC
				 * and an RDMSR, all folded in */
};

#define HG_PORT			0x5a8
/* No memory there: the VMM answers reads (KVM_EXIT_MMIO). */
#define HG_MMIO_GPA		0x20000000ULL
/* HG_LAPIC_TIMER logs (RIP, count) of its first interrupts here. */
#define HG_IRQ_LOG_GPA		0x200000ULL
#define HG_IRQ_LOG_MAX		4096

/*
 * HG_LAPIC_TIMER (x2APIC, split irqchip): a periodic LAPIC timer of a2
 * bus cycles (none if 0; MSIs from the VMM to vector GUEST_IRQ_VECTOR
 * count the same) while the guest counts to a1, with a CPUID every 64
 * counts (HG_LAPIC_SPARSE: every 1024, so that interrupts held for a
 * deterministic exit go past kvmft's landmark bound);
 * each interrupt folds the RIP it interrupted and the count into a
 * checksum: GUEST_DONE(interrupts, checksum). Equal on a replay only if
 * every interrupt landed at the same instruction.
 */

#define HG_MSR_TSC		0x10
#define HG_MSR_APIC_BASE	0x1b

/* A page the VMM leaves untouched, for HG_TOUCH: 3 MiB into the guest. */
#define HG_TOUCH_GPA	0x300000ULL

#endif /* KVMFT_HARDEN_H */
