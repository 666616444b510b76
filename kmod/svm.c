// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM: RDTSC/RDTSCP interception for attached VMs only.
 *
 * The intercept bits live in the vCPU's VMCB, reached through struct
 * vcpu_svm, whose first member is struct kvm_vcpu and whose second is the
 * current VMCB pointer followed by vmcb01.ptr. The offset comes from the
 * kvm_amd BTF when userspace gives it (KVMFT_A_SVM_VMCB_OFF), else from
 * the layout of the 6.1 sources; either way a VMCB is only touched when
 * both pointers agree and are page aligned, so a layout change disables
 * interception instead of corrupting memory.
 *
 * KVM has no handler for SVM_EXIT_RDTSC; svm_invoke_exit_handler() is
 * redirected to kvmft_svm_exit_handler() for those exits of attached VMs.
 * KVM itself intercepts RDTSCP to raise #UD when the guest's CPUID lacks
 * it, so RDTSCP is only claimed for guests that have it.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kallsyms.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/xxhash.h>
#include <asm/svm.h>
#include "kvmft.h"

/* VMCB clean bit for the intercept vectors (arch/x86/kvm/svm/svm.h). */
#define KVMFT_VMCB_INTERCEPTS	0

static struct kvmft_hook kvmft_svm_hook = {
	.name = "svm_invoke_exit_handler",
	.module = "kvm_amd",
	.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
};

/* KVM writing an interrupt or NMI into the VMCB for the next entry. */
static void kvmft_svm_inject(struct ftrace_regs *fregs, bool irq)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;
	struct kvmft_vm *vm;

	/*
	 * A software interrupt (the guest's own INT n, delivered again after
	 * an exit during its delivery) is the guest's instruction, which the
	 * primary ran too: the search goes on.
	 */
	if (irq && vcpu->arch.interrupt.soft)
		return;
	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	if (vm)
		kvmft_step_inject(vm, vcpu);
	rcu_read_unlock();
}

static void notrace kvmft_svm_inject_irq_hook(unsigned long ip,
					      unsigned long parent_ip,
					      struct ftrace_ops *ops,
					      struct ftrace_regs *fregs)
{
	kvmft_svm_inject(fregs, true);
}

static void notrace kvmft_svm_inject_nmi_hook(unsigned long ip,
					      unsigned long parent_ip,
					      struct ftrace_ops *ops,
					      struct ftrace_regs *fregs)
{
	kvmft_svm_inject(fregs, false);
}

static struct kvmft_hook kvmft_svm_inject_hooks[] = {
	{
		.name = "svm_inject_irq", .module = "kvm_amd",
		.func = kvmft_svm_inject_irq_hook, .flags = KVMFT_HOOK_FLAGS,
	},
	{
		.name = "svm_inject_nmi", .module = "kvm_amd",
		.func = kvmft_svm_inject_nmi_hook, .flags = KVMFT_HOOK_FLAGS,
	},
};

/* Room for struct x86_exception (24 bytes on 6.1), which we never read. */
union kvmft_x86_exception {
	u64 space[8];
};

static u32 kvmft_svm_default_vmcb_off(void)
{
	return ALIGN(sizeof(struct kvm_vcpu), sizeof(void *));
}

static struct vmcb *kvmft_vmcb(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct vmcb **p = (struct vmcb **)((char *)vcpu + vm->vmcb_off);

	/* kvm_amd's BTF disagrees with our build: do not guess. */
	if (vm->vmcb_off != kvmft_svm_default_vmcb_off())
		return NULL;
	/* p[0] is svm->vmcb, p[1] is svm->vmcb01.ptr. */
	if (!p[0] || p[0] != p[1] || !PAGE_ALIGNED(p[0]))
		return NULL;
	return p[0];
}

static bool kvmft_guest_has_rdtscp(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001);

	return e && (e->edx & BIT(X86_FEATURE_RDTSCP & 31));
}

/*
 * A guest offered SVM may run nested guests, whose VMCB (vmcb02) inherits
 * vmcb01's intercepts; nested virtualization is outside the contract.
 */
