// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel LAPIC timer under the log (docs/replay-engine.md, step 3,
 * kind-1 landmarks only; experimental, behind the experimental_lapic
 * module parameter, which also lets LOG_OPEN accept a split irqchip VM).
 *
 * Primary: the LAPIC timer's hrtimer runs as KVM made it, and its expiry
 * leaves lapic_timer.pending set; KVM turns that into an IRR bit only where
 * vcpu_run() asks kvm_cpu_has_pending_timer(). kvmft answers "nothing
 * pending" there unless the vCPU is at a landmark (its last exit was
 * deterministic, nothing in flight), so the expiry takes effect right
 * after a deterministic exit, and kvm_inject_pending_timer_irqs() records
 * it with that exit's count.
 *
 * Backup: its own timer never expires (apic_timer_expired() does nothing
 * while the VM is a backup); at the landmark of a recorded expiry kvmft
 * calls apic_timer_expired() itself and lets KVM inject, exactly KVM's
 * own expiry-then-inject sequence.
 *
 * A backup at a landmark whose log is empty cannot know whether the
 * primary applied something there: it stops (KVM_RUN returns -EINTR,
 * through TIF_NOTIFY_SIGNAL), waits for the log, and applies at its next
 * KVM_RUN what belongs to that landmark before the guest runs on, as the
 * primary did. A halted backup just stays blocked; a record written to
 * its log kicks it.
 *
 * MSIs the VMM signals (KVM_SIGNAL_MSI) are held the same way: queued on
 * the primary and delivered, and recorded, at the vCPU's next landmark;
 * on the backup the VMM's own are withheld (kept for the device
 * rendezvous later) and the recorded ones delivered at their landmarks.
 *
 * An event held longer than landmark_bound_us with no deterministic exit
 * in sight takes effect at the next instruction boundary instead, a
 * kind-3 landmark (step.c) that the backup single-steps to.
 *
 * Not yet: the PIC, IOAPIC and PIT, irqfd, NMIs.
 */
#include <linux/sched/signal.h>
#include "kvmft.h"

static bool kvmft_experimental_lapic;
module_param_named(experimental_lapic, kvmft_experimental_lapic, bool, 0644);
MODULE_PARM_DESC(experimental_lapic,
		 "Record and replay the in-kernel LAPIC timer of a split-irqchip VM (kind-1 landmarks only; experimental)");

bool kvmft_lapic_enabled(void)
{
	return READ_ONCE(kvmft_experimental_lapic);
}

static unsigned long kvmft_pending_timer_fn;	/* kvm_cpu_has_pending_timer */
static unsigned long kvmft_timer_expired_fn;	/* apic_timer_expired */
static unsigned long kvmft_send_msi_fn;		/* kvm_send_userspace_msi */

/* Deliver @m as KVM_SIGNAL_MSI would, past kvmft's own hook. */
static void kvmft_deliver_msi(struct kvmft_vcpu_state *vs, struct kvm *kvm,
			      const struct kvmft_ev_msi *m)
{
	int (*send)(struct kvm *kvm, struct kvm_msi *msi) =
		(void *)kvmft_send_msi_fn;
	struct kvm_msi msi = {
		.address_lo = m->address_lo,
		.address_hi = m->address_hi,
		.data = m->data,
		.flags = m->flags,
		.devid = m->devid,
	};

	vs->bypass = true;
	send(kvm, &msi);
	vs->bypass = false;
}

/*
 * Primary, at a landmark: deliver the MSIs held since the last one, each
 * recorded with the landmark. Stops early if the log is full (the rest
 * wait for the next landmark). Returns whether it delivered any.
 */
