// SPDX-License-Identifier: GPL-2.0
/*
 * Hooks on a stock KVM, with ftrace (no kernel patch):
 *
 *  kvm_arch_vcpu_ioctl_run  entry of KVM_RUN, before KVM consumes the data
 *                           the VMM completed a PIO IN with: record it
 *                           (primary) or replace it from the log (backup).
 *                           When the vCPU must wait for the log, KVM_RUN is
 *                           redirected to kvmft_run_wait(), which sleeps and
 *                           returns -EINTR; the VMM simply calls KVM_RUN
 *                           again, as it does after a signal.
 *  kvm_vm_release           the VM fd's last close: the VMM is gone, detach.
 *  kvm_arch_vcpu_runnable   a halted vCPU's thread, woken by a kick: lets
 *                           detach undo interception without waiting for
 *                           the guest to wake up.
 *  kvm_arch_vcpu_precreate  a new vCPU, and
 *  kvm_create_pit           a new in-kernel PIT: refused while the VM has
 *                           a role (the v1 contract LOG_OPEN checked).
 *
 * Callbacks run with preemption disabled; they never sleep.
 */
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include "kvmft.h"

/*
 * Redirect targets in flight. A hook that sends a call to module code
 * counts it here, and the target uncounts it as it returns; unload waits
 * for zero after the hooks are gone (kvmft_hooks_drain()). Not the module
 * refcount: try_module_get() fails once unload has begun, and an exit the
 * hook then let through would reach KVM, which cannot handle it.
 */
static atomic_t kvmft_redirects = ATOMIC_INIT(0);

void kvmft_redirect_get(void)
{
	atomic_inc(&kvmft_redirects);
}

void kvmft_redirect_put(void)
{
	if (atomic_dec_and_test(&kvmft_redirects))
		wake_up_var(&kvmft_redirects);
}

/* After every hook is unregistered: no task may still run a target. */
void kvmft_hooks_drain(void)
{
	wait_var_event(&kvmft_redirects, !atomic_read(&kvmft_redirects));
	/* The instructions a target runs after its put are not counted. */
	synchronize_rcu_tasks();
}

