// SPDX-License-Identifier: GPL-2.0
/*
 * Attached VMs. A VM is attached by its fd; the module then holds a
 * reference on the struct kvm until it detaches: on request, when the VM's
 * last fd is closed (the VMM exited), or at module unload.
 *
 * Hooks find a VM by its struct kvm under RCU; everything that changes the
 * table runs under kvmft_lock.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/sched/signal.h>
#include <net/genetlink.h>
#include "kvmft.h"

static DEFINE_HASHTABLE(kvmft_vm_hash, 6);
static LIST_HEAD(kvmft_vm_list);
static u32 kvmft_next_id = 1;

struct kvmft_vm *kvmft_vm_lookup_rcu(struct kvm *kvm)
{
	struct kvmft_vm *vm;

	hash_for_each_possible_rcu(kvmft_vm_hash, vm, hnode, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/*
 * The attached VM whose first vCPU has the LAPIC @apic (KVM's timer code
 * knows only that), and that vCPU. Under rcu_read_lock().
 */
struct kvmft_vm *kvmft_vm_lookup_apic_rcu(void *apic, struct kvm_vcpu **vcpu)
{
	struct kvmft_vm *vm;
	struct kvm_vcpu *v;
	int bkt;

	hash_for_each_rcu(kvmft_vm_hash, bkt, vm, hnode) {
		v = kvm_get_vcpu(vm->kvm, 0);
		if (v && v->arch.apic == apic) {
			*vcpu = v;
			return vm;
		}
	}
	return NULL;
}

/* The attached VM of @kvm with a reference taken, or NULL. */
struct kvmft_vm *kvmft_vm_get_rcu(struct kvm *kvm)
{
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(kvm);
	if (vm && !kref_get_unless_zero(&vm->ref))
		vm = NULL;
	rcu_read_unlock();
	return vm;
}

static void kvmft_vm_free_rcu(struct rcu_head *rcu)
{
	struct kvmft_vm *vm = container_of(rcu, struct kvmft_vm, rcu);

	kvmft_log_free(&vm->log);
	kfree(vm->pio_buf);
	kvfree(vm->vcpus);
	kfree(vm);
	kvmft_obj_put();
}

/*
 * The last reference is gone. It may have been dropped by a hook, in
 * atomic context, and kvm_put_kvm() can tear down the whole VM: do it from
 * the module's workqueue, which unload drains.
 */
static void kvmft_vm_free_work(struct work_struct *work)
{
	struct kvmft_vm *vm = container_of(work, struct kvmft_vm, free_work);

	kvm_put_kvm(vm->kvm);
	kvmft_obj_put();
	call_rcu(&vm->rcu, kvmft_vm_free_rcu);
}

static void kvmft_vm_release(struct kref *ref)
{
	struct kvmft_vm *vm = container_of(ref, struct kvmft_vm, ref);

	queue_work(kvmft_wq, &vm->free_work);
}

/*
 * Every reference to a kvmft_vm keeps its struct kvm alive, so whoever
 * holds one may walk the VM's vCPUs, even after the VM was detached and
 * its VMM has exited.
 */
void kvmft_vm_put(struct kvmft_vm *vm)
{
	kref_put(&vm->ref, kvmft_vm_release);
}

/* Returns the VM with a reference taken, or NULL. */
struct kvmft_vm *kvmft_vm_get_by_id(u32 id)
{
	struct kvmft_vm *vm, *found = NULL;

	mutex_lock(&kvmft_lock);
	list_for_each_entry(vm, &kvmft_vm_list, node) {
		if (vm->id == id && !vm->detached) {
			kref_get(&vm->ref);
			found = vm;
			break;
		}
	}
	mutex_unlock(&kvmft_lock);
	return found;
}