static bool kvmft_guest_has_svm(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001);

	return e && (e->ecx & BIT(X86_FEATURE_SVM & 31));
}

static bool kvmft_intercept_test(struct vmcb *vmcb, u32 bit)
{
	return vmcb->control.intercepts[bit / 32] & BIT(bit % 32);
}

static void kvmft_intercept_set(struct vmcb *vmcb, u32 bit, bool on)
{
	if (on)
		vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
	else
		vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
}

/* May this vCPU be intercepted? Only the first of a VM, never nested. */
static bool kvmft_svm_vcpu_eligible(struct kvm_vcpu *vcpu)
{
	return vcpu->vcpu_idx == 0 && !kvmft_guest_has_svm(vcpu) &&
	       !vcpu->arch.guest_state_protected;
}

/* Why @vcpu cannot be recorded or replayed, or NULL if it can. */
static const char *kvmft_svm_check_vcpu(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct vmcb *vmcb;

	if (vcpu->arch.guest_state_protected)
		return "SEV-ES guest: its registers are encrypted";
	if (kvmft_guest_has_svm(vcpu))
		return "the guest's CPUID offers SVM (nested guests)";
	if (vcpu->vcpu_idx != 0)
		return "only the VM's first vCPU can be recorded";
	vmcb = kvmft_vmcb(vm, vcpu);
	if (!vmcb)
		return "kvm_amd's vcpu_svm layout is not the one kvmft was built for";
	/*
	 * The CPU itself would deliver what kvmft must see KVM inject
	 * (step.c: no delivery inside a search).
	 */
	if (vmcb->control.int_ctl & AVIC_ENABLE_MASK)
		return "AVIC is on: the CPU delivers interrupts itself (kvm_amd avic=0)";
#ifdef V_NMI_ENABLE_MASK
	if (vmcb->control.int_ctl & V_NMI_ENABLE_MASK)
		return "vNMI is on: the CPU delivers NMIs itself (kvm_amd vnmi=0)";
#endif
	return NULL;
}

/*
 * The VMCB whose intercepts kvmft manages for @vcpu, or NULL for none;
 * lowers *want for a vCPU that must not be intercepted. Never a nested
 * guest's VMCB (vmcb02): nested guests are outside the contract.
 */
static struct vmcb *kvmft_svm_target(struct kvmft_vm *vm,
				     struct kvm_vcpu *vcpu, bool *want)
{
	struct vmcb *vmcb;

	if (vcpu->arch.hflags & HF_GUEST_MASK)
		return NULL;
	vmcb = kvmft_vmcb(vm, vcpu);
	if (vmcb && *want && !kvmft_svm_vcpu_eligible(vcpu))
		*want = false;
	return vmcb;
}

static bool kvmft_svm_intercepts_match(struct kvmft_vm *vm,
				       struct kvm_vcpu *vcpu, bool want)
{
	struct vmcb *vmcb = kvmft_svm_target(vm, vcpu, &want);

	return !vmcb || kvmft_intercept_test(vmcb, INTERCEPT_RDTSC) == want;
}

/* On the vCPU's thread or under its mutex. */
static void kvmft_svm_sync_intercepts(struct kvmft_vm *vm,
				      struct kvm_vcpu *vcpu, bool want)
{
	struct vmcb *vmcb = kvmft_svm_target(vm, vcpu, &want);

	if (!vmcb || kvmft_intercept_test(vmcb, INTERCEPT_RDTSC) == want)
		return;
	kvmft_intercept_set(vmcb, INTERCEPT_RDTSC, want);
	if (kvmft_guest_has_rdtscp(vcpu))
		kvmft_intercept_set(vmcb, INTERCEPT_RDTSCP, want);
	vmcb->control.clean &= ~BIT(KVMFT_VMCB_INTERCEPTS);
}

/*
 * Set the guest's TSC offset as KVM's svm_write_tsc_offset() does (the
 * offset lives in the intercept area of the VMCB). Not for a nested guest.
 * On the vCPU's thread or under its mutex.
 */
