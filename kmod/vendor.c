// SPDX-License-Identifier: GPL-2.0
/*
 * The hardware vendor's side of KVM: one table of operations per vendor
 * module (svm.c for kvm_amd, vmx.c for kvm_intel), chosen once by which
 * module owns /dev/kvm. Everything else calls these wrappers; before a
 * vendor is armed they do nothing (no interception, no state).
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include "kvmft.h"

static const struct kvmft_vendor *const kvmft_vendors[] = {
	&kvmft_svm_vendor,
	&kvmft_vmx_vendor,
};

const struct kvmft_vendor *kvmft_vendor;	/* armed, READ_ONCE */
static struct file *kvmft_vendor_dev;

/*
 * Arm the vendor's exit hook. /dev/kvm's fops are owned by the vendor
 * module, so an open /dev/kvm both tells which vendor this host runs and
 * keeps that module loaded (the hooked text cannot go away) until unload.
 */
int kvmft_hooks_arm_vendor(struct netlink_ext_ack *extack)
{
	const struct kvmft_vendor *v = NULL;
	struct file *dev;
	int i, err;

	lockdep_assert_held(&kvmft_lock);
	if (kvmft_vendor)
		return 0;
	dev = filp_open("/dev/kvm", O_RDONLY, 0);
	if (IS_ERR(dev)) {
		NL_SET_ERR_MSG(extack, "cannot open /dev/kvm to find the KVM vendor module");
		return PTR_ERR(dev);
	}
	for (i = 0; i < ARRAY_SIZE(kvmft_vendors) && dev->f_op->owner; i++)
		if (!strcmp(dev->f_op->owner->name, kvmft_vendors[i]->module))
			v = kvmft_vendors[i];
	if (!v) {
		NL_SET_ERR_MSG(extack, "/dev/kvm belongs to neither kvm_amd nor kvm_intel");
		fput(dev);
		return -EOPNOTSUPP;
	}
	err = v->arm(extack);
	if (err) {
		fput(dev);
		return err;
	}
	kvmft_vendor_dev = dev;
	WRITE_ONCE(kvmft_vendor, v);
	return 0;
}

/* Unload: stop redirecting; kvmft_hooks_drain() must follow. */
void kvmft_vendor_exit(void)
{
	if (kvmft_vendor)
		kvmft_vendor->disarm();
}

/* Unload, once drained: the vendor module may go. */
void kvmft_vendor_release(void)
{
	if (!kvmft_vendor)
		return;
	fput(kvmft_vendor_dev);
	WRITE_ONCE(kvmft_vendor, NULL);
}

/* The layout offset this build expects (built in; BTF only checks it). */
u32 kvmft_vendor_layout_off(void)
{
	return kvmft_svm_vendor.layout_off();
}
