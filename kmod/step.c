// SPDX-License-Identifier: GPL-2.0
/*
 * Landmarks of the third kind (docs/replay-engine.md, section 6): an
 * asynchronous event the primary has held for landmark_bound_us without
 * reaching a deterministic exit takes effect at the next instruction
 * boundary where it may (an exit of any kind: a host interrupt, a kick)
 * and no event applied since the last deterministic exit may be under
 * way (its delivery clears TF: the backup could not step its handler),
 * named by the deterministic exits before it, RIP and a hash of the
 * registers. Without a PMU nothing counts the instructions in between, so
 * the backup single-steps from that exit until RIP and hash match.
 *
 * Stepping is KVM's own KVM_GUESTDBG_SINGLESTEP, set as its
 * KVM_SET_GUEST_DEBUG does (guest_debug, singlestep_rip, kvm_set_rflags(),
 * which forces TF into the guest's RFLAGS); the #DB each step raises is
 * intercepted by SVM, and taken by kvmft's exit hook before KVM would
 * report it to the VMM. The guest can see TF (PUSHF, SYSCALL's R11,
 * exception frames): the windows are kept short by the bound, and a
 * backup that passes its target is caught at its next deterministic exit
 * (a divergence), never replayed wrongly in silence.
 */
#include <linux/sched/signal.h>
#include <linux/xxhash.h>
#include <asm/svm.h>
#include "kvmft.h"

static unsigned int kvmft_landmark_bound_us = 1000;
module_param_named(landmark_bound_us, kvmft_landmark_bound_us, uint, 0644);
MODULE_PARM_DESC(landmark_bound_us,
		 "Microseconds a primary holds an asynchronous event for the next deterministic exit before it applies it where the guest is (a kind-3 landmark, which the backup single-steps to; default 1000)");

/* Steps one search may take before the backup is said to have diverged. */
#define KVMFT_STEP_MAX	BIT(24)

/* RIP and the registers that name a kind-3 landmark. */
u64 kvmft_step_hash(struct kvm_vcpu *vcpu)
{
	u64 v[VCPU_REGS_RIP + 2];
	int i;

	for (i = 0; i <= VCPU_REGS_RIP; i++)
		v[i] = vcpu->arch.regs[i];
	/* kvm_get_rflags() hides the TF a search sets; RF is the CPU's. */
	v[i] = kvm_get_rflags(vcpu) & ~(X86_EFLAGS_TF | X86_EFLAGS_RF);
	return xxh64(v, sizeof(v), 0);
}

/* Interrupts and NMIs KVM has injected into @vcpu so far. */
u64 kvmft_step_injections(struct kvm_vcpu *vcpu)
{
	return vcpu->stat.irq_injections + vcpu->stat.nmi_injections;
}

/*
 * Primary, at a loop point of vcpu_run() that is not a landmark: have
 * events (@held) waited past the bound, and is this an instruction
 * boundary the backup can stop at by stepping? Not inside an interrupt
 * shadow (no trap after MOV SS), not while the guest or the VMM uses TF,
 * not in SMM; event delivery in progress the caller has excluded.
 */
bool kvmft_step_due(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
		    struct kvmft_vcpu_state *vs, bool held)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();
	u64 now;

	if (!held) {
		vs->held_since = 0;
		return false;
	}
	now = ktime_get_ns();
	if (!vs->held_since)
		vs->held_since = now;
	if (now - vs->held_since <
	    (u64)READ_ONCE(kvmft_landmark_bound_us) * NSEC_PER_USEC)
		return false;
	/*
	 * Delivering an interrupt clears TF (and pushes the TF of a search
	 * onto the guest's stack), so a backup stepping from the last
	 * deterministic exit must not cross one: no kind 3 once KVM has
	 * injected one since that exit, or while events applied since
	 * then may still be delivered, until the next deterministic exit
	 * (the handler's EOI, typically).
	 */
	if (vs->delivering || kvmft_step_injections(vcpu) != vs->injected_mark)
		return false;
	return v && !v->interrupt_shadow(vm, vcpu) && !vcpu->guest_debug &&
	       !(kvm_get_rflags(vcpu) & X86_EFLAGS_TF) &&
	       !(vcpu->arch.hflags & HF_SMM_MASK) &&
	       vcpu->arch.mp_state == KVM_MP_STATE_RUNNABLE;
}

