// SPDX-License-Identifier: GPL-2.0
/*
 * kvmft module init ladder: each step is undone in reverse order, on a
 * failed init and at unload.
 */
#include <linux/debugfs.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <net/genetlink.h>
#include "kvmft.h"

atomic64_t kvmft_live_objects = ATOMIC64_INIT(0);
/* Serializes attach, detach, role changes and log opens. */
DEFINE_MUTEX(kvmft_lock);

struct workqueue_struct *kvmft_wq;
static struct dentry *kvmft_debugfs;

unsigned int kvmft_log_kb = KVMFT_LOG_KB_DEFAULT;
unsigned int kvmft_state_every = 256;

module_param_named(state_every, kvmft_state_every, uint, 0644);
MODULE_PARM_DESC(state_every,
		 "A hash of the vCPU's registers every N log records, checked by the backup (0: never; default 256); a change applies to recordings started after it");

static int kvmft_log_kb_set(const char *val, const struct kernel_param *kp)
{
	unsigned int kb;
	int err = kstrtouint(val, 0, &kb);

	if (err)
		return err;
	if (kb < KVMFT_LOG_KB_MIN || kb > KVMFT_LOG_KB_MAX ||
	    !is_power_of_2(kb)) {
		pr_err("kvmft: log_kb=%u: must be a power of two from %u to %u\n", kb,
		       KVMFT_LOG_KB_MIN, KVMFT_LOG_KB_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(kvmft_log_kb, kb);
	return 0;
}

static const struct kernel_param_ops kvmft_log_kb_ops = {
	.set = kvmft_log_kb_set,
	.get = param_get_uint,
};

module_param_cb(log_kb, &kvmft_log_kb_ops, &kvmft_log_kb, 0644);
MODULE_PARM_DESC(log_kb,
		 "Record log size per attached VM in KiB: a power of two from 64 to 65536 (default 1024); a change applies to VMs attached after it");

static int live_objects_get(void *data, u64 *val)
{
	*val = atomic64_read(&kvmft_live_objects);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(live_objects_fops, live_objects_get, NULL, "%llu\n");

static int __init kvmft_init(void)
{
	int err;

	kvmft_wq = alloc_workqueue("kvmft", 0, 0);
	if (!kvmft_wq)
		return -ENOMEM;
	kvmft_debugfs = debugfs_create_dir("kvmft", NULL);
	debugfs_create_file_unsafe("live_objects", 0400, kvmft_debugfs, NULL,
				   &live_objects_fops);

	err = kvmft_hooks_init();
	if (err)
		goto err_hooks;
	err = kvmft_compat_init();
	if (err)
		goto err_compat;
	err = kvmft_landmark_init();
	if (err)
		goto err_landmark;
	err = kvmft_lapic_init();
	if (err)
		goto err_lapic;
	err = kvmft_outq_module_init();
	if (err)
		goto err_outq;
	err = kvmft_chardev_init();
	if (err)
		goto err_chardev;
	err = kvmft_genl_init();
	if (err)
		goto err_genl;
	return 0;

err_genl:
	kvmft_chardev_exit();
err_chardev:
	kvmft_outq_module_exit();
err_outq:
	kvmft_lapic_exit();
err_lapic:
	kvmft_landmark_exit_hooks();
err_landmark:
	kvmft_compat_exit();
err_compat:
	kvmft_hooks_exit();
err_hooks:
	debugfs_remove_recursive(kvmft_debugfs);
	destroy_workqueue(kvmft_wq);
	return err;
}

static void __exit kvmft_exit(void)
{
	/* No new attach or log fd from here on; then let every VM go. */
	kvmft_genl_exit();
	kvmft_chardev_exit();
	kvmft_vm_detach_all();
	kvmft_outq_module_exit();
	kvmft_lapic_exit();
	kvmft_landmark_exit_hooks();
	kvmft_compat_exit();
	kvmft_hooks_exit();
	kvmft_vendor_exit();
	kvmft_hooks_drain();
	kvmft_vendor_release();
	/* Free what RCU callbacks still hold before the code goes away. */
	destroy_workqueue(kvmft_wq);
	rcu_barrier();
	debugfs_remove_recursive(kvmft_debugfs);
	if (atomic64_read(&kvmft_live_objects))
		pr_err("kvmft: %lld objects leaked\n",
		       atomic64_read(&kvmft_live_objects));
}

module_init(kvmft_init);
module_exit(kvmft_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fault tolerance for KVM virtual machines");
MODULE_VERSION("0.1.0");
MODULE_ALIAS_GENL_FAMILY(KVMFT_GENL_NAME);
