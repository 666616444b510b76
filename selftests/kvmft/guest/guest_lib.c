// SPDX-License-Identifier: GPL-2.0
/*
 * Guest runtime: entry from start.S, the ucall, exception reporting, and
 * the few library functions the compiler may call.
 */
#include "guest.h"

#define GUEST_NR_EXC	32
#define GUEST_NR_GATES	(GUEST_IRQ_VECTOR + 1)

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;		/* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* start.S: GUEST_NR_EXC stubs, 16 bytes apart; the interrupt stub. */
extern char guest_exc_stubs[], guest_irq_stub[];

static struct idt_gate idt[GUEST_NR_GATES] __attribute__((aligned(16)));

/* A guest that enables interrupts defines its own. */
void __attribute__((weak)) guest_irq(uint64_t rip)
{
	(void)rip;
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

static void guest_init_idt(void)
{
	struct desc_ptr dp = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	int i;

	for (i = 0; i < GUEST_NR_GATES; i++) {
		uint64_t off = (uint64_t)(uintptr_t)&guest_exc_stubs[16 * i];

		if (i >= GUEST_NR_EXC && i != GUEST_IRQ_VECTOR)
			continue;	/* not present: a #GP if raised */
		if (i == GUEST_IRQ_VECTOR)
			off = (uint64_t)(uintptr_t)guest_irq_stub;

		idt[i].off_lo = (uint16_t)off;
		idt[i].sel = GUEST_SEL_CODE;
		idt[i].ist = 0;
		idt[i].type = 0x8e;
		idt[i].off_mid = (uint16_t)(off >> 16);
		idt[i].off_hi = (uint32_t)(off >> 32);
		idt[i].zero = 0;
	}
	asm volatile("lidt %0" : : "m"(dp) : "memory");
}

void __ucall(uint64_t cmd, const uint64_t *args, uint64_t nargs,
	     const char *msg, uint64_t line)
{
	struct ucall uc;
	uint64_t i;

	memset(&uc, 0, sizeof(uc));
	uc.cmd = cmd;
	uc.line = line;
	if (nargs > UCALL_MAX_ARGS)
		nargs = UCALL_MAX_ARGS;
	uc.nargs = nargs;
	for (i = 0; i < nargs; i++)
		uc.args[i] = args[i];
	for (i = 0; msg && msg[i] && i < UCALL_MSG_LEN - 1; i++)
		uc.msg[i] = msg[i];
	/* The guest runs identity mapped: &uc is its physical address. */
	outl(UCALL_PORT, (uint32_t)(uintptr_t)&uc);
}

static void __attribute__((noreturn)) guest_stop(void)
{
	for (;;)
		hlt();
}

void __guest_abort(const char *file, uint64_t line, const char *cond,
		   const uint64_t *args, uint64_t nargs)
{
	char msg[UCALL_MSG_LEN];
	size_t n = 0;
	const char *s;

	for (s = file; *s && n < sizeof(msg) - 1; s++)
		msg[n++] = *s;
	for (s = ": "; *s && n < sizeof(msg) - 1; s++)
		msg[n++] = *s;
	for (s = cond; *s && n < sizeof(msg) - 1; s++)
		msg[n++] = *s;
	msg[n] = 0;
	__ucall(UCALL_ABORT, args, nargs, msg, line);
	guest_stop();
}

/* Called by the exception stubs in start.S; never returns. */
void guest_exception(uint64_t vector, uint64_t error, uint64_t rip)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	__ucall(UCALL_EXCEPTION, (const uint64_t[]){ vector, error, rip, cr2 },
		4, NULL, 0);
	guest_stop();
}

/* Called by start.S with the VMM's arguments still in rdi, rsi, rdx. */
void guest_entry(uint64_t a0, uint64_t a1, uint64_t a2)
{
	guest_init_idt();
	guest_main(a0, a1, a2);
	GUEST_DONE();
	guest_stop();
}
