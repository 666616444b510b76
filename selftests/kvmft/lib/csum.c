// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the checksum guest: a VM whose IN data comes from a seeded
 * splitmix64 stream, so two VMs with different seeds see different input.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "csum.h"
#include "log.h"
#include "vmm.h"

GUEST_IMAGE_DECLARE(checksum);

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void csum_pio_in(struct kvm_vcpu *vcpu, uint16_t port, uint8_t size,
			uint32_t count, void *data, void *opaque)
{
	struct csum_vm *cv = opaque;
	size_t len = (size_t)size * count, off;
	uint64_t r;

	(void)vcpu;
	(void)port;
	for (off = 0; off < len; off += sizeof(r)) {
		r = splitmix64(&cv->rng);
		memcpy((uint8_t *)data + off, &r,
		       len - off < sizeof(r) ? len - off : sizeof(r));
	}
	cv->pio_ins++;
}

uint64_t csum_random_seed(void)
{
	uint64_t seed;

	TEST_ASSERT(getrandom(&seed, sizeof(seed), 0) == sizeof(seed),
		    "getrandom");
	return seed;
}

void csum_vm_create(struct csum_vm *cv, uint64_t seed)
{
	memset(cv, 0, sizeof(*cv));
	cv->rng = seed;
	cv->vm = vm_create_with_one_vcpu(&cv->vcpu, GUEST_IMAGE(checksum));
	vcpu_set_pio_in(cv->vcpu, csum_pio_in, cv);
}

uint64_t csum_vm_run(struct csum_vm *cv, uint64_t iters, uint16_t port,
		     uint32_t flags)
{
	struct ucall uc;
	uint64_t cmd;

	TEST_ASSERT(port != UCALL_PORT, "port 0x%x is the ucall port", port);
	TEST_ASSERT(!(flags & ~__CSUM_F_ALL), "bad flags 0x%x", flags);
	vcpu_set_args(cv->vcpu, iters, port, flags);
	cmd = vcpu_run_ucall(cv->vcpu, &uc);
	TEST_ASSERT(cmd == UCALL_DONE && uc.nargs == 2 && uc.args[1] == iters,
		    "checksum guest ended with ucall %llu (%llu args)",
		    (unsigned long long)cmd, (unsigned long long)uc.nargs);
	return uc.args[0];
}

void csum_vm_destroy(struct csum_vm *cv)
{
	vm_free(cv->vm);
	cv->vm = NULL;
	cv->vcpu = NULL;
}

/* The checksum the guest must have computed from the values in @rb. */
int csum_from_log(const struct rec_buf *rb, uint64_t *sum)
{
	uint64_t c = CSUM_INIT;
	size_t off = 0;

	while (off < rb->len) {
		const uint8_t *p = rb->data + off + sizeof(struct kvmft_rec);
		struct kvmft_rec_tsc t;
		struct kvmft_rec_pio pio;
		struct kvmft_rec h;
		uint32_t i, v;

		memcpy(&h, rb->data + off, sizeof(h));
		switch (h.type) {
		case KVMFT_REC_RDTSC:
		case KVMFT_REC_RDTSCP:
			memcpy(&t, p, sizeof(t));
			c = csum_fold(c, t.tsc);
			if (h.type == KVMFT_REC_RDTSCP)
				c = csum_fold(c, (uint32_t)t.aux);
			break;
		case KVMFT_REC_STATE:
			break;	/* the vCPU's state, not something it read */
		case KVMFT_REC_PIO_IN:
			memcpy(&pio, p, sizeof(pio));
			if (pio.size != 4)
				return -EPROTO;
			for (i = 0; i < pio.count; i++) {
				memcpy(&v, p + sizeof(pio) + 4 * i, 4);
				c = csum_fold(c, v);
			}
			break;
		default:
			return -EPROTO;
		}
		off += sizeof(h) + h.len;
	}
	*sum = c;
	return 0;
}