static bool kvmft_msi_release(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			      struct kvmft_vcpu_state *vs)
{
	bool released = false;

	struct kvmft_msi_hold *q = &vm->msi_hold;
	struct {
		struct kvmft_rec_event ev;
		struct kvmft_ev_msi msi;
	} r = { .ev.kind = KVMFT_ASYNC_MSI };

	for (;;) {
		spin_lock(&q->lock);
		if (q->head == q->tail) {
			spin_unlock(&q->lock);
			return released;
		}
		r.msi = q->ring[q->tail % KVMFT_MSI_HOLD];
		spin_unlock(&q->lock);
		kvmft_step_fill(vm, vcpu, vs, &r.ev);
		if (kvmft_log_append(vm, vcpu, KVMFT_REC_EVENT, &r.ev,
				     sizeof(r.ev), &r.msi, sizeof(r.msi), NULL))
			return released;
		spin_lock(&q->lock);
		q->tail++;
		spin_unlock(&q->lock);
		kvmft_deliver_msi(vs, vcpu->kvm, &r.msi);
		released = true;
		kvmft_stat_inc(vm, KVMFT_STAT_EVENTS);
		if (r.ev.landmark == KVMFT_LANDMARK_STEP)
			kvmft_stat_inc(vm, KVMFT_STAT_STEP_EVENTS);
	}
}

/* Primary: MSIs wait for a landmark. */
static bool kvmft_msi_held(struct kvmft_vm *vm)
{
	struct kvmft_msi_hold *q = &vm->msi_hold;
	bool held;

	spin_lock(&q->lock);
	held = q->head != q->tail;
	spin_unlock(&q->lock);
	return held;
}

/* Something KVM injected and has not delivered yet: not a landmark. */
static bool kvmft_event_in_flight(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.interrupt.injected || vcpu->arch.nmi_injected ||
	       vcpu->arch.exception.injected || vcpu->arch.exception.pending;
}

static int kvmft_call_pending_timer(struct kvmft_vcpu_state *vs,
				    struct kvm_vcpu *vcpu)
{
	int (*fn)(struct kvm_vcpu *vcpu) = (void *)kvmft_pending_timer_fn;
	int r;

	vs->bypass = true;
	r = fn(vcpu);
	vs->bypass = false;
	return r;
}

/*
 * Backup: apply the recorded events of the landmark it is at. At a kind-3
 * landmark not reached yet, single-step one more instruction; once no
 * event of this stretch is next, stop stepping. Returns how the vCPU left
 * the log's path (*@seq: at which record), KVMFT_DIV_NONE if it did not.
 */
static enum kvmft_divergence kvmft_lapic_apply(struct kvmft_vm *vm,
					       struct kvm_vcpu *vcpu,
					       struct kvmft_vcpu_state *vs,
					       u64 *seq)
{
	void (*expired)(void *apic, bool from_timer_fn) =
		(void *)kvmft_timer_expired_fn;
	struct kvmft_rec_event ev;
	struct kvmft_ev_msi msi;
	u16 extra;
	int err;

	for (;;) {
		err = kvmft_log_peek_event(vm, &ev, seq);
		if (err || ev.det > vs->det_exits)
			break;		/* none next, or a later landmark's */
		if (ev.det < vs->det_exits)
			goto diverged;
		if (ev.landmark == KVMFT_LANDMARK_STEP) {
			if (!kvmft_step_match(vcpu, &ev)) {
				kvmft_step_set(vcpu, vs, true);
				return KVMFT_DIV_NONE;
			}
		} else if (!vs->at_landmark) {
			goto diverged;
		}
		extra = ev.kind == KVMFT_ASYNC_MSI ? sizeof(msi) : 0;
		err = kvmft_log_take(vm, vcpu, KVMFT_REC_EVENT, &ev,
				     sizeof(ev), false, &msi, extra, seq);
		if (err == -EAGAIN)
			break;
		if (err)
			return err == -EBADE ? KVMFT_DIV_STATE :
					       KVMFT_DIV_RECORD;
		if (ev.landmark == KVMFT_LANDMARK_STEP) {
			vs->step_found = true;
			kvmft_stat_inc(vm, KVMFT_STAT_STEP_EVENTS);
		}
		switch (ev.kind) {
		case KVMFT_ASYNC_LAPIC_TIMER:
			vs->bypass = true;
			expired(vcpu->arch.apic, false);
			vs->bypass = false;
			break;
		case KVMFT_ASYNC_MSI:
			kvmft_deliver_msi(vs, vcpu->kvm, &msi);
			break;
		default:
			return KVMFT_DIV_EVENT;
		}
		kvmft_stat_inc(vm, KVMFT_STAT_EVENTS);
	}
	kvmft_step_set(vcpu, vs, false);
	return KVMFT_DIV_NONE;

diverged:
	pr_warn_ratelimited("kvmft: VM %u: event %llu (kind %u) is for rip 0x%llx after %llu deterministic exits (%s)\n",
			    vm->id, *seq, ev.kind, ev.rip, ev.det,
			    ev.landmark == KVMFT_LANDMARK_STEP ? "kind 3" :
								 "at the exit");
	return ev.det < vs->det_exits ? KVMFT_DIV_PASSED :
					KVMFT_DIV_OFF_LANDMARK;
}

