// SPDX-License-Identifier: GPL-2.0
/*
 * The test VMM: see vmm.h for the API and guest_abi.h for the guest's
 * memory layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define KVM_DEV			"/dev/kvm"
#define KVM_API_VERSION_WANT	12

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_OSFXSR	(1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

static int kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

int kvm_probe(char *why, size_t len)
{
	int fd, vm, r;

	fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, len, "cannot open %s: %s", KVM_DEV,
			 strerror(errno));
		return r;
	}
	r = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION_WANT) {
		snprintf(why, len, "KVM API version %d, want %d", r,
			 KVM_API_VERSION_WANT);
		close(fd);
		return -EOPNOTSUPP;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0) {
		snprintf(why, len, "KVM lacks KVM_CAP_BINARY_STATS_FD");
		close(fd);
		return -EOPNOTSUPP;
	}
	vm = kvm_ioctl_retry(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		r = -errno;
		snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
		close(fd);
		return r;
	}
	close(vm);
	close(fd);
	return 0;
}

static void vm_write_gdt(struct kvm_vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GUEST_GDT_GPA);
	uint64_t tss = GUEST_TSS_GPA, limit = 0x67;

	gdt[0] = 0;
	gdt[GUEST_SEL_CODE / 8] = 0x00af9b000000ffffULL;	/* L=1, exec/read */
	gdt[GUEST_SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* read/write */
	/* 16-byte 64-bit TSS descriptor, busy (type 0xb) */
	gdt[GUEST_SEL_TSS / 8] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
				 (0x8bULL << 40) | (((tss >> 24) & 0xff) << 56);
	gdt[GUEST_SEL_TSS / 8 + 1] = tss >> 32;
}

static void vm_write_page_tables(struct kvm_vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + GUEST_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(vm->mem + GUEST_PDPT_GPA);
	uint64_t *pd = (uint64_t *)(vm->mem + GUEST_PD_GPA);
	uint64_t i;

	pml4[0] = GUEST_PDPT_GPA | PTE_P | PTE_RW;
	pdpt[0] = GUEST_PD_GPA | PTE_P | PTE_RW;
	for (i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

int __vm_create(struct kvm_vm **out, size_t mem_size)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_vm *vm;
	int r;

	if (mem_size < 2 * GUEST_LOAD_GPA || mem_size % 4096)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->fd = -1;
	vm->kvm_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		goto err;
	vm->fd = kvm_ioctl_retry(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		goto err;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		goto err;
	}
	vm->mem_size = mem_size;
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region))
		goto err;
	vm_write_gdt(vm);
	vm_write_page_tables(vm);
	*out = vm;
	return 0;
err:
	r = -errno;
	vm_free(vm);
	return r;
}

struct kvm_vm *vm_create(size_t mem_size)
{
	struct kvm_vm *vm = NULL;
	int r = __vm_create(&vm, mem_size);

	errno = -r;
	TEST_ASSERT(!r, "creating a VM with %zu bytes of memory", mem_size);
	return vm;
}

/* KVM_GET_SUPPORTED_CPUID, fetched once per process. */
static struct kvm_cpuid2 *kvm_supported_cpuid(void)
{
	static struct kvm_cpuid2 *cpuid;
	int nent = 64, fd, r;

	if (cpuid)
		return cpuid;
	fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open %s", KVM_DEV);
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
				  nent * sizeof(struct kvm_cpuid_entry2));
		TEST_ASSERT(cpuid, "out of memory");
		cpuid->nent = nent;
		r = ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid);
		if (!r)
			break;
		TEST_ASSERT(errno == E2BIG, "KVM_GET_SUPPORTED_CPUID");
		free(cpuid);
		nent *= 2;
	}
	close(fd);
	return cpuid;
}

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg)
{
	return reg == 0 ? &e->eax : reg == 1 ? &e->ebx :
	       reg == 2 ? &e->ecx : &e->edx;
}

/*
 * The guest's CPUID: what KVM supports, within kvmft's determinism
 * contract (v1), which refuses guests offering more: no SVM (nested
 * guests), no RDRAND or RDSEED, none of KVM's paravirtual features (the
 * host writes guest memory for kvmclock, steal time, PV EOI, async PF).
 * A copy: tests may add a bit back with __vcpu_cpuid_set().
 */
static struct kvm_cpuid2 *vm_guest_cpuid(void)
{
	struct kvm_cpuid2 *sup = kvm_supported_cpuid(), *cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	uint32_t i;