/* Symbols are found through a kprobe: kallsyms_lookup_name is not exported. */
unsigned long kvmft_lookup_symbol(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/* Start and size of the function holding @addr, from kallsyms. */
bool kvmft_func_bounds(unsigned long addr, unsigned long *start,
		       unsigned long *size)
{
	char sym[KSYM_SYMBOL_LEN], *p;
	unsigned long off;

	sprint_symbol(sym, addr);
	p = strchr(sym, '+');
	if (!p || sscanf(p, "+%lx/%lx", &off, size) != 2 || !*size)
		return false;
	*start = addr - off;
	return true;
}

/*
 * The first byte of the function holding @addr: where a call must go (a
 * kprobe may report the address after an ENDBR instruction).
 */
unsigned long kvmft_symbol_start(unsigned long addr)
{
	unsigned long start, size;

	return kvmft_func_bounds(addr, &start, &size) ? start : addr;
}

/* Is @addr in module @name? sprint_symbol() ends with " [module]". */
static bool kvmft_addr_in_module(unsigned long addr, const char *name)
{
	char sym[KSYM_SYMBOL_LEN], tail[MODULE_NAME_LEN + 3];

	sprint_symbol(sym, addr);
	snprintf(tail, sizeof(tail), " [%s]", name);
	return strlen(sym) > strlen(tail) &&
	       !strcmp(sym + strlen(sym) - strlen(tail), tail);
}

static int kvmft_complete_pio_in(struct kvm_vcpu *vcpu);
static int kvmft_complete_mmio_in(struct kvm_vcpu *vcpu);
static int kvmft_complete_rdmsr(struct kvm_vcpu *vcpu);
static void kvmft_cui_restore(struct kvm_vcpu *vcpu,
			      struct kvmft_vcpu_state *vs);

/* Is KVM's completion of the last exit one of kvmft's, in front of KVM's? */
static bool kvmft_cui_ours(struct kvm_vcpu *vcpu)
{
	int (*cui)(struct kvm_vcpu *vcpu) =
		READ_ONCE(vcpu->arch.complete_userspace_io);

	return cui == kvmft_complete_pio_in || cui == kvmft_complete_mmio_in ||
	       cui == kvmft_complete_rdmsr;
}

/* Only the first vCPU is recorded: the v1 contract has one. */
static bool kvmft_vcpu_eligible(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	return vcpu->vcpu_idx == 0;
}

bool kvmft_vcpu_sync_done(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	bool want = kvmft_vm_wants_exits(vm);

	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	if (!want && kvmft_cui_ours(vcpu))
		return false;
	if (!want && vs && vs->stepping)
		return false;
	return kvmft_vendor_intercepts_match(vm, vcpu, want);
}

/*
 * A backup that stops replaying has shown its guest the primary's TSC;
 * its own may be behind. Move it forward so that the guest's TSC never
 * goes back: past the highest value replayed.
 */
static void kvmft_tsc_rebase(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			     struct kvmft_vcpu_state *vs)
{
	u64 now = kvm_read_l1_tsc(vcpu, rdtsc());

	vs->tsc_replayed = false;
	if ((s64)(vs->tsc_max - now) < 0)
		return;
	kvmft_vendor_set_tsc_offset(vm, vcpu, vcpu->arch.l1_tsc_offset +
				 (vs->tsc_max - now) + 1);
}

/* On the vCPU's own thread (or with its mutex): apply the VM's role. */
void kvmft_vcpu_sync(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);
	bool want = kvmft_vm_wants_exits(vm);

	if (vs && !want)
		kvmft_cui_restore(vcpu, vs);
	/* A search ends with the role: a live guest is not single-stepped. */
	if (vs && vs->stepping &&
	    (!want || READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP))
		kvmft_step_set(vcpu, vs, false);
	if (vs && vs->tsc_replayed &&
	    (!want || READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP))
		kvmft_tsc_rebase(vm, vcpu, vs);
	kvmft_vendor_sync_intercepts(vm, vcpu, want);
}

/* A promoted backup has taken every record it held: it runs live. */
static void kvmft_go_live(struct kvmft_vm *vm)
{
	if (cmpxchg(&vm->role, KVMFT_ROLE_BACKUP, KVMFT_ROLE_NONE) ==
	    KVMFT_ROLE_BACKUP) {
		kvmft_log_wake(vm);
		kvmft_vm_change_async(vm);
	}
}

/*
 * The backup left the primary's path at record @seq: its vCPU stops there
 * for good (kvmft_log_ready() never lets it on), the writer gets EPIPE,
 * and a CHANGE event names the record. Never live: only detach or a new
 * backup repairs the pair.
 */
void kvmft_diverge(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u64 seq,
		   enum kvmft_divergence why)
{
	static const char * const what[__KVMFT_DIV_LAST] = {
		[KVMFT_DIV_RECORD] = "the record is not what the exit needs",
		[KVMFT_DIV_STATE] = "the registers differ from the state record's",
		[KVMFT_DIV_PASSED] = "the vCPU passed the event's landmark",
		[KVMFT_DIV_OFF_LANDMARK] = "the event's exit is not where the vCPU is",
		[KVMFT_DIV_SEARCH] = "no kind-3 landmark within the steps allowed",
		[KVMFT_DIV_EVENT] = "an event of an unknown kind",
		[KVMFT_DIV_DELIVERY] = "an interrupt or NMI came during a kind-3 search",
	};
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	spin_lock(&vm->log.lock);
	if (vm->log.diverged) {
		spin_unlock(&vm->log.lock);
		return;
	}
	vm->log.diverged = seq ?: 1;
	vm->log.diverged_why = why;
	spin_unlock(&vm->log.lock);
	kvmft_stat_inc(vm, KVMFT_STAT_DIVERGENCES);
	pr_warn_ratelimited("kvmft: VM %u: backup diverged at log record %llu: %s (rip 0x%lx, %llu deterministic exits, %u steps searched); its vCPU is stopped\n",
			    vm->id, seq, why < __KVMFT_DIV_LAST && what[why] ?
			    what[why] : "?", vcpu->arch.regs[VCPU_REGS_RIP],
			    vs ? vs->det_exits : 0, vs ? vs->search_steps : 0);
	kvmft_log_wake(vm);
	kvmft_vm_change_async(vm);
}

