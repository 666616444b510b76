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
 *
 * Callbacks run with preemption disabled; they never sleep.
 */
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include "kvmft.h"

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

/* Is @addr in module @name? sprint_symbol() ends with " [module]". */
static bool kvmft_addr_in_module(unsigned long addr, const char *name)
{
	char sym[KSYM_SYMBOL_LEN], tail[MODULE_NAME_LEN + 3];

	sprint_symbol(sym, addr);
	snprintf(tail, sizeof(tail), " [%s]", name);
	return strlen(sym) > strlen(tail) &&
	       !strcmp(sym + strlen(sym) - strlen(tail), tail);
}

bool kvmft_vcpu_sync_done(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	return kvmft_svm_intercepts_match(vm, vcpu, kvmft_vm_wants_exits(vm));
}

/* On the vCPU's own thread (or with its mutex): apply the VM's role. */
void kvmft_vcpu_sync(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	kvmft_svm_sync_intercepts(vm, vcpu, kvmft_vm_wants_exits(vm));
}

/* The backup reached the end of its log, or left the primary's path. */
static void kvmft_go_live(struct kvmft_vm *vm, bool diverged)
{
	if (diverged)
		kvmft_stat_inc(vm, KVMFT_STAT_DIVERGENCES);
	if (cmpxchg(&vm->role, KVMFT_ROLE_BACKUP, KVMFT_ROLE_NONE) ==
	    KVMFT_ROLE_BACKUP)
		kvmft_vm_change_async(vm);
}

/*
 * Backup: take the record this exit needs (kvmft_log_take). Returns
 * -EAGAIN when the vCPU must wait for it; otherwise 0, having gone live if
 * the log ended or no longer matches, in which case the live value stays.
 */
static int kvmft_replay_take(struct kvmft_vm *vm, u16 type, void *fixed,
			     u16 fixed_len, bool match, void *data,
			     u16 data_len)
{
	int err = kvmft_log_take(vm, type, fixed, fixed_len, match, data,
				 data_len);

	if (err == -EAGAIN)
		return err;
	if (err)
		kvmft_go_live(vm, err != -ENODATA);
	else if (kvmft_log_ended(vm))
		kvmft_go_live(vm, false);
	return 0;
}

/*
 * A PIO IN completed by the VMM, seen before KVM consumes it. Returns true
 * when the vCPU has to wait for the log first.
 */
static bool kvmft_pio_in(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			 struct kvmft_vcpu_state *vs)
{
	/* KVM's own request, not kvm_run, which the VMM can write. */
	struct kvm_pio_request *req = &vcpu->arch.pio;
	struct kvmft_rec_pio pio = {
		.port = req->port,
		.size = req->size,
		.count = req->count,
	};
	u64 len = (u64)req->size * req->count;
	int err;

	if (!len || len > KVMFT_REC_MAX_PIO_DATA || !vcpu->arch.pio_data)
		return false;

	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		err = kvmft_log_append(vm, vcpu, KVMFT_REC_PIO_IN, &pio,
				       sizeof(pio), vcpu->arch.pio_data, len);
		if (err == -ENOSPC)
			return true;
		break;
	case KVMFT_ROLE_BACKUP:
		if (kvmft_replay_take(vm, KVMFT_REC_PIO_IN, &pio, sizeof(pio),
				      true, vcpu->arch.pio_data, len))
			return true;
		break;
	}
	kvmft_stat_inc(vm, KVMFT_STAT_PIO_IN);
	vs->last_exits = vcpu->stat.exits;
	return false;
}

/* KVM_RUN entry for an attached VM. Returns true to make the vCPU wait. */
static bool kvmft_run_enter(struct kvmft_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvmft_vcpu_state *vs = kvmft_vcpu_state(vm, vcpu);

	kvmft_stat_inc(vm, KVMFT_STAT_RUNS);
	kvmft_vcpu_sync(vm, vcpu);
	if (!vs)
		return false;
	if (vs->need_wait) {
		if (!kvmft_log_ready(vm))
			return true;
		vs->need_wait = false;
	}
	/*
	 * A pending PIO IN whose data the VMM has just written. vcpu->stat.exits
	 * tells a new exit from the same one seen again after a failed KVM_RUN.
	 */
	if (!vcpu->arch.complete_userspace_io || !vcpu->arch.pio.in ||
	    !vcpu->arch.pio.count || vs->last_exits == vcpu->stat.exits)
		return false;
	if (kvmft_pio_in(vm, vcpu, vs)) {
		vs->need_wait = true;
		return true;
	}
	return false;
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
		err = kvmft_log_append(vm, vcpu, type, &t, sizeof(t), NULL, 0);
		if (err == -ENOSPC && vs) {
			vs->need_wait = true;
			return -EINTR;
		}
		break;
	case KVMFT_ROLE_BACKUP:
		/* Without a record, t keeps the live values read above. */
		err = kvmft_replay_take(vm, type, &t, sizeof(t), false, NULL, 0);
		if (err == -EAGAIN && vs) {
			vs->need_wait = true;
			return -EINTR;
		}
		break;
	}
	kvmft_stat_inc(vm, KVMFT_STAT_RDTSC);
	*tsc = t.tsc;
	*aux = t.aux;
	return 0;
}

/* Runs instead of KVM_RUN while the vCPU waits for its log. */
static int kvmft_run_wait(struct kvm_vcpu *vcpu)
{
	struct kvmft_vm *vm = kvmft_vm_get_rcu(vcpu->kvm);

	if (vm) {
		kvmft_stat_inc(vm, KVMFT_STAT_LOG_WAITS);
		wait_event_interruptible_timeout(vm->log.wq,
						 kvmft_log_ready(vm), HZ);
		kvmft_vm_put(vm);
	}
	module_put(THIS_MODULE);
	return -EINTR;
}

static void notrace kvmft_run_hook(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct kvmft_vm *vm;

	rcu_read_lock();
	vm = kvmft_vm_lookup_rcu(vcpu->kvm);
	if (vm && kvmft_run_enter(vm, vcpu) && try_module_get(THIS_MODULE))
		regs->ip = (unsigned long)kvmft_run_wait;
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

#define KVMFT_HOOK(_name, _func, _flags) {				\
	.name = _name, .module = "kvm", .func = _func,			\
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION |	\
		 (_flags),						\
}

static struct kvmft_hook kvmft_hooks[] = {
	KVMFT_HOOK("kvm_arch_vcpu_ioctl_run", kvmft_run_hook,
		   FTRACE_OPS_FL_IPMODIFY),
	KVMFT_HOOK("kvm_vm_release", kvmft_release_hook, 0),
	KVMFT_HOOK("kvm_arch_vcpu_runnable", kvmft_runnable_hook, 0),
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
	h->ops.flags = h->flags;
	err = ftrace_set_filter_ip(&h->ops, h->addr, 0, 0);
	if (err) {
		pr_err("kvmft: cannot trace %s: %d\n", h->name, err);
		return err;
	}
	err = register_ftrace_function(&h->ops);
	if (err) {
		pr_err("kvmft: cannot hook %s: %d\n", h->name, err);
		ftrace_set_filter_ip(&h->ops, h->addr, 1, 0);
		return err;
	}
	return 0;
}

void kvmft_hook_unregister(struct kvmft_hook *h)
{
	unregister_ftrace_function(&h->ops);
	ftrace_set_filter_ip(&h->ops, h->addr, 1, 0);
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
	/* No task may still be running a redirect target when we go. */
	synchronize_rcu_tasks();
}
