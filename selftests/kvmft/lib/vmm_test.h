/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by vmm_test.c and guest/vmm_test_guest.c. */
#ifndef KVMFT_VMM_TEST_H
#define KVMFT_VMM_TEST_H

enum vmm_test_case {
	VT_OUT = 1,
	VT_IN,
	VT_INS,
	VT_RDTSC,
	VT_HLT,
	VT_OUT_LOOP,
	VT_ASSERT,
	VT_UD2,
};

#define VT_PORT		0x80	/* VT_PORT (byte), +2 (word), +4 (dword) */
#define VT_INS_COUNT_B	300
#define VT_INS_COUNT_W	700
#define VT_INS_COUNT_L	1100	/* 4400 bytes: more than one exit's worth */
#define VT_RDTSCP	(1ULL << 32)	/* a2 of VT_RDTSC: also RDTSCP */
#define VT_HLT_DONE	0x41dULL

#endif /* KVMFT_VMM_TEST_H */