/*
 * Backup: take the record this exit needs (kvmft_log_take). Returns
 * -EAGAIN when the vCPU must wait (for a record, for promotion at the end
 * of the log, or for good after a divergence), 0 when it was taken (going
 * live after it if it was the last a promoted backup held), 1 when the
 * promoted backup had none left: it went live and the live value stays.
 */
static int kvmft_replay_take(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			     u16 type, void *fixed, u16 fixed_len, bool match,
			     void *data, u16 data_len)
{
	u64 seq = 0;
	int err;

	if (READ_ONCE(vm->log.diverged))
		return -EAGAIN;
	err = kvmft_log_take(vm, vcpu, type, fixed, fixed_len, match, data,
			     data_len, &seq);
	if (err == -EAGAIN)
		return err;
	if (err == -EBADE) {
		kvmft_diverge(vm, vcpu, seq, KVMFT_DIV_STATE);
		return -EAGAIN;
	}
	if (err == -EILSEQ) {
		struct kvmft_rec_event ev;
		u64 ev_seq;

		/* An event in the way: the vCPU went past its landmark. */
		kvmft_diverge(vm, vcpu, seq,
			      !kvmft_log_peek_event(vm, &ev, &ev_seq) &&
			      ev_seq == seq ? KVMFT_DIV_PASSED :
					      KVMFT_DIV_RECORD);
		return -EAGAIN;
	}
	if (err) {
		kvmft_go_live(vm);
		return 1;
	}
	if (kvmft_log_promote_done(vm))
		kvmft_go_live(vm);
	return 0;
}

/*
 * A PIO IN completed by the VMM. KVM reads the data from the vCPU's PIO
 * page, which the VMM has mapped and can rewrite at any time, so the data
 * is copied once into the VM's own buffer and recorded or replaced there,
 * and KVM's completion runs with vcpu->arch.pio_data pointing at that
 * buffer: what the log holds is exactly what the guest gets.
 *
 * kvmft_run_enter() puts kvmft_complete_pio_in() in front of KVM's own
 * completion; KVM clears complete_userspace_io before calling it, so each
 * IN is seen exactly once. When the log is not ready the completion puts
 * itself back and returns -EINTR: KVM_RUN returns, and the next one waits.
 */
static int kvmft_pio_in(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			struct kvmft_vcpu_state *vs, u8 *buf)
{
	/* KVM's own request, not kvm_run, which the VMM can write. */
	struct kvm_pio_request *req = &vcpu->arch.pio;
	struct kvmft_rec_pio pio = {
		.port = req->port,
		.size = req->size,
		.count = req->count,
	};
	u32 len = req->size * req->count;
	int err = 0;

	memcpy(buf, vcpu->arch.pio_data, len);
	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		err = kvmft_log_append(vm, vcpu, KVMFT_REC_PIO_IN, &pio,
				       sizeof(pio), buf, len, NULL);
		if (err == -ENODEV)	/* the reader went: recording ends */
			err = 0;
		break;
	case KVMFT_ROLE_BACKUP:
		err = kvmft_replay_take(vm, vcpu, KVMFT_REC_PIO_IN, &pio,
					sizeof(pio), true, buf, len);
		break;
	}
	if (err < 0)
		return err;
	kvmft_stat_inc(vm, KVMFT_STAT_PIO_IN);
	return 0;
}