/*
 * Backup: must the vCPU stop here and wait for its log? At a landmark (or
 * a kind-3 one it just found, or the start, before any record) with
 * nothing in the log, it cannot know whether the primary applied
 * something more before the next deterministic exit. A halted vCPU just
 * stays blocked: a record written to its log kicks it.
 */
static bool kvmft_lapic_must_wait(struct kvmft_vm *vm,
				  struct kvm_vcpu *vcpu,
				  struct kvmft_vcpu_state *vs)
{
	bool start = !vs->det_exits && !READ_ONCE(vm->log.replayed);

	if (!vcpu->arch.apic || READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP ||
	    !(vs->at_landmark || vs->step_found || start) || vs->stepping ||
	    !kvmft_log_empty(vm) || READ_ONCE(vm->log.promoted) ||
	    vcpu->arch.mp_state == KVM_MP_STATE_HALTED)
		return false;
	return true;
}

/*
 * Backup, at a loop point, KVM_RUN entry or once an IN from the VMM took
 * its record: apply what belongs here, or start stepping to a kind-3
 * landmark; a backup that passed a landmark has diverged and stops.
 * Returns whether the vCPU must stop and wait for its log.
 */
bool kvmft_backup_apply(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			struct kvmft_vcpu_state *vs)
{
	enum kvmft_divergence why;
	u64 seq = 0;

	if (!vcpu->arch.apic || READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP)
		return false;
	why = kvmft_lapic_apply(vm, vcpu, vs, &seq);
	if (why) {
		kvmft_step_set(vcpu, vs, false);
		kvmft_diverge(vm, vcpu, seq, why);
		return true;
	}
	return kvmft_lapic_must_wait(vm, vcpu, vs);
}

/*
 * KVM_RUN entry of a backup: apply what belongs where it stands (after a
 * stop at a landmark, once its log has something; or a kind-3 landmark
 * right after an exit to the VMM). Returns whether it must wait for its
 * log first.
 */
bool kvmft_lapic_resume(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!vs)
		return false;
	if (READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP) {
		kvmft_step_set(vcpu, vs, false);
		return false;
	}
	if (!vcpu->arch.apic)	/* no in-kernel LAPIC: no events */
		return false;
	return kvmft_backup_apply_now(vm, vcpu, vs);
}

/*
 * Backup, outside vcpu_run()'s loop point (KVM_RUN entry, an IN or MMIO
 * completion): apply, and turn an applied expiry into an IRR bit now, as
 * the primary's vcpu_run() did right after it applied one. (A backup's
 * own timer never expires: only applied expiries are pending.)
 */
bool kvmft_backup_apply_now(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			    struct kvmft_vcpu_state *vs)
{
	bool stop = kvmft_backup_apply(vm, vcpu, vs);

	if (vcpu->arch.apic && kvmft_call_pending_timer(vs, vcpu))
		kvm_inject_pending_timer_irqs(vcpu);
	return stop;
}