/* Primary: the landmark of an event applied at this loop point. */
void kvmft_step_fill(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
		     struct kvmft_vcpu_state *vs, struct kvmft_rec_event *ev)
{
	ev->det = vs->det_exits;
	ev->rip = vcpu->arch.regs[VCPU_REGS_RIP];
	ev->landmark = KVMFT_LANDMARK_EXIT;
	ev->hash = 0;
	if (vs->step_landmark) {
		ev->landmark = KVMFT_LANDMARK_STEP;
		ev->hash = kvmft_step_hash(vcpu);
	}
}

/*
 * Backup: single-step the guest from here on, or stop. Re-asserted at
 * every step, so that a POPF that cleared TF does not end the search.
 * On the vCPU's thread or under its mutex.
 */
void kvmft_step_set(struct kvm_vcpu *vcpu, struct kvmft_vcpu_state *vs,
		    bool on)
{
	unsigned long rflags;

	if (!on && !vs->stepping)
		return;
	rflags = kvm_get_rflags(vcpu);	/* without the TF of a search */
	if (on) {
		if (!vs->stepping)
			vs->search_steps = 0;
		vcpu->guest_debug = KVM_GUESTDBG_ENABLE |
				    KVM_GUESTDBG_SINGLESTEP;
		vcpu->arch.singlestep_rip = kvm_get_linear_rip(vcpu);
	} else {
		vcpu->guest_debug = 0;
	}
	vs->stepping = on;
	kvm_set_rflags(vcpu, rflags);
}

/* Backup: does the vCPU stand where kind-3 landmark @ev names? */
bool kvmft_step_match(struct kvm_vcpu *vcpu, const struct kvmft_rec_event *ev)
{
	return vcpu->arch.regs[VCPU_REGS_RIP] == ev->rip &&
	       kvmft_step_hash(vcpu) == ev->hash;
}

/* Is this exit one step of a search (not counted, not the guest's)? */
bool kvmft_step_exit(struct kvmft_vcpu_state *vs, u32 exit_code)
{
	return vs->stepping && exit_code == SVM_EXIT_EXCP_BASE + DB_VECTOR;
}

/*
 * The #DB of one step, instead of KVM's db_interception() (which would
 * hand it to the VMM): the guest goes on, and the next loop point
 * compares. A search longer than KVMFT_STEP_MAX has lost its target.
 */
int kvmft_step_trap(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!vs || !vs->stepping)
		return 1;
	kvmft_stat_inc(vm, KVMFT_STAT_STEPS);
	if (++vs->search_steps > KVMFT_STEP_MAX) {
		kvmft_step_set(vcpu, vs, false);
		kvmft_diverge(vm, vcpu, kvmft_log_next_event_seq(vm),
			      KVMFT_DIV_SEARCH);
		kvmft_vcpu_stop(vs);
	}
	return 1;
}

/*
 * KVM is about to inject an interrupt or NMI (on the vCPU's thread, right
 * before entry). Its delivery would push the TF of a search onto the
 * guest's stack, and the guest would take a #DB after its IRET: stop
 * stepping first. A search ends with the role, but the role can end
 * between the vCPU's last hook and this entry (detach, promotion), and
 * the live guest's own timer or VMM then interrupts it. While still a
 * backup, a delivery in a search is one the primary did not have there
 * (it applies no kind-3 event across one): a divergence.
 */
void kvmft_step_inject(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!vs || !vs->stepping)
		return;
	kvmft_step_set(vcpu, vs, false);
	if (READ_ONCE(vm->role) == KVMFT_ROLE_BACKUP) {
		kvmft_diverge(vm, vcpu, kvmft_log_next_event_seq(vm),
			      KVMFT_DIV_DELIVERY);
		kvmft_vcpu_stop(vs);
	}
}

/*
 * On the vCPU's thread, inside KVM_RUN: make vcpu_run() return -EINTR
 * before the next entry; the next KVM_RUN waits for the log.
 */
void kvmft_vcpu_stop(struct kvmft_vcpu_state *vs)
{
	vs->need_wait = true;
	set_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
}
