// SPDX-License-Identifier: GPL-2.0
/*
 * Guest for vmm_test: a0 selects the scenario, a1 and a2 are its inputs.
 */
#include "guest.h"
#include "vmm_test.h"

/* Large enough for every INS below, and crossing page boundaries. */
static uint8_t ins_buf[3 * 4096] __attribute__((aligned(4096)));

static void test_out(void)
{
	outb(VT_PORT, 0x5a);
	outw(VT_PORT + 2, 0x1234);
	outl(VT_PORT + 4, 0xdeadbeef);
}

static void test_in(void)
{
	uint8_t b = inb(VT_PORT);
	uint16_t w = inw(VT_PORT + 2);
	uint32_t l = inl(VT_PORT + 4);

	GUEST_SYNC(b, w, l);
}

/* Each INS lands at an odd offset so that it straddles a page. */
static void test_ins(void)
{
	uint8_t *p = ins_buf + 4096 - 37;

	insb(VT_PORT, p, VT_INS_COUNT_B);
	GUEST_SYNC((uintptr_t)p, 1, VT_INS_COUNT_B);
	insw(VT_PORT + 2, p, VT_INS_COUNT_W);
	GUEST_SYNC((uintptr_t)p, 2, VT_INS_COUNT_W);
	insl(VT_PORT + 4, p, VT_INS_COUNT_L);
	GUEST_SYNC((uintptr_t)p, 4, VT_INS_COUNT_L);
}

static void test_rdtsc(uint64_t n, uint64_t aux_want)
{
	uint64_t first = rdtsc(), prev = first, t, i;
	uint32_t aux;

	for (i = 0; i < n; i++) {
		t = rdtsc();
		GUEST_ASSERT(t > prev);
		prev = t;
		if (aux_want & VT_RDTSCP) {
			t = rdtscp(&aux);
			GUEST_ASSERT(t > prev);
			GUEST_ASSERT_EQ(aux, (uint32_t)aux_want);
			prev = t;
		}
	}
	GUEST_DONE(first, prev);
}

static void test_out_loop(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		outb(VT_PORT, (uint8_t)i);
}

void guest_main(uint64_t test, uint64_t a1, uint64_t a2)
{
	switch (test) {
	case VT_OUT:
		test_out();
		break;
	case VT_IN:
		test_in();
		break;
	case VT_INS:
		test_ins();
		break;
	case VT_RDTSC:
		test_rdtsc(a1, a2);
		break;
	case VT_HLT:
		hlt();
		GUEST_DONE(VT_HLT_DONE);
		break;
	case VT_OUT_LOOP:
		test_out_loop(a1);
		break;
	case VT_ASSERT:
		GUEST_ASSERT_EQ(a1, a2);
		break;
	case VT_UD2:
		ud2();
		break;
	default:
		GUEST_ASSERT(0);
	}
	GUEST_DONE();
}