static void kvmft_svm_set_tsc_offset(struct kvmft_vm *vm,
				     struct kvm_vcpu *vcpu, u64 offset)
{
	struct vmcb *vmcb = kvmft_vmcb(vm, vcpu);

	if (!vmcb || (vcpu->arch.hflags & HF_GUEST_MASK))
		return;
	vcpu->arch.l1_tsc_offset = offset;
	vcpu->arch.tsc_offset = offset;
	vmcb->control.tsc_offset = offset;
	vmcb->control.clean &= ~BIT(KVMFT_VMCB_INTERCEPTS);
}

/*
 * The vCPU's architectural state for divergence detection, as the guest
 * sees it: general registers, RFLAGS, CR0, CR2, CR3, CR4 and EFER.
 */
static void kvmft_svm_state(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			    struct kvmft_rec_state *st)
{
	u64 v[VCPU_REGS_RIP + 1 + 6];
	int i;

	/* SVM keeps RSP and RIP in vcpu->arch.regs too, current after exits. */
	for (i = 0; i <= VCPU_REGS_RIP; i++)
		v[i] = vcpu->arch.regs[i];
	st->rip = vcpu->arch.regs[VCPU_REGS_RIP];
	/*
	 * As the kind-3 hash takes it (kvmft_step_hash()): without the TF of
	 * a search (a backup takes a kind-3 event, and the state record in
	 * front of it, while stepping; the guest's own TF stays) and RF, the
	 * CPU's resume flag.
	 */
	v[i++] = kvm_get_rflags(vcpu) & ~X86_EFLAGS_RF;
	/*
	 * KVM's copies, not the VMCB's: before the first entry (a backup
	 * takes an event at its start) KVM has not loaded CR3 into the VMCB
	 * yet, and after an exit svm_handle_exit() has taken CR0 and CR3
	 * back.
	 */
	v[i++] = vcpu->arch.cr0;
	v[i++] = vcpu->arch.cr2;
	v[i++] = vcpu->arch.cr3;
	v[i++] = vcpu->arch.cr4;
	v[i++] = vcpu->arch.efer;
	st->hash = xxh64(v, sizeof(v), 0);
}

/* STI or MOV SS shadow; without a VMCB kvmft can read, assume one. */
static bool kvmft_svm_interrupt_shadow(struct kvmft_vm *vm,
				       struct kvm_vcpu *vcpu)
{
	struct vmcb *vmcb = kvmft_vmcb(vm, vcpu);

	return !vmcb || (vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
}

/*
 * QEMU's TCG checks the RDTSC intercept for RDTSCP too, so in the lab an
 * RDTSCP exits as SVM_EXIT_RDTSC; tell them apart by the instruction.
 */
static bool kvmft_insn_is_rdtscp(struct kvm_vcpu *vcpu)
{
	static const u8 rdtscp[] = { 0x0f, 0x01, 0xf9 };
	union kvmft_x86_exception e;
	u8 insn[3];

	/* Hardware reports RDTSCP as such: only an emulated host needs this. */
	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR) ||
	    !kvmft_guest_has_rdtscp(vcpu) ||
	    kvm_read_guest_virt(vcpu, kvm_get_linear_rip(vcpu), insn,
				sizeof(insn), (struct x86_exception *)&e))
		return false;
	return !memcmp(insn, rdtscp, sizeof(insn));
}

static int kvmft_svm_tsc_exit(struct kvm_vcpu *vcpu, u64 exit_code)
{
	bool rdtscp = exit_code == SVM_EXIT_RDTSCP ||
		      kvmft_insn_is_rdtscp(vcpu);
	u64 tsc, aux = 0;
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	int ret;

	if (!vm) {
		/* Detached between the hook and here: the VM reads the TSC. */
		ret = 0;
		tsc = kvm_read_l1_tsc(vcpu, rdtsc());
		if (rdtscp && kvm_get_msr(vcpu, MSR_TSC_AUX, &aux))
			aux = 0;
	} else {
		ret = kvmft_tsc_exit(vm, vcpu, rdtscp, &tsc, &aux);
	}
	if (!ret) {
		vcpu->arch.regs[VCPU_REGS_RAX] = lower_32_bits(tsc);
		vcpu->arch.regs[VCPU_REGS_RDX] = upper_32_bits(tsc);
		if (rdtscp)
			vcpu->arch.regs[VCPU_REGS_RCX] = lower_32_bits(aux);
		ret = kvm_skip_emulated_instruction(vcpu);
		if (vm)
			ret = kvmft_verify_exit(vm, vcpu, ret);
	}
	if (vm)
		kvmft_vm_put(vm);
	return ret;
}

