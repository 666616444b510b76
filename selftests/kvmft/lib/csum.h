/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checksum guest (guest/checksum_guest.c) and what drives it.
 *
 * Each iteration the guest reads the TSC and then input from a port, and
 * folds every value it read, in the order it read them, into a 64-bit
 * checksum. Any difference in any value read changes the checksum, so two
 * runs agree only if every non-deterministic input was the same: that is
 * what record/replay must achieve. The fold is shared with the host so a
 * test can recompute the checksum from a recorded log.
 */
#ifndef KVMFT_CSUM_H
#define KVMFT_CSUM_H

#include <stdint.h>

/* Guest arguments: a0 = iterations, a1 = port, a2 = CSUM_F_* flags. */
#define CSUM_F_RDTSCP	(1U << 0)	/* odd iterations use RDTSCP */
#define CSUM_F_INS	(1U << 1)	/* read CSUM_INS_COUNT dwords by rep insl */
#define __CSUM_F_ALL	(CSUM_F_RDTSCP | CSUM_F_INS)

#define CSUM_INS_COUNT	4
#define CSUM_INIT	0x6a09e667f3bcc908ULL
#define CSUM_DEFAULT_PORT 0x5a0

/* A bijective 64-bit mixer (murmur3's finalizer) applied after each value. */
static inline uint64_t csum_fold(uint64_t c, uint64_t v)
{
	c ^= v;
	c *= 0xff51afd7ed558ccdULL;
	c ^= c >> 33;
	c *= 0xc4ceb9fe1a85ec53ULL;
	c ^= c >> 33;
	return c;
}

#ifndef __KVMFT_GUEST__
#include <stdbool.h>

struct kvm_vm;
struct kvm_vcpu;
struct rec_buf;

/* A VM running the checksum guest, with a seeded source for its input. */
struct csum_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t rng;		/* splitmix64 state */
	uint64_t pio_ins;	/* IN exits the VMM answered */
};

/* Create the VM and its vCPU and load the guest; nothing runs yet. */
void csum_vm_create(struct csum_vm *cv, uint64_t seed);
/* Run the guest to completion; returns its checksum. */
uint64_t csum_vm_run(struct csum_vm *cv, uint64_t iters, uint16_t port,
		     uint32_t flags);
void csum_vm_destroy(struct csum_vm *cv);
/* A seed from getrandom(). */
uint64_t csum_random_seed(void);
/*
 * The checksum the guest must have computed from the values in the log
 * @rb (RDTSC/RDTSCP, IN of 4 bytes): 0, or -EPROTO for anything else.
 */
int csum_from_log(const struct rec_buf *rb, uint64_t *sum);
#endif

#endif /* KVMFT_CSUM_H */