/* Runs instead of kvm_cpu_has_pending_timer() for a VM with a role. */
static int kvmft_pending_timer(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	struct kvmft_vcpu_state *vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	bool held;
	int r = 0;

	if (!vs) {
		r = 0;
		goto out;
	}
	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		/*
		 * Held: KVM keeps lapic_timer.pending, and kvmft the MSIs, for
		 * a landmark: a deterministic exit, or past the bound any
		 * instruction boundary (kind 3).
		 */
		held = kvmft_call_pending_timer(vs, vcpu) || kvmft_msi_held(vm);
		if (kvmft_event_in_flight(vcpu) ||
		    !kvmft_log_has_room(vm, sizeof(struct kvmft_rec_event) +
					    sizeof(struct kvmft_ev_msi)))
			break;
		if (!vs->at_landmark && !kvmft_step_due(vm, vcpu, vs, held))
			break;
		vs->step_landmark = !vs->at_landmark;
		vs->held_since = 0;
		/* The timer may have expired since @held: ask again. */
		r = kvmft_call_pending_timer(vs, vcpu);
		if (kvmft_msi_release(vm, vcpu, vs) || r)
			vs->delivering = true;
		break;
	case KVMFT_ROLE_BACKUP:
		/* A stop: vcpu_run() returns -EINTR before the next entry. */
		if (kvmft_backup_apply(vm, vcpu, vs))
			kvmft_vcpu_stop(vs);
		r = kvmft_call_pending_timer(vs, vcpu);
		break;
	default:
		r = kvmft_call_pending_timer(vs, vcpu);
	}
out:
	if (vm)
		kvmft_vm_put(vm);
	kvmft_redirect_put();
	return r;
}

static void notrace kvmft_pending_timer_hook(unsigned long ip,
					     unsigned long parent_ip,
					     struct ftrace_ops *ops,
					     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct kvmft_vcpu_state *vs;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	if (vs && !vs->bypass && kvmft_vm_wants_exits(vm) &&
	    vcpu->vcpu_idx == 0 && vcpu->arch.apic) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_pending_timer;
	}
	rcu_read_unlock();
}

/* Primary: KVM turns a pending expiry into an IRR bit: record it here. */
static void notrace kvmft_inject_timer_hook(unsigned long ip,
					    unsigned long parent_ip,
					    struct ftrace_ops *ops,
					    struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;
	struct kvmft_rec_event ev = { .kind = KVMFT_ASYNC_LAPIC_TIMER };
	struct kvmft_vcpu_state *vs;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	if (vs && vcpu->vcpu_idx == 0 &&
	    READ_ONCE(vm->role) == KVMFT_ROLE_PRIMARY) {
		kvmft_step_fill(vm, vcpu, vs, &ev);
		if (!kvmft_log_append(vm, vcpu, KVMFT_REC_EVENT, &ev,
				      sizeof(ev), NULL, 0, NULL)) {
			kvmft_stat_inc(vm, KVMFT_STAT_EVENTS);
			if (ev.landmark == KVMFT_LANDMARK_STEP)
				kvmft_stat_inc(vm, KVMFT_STAT_STEP_EVENTS);
		}
	}
	rcu_read_unlock();
}

/*
 * KVM_SIGNAL_MSI of a VM with a role: a primary holds it for the vCPU's
 * next landmark (and wakes a halted vCPU to reach one); a backup withholds
 * its own VMM's. Either way the VMM is told it was delivered.
 */