	cpuid = malloc(size);
	TEST_ASSERT(cpuid, "out of memory");
	memcpy(cpuid, sup, size);
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0x80000001)
			e->ecx &= ~(1u << 2);		/* SVM */
		if (e->function == 1)
			e->ecx &= ~(1u << 30);		/* RDRAND */
		if (e->function == 7 && e->index == 0)
			e->ebx &= ~(1u << 18);		/* RDSEED */
		if (e->function == 0x40000001)
			e->eax = 0;			/* KVM PV features */
	}
	return cpuid;
}

int __vcpu_cpuid_set(struct kvm_vcpu *vcpu, uint32_t leaf, uint32_t index,
		     int reg, int bit, bool on)
{
	struct kvm_cpuid2 *cpuid = vm_guest_cpuid();
	int r = -ENOENT;
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != leaf || e->index != index)
			continue;
		if (on)
			*cpuid_reg(e, reg) |= 1u << bit;
		else
			*cpuid_reg(e, reg) &= ~(1u << bit);
		r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) ? -errno : 0;
		break;
	}
	free(cpuid);
	return r;
}

bool kvm_cpuid_has(uint32_t leaf, uint32_t index, int reg, int bit)
{
	struct kvm_cpuid2 *cpuid = kvm_supported_cpuid();
	uint32_t i, v;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != leaf || e->index != index)
			continue;
		v = *cpuid_reg(e, reg);
		return v & (1U << bit);
	}
	return false;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;	/* accessed exec/read, or read/write */
	s->s = 1;
	s->present = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int vcpu_setup_long_mode(struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	sregs.cr3 = GUEST_PML4_GPA;
	seg_flat(&sregs.cs, GUEST_SEL_CODE, true);
	seg_flat(&sregs.ds, GUEST_SEL_DATA, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = GUEST_SEL_TSS;
	sregs.tr.base = GUEST_TSS_GPA;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;
	sregs.gdt.base = GUEST_GDT_GPA;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;		/* the guest loads its own */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD_GPA;
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

int __vm_vcpu_add(struct kvm_vm *vm, struct kvm_vcpu **out)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_vcpu *vcpu;
	int size, r;

	if (vm->vcpu)
		return -EEXIST;
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->stats_fd = -1;
	vcpu->fd = kvm_ioctl_retry(vm->fd, KVM_CREATE_VCPU, 0);
	if (vcpu->fd < 0)
		goto err;
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		goto err;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		goto err;
	}
	vcpu->run_size = size;
	cpuid = vm_guest_cpuid();
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r)
		goto err;
	r = vcpu_setup_long_mode(vcpu);
	if (r) {
		errno = -r;
		goto err;
	}
	vm->vcpu = vcpu;
	*out = vcpu;
	return 0;
err:
	r = -errno;
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
	return r;
}

struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu = NULL;
	int r = __vm_vcpu_add(vm, &vcpu);

	errno = -r;
	TEST_ASSERT(!r, "adding a vCPU");
	return vcpu;
}

int __vm_load_guest(struct kvm_vm *vm, struct guest_image img)
{
	size_t size = img.end - img.start;

	if (!size || GUEST_LOAD_GPA + size > vm->mem_size)
		return -E2BIG;
	memcpy(vm->mem + GUEST_LOAD_GPA, img.start, size);
	return 0;
}

void vm_load_guest(struct kvm_vm *vm, struct guest_image img)
{
	int r = __vm_load_guest(vm, img);

	errno = -r;
	TEST_ASSERT(!r, "guest image of %zu bytes does not fit at 0x%llx",
		    (size_t)(img.end - img.start), GUEST_LOAD_GPA);
}

int __vm_split_irqchip(struct kvm_vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args = { 24 },
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu,
				       struct guest_image img)
{
	struct kvm_vm *vm = vm_create(GUEST_MEM_DEFAULT);

	*vcpu = vm_vcpu_add(vm);
	vm_load_guest(vm, img);
	return vm;
}

static void vcpu_free(struct kvm_vcpu *vcpu)
{
	if (vcpu->stats_fd >= 0)
		close(vcpu->stats_fd);
	free(vcpu->stats_desc);
	/* The mapping holds a reference on the vCPU file, hence the VM. */
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}