/* Wake the recorded vCPU if KVM has it blocked (halted). */
void kvmft_vm_kick(struct kvmft_vm *vm)
{
	struct kvm_vcpu *vcpu = kvm_get_vcpu(vm->kvm, 0);

	if (vcpu && READ_ONCE(vcpu->arch.mp_state) == KVM_MP_STATE_HALTED)
		kvm_vcpu_kick(vcpu);
}

u32 kvmft_vm_vcpu_count(struct kvmft_vm *vm)
{
	return atomic_read(&vm->kvm->online_vcpus);
}

struct kvmft_vcpu_state *kvmft_vcpu_state(struct kvmft_vm *vm,
					  struct kvm_vcpu *vcpu)
{
	if (vcpu->vcpu_idx < 0 || vcpu->vcpu_idx >= KVM_MAX_VCPUS)
		return NULL;
	return &vm->vcpus[vcpu->vcpu_idx];
}

static void kvmft_vm_release_work(struct work_struct *work)
{
	struct kvmft_vm *vm = container_of(work, struct kvmft_vm, release_work);

	mutex_lock(&kvmft_lock);
	kvmft_vm_detach(vm);
	mutex_unlock(&kvmft_lock);
	kvmft_vm_put(vm);
}

static void kvmft_vm_change_work(struct work_struct *work)
{
	struct kvmft_vm *vm = container_of(work, struct kvmft_vm, change_work);

	mutex_lock(&kvmft_lock);
	if (!vm->detached)
		kvmft_genl_notify(vm, KVMFT_EVENT_CHANGE, GFP_KERNEL);
	mutex_unlock(&kvmft_lock);
	kvmft_vm_put(vm);
}

/* From atomic context (a hook): announce a role change or divergence. */
void kvmft_vm_change_async(struct kvmft_vm *vm)
{
	kref_get(&vm->ref);
	if (!queue_work(kvmft_wq, &vm->change_work))
		kvmft_vm_put(vm);
}

/* Called from the VM fd's release hook, in atomic context. */
void kvmft_vm_released(struct kvm *kvm)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(kvm);

	if (vm && (READ_ONCE(vm->detached) ||
		   !queue_work(kvmft_wq, &vm->release_work)))
		kvmft_vm_put(vm);
}

static void kvmft_vm_detach_work(struct work_struct *work);

struct kvmft_vm *kvmft_vm_attach(struct file *file, u32 pid, u32 vmcb_off,
				 struct netlink_ext_ack *extack)
{
	struct kvm *kvm = file->private_data;
	struct kvmft_vm *vm;
	int err;

	lockdep_assert_held(&kvmft_lock);
	list_for_each_entry(vm, &kvmft_vm_list, node) {
		if (vm->kvm == kvm && vm->detached) {
			NL_SET_ERR_MSG(extack, "VM is being detached");
			return ERR_PTR(-EBUSY);
		}
		if (vm->kvm == kvm) {
			NL_SET_ERR_MSG(extack, "VM is already attached");
			return ERR_PTR(-EEXIST);
		}
	}

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->vcpus = kvcalloc(KVM_MAX_VCPUS, sizeof(*vm->vcpus),
			     GFP_KERNEL_ACCOUNT);
	vm->pio_buf = kmalloc(KVMFT_REC_MAX_PIO_DATA, GFP_KERNEL_ACCOUNT);
	err = vm->vcpus && vm->pio_buf ? kvmft_log_init(&vm->log) : -ENOMEM;
	if (err) {
		kfree(vm->pio_buf);
		kvfree(vm->vcpus);
		kfree(vm);
		return ERR_PTR(err);
	}
	kvmft_obj_get();
	kref_init(&vm->ref);
	INIT_WORK(&vm->release_work, kvmft_vm_release_work);
	INIT_WORK(&vm->change_work, kvmft_vm_change_work);
	INIT_WORK(&vm->detach_work, kvmft_vm_detach_work);
	INIT_WORK(&vm->free_work, kvmft_vm_free_work);
	init_completion(&vm->detach_done);
	mutex_init(&vm->verify.mutex);
	spin_lock_init(&vm->msi_hold.lock);
	kvmft_outq_init(&vm->outq);
	vm->outq.max_pkts = READ_ONCE(kvmft_outq_max_pkts);
	vm->outq.max_bytes = READ_ONCE(kvmft_outq_max_bytes);
	spin_lock_init(&vm->verify.lock);
	init_waitqueue_head(&vm->verify.wq);
	vm->pid = pid;
	vm->vmcb_off = vmcb_off;
	vm->role = KVMFT_ROLE_NONE;
	vm->id = kvmft_next_id++;
	if (!kvmft_next_id)
		kvmft_next_id = 1;

