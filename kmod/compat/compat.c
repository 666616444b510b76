// SPDX-License-Identifier: GPL-2.0
/*
 * The module's side of the differences between kernels (docs/kernels.md),
 * each chosen by a probe (compat.h):
 *
 *  - KVM functions a kernel does not export (kvm_inject_pending_timer_irqs
 *    on 6.12) are called through their address, looked up at load;
 *  - where KVM finishes HLT exits in the vendor module's fast path
 *    (handle_fastpath_hlt(): Debian's 6.12, upstream 6.14), the fast path
 *    is turned off for VMs with a role, as landmark.c does for WRMSR, so
 *    an HLT reaches the exit handler and counts as a landmark.
 *
 * A function or hook the probes say a kernel has, but that is missing at
 * load, fails the load with a message naming it.
 */
#include <linux/kallsyms.h>
#include <linux/module.h>
#include "kvmft.h"

#ifndef KVMFT_HAVE_KVM_EXPORTS_INJECT_PENDING_TIMER_IRQS
static void (*kvmft_inject_timer_fn)(struct kvm_vcpu *vcpu);

void kvmft_compat_inject_pending_timer_irqs(struct kvm_vcpu *vcpu)
{
	kvmft_inject_timer_fn(vcpu);
}

/* The first byte of KVM's function @name, or 0 with an error logged. */
static unsigned long kvmft_compat_kvm_fn(const char *name)
{
	unsigned long addr = kvmft_lookup_symbol(name);
	char sym[KSYM_SYMBOL_LEN];

	if (addr) {
		sprint_symbol(sym, addr);
		if (strlen(sym) > 6 && !strcmp(sym + strlen(sym) - 6, " [kvm]"))
			return kvmft_symbol_start(addr);
	}
	pr_err("kvmft: %s not found in module kvm\n", name);
	return 0;
}
#endif

#ifdef KVMFT_HAVE_KVM_FASTPATH_HLT
static fastpath_t kvmft_no_hlt_fastpath(struct kvm_vcpu *vcpu)
{
	kvmft_redirect_put();
	return EXIT_FASTPATH_NONE;
}

static void notrace kvmft_hlt_fastpath_hook(unsigned long ip,
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
		regs->ip = (unsigned long)kvmft_no_hlt_fastpath;
	}
	rcu_read_unlock();
}

static struct kvmft_hook kvmft_hlt_fastpath = {
	.name = "handle_fastpath_hlt", .module = "kvm",
	.func = kvmft_hlt_fastpath_hook,
	.flags = KVMFT_HOOK_FLAGS | FTRACE_OPS_FL_IPMODIFY,
};
#endif

int kvmft_compat_init(void)
{
	int err = 0;

#ifndef KVMFT_HAVE_KVM_EXPORTS_INJECT_PENDING_TIMER_IRQS
	kvmft_inject_timer_fn =
		(void *)kvmft_compat_kvm_fn("kvm_inject_pending_timer_irqs");
	if (!kvmft_inject_timer_fn)
		return -ENOENT;
#endif
#ifdef KVMFT_HAVE_KVM_FASTPATH_HLT
	err = kvmft_hook_register(&kvmft_hlt_fastpath);
#endif
	return err;
}

void kvmft_compat_exit(void)
{
#ifdef KVMFT_HAVE_KVM_FASTPATH_HLT
	kvmft_hook_unregister(&kvmft_hlt_fastpath);
#endif
}
