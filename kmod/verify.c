// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory hashes at a log position, so that a primary and its backup
 * can be compared: replay is checked, not believed.
 *
 * VERIFY names a position P in the VM's log. When the record at or past P
 * has taken effect (appended by a primary, taken by a backup), the exit
 * that carried it ends KVM_RUN with -EINTR instead of entering the guest
 * again; the next KVM_RUN is sent to kvmft_run_verify(), which hashes all
 * guest memory in the vCPU's own thread, in process context, while the
 * guest cannot run. Both sides stop at the same record, so at the same
 * guest state.
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/xxhash.h>
#include "kvmft.h"

/* The log position this side has reached: appended, or taken. */
static u64 kvmft_log_position(struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	u64 pos;

	spin_lock(&log->lock);
	pos = READ_ONCE(vm->role) == KVMFT_ROLE_BACKUP ? log->replayed :
							log->next_seq - 1;
	spin_unlock(&log->lock);
	return pos;
}

/*
 * At the end of an exit that carried a record: if the log reached the
 * position VERIFY asked for, return -EINTR instead of @ret (1: enter the
 * guest again), so that the memory is hashed before the guest runs on.
 */
int kvmft_verify_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, int ret)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);
	u64 at = READ_ONCE(vm->verify.at);

	if (!vs || !at || READ_ONCE(vm->verify.done) || ret != 1 ||
	    kvmft_log_position(vm) < at)
		return ret;
	vs->verify_pending = true;
	return -EINTR;
}

/* xxh64 of every user memslot's pages, in guest-physical order. */
static int kvmft_hash_memory(struct kvm *kvm, u64 *hash)
{
	struct kvm_memslot_iter iter;
	struct xxh64_state st;
	struct kvm_memory_slot *slot;
	u64 desc[2], i;
	int idx, err = 0;
	void *page;

	page = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	xxh64_reset(&st, 0);
	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot_in_gfn_range(&iter, kvm_memslots(kvm), 0, U64_MAX) {
		slot = iter.slot;
		/* KVM's own pages (APIC access, TSS) are not the guest's. */
		if (slot->id >= KVM_USER_MEM_SLOTS)
			continue;
		desc[0] = slot->base_gfn;
		desc[1] = slot->npages;
		xxh64_update(&st, desc, sizeof(desc));
		for (i = 0; i < slot->npages && !err; i++) {
			if (kvm_read_guest_page(kvm, slot->base_gfn + i, page, 0,
						PAGE_SIZE))
				memset(page, 0xff, PAGE_SIZE);
			xxh64_update(&st, page, PAGE_SIZE);
			if (!(i & 255)) {
				cond_resched();
				if (fatal_signal_pending(current))
					err = -EINTR;
			}
		}
		if (err)
			break;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kfree(page);
	*hash = xxh64_digest(&st);
	return err;
}

/* Runs instead of KVM_RUN once the log reached the VERIFY position. */
int kvmft_run_verify(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);
	struct kvmft_vcpu_state *vs = vm ? kvmft_vcpu_state(vm, vcpu) : NULL;
	u64 hash;
	int err;

	if (vs) {
		vs->verify_pending = false;
		err = kvmft_hash_memory(vcpu->kvm, &hash);
		spin_lock(&vm->verify.lock);
		vm->verify.err = err;
		vm->verify.hash = hash;
		vm->verify.seq = kvmft_log_position(vm);
		WRITE_ONCE(vm->verify.done, true);
		spin_unlock(&vm->verify.lock);
		wake_up_all(&vm->verify.wq);
	}
	if (vm)
		kvmft_vm_put(vm);
	kvmft_redirect_put();
	return -EINTR;
}

static bool kvmft_verify_over(struct kvmft_vm *vm)
{
	return READ_ONCE(vm->verify.done) || READ_ONCE(vm->detached) ||
	       READ_ONCE(vm->role) == KVMFT_ROLE_NONE;
}

/*
 * VERIFY: wait until this side's log reaches @at and its memory is
 * hashed. One at a time per VM; a position already passed cannot be
 * hashed any more (ERANGE). Killable.
 */
int kvmft_verify(struct kvmft_vm *vm, u64 at, u64 *hash, u64 *seq,
		 struct netlink_ext_ack *extack)
{
	u64 pos;
	int err;

	mutex_lock(&vm->verify.mutex);
	if (READ_ONCE(vm->role) == KVMFT_ROLE_NONE) {
		NL_SET_ERR_MSG(extack, "VM has no log: neither primary nor backup");
		err = -EINVAL;
		goto out;
	}
	pos = kvmft_log_position(vm);
	if (at <= pos) {
		NL_SET_ERR_MSG(extack, "the log is already past that position");
		err = -ERANGE;
		goto out;
	}
	spin_lock(&vm->verify.lock);
	vm->verify.done = false;
	WRITE_ONCE(vm->verify.at, at);
	spin_unlock(&vm->verify.lock);
	/* A halted or waiting vCPU looks at its log on its next exit. */
	kvmft_log_wake(vm);
	err = wait_event_killable(vm->verify.wq, kvmft_verify_over(vm));
	spin_lock(&vm->verify.lock);
	WRITE_ONCE(vm->verify.at, 0);
	if (!err && !vm->verify.done) {
		NL_SET_ERR_MSG(extack, "the VM left its role before that position");
		err = -ECANCELED;
	} else if (!err) {
		err = vm->verify.err;
		*hash = vm->verify.hash;
		*seq = vm->verify.seq;
	}
	vm->verify.done = false;
	spin_unlock(&vm->verify.lock);
out:
	mutex_unlock(&vm->verify.mutex);
	return err;
}
