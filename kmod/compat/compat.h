/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kvmft builds for (docs/kernels.md),
 * decided by the probes' results (generated.h, kmod/compat/probe.sh),
 * never by a kernel version. Kbuild includes it first in every file of
 * the module, so no file can test a result it forgot to include.
 */
#ifndef KVMFT_COMPAT_H
#define KVMFT_COMPAT_H

#include "generated.h"

struct kvm_vcpu;

/*
 * KVM functions that a kernel does not export are called through their
 * address, which kvmft_compat_init() looks up at load (compat.c).
 */
#ifndef KVMFT_HAVE_KVM_EXPORTS_INJECT_PENDING_TIMER_IRQS
#define kvm_inject_pending_timer_irqs kvmft_compat_inject_pending_timer_irqs
void kvmft_compat_inject_pending_timer_irqs(struct kvm_vcpu *vcpu);
#endif

int kvmft_compat_init(void);
void kvmft_compat_exit(void);

#endif /* KVMFT_COMPAT_H */
