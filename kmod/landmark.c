// SPDX-License-Identifier: GPL-2.0
/*
 * Landmarks: the guest instruction at which an asynchronous event takes
 * effect is named by the number of deterministic exits before it — exits
 * caused by the guest's own instruction stream, which a replica executing
 * the same instructions takes at the same points (docs/replay-engine.md,
 * section 3.2). Asynchronous exits (host interrupts, kicks, page faults on
 * RAM the host had not mapped) are not counted; nor are exits kvmft itself
 * refuses with -EINTR, whose instruction runs again.
 *
 * Two hooks make the count the same on both sides: KVM's WRMSR fast path
 * (which skips the exit handler) is turned off for VMs with a role, and
 * x86_emulate_instruction() tells an emulated NPF (MMIO: deterministic)
 * from one on RAM (asynchronous).
 */
#include <asm/svm.h>
#include "kvmft.h"

/* SVM exit codes caused by the instruction at RIP (AMD APM vol. 2, 15). */
bool kvmft_exit_deterministic(u32 code)
{
	if (code < SVM_EXIT_EXCP_BASE)	/* CR and DR accesses */
		return true;
	/* Exceptions its instruction raised; a machine check is the host's. */
	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_INTR)
		return code != SVM_EXIT_EXCP_BASE + MC_VECTOR;
	/*
	 * Not the interrupt and NMI windows (VINTR, IRET): when the guest
	 * opens one, a host interrupt pending at the same instruction boundary
	 * exits first, and KVM then injects with no window exit at all (seen
	 * in the lab: the two sides' counts drifted apart by one).
	 */
	switch (code) {
	case SVM_EXIT_RDTSC:
	case SVM_EXIT_RDPMC:
	case SVM_EXIT_CPUID:
	case SVM_EXIT_RSM:
	case SVM_EXIT_INVD:
	case SVM_EXIT_HLT:
	case SVM_EXIT_INVLPG:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_IOIO:
	case SVM_EXIT_MSR:
	case SVM_EXIT_TASK_SWITCH:
	case SVM_EXIT_SHUTDOWN:
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_WBINVD:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
	case SVM_EXIT_XSETBV:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_INVPCID:
		return true;
	}
	return false;	/* INTR, NMI, SMI, INIT, PAUSE, NPF (settled later) */
}

static bool kvmft_landmark_counts(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	return kvmft_vm_wants_exits(vm) && vcpu->vcpu_idx == 0;
}

/* An NPF counts if KVM emulated its instruction (MMIO, ROM write). */
void kvmft_landmark_settle(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!vs || !vs->npf_open)
		return;
	vs->npf_open = false;
	if (vs->emulated && kvmft_landmark_counts(vm, vcpu)) {
		vs->det_exits++;
		vs->at_landmark = true;
		vs->delivering = false;
		vs->injected_mark = vs->npf_mark;
		kvmft_stat_inc(vm, KVMFT_STAT_DET_EXITS);
	}
}

/* From the exit hook, before KVM handles the exit. */
void kvmft_landmark_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			 u32 exit_code)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	kvmft_landmark_settle(vm, vcpu);
	if (!vs || !kvmft_landmark_counts(vm, vcpu))
		return;
	vs->emulated = false;
	vs->at_landmark = false;
	vs->step_landmark = false;
	vs->step_found = false;
	if (kvmft_step_exit(vs, exit_code))
		return;		/* one step of a search: not the guest's */
	if (exit_code == SVM_EXIT_NPF) {
		vs->npf_open = true;
		vs->npf_mark = kvmft_step_injections(vcpu);
	} else if (kvmft_exit_deterministic(exit_code)) {
		vs->det_exits++;
		vs->at_landmark = true;
		vs->delivering = false;
		vs->injected_mark = kvmft_step_injections(vcpu);
		kvmft_stat_inc(vm, KVMFT_STAT_DET_EXITS);
		/*
		 * A search that reaches a deterministic exit has passed its
		 * target: stop stepping before KVM handles the exit (it would
		 * report the step to the VMM); the next loop point finds the
		 * record behind the count, a divergence.
		 */
		kvmft_step_set(vcpu, vs, false);
	}
}

/* kvmft refused the exit with -EINTR: the instruction runs again. */
void kvmft_landmark_refused(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!vs || !vs->det_exits || !kvmft_landmark_counts(vm, vcpu))
		return;
	vs->det_exits--;
	vs->at_landmark = false;
	atomic64_dec(&vm->stats[KVMFT_STAT_DET_EXITS]);
}

static fastpath_t kvmft_no_fastpath(struct kvm_vcpu *vcpu)
{
	kvmft_redirect_put();
	return EXIT_FASTPATH_NONE;
}

/* KVM's WRMSR fast path skips the exit handler: not for VMs with a role. */
static void notrace kvmft_fastpath_hook(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	if (vm && kvmft_vm_wants_exits(vm)) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_no_fastpath;
	}
	rcu_read_unlock();
}

static void notrace kvmft_emulate_hook(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;
	struct kvmft_vcpu_state *vs;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	if (vs) {
		vs->emulated = true;
		/* Emulation inside a search: past the target (see above). */
		kvmft_step_set(vcpu, vs, false);
	}
	rcu_read_unlock();
}

static struct kvmft_hook kvmft_landmark_hooks[] = {
	{
		.name = "handle_fastpath_set_msr_irqoff", .module = "kvm",
		.func = kvmft_fastpath_hook,
		.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "x86_emulate_instruction", .module = "kvm",
		.func = kvmft_emulate_hook,
		.flags = KVMFT_HOOK_FLAGS,
	},
};

int kvmft_landmark_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(kvmft_landmark_hooks); i++) {
		err = kvmft_hook_register(&kvmft_landmark_hooks[i]);
		if (err)
			goto err_hook;
	}
	return 0;

err_hook:
	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_landmark_hooks[i]);
	return err;
}

void kvmft_landmark_exit_hooks(void)
{
	int i = ARRAY_SIZE(kvmft_landmark_hooks);

	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_landmark_hooks[i]);
}
