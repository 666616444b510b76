// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX. Attaching a VM works on Intel hosts (nothing vendor-specific
 * is needed for it); recording and replay do not yet: arming refuses, by
 * name, so LOG_OPEN says why. What it takes (RDTSC exiting in the VMCS's
 * primary controls, written on the vCPU's CPU; the same redirect on
 * __vmx_handle_exit; vcpu_vmx offsets from kvm_intel's BTF) is in
 * docs/hooks.md. The other operations are never called unarmed.
 */
#include "kvmft.h"

static int kvmft_vmx_arm(struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack,
		       "recording and replay need kvm_amd (AMD SVM); Intel VMX is not supported yet");
	return -EOPNOTSUPP;
}

static void kvmft_vmx_disarm(void)
{
}

static u32 kvmft_vmx_layout_off(void)
{
	return 0;
}

static const char *kvmft_vmx_check_vcpu(struct kvmft_vm *vm,
					struct kvm_vcpu *vcpu)
{
	return "Intel VMX is not supported yet";
}

static bool kvmft_vmx_intercepts_match(struct kvmft_vm *vm,
				       struct kvm_vcpu *vcpu, bool want)
{
	return true;
}

static void kvmft_vmx_sync_intercepts(struct kvmft_vm *vm,
				      struct kvm_vcpu *vcpu, bool want)
{
}

static void kvmft_vmx_set_tsc_offset(struct kvmft_vm *vm,
				     struct kvm_vcpu *vcpu, u64 offset)
{
}

static void kvmft_vmx_state(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			    struct kvmft_rec_state *st)
{
}

/* Not implemented: never a boundary for a kind-3 landmark. */
static bool kvmft_vmx_interrupt_shadow(struct kvmft_vm *vm,
				       struct kvm_vcpu *vcpu)
{
	return true;
}

const struct kvmft_vendor kvmft_vmx_vendor = {
	.module = "kvm_intel",
	.arm = kvmft_vmx_arm,
	.disarm = kvmft_vmx_disarm,
	.layout_off = kvmft_vmx_layout_off,
	.check_vcpu = kvmft_vmx_check_vcpu,
	.intercepts_match = kvmft_vmx_intercepts_match,
	.sync_intercepts = kvmft_vmx_sync_intercepts,
	.set_tsc_offset = kvmft_vmx_set_tsc_offset,
	.state = kvmft_vmx_state,
	.interrupt_shadow = kvmft_vmx_interrupt_shadow,
};