void vm_free(struct kvm_vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpu)
		vcpu_free(vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm);
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa, size_t len)
{
	TEST_ASSERT(gpa < vm->mem_size && len <= vm->mem_size - gpa,
		    "GPA 0x%llx+%zu is outside guest memory (%zu bytes)",
		    (unsigned long long)gpa, len, vm->mem_size);
	return vm->mem + gpa;
}

void vcpu_set_args(struct kvm_vcpu *vcpu, uint64_t a0, uint64_t a1,
		   uint64_t a2)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	regs.rdi = a0;
	regs.rsi = a1;
	regs.rdx = a2;
	vcpu_regs_set(vcpu, &regs);
}

void vcpu_set_pio_in(struct kvm_vcpu *vcpu, vmm_pio_in_fn fn, void *opaque)
{
	vcpu->pio_in = fn;
	vcpu->pio_opaque = opaque;
}

void vcpu_set_mmio_in(struct kvm_vcpu *vcpu, vmm_mmio_in_fn fn, void *opaque)
{
	vcpu->mmio_in = fn;
	vcpu->mmio_opaque = opaque;
}

void *vcpu_io_data(struct kvm_vcpu *vcpu)
{
	return (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
}

int __vcpu_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* KVM completes the read from this data on the next KVM_RUN. */
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write &&
		    vcpu->mmio_in && run->mmio.len <= sizeof(run->mmio.data)) {
			vcpu->mmio_in(vcpu, run->mmio.phys_addr, run->mmio.len,
				      run->mmio.data, vcpu->mmio_opaque);
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_IN || !vcpu->pio_in)
			return 0;
		vcpu->pio_in(vcpu, run->io.port, run->io.size, run->io.count,
			     vcpu_io_data(vcpu), vcpu->pio_opaque);
	}
}

void vcpu_run(struct kvm_vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	errno = -r;
	TEST_ASSERT(!r, "KVM_RUN failed");
}

static const char *exit_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}

const char *vcpu_exit_str(struct kvm_vcpu *vcpu)
{
	static __thread char buf[256];
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	int n;

	n = snprintf(buf, sizeof(buf), "exit %u (%s)", run->exit_reason,
		     exit_reason_name(run->exit_reason));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		n += snprintf(buf + n, sizeof(buf) - n,
			      " %s port 0x%x size %u count %u",
			      run->io.direction == KVM_EXIT_IO_IN ? "in" : "out",
			      run->io.port, run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		n += snprintf(buf + n, sizeof(buf) - n, " %s gpa 0x%llx len %u",
			      run->mmio.is_write ? "write" : "read",
			      (unsigned long long)run->mmio.phys_addr,
			      run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		n += snprintf(buf + n, sizeof(buf) - n, " reason 0x%llx",
			      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		n += snprintf(buf + n, sizeof(buf) - n, " suberror %u",
			      run->internal.suberror);
		break;
	}
	if (!ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		snprintf(buf + n, sizeof(buf) - n, " rip 0x%llx",
			 (unsigned long long)regs.rip);
	return buf;
}

uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	uint32_t gpa;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
	    run->io.count != 1)
		return UCALL_NONE;
	memcpy(&gpa, vcpu_io_data(vcpu), sizeof(gpa));
	memcpy(uc, addr_gpa2hva(vcpu->vm, gpa, sizeof(*uc)), sizeof(*uc));
	uc->msg[UCALL_MSG_LEN - 1] = 0;
	if (uc->nargs > UCALL_MAX_ARGS)
		uc->nargs = UCALL_MAX_ARGS;
	return uc->cmd;
}

uint64_t __vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	memset(uc, 0, sizeof(*uc));
	vcpu_run(vcpu);
	return get_ucall(vcpu, uc);
}

const char *ucall_str(const struct ucall *uc)
{
	static __thread char buf[UCALL_MSG_LEN + 160];
	static const char *const vec[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF",
		"#9", "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC",
		"#MC", "#XM", "#VE", "#CP",
	};
	uint64_t v = uc->args[0];

	switch (uc->cmd) {
	case UCALL_ABORT:
		if (uc->nargs == 2)
			snprintf(buf, sizeof(buf),
				 "guest assertion failed at line %llu: %s (0x%llx vs 0x%llx)",
				 (unsigned long long)uc->line, uc->msg,
				 (unsigned long long)uc->args[0],
				 (unsigned long long)uc->args[1]);
		else
			snprintf(buf, sizeof(buf),
				 "guest assertion failed at line %llu: %s",
				 (unsigned long long)uc->line, uc->msg);
		break;
	case UCALL_EXCEPTION:
		snprintf(buf, sizeof(buf),
			 "guest exception %llu (%s) error 0x%llx rip 0x%llx cr2 0x%llx",
			 (unsigned long long)v,
			 v < ARRAY_SIZE(vec) ? vec[v] : "?",
			 (unsigned long long)uc->args[1],
			 (unsigned long long)uc->args[2],
			 (unsigned long long)uc->args[3]);
		break;
	default:
		snprintf(buf, sizeof(buf), "ucall %llu",
			 (unsigned long long)uc->cmd);
	}
	return buf;
}

uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	uint64_t cmd = __vcpu_run_ucall(vcpu, uc);

	switch (cmd) {
	case UCALL_SYNC:
	case UCALL_DONE:
		return cmd;
	case UCALL_NONE:
		TEST_FAIL("expected a ucall, got %s", vcpu_exit_str(vcpu));
	default:
		TEST_FAIL("%s", ucall_str(uc));
	}
}

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_REGS, regs), "KVM_GET_REGS");
}

void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_REGS, regs), "KVM_SET_REGS");
}

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entry;
};

int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *val)
{
	struct one_msr m = { .hdr.nmsrs = 1, .entry.index = index };
	int r = ioctl(vcpu->fd, KVM_GET_MSRS, &m);

	if (r < 0)
		return -errno;
	if (r != 1)
		return -EINVAL;
	*val = m.entry.data;
	return 0;
}

int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	struct one_msr m = {
		.hdr.nmsrs = 1, .entry.index = index, .entry.data = val,
	};
	int r = ioctl(vcpu->fd, KVM_SET_MSRS, &m);

	if (r < 0)
		return -errno;
	return r == 1 ? 0 : -EINVAL;
}

uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	uint64_t val = 0;
	int r = __vcpu_get_msr(vcpu, index, &val);

	errno = -r;
	TEST_ASSERT(!r, "KVM_GET_MSRS 0x%x", index);
	return val;
}

void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	int r = __vcpu_set_msr(vcpu, index, val);

	errno = -r;
	TEST_ASSERT(!r, "KVM_SET_MSRS 0x%x = 0x%llx", index,
		    (unsigned long long)val);
}

static int vcpu_stats_open(struct kvm_vcpu *vcpu)
{
	struct kvm_stats_header *h = &vcpu->stats_hdr;
	size_t dsize;
	int fd;

	fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -errno;
	if (pread(fd, h, sizeof(*h), 0) != sizeof(*h))
		goto err;
	dsize = sizeof(struct kvm_stats_desc) + h->name_size;
	vcpu->stats_desc = calloc(h->num_desc, dsize);
	if (!vcpu->stats_desc)
		goto err;
	if (pread(fd, vcpu->stats_desc, h->num_desc * dsize, h->desc_offset) !=
	    (ssize_t)(h->num_desc * dsize))
		goto err;
	vcpu->stats_fd = fd;
	return 0;
err:
	free(vcpu->stats_desc);
	vcpu->stats_desc = NULL;
	close(fd);
	return -EIO;
}

int __vcpu_stat_get(struct kvm_vcpu *vcpu, const char *name, uint64_t *val)
{
	struct kvm_stats_header *h = &vcpu->stats_hdr;
	size_t dsize;
	uint32_t i;
	int r;

	if (vcpu->stats_fd < 0) {
		r = vcpu_stats_open(vcpu);
		if (r)
			return r;
	}
	dsize = sizeof(struct kvm_stats_desc) + h->name_size;
	for (i = 0; i < h->num_desc; i++) {
		struct kvm_stats_desc *d =
			(void *)(vcpu->stats_desc + i * dsize);

		if (strncmp(d->name, name, h->name_size))
			continue;
		/* A histogram has d->size values; its first is enough here. */
		if (pread(vcpu->stats_fd, val, sizeof(*val),
			  h->data_offset + d->offset) != sizeof(*val))
			return -EIO;
		return 0;
	}
	return -ENOENT;
}

uint64_t vcpu_stat_get(struct kvm_vcpu *vcpu, const char *name)
{
	uint64_t val = 0;
	int r = __vcpu_stat_get(vcpu, name, &val);

	errno = -r;
	TEST_ASSERT(!r, "reading vCPU statistic '%s'", name);
	return val;
}