	kvm_get_kvm(kvm);
	kvmft_obj_get();
	vm->kvm = kvm;
	hash_add_rcu(kvmft_vm_hash, &vm->hnode, (unsigned long)kvm);
	list_add_tail(&vm->node, &kvmft_vm_list);
	kvmft_genl_notify(vm, KVMFT_EVENT_CREATE, GFP_KERNEL);
	return vm;
}

/*
 * Bring every vCPU's interception in line with the VM's role. A vCPU's VMCB
 * may only be changed by the thread that runs it, or while its mutex is
 * held: take the mutex when the vCPU is outside KVM_RUN, otherwise kick it
 * and let the hooks do it on that thread.
 */
int kvmft_vm_sync_vcpus(struct kvmft_vm *vm, enum kvmft_sync wait)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, vm->kvm) {
		for (;;) {
			if (mutex_trylock(&vcpu->mutex)) {
				kvmft_vcpu_sync(vm, vcpu);
				mutex_unlock(&vcpu->mutex);
				break;
			}
			kvm_vcpu_kick(vcpu);
			if (wait == KVMFT_SYNC_NOWAIT ||
			    (wait == KVMFT_SYNC_KILLABLE &&
			     fatal_signal_pending(current)))
				break;
			usleep_range(500, 1000);
			if (kvmft_vcpu_sync_done(vm, vcpu))
				break;
		}
	}
	return 0;
}

void kvmft_vm_set_role(struct kvmft_vm *vm, u8 role)
{
	lockdep_assert_held(&kvmft_lock);
	if (vm->role == role)
		return;
	WRITE_ONCE(vm->role, role);
	kvmft_outq_set_role(vm, role);
	kvmft_vm_sync_vcpus(vm, KVMFT_SYNC_NOWAIT);
	kvmft_log_wake(vm);
	kvmft_genl_notify(vm, KVMFT_EVENT_CHANGE, GFP_KERNEL);
}

/*
 * PROMOTE: the backup takes no more records, replays those it holds, then
 * runs live. With none left, live now; else its vCPU goes live as it takes
 * the last (hooks.c).
 */
int kvmft_vm_promote(struct kvmft_vm *vm, struct netlink_ext_ack *extack)
{
	struct kvmft_log *log = &vm->log;
	bool empty;

	lockdep_assert_held(&kvmft_lock);
	if (vm->detached) {
		NL_SET_ERR_MSG(extack, "VM is being detached");
		return -ENOENT;
	}
	if (vm->role != KVMFT_ROLE_BACKUP) {
		NL_SET_ERR_MSG(extack, "VM is not a backup");
		return -EINVAL;
	}
	spin_lock(&log->lock);
	if (log->diverged) {
		spin_unlock(&log->lock);
		NL_SET_ERR_MSG(extack,
			       "backup diverged from its primary: its state is not the primary's");
		return -ESTALE;
	}
	if (log->promoted) {
		spin_unlock(&log->lock);
		NL_SET_ERR_MSG(extack, "backup is already being promoted");
		return -EALREADY;
	}
	log->promoted = true;
	empty = kfifo_is_empty(&log->fifo);
	spin_unlock(&log->lock);
	if (empty)
		kvmft_vm_set_role(vm, KVMFT_ROLE_NONE);
	else
		kvmft_genl_notify(vm, KVMFT_EVENT_CHANGE, GFP_KERNEL);
	kvmft_log_wake(vm);
	return 0;
}