/* RDMSR or RDPMC of a VM with a role (checked again: it may have ended). */
static int kvmft_svm_msr_pmc_exit(struct kvm_vcpu *vcpu, u64 exit_code)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	int ret;

	if (vm && kvmft_vm_wants_exits(vm))
		ret = exit_code == SVM_EXIT_RDPMC ?
		      kvmft_rdpmc_exit(vm, vcpu) : kvmft_rdmsr_exit(vm, vcpu);
	else if (exit_code == SVM_EXIT_RDPMC)
		ret = kvm_emulate_rdpmc(vcpu);
	else
		ret = kvm_emulate_rdmsr(vcpu);
	if (vm)
		kvmft_vm_put(vm);
	return ret;
}

/* One step of a backup's search for a kind-3 landmark (step.c). */
static int kvmft_svm_step_exit(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	int ret = 1;

	if (vm) {
		ret = kvmft_step_trap(vm, vcpu);
		kvmft_vm_put(vm);
	}
	return ret;
}

static int kvmft_svm_exit_handler(struct kvm_vcpu *vcpu, u64 exit_code)
{
	int ret;

	if (exit_code == SVM_EXIT_EXCP_BASE + DB_VECTOR)
		ret = kvmft_svm_step_exit(vcpu);
	else if (exit_code == SVM_EXIT_MSR || exit_code == SVM_EXIT_RDPMC)
		ret = kvmft_svm_msr_pmc_exit(vcpu, exit_code);
	else
		ret = kvmft_svm_tsc_exit(vcpu, exit_code);
	kvmft_redirect_put();
	return ret;
}

/*
 * Which exits of an attached VM kvmft handles: RDTSC/RDTSCP (KVM has no
 * handler: kvmft intercepts them), and while the VM has a role, RDMSR
 * (recorded or replayed) and RDPMC (refused). The #DB of a backup's
 * single step is claimed before the role is synced (the exit hook).
 */
static bool kvmft_svm_exit_ours(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
				u64 exit_code)
{
	struct vmcb *vmcb;

	if ((vcpu->arch.hflags & HF_GUEST_MASK) ||
	    vcpu->arch.guest_state_protected)
		return false;
	switch (exit_code) {
	case SVM_EXIT_RDTSC:
		return true;
	case SVM_EXIT_RDTSCP:
		return kvmft_guest_has_rdtscp(vcpu);
	case SVM_EXIT_RDPMC:
		return kvmft_vm_wants_exits(vm) && vcpu->vcpu_idx == 0;
	case SVM_EXIT_MSR:
		vmcb = kvmft_vmcb(vm, vcpu);
		/* exit_info_1: 0 for RDMSR, 1 for WRMSR */
		return kvmft_vm_wants_exits(vm) && vcpu->vcpu_idx == 0 &&
		       vmcb && !vmcb->control.exit_info_1;
	}
	return false;
}

static void notrace kvmft_svm_exit_hook(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct kvmft_vcpu_state *vs;
	u64 exit_code = regs->si;
	struct kvmft_vm *vm;
	bool ours = false;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	if (vm) {
		/*
		 * The #DB of a search's step is kvmft's even if the role ends
		 * right here (the sync below stops the search): KVM would
		 * queue it for the guest.
		 */
		vs = kvmft_vcpu_state(vm, vcpu);
		ours = vs && kvmft_step_exit(vs, exit_code);
		/* Every exit of an attached VM is a chance to apply its role. */
		kvmft_vcpu_sync(vm, vcpu);
		kvmft_landmark_exit(vm, vcpu, exit_code);
		ours = ours || kvmft_svm_exit_ours(vm, vcpu, exit_code);
	}
	/*
	 * Other VMs are never touched: detach waits until every vCPU's
	 * intercepts are undone before the VM leaves the table.
	 */
	if (ours) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_svm_exit_handler;
	}
	rcu_read_unlock();
}