static int kvmft_complete_pio_in(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	struct kvmft_vcpu_state *vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	int (*cui)(struct kvm_vcpu *vcpu);
	void *page = vcpu->arch.pio_data;
	u32 len;
	int r;

	kvmft_redirect_get();
	/* Detach puts KVM's completion back before the VM leaves the table. */
	if (WARN_ON_ONCE(!vs || !vs->orig_cui)) {
		r = -EIO;
		goto out;
	}
	cui = vs->orig_cui;
	if (!kvmft_vm_wants_exits(vm)) {
		vs->orig_cui = NULL;
		r = cui(vcpu);
		goto out;
	}
	if (kvmft_pio_in(vm, vcpu, vs, vm->pio_buf)) {
		/* Not ready: KVM_RUN returns -EINTR; the next one waits. */
		vs->need_wait = true;
		vcpu->arch.complete_userspace_io = kvmft_complete_pio_in;
		r = -EINTR;
		goto out;
	}
	/* The buffer holds what the guest gets, even if the role just ended. */
	vs->orig_cui = NULL;
	vcpu->arch.pio_data = vm->pio_buf;
	r = cui(vcpu);
	vcpu->arch.pio_data = page;
	/* A new request set up meanwhile (rep INS goes on) used the buffer. */
	len = vcpu->arch.pio.size * vcpu->arch.pio.count;
	if (len && vcpu->arch.pio.in)
		memset(page, 0, len);
	else if (len)
		memcpy(page, vm->pio_buf, len);
	r = kvmft_verify_exit(vm, vcpu, r);
	/*
	 * An IN is a landmark, and the guest runs on from here without a
	 * loop point: a backup steps to a kind-3 landmark that follows it,
	 * or with nothing more in its log, waits before the guest runs on.
	 */
	if (r > 0 && kvmft_backup_apply_now(vm, vcpu, vs)) {
		vs->need_wait = true;
		r = -EINTR;
	}
out:
	if (vm)
		kvmft_vm_put(vm);
	kvmft_redirect_put();
	return r;
}

/*
 * An MMIO read the VMM answered (KVM_EXIT_MMIO): KVM copies the data from
 * kvm_run, which the VMM can write, into the fragment it emulates from.
 * kvmft records it (primary) or replaces it with the log's (backup) just
 * before KVM's completion runs; the VMM could still write kvm_run in
 * between, but only to its own VM's loss. The fragment's address and
 * length are KVM's own, not kvm_run's.
 */
static int kvmft_complete_mmio_in(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	struct kvmft_vcpu_state *vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	struct kvm_mmio_fragment *frag;
	struct kvmft_rec_mmio m = { 0 };
	int (*cui)(struct kvm_vcpu *vcpu);
	int err = 0, r;

	kvmft_redirect_get();
	if (WARN_ON_ONCE(!vs || !vs->orig_cui)) {
		r = -EIO;
		goto out;
	}
	cui = vs->orig_cui;
	if (!kvmft_vm_wants_exits(vm)) {
		vs->orig_cui = NULL;
		r = cui(vcpu);
		goto out;
	}
	frag = &vcpu->mmio_fragments[vcpu->mmio_cur_fragment];
	m.gpa = frag->gpa;
	m.len = min(8U, frag->len);
	memcpy(m.data, vcpu->run->mmio.data, m.len);
	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		err = kvmft_log_append(vm, vcpu, KVMFT_REC_MMIO_IN, &m,
				       sizeof(m), NULL, 0, NULL);
		if (err == -ENODEV)	/* the reader went: recording ends */
			err = 0;
		break;
	case KVMFT_ROLE_BACKUP:
		/* gpa, len and reserved must match; the data is the log's. */
		err = kvmft_replay_take(vm, vcpu, KVMFT_REC_MMIO_IN, &m,
					offsetof(struct kvmft_rec_mmio, data),
					true, m.data, sizeof(m.data));
		break;
	}
	if (err < 0) {
		/* Not ready: KVM_RUN returns -EINTR; the next one waits. */
		vs->need_wait = true;
		vcpu->arch.complete_userspace_io = kvmft_complete_mmio_in;
		r = -EINTR;
		goto out;
	}
	memcpy(vcpu->run->mmio.data, m.data, m.len);
	vs->orig_cui = NULL;
	r = cui(vcpu);
	r = kvmft_verify_exit(vm, vcpu, r);
	/* As after an IN (kvmft_complete_pio_in). */
	if (r > 0 && kvmft_backup_apply_now(vm, vcpu, vs)) {
		vs->need_wait = true;
		r = -EINTR;
	}
