/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-side helpers for code run by the test VMM (lib/vmm.h). Guest code
 * is freestanding C in 64-bit long mode, ring 0, interrupts off, memory
 * identity mapped. Its entry point is
 *
 *	void guest_main(uint64_t a0, uint64_t a1, uint64_t a2);

 *
 * with the arguments the VMM set with vcpu_set_args(). Returning from it
 * reports UCALL_DONE with no values.
 */
#ifndef KVMFT_GUEST_H
#define KVMFT_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "guest_abi.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2);

/*
 * Interrupts: vector GUEST_IRQ_VECTOR calls guest_irq() with the RIP it
 * interrupted (define it; the default does nothing), then returns.
 */
#define GUEST_IRQ_VECTOR	0x40
void guest_irq(uint64_t rip);

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
		     "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* String input: rep ins{b,w,l}, @count elements into @buf. */
static inline void insb(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("rep insb" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insw(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insl(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("rep insl" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtscp(uint32_t *aux)
{
	uint32_t lo, hi, c;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c) : : "memory");
	if (aux)
		*aux = c;
	return ((uint64_t)hi << 32) | lo;
}

static inline uint32_t cpuid_eax(uint32_t leaf)
{
	uint32_t a = leaf, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
	return a;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdpmc(uint32_t counter)
{
	uint32_t lo, hi;

	asm volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(counter) : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void hlt(void)
{
	asm volatile("hlt" : : : "memory");
}

static inline void ud2(void)
{
	asm volatile("ud2" : : : "memory");
}

void __ucall(uint64_t cmd, const uint64_t *args, uint64_t nargs,
	     const char *msg, uint64_t line);
void __guest_abort(const char *file, uint64_t line, const char *cond,
		   const uint64_t *args, uint64_t nargs)
	__attribute__((noreturn));

/*
 * GUEST_SYNC(v...) and GUEST_DONE(v...) send up to UCALL_MAX_ARGS values.
 * The leading 0 lets GUEST_DONE() take no values; it is not sent.
 */
#define __UCALL_ARGS(...)	((const uint64_t[]){ 0, ##__VA_ARGS__ })
#define __UCALL_NARGS(...)	(sizeof(__UCALL_ARGS(__VA_ARGS__)) / 8 - 1)
#define __UCALL(cmd, ...)						\
	__ucall(cmd, __UCALL_ARGS(__VA_ARGS__) + 1,			\
		__UCALL_NARGS(__VA_ARGS__), NULL, 0)

#define GUEST_SYNC(...)		__UCALL(UCALL_SYNC, ##__VA_ARGS__)
#define GUEST_DONE(...)		__UCALL(UCALL_DONE, ##__VA_ARGS__)

#define GUEST_ASSERT(cond)						\
	do {								\
		if (!(cond))						\
			__guest_abort(__FILE__, __LINE__, #cond, NULL, 0); \
	} while (0)

/* Reports both values, for the VMM to print. */
#define GUEST_ASSERT_EQ(a, b)						\
	do {								\
		uint64_t __a = (a), __b = (b);				\
		if (__a != __b)						\
			__guest_abort(__FILE__, __LINE__, #a " == " #b,	\
				      (const uint64_t[]){ __a, __b }, 2); \
	} while (0)

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif /* KVMFT_GUEST_H */
