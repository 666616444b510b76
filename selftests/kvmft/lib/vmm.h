/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small KVM test VMM, in the manner of the kernel's KVM selftests.
 *
 * One VM, one vCPU, guest memory at GPA 0 (GUEST_MEM_DEFAULT unless told),
 * no in-kernel irqchip (so HLT exits to userspace), the host's supported
 * CPUID. The guest is a flat image built from C (guest/) and embedded in
 * the test binary; it starts in 64-bit long mode, identity mapped, with
 * the arguments set by vcpu_set_args() in rdi, rsi, rdx.
 *
 *	GUEST_IMAGE_DECLARE(my);		// guest/my_guest.c
 *	struct kvm_vcpu *vcpu;
 *	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, GUEST_IMAGE(my));
 *	struct ucall uc;
 *
 *	vcpu_set_args(vcpu, 1, 2, 3);
 *	vcpu_set_pio_in(vcpu, my_in_handler, ctx);	// optional
 *	switch (vcpu_run_ucall(vcpu, &uc)) { ... }
 *	vm_free(vm);
 *
 * Conventions: `__foo()` returns 0 or -errno, `foo()` asserts success.
 * kvm_probe() tells a test whether /dev/kvm can run it at all, so it can
 * SKIP with the reason instead of failing.
 */
#ifndef KVMFT_VMM_H
#define KVMFT_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest_abi.h"
#include "test_util.h"

struct kvm_vcpu;

/* A flat guest image embedded by guest/embed.S. */
struct guest_image {
	const uint8_t *start;
	const uint8_t *end;
};

#define GUEST_IMAGE_DECLARE(name)					\
	extern const uint8_t guest_##name##_start[], guest_##name##_end[]
#define GUEST_IMAGE(name)						\
	((struct guest_image){ guest_##name##_start, guest_##name##_end })

/*
 * Supplies the data of a guest IN (or one exit's worth of a rep INS):
 * fill @count elements of @size bytes at @data. The vCPU is re-entered
 * without returning to the caller of vcpu_run().
 */
typedef void (*vmm_pio_in_fn)(struct kvm_vcpu *vcpu, uint16_t port,
			      uint8_t size, uint32_t count, void *data,
			      void *opaque);

/* Supplies the @len bytes of a guest MMIO read at @gpa, at @data. */
typedef void (*vmm_mmio_in_fn)(struct kvm_vcpu *vcpu, uint64_t gpa,
			       uint32_t len, void *data, void *opaque);

struct kvm_vm {
	int kvm_fd;			/* /dev/kvm */
	int fd;				/* VM fd: what kvmft attaches to */
	uint8_t *mem;			/* guest physical 0 .. mem_size */
	size_t mem_size;
	struct kvm_vcpu *vcpu;		/* the one vCPU, once added */
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	vmm_pio_in_fn pio_in;
	void *pio_opaque;
	vmm_mmio_in_fn mmio_in;
	void *mmio_opaque;
	/* KVM_GET_STATS_FD, opened on first use */
	int stats_fd;
	struct kvm_stats_header stats_hdr;
	uint8_t *stats_desc;
};

/* 0 if /dev/kvm can run these tests; else -errno and why (for a SKIP). */
int kvm_probe(char *why, size_t len);

int __vm_create(struct kvm_vm **vm, size_t mem_size);
struct kvm_vm *vm_create(size_t mem_size);
int __vm_vcpu_add(struct kvm_vm *vm, struct kvm_vcpu **vcpu);
struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm);
int __vm_load_guest(struct kvm_vm *vm, struct guest_image img);
void vm_load_guest(struct kvm_vm *vm, struct guest_image img);
/*
 * Before the vCPU is added: KVM's in-kernel LAPIC, PIC and IOAPIC left to
 * userspace (KVM_CAP_SPLIT_IRQCHIP, 24 IOAPIC pins). 0 or -errno.
 */
int __vm_split_irqchip(struct kvm_vm *vm);
/* vm_create(GUEST_MEM_DEFAULT) + vm_vcpu_add() + vm_load_guest(). */
struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu,
				       struct guest_image img);
/* Closes every fd and unmaps everything, so KVM destroys the VM. */
void vm_free(struct kvm_vm *vm);

/* Host view of guest memory; asserts [gpa, gpa + len) is guest RAM. */
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa, size_t len);

/* Guest arguments (rdi, rsi, rdx); before the first run. */
void vcpu_set_args(struct kvm_vcpu *vcpu, uint64_t a0, uint64_t a1,
		   uint64_t a2);
void vcpu_set_pio_in(struct kvm_vcpu *vcpu, vmm_pio_in_fn fn, void *opaque);
void vcpu_set_mmio_in(struct kvm_vcpu *vcpu, vmm_mmio_in_fn fn, void *opaque);

/*
 * KVM_RUN until an exit the caller must see: everything except INs and
 * MMIO reads that the pio_in and mmio_in handlers answer (and EINTR,
 * retried). The exit is in
 * vcpu->run; an OUT's data is at vcpu_io_data().
 */
int __vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);
void *vcpu_io_data(struct kvm_vcpu *vcpu);
/* A readable description of the last exit (static buffer). */
const char *vcpu_exit_str(struct kvm_vcpu *vcpu);

/* If the last exit was a ucall, copy it to @uc and return its cmd. */
uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/*
 * Run to the next ucall. __vcpu_run_ucall() returns whatever ucall came
 * (UCALL_NONE for another exit); vcpu_run_ucall() fails the test on
 * anything but SYNC or DONE, printing the guest's assertion or exception.
 */
uint64_t __vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* Describe an ABORT or EXCEPTION ucall (static buffer). */
const char *ucall_str(const struct ucall *uc);

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *val);
int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val);
uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index);
void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val);

/* A vCPU statistic from KVM_GET_STATS_FD, e.g. "exits"; -ENOENT if none. */
int __vcpu_stat_get(struct kvm_vcpu *vcpu, const char *name, uint64_t *val);
uint64_t vcpu_stat_get(struct kvm_vcpu *vcpu, const char *name);

/* Does KVM_GET_SUPPORTED_CPUID offer @bit of @reg (0 eax .. 3 edx)? */
bool kvm_cpuid_has(uint32_t leaf, uint32_t index, int reg, int bit);
/*
 * Before the first run: the guest's CPUID (kvmft's contract) with @bit of
 * @reg of @leaf.@index set or cleared. -ENOENT if KVM has no such leaf.
 */
int __vcpu_cpuid_set(struct kvm_vcpu *vcpu, uint32_t leaf, uint32_t index,
		     int reg, int bit, bool on);
#define kvm_has_rdtscp()	kvm_cpuid_has(0x80000001, 0, 3, 27)

#define MSR_TSC_AUX		0xc0000103

#endif /* KVMFT_VMM_H */