/*
 * Detaching runs on the module's workqueue, holding no lock while vCPUs
 * undo their interception (as long as a vCPU takes to reach a hook): the
 * VM stays in the table, marked, until then, so that the hooks still find
 * it. Then it leaves the table and the table's reference goes; the struct
 * kvm goes with the last reference (kvmft_vm_put()).
 */
static void kvmft_vm_detach_work(struct work_struct *work)
{
	struct kvmft_vm *vm = container_of(work, struct kvmft_vm, detach_work);
	bool pinned;

	/* Nothing held goes out; the tap is left alone. */
	kvmft_outq_detach(vm);
	/* Hooks that saw the old role have finished writing VMCBs. */
	synchronize_rcu();
	kvmft_log_wake(vm);
	kvmft_vm_sync_vcpus(vm, KVMFT_SYNC_ALWAYS);

	mutex_lock(&kvmft_lock);
	hash_del_rcu(&vm->hnode);
	list_del(&vm->node);
	kvmft_genl_notify(vm, KVMFT_EVENT_DESTROY, GFP_KERNEL);
	/* A KEEP session without a reader held the module: no longer. */
	pinned = vm->log.pinned;
	vm->log.pinned = false;
	mutex_unlock(&kvmft_lock);
	synchronize_rcu();
	kvmft_log_wake(vm);
	complete_all(&vm->detach_done);
	kvmft_vm_put(vm);	/* the table's reference */
	kvmft_vm_put(vm);	/* this work's */
	/* Unload waits for this work (destroy_workqueue) before the code goes. */
	if (pinned)
		module_put(THIS_MODULE);
}

/*
 * Start detaching @vm; returns -ENOENT if it already is. From here on the
 * VM has no role and no hook acts on it; kvmft_vm_detach_wait() waits for
 * the rest.
 */
int kvmft_vm_detach(struct kvmft_vm *vm)
{
	lockdep_assert_held(&kvmft_lock);
	if (vm->detached)
		return -ENOENT;
	WRITE_ONCE(vm->role, KVMFT_ROLE_NONE);
	WRITE_ONCE(vm->detached, true);
	kref_get(&vm->ref);
	queue_work(kvmft_wq, &vm->detach_work);
	return 0;
}

/* Wait until @vm has left the table: 0, or -EINTR if the caller is killed. */
int kvmft_vm_detach_wait(struct kvmft_vm *vm)
{
	return wait_for_completion_killable(&vm->detach_done) ? -EINTR : 0;
}

/* Module unload: no attach can start any more; detach every VM. */
void kvmft_vm_detach_all(void)
{
	struct kvmft_vm *vm;
	bool empty;

	for (;;) {
		mutex_lock(&kvmft_lock);
		empty = list_empty(&kvmft_vm_list);
		list_for_each_entry(vm, &kvmft_vm_list, node)
			kvmft_vm_detach(vm);
		mutex_unlock(&kvmft_lock);
		if (empty)
			break;
		flush_workqueue(kvmft_wq);
	}
}

/* Dump attached VMs in id order; cb->args[0] is the last id sent. */
int kvmft_vm_dump(struct sk_buff *skb, struct netlink_callback *cb,
		  kvmft_fill_t fill)
{
	struct kvmft_vm *vm;

	mutex_lock(&kvmft_lock);
	list_for_each_entry(vm, &kvmft_vm_list, node) {
		if (vm->id <= cb->args[0] || vm->detached)
			continue;
		if (fill(skb, vm, KVMFT_CMD_GET_VM, KVMFT_EVENT_EXISTS,
			 NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			 NLM_F_MULTI, netlink_capable(cb->skb, CAP_NET_ADMIN)))
			break;
		cb->args[0] = vm->id;
	}
	mutex_unlock(&kvmft_lock);
	return skb->len;
}