/*
 * Is svm_invoke_exit_handler() really on kvm_amd's exit path, i.e. does
 * svm_handle_exit() call or jump to it (Debian's build tail-calls it)? A
 * build that inlined it there would leave the hook blind to every exit
 * while RDTSC is intercepted. Looks for a CALL/JMP rel32 (E8/E9) whose
 * target is the function's first byte.
 */
static bool kvmft_svm_on_exit_path(unsigned long invoke)
{
	unsigned long exit_fn, start, size, target, i;
	unsigned long inv_start, inv_size;
	const u8 *p;
	s32 rel;

	exit_fn = kvmft_lookup_symbol("svm_handle_exit");
	if (!exit_fn || !kvmft_func_bounds(exit_fn, &start, &size) ||
	    !kvmft_func_bounds(invoke, &inv_start, &inv_size) || size > SZ_64K)
		return false;
	p = (const u8 *)start;
	for (i = 0; i + 5 <= size; i++) {
		if (p[i] != 0xe8 && p[i] != 0xe9)
			continue;
		memcpy(&rel, p + i + 1, sizeof(rel));
		target = start + i + 5 + (long)rel;
		if (target == inv_start)
			return true;
	}
	return false;
}

/* Hook kvm_amd's exit handler, once checked to be on its exit path. */
static int kvmft_svm_arm(struct netlink_ext_ack *extack)
{
	kvmft_svm_hook.func = kvmft_svm_exit_hook;
	if (!kvmft_svm_on_exit_path(kvmft_lookup_symbol(kvmft_svm_hook.name))) {
		pr_err("kvmft: kvm_amd's svm_handle_exit() does not call %s(): RDTSC exits would reach KVM unhandled\n",
		       kvmft_svm_hook.name);
		NL_SET_ERR_MSG(extack, "kvm_amd's exit path is not the one kvmft hooks");
		return -EOPNOTSUPP;
	}
	if (kvmft_hook_register(&kvmft_svm_inject_hooks[0]))
		goto err;
	if (kvmft_hook_register(&kvmft_svm_inject_hooks[1]))
		goto err_irq;
	if (kvmft_hook_register(&kvmft_svm_hook)) {
		kvmft_hook_unregister(&kvmft_svm_inject_hooks[1]);
		kvmft_hook_unregister(&kvmft_svm_inject_hooks[0]);
		NL_SET_ERR_MSG(extack, "cannot hook kvm_amd's exit handler");
		return -EOPNOTSUPP;
	}
	return 0;

err_irq:
	kvmft_hook_unregister(&kvmft_svm_inject_hooks[0]);
err:
	NL_SET_ERR_MSG(extack, "cannot hook kvm_amd's interrupt injection");
	return -EOPNOTSUPP;
}

static void kvmft_svm_disarm(void)
{
	kvmft_hook_unregister(&kvmft_svm_hook);
	kvmft_hook_unregister(&kvmft_svm_inject_hooks[1]);
	kvmft_hook_unregister(&kvmft_svm_inject_hooks[0]);
}

const struct kvmft_vendor kvmft_svm_vendor = {
	.module = "kvm_amd",
	.arm = kvmft_svm_arm,
	.disarm = kvmft_svm_disarm,
	.layout_off = kvmft_svm_default_vmcb_off,
	.check_vcpu = kvmft_svm_check_vcpu,
	.intercepts_match = kvmft_svm_intercepts_match,
	.sync_intercepts = kvmft_svm_sync_intercepts,
	.set_tsc_offset = kvmft_svm_set_tsc_offset,
	.state = kvmft_svm_state,
	.interrupt_shadow = kvmft_svm_interrupt_shadow,
};
