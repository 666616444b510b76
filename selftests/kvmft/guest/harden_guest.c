// SPDX-License-Identifier: GPL-2.0
/*
 * Guest for harden_test: a0 selects the scenario (enum harden_case in
 * lib/harden.h), a1 and a2 are its inputs.
 */
#include "guest.h"
#include "csum.h"
#include "harden.h"

/* Report every TSC value read, one ucall each. */
static void tsc_sync(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		GUEST_SYNC(rdtsc());
}

/* Read the TSC @n times as fast as possible; report the last value. */
static void tsc_spin(uint64_t n)
{
	uint64_t i, t = 0;

	for (i = 0; i < n; i++)
		t = rdtsc();
	GUEST_DONE(t);
}

/* Touch guest memory at @gpa (the VMM may hold the page back), then RDTSC. */
static void touch(uint64_t gpa)
{
	uint64_t v = *(volatile uint64_t *)gpa;

	GUEST_DONE(v, rdtsc());
}

static void msr_reads(uint64_t n)
{
	uint64_t c = CSUM_INIT, t = 0, i;

	for (i = 0; i < n; i++) {
		t = rdmsr(HG_MSR_TSC);
		c = csum_fold(c, t);
		c = csum_fold(c, rdmsr(HG_MSR_APIC_BASE));
	}
	GUEST_DONE(c, t);
}

/* MMIO reads of 1, 2, 4 and 8 bytes, and INs, the VMM answers. */
static void mmio_reads(uint64_t n)
{
	volatile uint8_t *p = (volatile uint8_t *)HG_MMIO_GPA;
	uint64_t c = CSUM_INIT, i;

	for (i = 0; i < n; i++) {
		c = csum_fold(c, p[i & 7]);
		c = csum_fold(c, *(volatile uint16_t *)(p + 8));
		c = csum_fold(c, *(volatile uint32_t *)(p + 16));
		c = csum_fold(c, *(volatile uint64_t *)(p + 24));
		c = csum_fold(c, inb(HG_PORT));
	}
	GUEST_DONE(c, n);
}

static void det_mix(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		cpuid_eax((uint32_t)i & 1);
		inb(HG_PORT);
		rdmsr(HG_MSR_APIC_BASE);
	}
	GUEST_DONE(n);
}

#define X2APIC_SVR	0x80f
#define X2APIC_EOI	0x80b
#define X2APIC_LVTT	0x832
#define X2APIC_TMICT	0x838
#define X2APIC_TDCR	0x83e

static volatile uint64_t hg_count, hg_irqs, hg_sum = CSUM_INIT;

void guest_irq(uint64_t rip)
{
	volatile uint64_t *log = (volatile uint64_t *)HG_IRQ_LOG_GPA;

	if (hg_irqs < HG_IRQ_LOG_MAX) {
		log[2 * hg_irqs] = rip;
		log[2 * hg_irqs + 1] = hg_count;
	}
	hg_sum = csum_fold(csum_fold(hg_sum, rip), hg_count);
	hg_irqs++;
	wrmsr(X2APIC_EOI, 0);
}

/*
 * Interrupts are on before the APIC accepts any, so that none is pending
 * at an STI: QEMU 7.2's TCG (the lab's host CPU) loses the STI shadow
 * across an exit, so one pending there lands an instruction early or
 * not depending on the host's timing (docs/decisions.md).
 */
static void lapic_start(uint64_t tmict)
{
	sti();
	wrmsr(HG_MSR_APIC_BASE, rdmsr(HG_MSR_APIC_BASE) | (1 << 10) | (1 << 11));
	wrmsr(X2APIC_SVR, 0x1ff);
	wrmsr(X2APIC_TDCR, 0xb);			/* divide by 1 */
	wrmsr(X2APIC_LVTT, GUEST_IRQ_VECTOR | (1 << 17));	/* periodic */
	if (tmict)	/* 0: no timer, only the VMM's MSIs */
		wrmsr(X2APIC_TMICT, tmict);
}

static void lapic_end(void)
{
	cli();
	/* A record after the last interrupt: the end of the log is here. */
	rdtsc();
	wrmsr(X2APIC_TMICT, 0);
	GUEST_DONE(hg_irqs, hg_sum);
}

/* Every kind of input the log carries, between interrupts. */
static void lapic_mix(uint64_t n, uint64_t tmict)
{
	uint8_t buf[4];

	lapic_start(tmict);
	for (hg_count = 0; hg_count < n; hg_count++) {
		switch (hg_count & 1023) {
		case 0:
			cpuid_eax(0);
			break;
		case 256:
			hg_sum = csum_fold(hg_sum, inb(HG_PORT));
			break;
		case 384:
			insb(HG_PORT, buf, sizeof(buf));
			hg_sum = csum_fold(hg_sum, *(uint32_t *)buf);
			break;
		case 512:
			hg_sum = csum_fold(hg_sum,
					   *(volatile uint32_t *)HG_MMIO_GPA);
			break;
		case 640:
			hg_sum = csum_fold(hg_sum, rdtsc());
			break;
		case 768:
			hg_sum = csum_fold(hg_sum, rdmsr(HG_MSR_TSC));
			break;
		}
	}
	lapic_end();
}

static void lapic_timer(uint64_t n, uint64_t tmict, uint64_t stride,
			int io)
{
	lapic_start(tmict);
	for (hg_count = 0; hg_count < n; hg_count++)
		if (!(hg_count & (stride - 1)))
			cpuid_eax(0);
		else if (io && (hg_count & (stride - 1)) == stride / 2)
			hg_sum = csum_fold(hg_sum, inb(HG_PORT));
		else if (io && (hg_count & (stride - 1)) == stride / 4)
			hg_sum = csum_fold(hg_sum,
					   *(volatile uint32_t *)HG_MMIO_GPA);
	lapic_end();
}

void guest_main(uint64_t test, uint64_t a1, uint64_t a2)
{
	switch (test) {
	case HG_TSC_SYNC:
		tsc_sync(a1);
		break;
	case HG_TSC_SPIN:
		tsc_spin(a1);
		break;
	case HG_TOUCH:
		touch(a1);
		break;
	case HG_MSR_READS:
		msr_reads(a1);
		break;
	case HG_RDMSR:
		GUEST_DONE(rdmsr((uint32_t)a1));
		break;
	case HG_RDPMC:
		GUEST_DONE(rdpmc(0));
		break;
	case HG_DET_MIX:
		det_mix(a1);
		break;
	case HG_LAPIC_TIMER:
		lapic_timer(a1, a2, 64, 0);
		break;
	case HG_MMIO_READS:
		mmio_reads(a1);
		break;
	case HG_LAPIC_SPARSE:
		lapic_timer(a1, a2, 1024, 0);
		break;
	case HG_LAPIC_SPARSE_IO:
		lapic_timer(a1, a2, 1024, 1);
		break;
	case HG_LAPIC_MIX:
		lapic_mix(a1, a2);
		break;
	default:
		GUEST_ASSERT(0);
	}
	GUEST_DONE();
}