out:
	if (vm)
		kvmft_vm_put(vm);
	kvmft_redirect_put();
	return r;
}

/* Is an MMIO read completion pending that kvmft must see first? */
static bool kvmft_mmio_in_pending(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.complete_userspace_io &&
	       !kvmft_cui_ours(vcpu) && vcpu->mmio_needed &&
	       !vcpu->mmio_is_write &&
	       vcpu->mmio_cur_fragment < vcpu->mmio_nr_fragments;
}

/* Is a PIO IN completion pending that kvmft must see first? */
static bool kvmft_pio_in_pending(struct kvm_vcpu *vcpu)
{
	struct kvm_pio_request *req = &vcpu->arch.pio;
	u32 len = req->size * req->count;

	return vcpu->arch.complete_userspace_io &&
	       vcpu->arch.complete_userspace_io != kvmft_complete_pio_in &&
	       req->in && len && len <= KVMFT_REC_MAX_PIO_DATA &&
	       vcpu->arch.pio_data;
}

/* Detach or role none: KVM's own completion goes back in place. */
static void kvmft_cui_restore(struct kvm_vcpu *vcpu,
			      struct kvmft_vcpu_state *vs)
{
	if (!kvmft_cui_ours(vcpu))
		return;
	vcpu->arch.complete_userspace_io = vs->orig_cui;
	vs->orig_cui = NULL;
}

static int kvmft_run_wait(struct kvm_vcpu *vcpu);

typedef int (*kvmft_run_fn)(struct kvm_vcpu *vcpu);

/*
 * KVM_RUN entry for an attached VM. Returns what runs instead of KVM_RUN:
 * kvmft_run_verify() to hash memory at a VERIFY position, kvmft_run_wait()
 * to wait for the log; NULL: KVM_RUN goes on.
 */
static kvmft_run_fn kvmft_run_enter(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	kvmft_stat_inc(vm, KVMFT_STAT_RUNS);
	kvmft_vcpu_sync(vm, vcpu);
	kvmft_landmark_settle(vm, vcpu);
	if (!vs || !kvmft_vm_wants_exits(vm) || !kvmft_vcpu_eligible(vm, vcpu))
		return NULL;
	if (vs->verify_pending)
		return kvmft_run_verify;
	if (vs->need_wait) {
		if (!kvmft_log_ready(vm))
			return kvmft_run_wait;
		vs->need_wait = false;
	}
	/* The output rule's queue is full: wait for acks (outq.c). */
	if (READ_ONCE(vm->role) == KVMFT_ROLE_PRIMARY && kvmft_outq_full(vm)) {
		atomic64_inc(&vm->outq.waits);
		vs->need_wait = true;
		return kvmft_run_wait;
	}
	if (kvmft_lapic_resume(vm, vcpu)) {
		vs->need_wait = true;
		return kvmft_run_wait;
	}
	if (kvmft_pio_in_pending(vcpu)) {
		vs->orig_cui = vcpu->arch.complete_userspace_io;
		vcpu->arch.complete_userspace_io = kvmft_complete_pio_in;
	} else if (kvmft_mmio_in_pending(vcpu)) {
		vs->orig_cui = vcpu->arch.complete_userspace_io;
		vcpu->arch.complete_userspace_io = kvmft_complete_mmio_in;
	}
	return NULL;
}