static int kvmft_msi_hold(struct kvm *kvm, struct kvm_msi *msi)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(kvm);
	struct kvmft_msi_hold *q;
	int r = 1;

	if (!vm)
		goto out;
	if (READ_ONCE(vm->role) == KVMFT_ROLE_PRIMARY) {
		q = &vm->msi_hold;
		spin_lock(&q->lock);
		if (q->head - q->tail < KVMFT_MSI_HOLD)
			q->ring[q->head++ % KVMFT_MSI_HOLD] = (struct kvmft_ev_msi){
				.address_lo = msi->address_lo,
				.address_hi = msi->address_hi,
				.data = msi->data,
				.flags = msi->flags,
				.devid = msi->devid,
			};
		else
			r = -ENOSPC;
		spin_unlock(&q->lock);
		kvmft_vm_kick(vm);
	} else {
		kvmft_stat_inc(vm, KVMFT_STAT_WITHHELD);
	}
	kvmft_vm_put(vm);
out:
	kvmft_redirect_put();
	return r;
}

static void notrace kvmft_send_msi_hook(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm *kvm = (struct kvm *)regs->di;
	struct kvmft_vcpu_state *vs;
	struct kvm_vcpu *vcpu;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(kvm);
	vcpu = vm ? kvm_get_vcpu(kvm, 0) : NULL;
	vs = vcpu ? kvmft_vcpu_state(vm, vcpu) : NULL;
	/* kvmft's own delivery runs on the vCPU's thread with bypass set. */
	if (vs && kvmft_vm_wants_exits(vm) &&
	    !(vs->bypass && rcu_access_pointer(vcpu->pid) == task_pid(current))) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_msi_hold;
	}
	rcu_read_unlock();
}

static void kvmft_timer_expired_noop(void *apic, bool from_timer_fn)
{
	kvmft_redirect_put();
}

/*
 * Backup: its own LAPIC timer never expires; only recorded expiries, which
 * kvmft applies itself (bypass). The VM is found by its LAPIC.
 */
static void notrace kvmft_timer_expired_hook(unsigned long ip,
					     unsigned long parent_ip,
					     struct ftrace_ops *ops,
					     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	void *apic = (void *)regs->di;
	bool from_timer_fn = regs->si & 1;
	struct kvmft_vcpu_state *vs;
	struct kvm_vcpu *vcpu;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_apic_rcu(apic, &vcpu);
	vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	/*
	 * The hrtimer's expiry (from_timer_fn) never passes, even while the
	 * vCPU thread has bypass set: it may interrupt that very thread.
	 */
	if (vs && (from_timer_fn || !vs->bypass) &&
	    READ_ONCE(vm->role) == KVMFT_ROLE_BACKUP &&
	    !READ_ONCE(vm->detached)) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_timer_expired_noop;
	}
	rcu_read_unlock();
}

static struct kvmft_hook kvmft_lapic_hooks[] = {
	{
		.name = "kvm_cpu_has_pending_timer", .module = "kvm",
		.func = kvmft_pending_timer_hook,
		.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "kvm_inject_pending_timer_irqs", .module = "kvm",
		.func = kvmft_inject_timer_hook,
		.flags = KVMFT_HOOK_FLAGS,
	},
	{
		.name = "apic_timer_expired", .module = "kvm",
		.func = kvmft_timer_expired_hook,
		.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "kvm_send_userspace_msi", .module = "kvm",
		.func = kvmft_send_msi_hook,
		.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
	},
};

int kvmft_lapic_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(kvmft_lapic_hooks); i++) {
		err = kvmft_hook_register(&kvmft_lapic_hooks[i]);
		if (err)
			goto err_hook;
	}
	kvmft_pending_timer_fn = kvmft_symbol_start(kvmft_lapic_hooks[0].addr);
	kvmft_timer_expired_fn = kvmft_symbol_start(kvmft_lapic_hooks[2].addr);
	kvmft_send_msi_fn = kvmft_symbol_start(kvmft_lapic_hooks[3].addr);
	return 0;

err_hook:
	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_lapic_hooks[i]);
	return err;
}

void kvmft_lapic_exit(void)
{
	int i = ARRAY_SIZE(kvmft_lapic_hooks);

	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_lapic_hooks[i]);
}
