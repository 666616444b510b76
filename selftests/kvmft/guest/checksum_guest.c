// SPDX-License-Identifier: GPL-2.0
/*
 * The checksum guest: see lib/csum.h. Reports UCALL_DONE(checksum, iters).
 */
#include "guest.h"
#include "csum.h"

void guest_main(uint64_t iters, uint64_t port, uint64_t flags)
{
	uint32_t buf[CSUM_INS_COUNT];
	uint64_t c = CSUM_INIT, i;
	uint32_t aux;
	int j;

	for (i = 0; i < iters; i++) {
		if ((flags & CSUM_F_RDTSCP) && (i & 1)) {
			c = csum_fold(c, rdtscp(&aux));
			c = csum_fold(c, aux);
		} else {
			c = csum_fold(c, rdtsc());
		}
		if (flags & CSUM_F_INS) {
			insl((uint16_t)port, buf, CSUM_INS_COUNT);
			for (j = 0; j < CSUM_INS_COUNT; j++)
				c = csum_fold(c, buf[j]);
		} else {
			c = csum_fold(c, inl((uint16_t)port));
		}
	}
	GUEST_DONE(c, iters);
}