/* RDTSC or RDTSCP exit of an attached VM; the vendor code skips the insn. */
int kvmft_tsc_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, bool rdtscp,
		   u64 *tsc, u64 *aux)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);
	struct kvmft_rec_tsc t = { 0 };
	u16 type = rdtscp ? KVMFT_REC_RDTSCP : KVMFT_REC_RDTSC;
	int err;

	t.tsc = kvm_read_l1_tsc(vcpu, rdtsc());
	if (rdtscp && kvm_get_msr(vcpu, MSR_TSC_AUX, &t.aux))
		t.aux = 0;

	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		err = kvmft_log_append(vm, vcpu, type, &t, sizeof(t), NULL, 0,
				       NULL);
		if (err == -ENOSPC && vs) {
			vs->need_wait = true;
			kvmft_landmark_refused(vm, vcpu);
			return -EINTR;
		}
		break;
	case KVMFT_ROLE_BACKUP:
		/* Without a record, t keeps the live values read above. */
		err = kvmft_replay_take(vm, vcpu, type, &t, sizeof(t), false,
					NULL, 0);
		if (err == -EAGAIN && vs) {
			vs->need_wait = true;
			kvmft_landmark_refused(vm, vcpu);
			return -EINTR;
		}
		if (!vs)
			break;
		if (!err &&
		    (!vs->tsc_replayed || (s64)(t.tsc - vs->tsc_max) > 0)) {
			vs->tsc_max = t.tsc;
			vs->tsc_replayed = true;
		}
		/* Went live here: from now on the guest must not go back. */
		if (vs->tsc_replayed &&
		    READ_ONCE(vm->role) != KVMFT_ROLE_BACKUP) {
			kvmft_tsc_rebase(vm, vcpu, vs);
			if (err)
				t.tsc = kvm_read_l1_tsc(vcpu, rdtsc());
		}
		break;
	}
	kvmft_stat_inc(vm, KVMFT_STAT_RDTSC);
	*tsc = t.tsc;
	*aux = t.aux;
	return 0;
}

static void kvmft_set_edx_eax(struct kvm_vcpu *vcpu, u64 v)
{
	vcpu->arch.regs[VCPU_REGS_RAX] = lower_32_bits(v);
	vcpu->arch.regs[VCPU_REGS_RDX] = upper_32_bits(v);
}

/*
 * Primary: record what an RDMSR gave the guest. Backup: give it the same,
 * or the same #GP, whatever KVM or the VMM would answer now; the backup
 * never runs the read itself.
 */
int kvmft_rdmsr_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);
	struct kvmft_rec_msr m = {
		.index = lower_32_bits(vcpu->arch.regs[VCPU_REGS_RCX]),
	};
	struct kvmft_rec_state st;
	int ret, err;

	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		/* Room first: the read cannot be undone once KVM did it. */
		if (vs && !kvmft_log_has_room(vm, sizeof(m)) &&
		    kvmft_log_recording(&vm->log)) {
			vs->need_wait = true;
			kvmft_landmark_refused(vm, vcpu);
			return -EINTR;
		}
		/* The state before the read, as the backup will see it. */
		kvmft_vendor_state(vm, vcpu, &st);
		ret = kvm_emulate_rdmsr(vcpu);
		if (!ret && vcpu->run->exit_reason == KVM_EXIT_X86_RDMSR) {
			/* The VMM answers: record at its completion. */
			if (vs && vcpu->arch.complete_userspace_io) {
				vs->orig_cui = vcpu->arch.complete_userspace_io;
				vcpu->arch.complete_userspace_io =
					kvmft_complete_rdmsr;
			}
			return ret;
		}
		if (vcpu->arch.exception.pending &&
		    vcpu->arch.exception.vector == GP_VECTOR)
			m.flags = KVMFT_MSR_F_GP;
		else
			m.value = (vcpu->arch.regs[VCPU_REGS_RDX] << 32) |
				  lower_32_bits(vcpu->arch.regs[VCPU_REGS_RAX]);
		kvmft_log_append(vm, vcpu, KVMFT_REC_RDMSR, &m, sizeof(m),
				 NULL, 0, &st);
		kvmft_stat_inc(vm, KVMFT_STAT_RDMSR);
		return kvmft_verify_exit(vm, vcpu, ret);
	case KVMFT_ROLE_BACKUP:
		/* The index must match; flags and value come from the log. */
		err = kvmft_replay_take(vm, vcpu, KVMFT_REC_RDMSR, &m.index,
					sizeof(m.index), true, &m.flags,
					sizeof(m) - sizeof(m.index));
		if (err == -EAGAIN && vs) {
			vs->need_wait = true;
			kvmft_landmark_refused(vm, vcpu);
			return -EINTR;
		}
		if (err)	/* promoted and nothing left: live */
			return kvm_emulate_rdmsr(vcpu);
		kvmft_stat_inc(vm, KVMFT_STAT_RDMSR);
		if (!(m.flags & KVMFT_MSR_F_GP))
			kvmft_set_edx_eax(vcpu, m.value);
		ret = kvm_complete_insn_gp(vcpu, m.flags & KVMFT_MSR_F_GP);
		return kvmft_verify_exit(vm, vcpu, ret);
	}
	return kvm_emulate_rdmsr(vcpu);
}

/*
 * The VMM answered an RDMSR (KVM_EXIT_X86_RDMSR): record its answer from
 * the VMM-writable kvm_run once, and complete the read from that copy as
 * KVM's complete_fast_rdmsr() would.
 */
static int kvmft_complete_rdmsr(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	struct kvmft_vcpu_state *vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	struct kvmft_rec_msr m = {
		.index = READ_ONCE(vcpu->run->msr.index),
	};
	u8 error = READ_ONCE(vcpu->run->msr.error);
	int r;

	kvmft_redirect_get();
	if (WARN_ON_ONCE(!vs || !vs->orig_cui)) {
		r = -EIO;
		goto out;
	}
	if (error)
		m.flags = KVMFT_MSR_F_GP;
	else
		m.value = READ_ONCE(vcpu->run->msr.data);
	if (kvmft_vm_wants_exits(vm) &&
	    READ_ONCE(vm->role) == KVMFT_ROLE_PRIMARY &&
	    kvmft_log_append(vm, vcpu, KVMFT_REC_RDMSR, &m, sizeof(m), NULL,
			     0, NULL) == -ENOSPC) {
		vs->need_wait = true;
		vcpu->arch.complete_userspace_io = kvmft_complete_rdmsr;
		r = -EINTR;
		goto out;
	}
	vs->orig_cui = NULL;
	kvmft_stat_inc(vm, KVMFT_STAT_RDMSR);
	if (!error)
		kvmft_set_edx_eax(vcpu, m.value);
	r = kvmft_verify_exit(vm, vcpu, kvm_complete_insn_gp(vcpu, error));
out:
	if (vm)
		kvmft_vm_put(vm);
	kvmft_redirect_put();
	return r;
}

/*
 * RDPMC reads host performance counters: refused (#GP) on primary and
 * backup alike while the VM has a role, which keeps the two equal.
 */
int kvmft_rdpmc_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	kvmft_stat_inc(vm, KVMFT_STAT_REFUSED);
	return kvm_complete_insn_gp(vcpu, 1);
}

/* Runs instead of KVM_RUN while the vCPU waits for its log. */
static int kvmft_run_wait(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);

	if (vm) {
		if (!kvmft_outq_full(vm))
			kvmft_stat_inc(vm, KVMFT_STAT_LOG_WAITS);
		wait_event_interruptible_timeout(vm->log.wq,
						 kvmft_log_ready(vm), HZ);
		kvmft_vm_put(vm);
	}
	kvmft_redirect_put();
	return -EINTR;
}

static void notrace kvmft_run_hook(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	kvmft_run_fn fn = NULL;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	if (vm)
		fn = kvmft_run_enter(vm, vcpu);
	if (fn) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)fn;
	}
	rcu_read_unlock();
}

static void notrace kvmft_release_hook(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct file *filp = (struct file *)ftrace_get_regs(fregs)->si;

	kvmft_vm_released(filp->private_data);
}

static void notrace kvmft_runnable_hook(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)ftrace_get_regs(fregs)->di;
	struct kvmft_vm *vm;

	/* Only the vCPU's own thread may touch its VMCB. */
	rcu_read_lock();
	if (rcu_dereference(vcpu->pid) == task_pid(current)) {
		vm = kvmft_vm_lookup_rcu(vcpu->kvm);
		if (vm)
			kvmft_vcpu_sync(vm, vcpu);
	}
	rcu_read_unlock();
}

/*
 * While a VM has a role its shape is fixed: what LOG_OPEN checked
 * (kvmft_log_contract()) must stay true. KVM creates vCPUs and the PIT
 * under kvm->lock, which LOG_OPEN holds while it checks and sets the role.
 */
static bool kvmft_vm_shape_fixed(struct kvm *kvm, const char *what)
{
	struct kvmft_vm *vm;
	bool fixed;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(kvm);
	fixed = vm && READ_ONCE(vm->role) != KVMFT_ROLE_NONE;
	if (fixed)
		pr_warn_ratelimited("kvmft: VM %u has a log open: %s refused (outside the v1 contract)\n",
				    vm->id, what);
	rcu_read_unlock();
	return fixed;
}

static int kvmft_vcpu_refused(struct kvm *kvm, unsigned int id)
{
	kvmft_redirect_put();
	return -EBUSY;
}

static void notrace kvmft_precreate_hook(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (kvmft_vm_shape_fixed((struct kvm *)regs->di, "a new vCPU")) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_vcpu_refused;
	}
}

/* KVM answers "no memory" (ENOMEM): it expects no other failure here. */
static void *kvmft_pit_refused(struct kvm *kvm, u32 flags)
{
	kvmft_redirect_put();
	return NULL;
}

static void notrace kvmft_create_pit_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *ops,
					  struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (kvmft_vm_shape_fixed((struct kvm *)regs->di, "an in-kernel PIT")) {
		kvmft_redirect_get();
		regs->ip = (unsigned long)kvmft_pit_refused;
	}
}

#define KVMFT_HOOK(_name, _func, _flags) {				\
	.name = _name, .module = "kvm", .func = _func,			\
	.flags = KVMFT_HOOK_FLAGS | (_flags),				\
}

static struct kvmft_hook kvmft_hooks[] = {
	KVMFT_HOOK("kvm_arch_vcpu_ioctl_run", kvmft_run_hook,
		   FTRACE_OPS_FL_IPMODIFY),
	KVMFT_HOOK("kvm_vm_release", kvmft_release_hook, 0),
	KVMFT_HOOK("kvm_arch_vcpu_runnable", kvmft_runnable_hook, 0),
	KVMFT_HOOK("kvm_arch_vcpu_precreate", kvmft_precreate_hook,
		   FTRACE_OPS_FL_IPMODIFY),
	KVMFT_HOOK("kvm_create_pit", kvmft_create_pit_hook,
		   FTRACE_OPS_FL_IPMODIFY),
};

int kvmft_hook_register(struct kvmft_hook *h)
{
	int err;

	h->addr = kvmft_lookup_symbol(h->name);
	if (!h->addr || !kvmft_addr_in_module(h->addr, h->module)) {
		pr_err("kvmft: %s not found in module %s\n", h->name, h->module);
		return -ENOENT;
	}
	h->ops.func = h->func;
	/* Keep ftrace's INITIALIZED mark from an earlier failed attempt. */
	h->ops.flags = h->flags | (h->ops.flags & FTRACE_OPS_FL_INITIALIZED);
	err = ftrace_set_filter_ip(&h->ops, h->addr, 0, 0);
	if (err) {
		pr_err("kvmft: cannot trace %s: %d\n", h->name, err);
		goto err_filter;
	}
	err = register_ftrace_function(&h->ops);
	if (err == -EBUSY)
		pr_err("kvmft: cannot hook %s: function tracing is off (sysctl kernel.ftrace_enabled=0); kvmft needs it\n",
		       h->name);
	else if (err)
		pr_err("kvmft: cannot hook %s: %d\n", h->name, err);
	if (err)
		goto err_filter;
	return 0;

err_filter:
	ftrace_free_filter(&h->ops);
	return err;
}

void kvmft_hook_unregister(struct kvmft_hook *h)
{
	unregister_ftrace_function(&h->ops);
	ftrace_free_filter(&h->ops);
}

int kvmft_hooks_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(kvmft_hooks); i++) {
		err = kvmft_hook_register(&kvmft_hooks[i]);
		if (err)
			goto err_hook;
	}
	return 0;

err_hook:
	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_hooks[i]);
	return err;
}

void kvmft_hooks_exit(void)
{
	int i = ARRAY_SIZE(kvmft_hooks);

	while (--i >= 0)
		kvmft_hook_unregister(&kvmft_hooks[i]);
}
