// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "kvmft". One function fills a VM's attributes for
 * replies, dumps and event notifications alike.
 */
#include <linux/file.h>
#include <net/genetlink.h>
#include "kvmft.h"

static atomic64_t kvmft_event_seq = ATOMIC64_INIT(0);

#ifdef GENL_MCAST_CAP_NET_ADMIN
#define KVMFT_EVENTS_PRIVILEGED	1
#else
#define KVMFT_EVENTS_PRIVILEGED	0
#endif

static struct netlink_range_validation kvmft_vmcb_off_range __ro_after_init = {
	.min = sizeof(void *),
	.max = SZ_64K,
};

static const struct nla_policy kvmft_policy[KVMFT_A_MAX + 1] = {
	[KVMFT_A_VM_FD]		= { .type = NLA_U32 },
	[KVMFT_A_VM_ID]		= NLA_POLICY_MIN(NLA_U32, 1),
	[KVMFT_A_PID]		= { .type = NLA_U32 },
	[KVMFT_A_ROLE]		= NLA_POLICY_MAX(NLA_U8, KVMFT_ROLE_MAX),
	[KVMFT_A_EVENT]		= NLA_POLICY_MAX(NLA_U8, __KVMFT_EVENT_LAST - 1),
	[KVMFT_A_SEQ]		= { .type = NLA_U64 },
	[KVMFT_A_VCPUS]		= { .type = NLA_U32 },
	[KVMFT_A_STATS]		= { .type = NLA_NESTED },
	[KVMFT_A_LIVE_OBJECTS]	= { .type = NLA_U64 },
	[KVMFT_A_VERSION]	= { .type = NLA_U32 },
	[KVMFT_A_SVM_VMCB_OFF]	= NLA_POLICY_FULL_RANGE(NLA_U32,
						&kvmft_vmcb_off_range),
	[KVMFT_A_SESSION]	= { .type = NLA_U64 },
	[KVMFT_A_LOG_SEQ]	= { .type = NLA_U64 },
	[KVMFT_A_LOG_SHIPPED]	= { .type = NLA_U64 },
	[KVMFT_A_LOG_REPLAYED]	= { .type = NLA_U64 },
	[KVMFT_A_DIVERGED_SEQ]	= { .type = NLA_U64 },
	[KVMFT_A_VM_FLAGS]	= NLA_POLICY_MASK(NLA_U32, __KVMFT_VM_F_ALL),
	[KVMFT_A_MEM_HASH]	= { .type = NLA_U64 },
	[KVMFT_A_IFINDEX]	= { .type = NLA_U32 },
	[KVMFT_A_OUTQ]		= { .type = NLA_NESTED },
	[KVMFT_A_OUTQ_MAX_PKTS]	= { .type = NLA_U32 },
	[KVMFT_A_OUTQ_MAX_BYTES] = { .type = NLA_U32 },
	[KVMFT_A_DIVERGED_WHY]	= NLA_POLICY_MAX(NLA_U32, __KVMFT_DIV_LAST - 1),
	[KVMFT_A_LOG_ACKED]	= { .type = NLA_U64 },
};

static struct genl_family kvmft_genl_family;

static int kvmft_put_stats(struct sk_buff *skb, struct kvmft_vm *vm)
{
	struct nlattr *nest = nla_nest_start(skb, KVMFT_A_STATS);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = KVMFT_STAT_RUNS; i <= KVMFT_STAT_MAX; i++)
		if (i != KVMFT_STAT_PAD &&
		    nla_put_u64_64bit(skb, i, atomic64_read(&vm->stats[i]),
				      KVMFT_STAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The log's positions and the backup's state, read together. */
static int kvmft_put_log(struct sk_buff *skb, struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	u64 session, seq, shipped, replayed, diverged, acked;
	u32 flags = 0, why;

	spin_lock(&log->lock);
	session = log->session;
	seq = log->next_seq - 1;
	shipped = log->shipped;
	replayed = log->replayed;
	diverged = log->diverged;
	why = log->diverged_why;
	acked = log->acked;
	if (READ_ONCE(vm->role) == KVMFT_ROLE_PRIMARY && log->keep) {
		flags |= KVMFT_VM_F_KEEP;
		if (!log->has_reader)
			flags |= KVMFT_VM_F_NO_READER;
	}
	if (READ_ONCE(vm->role) == KVMFT_ROLE_BACKUP) {
		if (log->promoted)
			flags |= KVMFT_VM_F_PROMOTING;
		else if (!log->has_writer && kfifo_is_empty(&log->fifo))
			flags |= KVMFT_VM_F_LOG_ENDED;
	}
	if (diverged)
		flags |= KVMFT_VM_F_DIVERGED;
	spin_unlock(&log->lock);
	if (nla_put_u64_64bit(skb, KVMFT_A_SESSION, session, KVMFT_A_PAD) ||
	    nla_put_u64_64bit(skb, KVMFT_A_LOG_SEQ, seq, KVMFT_A_PAD) ||
	    nla_put_u64_64bit(skb, KVMFT_A_LOG_SHIPPED, shipped, KVMFT_A_PAD) ||
	    nla_put_u64_64bit(skb, KVMFT_A_LOG_REPLAYED, replayed,
			      KVMFT_A_PAD) ||
	    nla_put_u64_64bit(skb, KVMFT_A_DIVERGED_SEQ, diverged,
			      KVMFT_A_PAD) ||
	    (diverged && nla_put_u32(skb, KVMFT_A_DIVERGED_WHY, why)) ||
	    ((flags & KVMFT_VM_F_KEEP) &&
	     nla_put_u64_64bit(skb, KVMFT_A_LOG_ACKED, acked, KVMFT_A_PAD)) ||
	    nla_put_u32(skb, KVMFT_A_VM_FLAGS, flags))
		return -EMSGSIZE;
	return 0;
}

/*
 * @pid: include the VMM's pid, for privileged receivers only (it tells
 * which process runs a protected VM).
 */
static int kvmft_vm_fill(struct sk_buff *skb, struct kvmft_vm *vm, u8 cmd,
			 u8 event, u32 portid, u32 seq, int flags, bool pid)
{
	void *hdr = genlmsg_put(skb, portid, seq, &kvmft_genl_family, flags,
				cmd);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, KVMFT_A_VM_ID, vm->id) ||
	    nla_put_u8(skb, KVMFT_A_EVENT, event) ||
	    nla_put_u64_64bit(skb, KVMFT_A_SEQ,
			      atomic64_read(&kvmft_event_seq), KVMFT_A_PAD) ||
	    nla_put_u8(skb, KVMFT_A_ROLE, READ_ONCE(vm->role)) ||
	    (pid && nla_put_u32(skb, KVMFT_A_PID, vm->pid)) ||
	    nla_put_u32(skb, KVMFT_A_VCPUS, kvmft_vm_vcpu_count(vm)) ||
	    kvmft_put_stats(skb, vm) || kvmft_put_log(skb, vm) ||
	    kvmft_outq_fill(skb, vm)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Called with kvmft_lock held, while vm->kvm is still referenced. */
void kvmft_genl_notify(struct kvmft_vm *vm, u8 event, gfp_t gfp)
{
	struct sk_buff *skb;

	atomic64_inc(&kvmft_event_seq);
	if (!genl_has_listeners(&kvmft_genl_family, &init_net, 0))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, gfp);
	if (!skb)
		return;
	if (kvmft_vm_fill(skb, vm, KVMFT_CMD_VM_EVENT, event, 0, 0, 0,
			  KVMFT_EVENTS_PRIVILEGED)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&kvmft_genl_family, skb, 0, 0, gfp);
}

static int kvmft_reply_vm(struct sk_buff *skb, struct genl_info *info,
			  struct kvmft_vm *vm, u8 cmd)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	int err;

	if (!msg)
		return -ENOMEM;
	err = kvmft_vm_fill(msg, vm, cmd, KVMFT_EVENT_EXISTS, info->snd_portid,
			    info->snd_seq, 0, netlink_capable(skb, CAP_NET_ADMIN));
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int kvmft_nl_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *fd_attr = info->attrs[KVMFT_A_VM_FD];
	u32 vmcb_off = kvmft_vendor_layout_off();
	struct kvmft_vm *vm;
	struct file *file;
	int err;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(extack, "attaching a VM needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_FD)) {
		NL_SET_ERR_MSG(extack, "missing attribute KVMFT_A_VM_FD");
		return -EINVAL;
	}
	/*
	 * The BTF offset is only compared with the built-in one: a VM whose
	 * kvm_amd disagrees can be attached but not recorded or replayed.
	 */
	if (info->attrs[KVMFT_A_SVM_VMCB_OFF])
		vmcb_off = nla_get_u32(info->attrs[KVMFT_A_SVM_VMCB_OFF]);

	file = fget(nla_get_u32(fd_attr));
	if (!file) {
		NL_SET_ERR_MSG_ATTR(extack, fd_attr, "fd is not open");
		return -EBADF;
	}
	if (!file_is_kvm(file)) {
		NL_SET_ERR_MSG_ATTR(extack, fd_attr, "fd is not a KVM VM");
		err = -ENOTTY;
		goto out;
	}

	mutex_lock(&kvmft_lock);
	/* Interception needs kvm_amd; plain attach does not. */
	kvmft_hooks_arm_vendor(NULL);
	vm = kvmft_vm_attach(file, info->attrs[KVMFT_A_PID] ?
			     nla_get_u32(info->attrs[KVMFT_A_PID]) : 0,
			     vmcb_off, extack);
	if (IS_ERR(vm)) {
		err = PTR_ERR(vm);
	} else {
		err = kvmft_reply_vm(skb, info, vm, KVMFT_CMD_ATTACH);
		if (err)	/* the caller never learns the id: undo */
			kvmft_vm_detach(vm);
	}
	mutex_unlock(&kvmft_lock);
out:
	fput(file);
	return err;
}

/* The VM named by KVMFT_A_VM_ID, referenced, or NULL with an ext-ack. */
static struct kvmft_vm *kvmft_nl_vm_get(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[KVMFT_A_VM_ID];
	struct kvmft_vm *vm;

	vm = kvmft_vm_get_by_id(nla_get_u32(attr));
	if (!vm)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "no attached VM has this id");
	return vm;
}

/*
 * Detaching a backup makes it run live, so DETACH needs what ATTACH needs.
 * It waits for the VM to leave the table, killably: a vCPU can take long
 * to reach a hook, and no lock is held meanwhile. A caller killed first
 * leaves the detach to finish on its own (DESTROY event).
 */
static int kvmft_nl_detach(struct sk_buff *skb, struct genl_info *info)
{
	struct kvmft_vm *vm;
	int err;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "detaching a VM needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID)) {
		NL_SET_ERR_MSG(info->extack, "missing attribute KVMFT_A_VM_ID");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	mutex_lock(&kvmft_lock);
	err = kvmft_vm_detach(vm);
	mutex_unlock(&kvmft_lock);
	if (err)
		NL_SET_ERR_MSG(info->extack, "VM is already being detached");
	else
		err = kvmft_vm_detach_wait(vm);
	kvmft_vm_put(vm);
	return err;
}

/* Only promotion makes a backup live (or DETACH): admin, CAP_SYS_ADMIN. */
static int kvmft_nl_promote(struct sk_buff *skb, struct genl_info *info)
{
	struct kvmft_vm *vm;
	int err;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "promoting a VM needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID)) {
		NL_SET_ERR_MSG(info->extack, "missing attribute KVMFT_A_VM_ID");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	mutex_lock(&kvmft_lock);
	err = kvmft_vm_promote(vm, info->extack);
	mutex_unlock(&kvmft_lock);
	kvmft_vm_put(vm);
	return err;
}

/* Hash guest memory at a log position; the reply carries the hash. */
static int kvmft_nl_verify(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct kvmft_vm *vm;
	u64 hash = 0, seq = 0;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KVMFT_A_LOG_SEQ)) {
		NL_SET_ERR_MSG(info->extack,
			       "KVMFT_A_VM_ID and KVMFT_A_LOG_SEQ are required");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	err = kvmft_verify(vm, nla_get_u64(info->attrs[KVMFT_A_LOG_SEQ]), &hash,
			   &seq, info->extack);
	if (err)
		goto out;
	err = -ENOMEM;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out;
	hdr = genlmsg_put_reply(msg, info, &kvmft_genl_family, 0,
				KVMFT_CMD_VERIFY);
	if (!hdr || nla_put_u32(msg, KVMFT_A_VM_ID, vm->id) ||
	    nla_put_u64_64bit(msg, KVMFT_A_LOG_SEQ, seq, KVMFT_A_PAD) ||
	    nla_put_u64_64bit(msg, KVMFT_A_MEM_HASH, hash, KVMFT_A_PAD)) {
		nlmsg_free(msg);
		err = -EMSGSIZE;
		goto out;
	}
	genlmsg_end(msg, hdr);
	err = genlmsg_reply(msg, info);
out:
	kvmft_vm_put(vm);
	return err;
}

static u32 kvmft_nl_u32(struct genl_info *info, int attr)
{
	return info->attrs[attr] ? nla_get_u32(info->attrs[attr]) : 0;
}

/* Bind the VM's tap for the output rule (outq.c), or unbind it. */
static int kvmft_nl_tap(struct sk_buff *skb, struct genl_info *info)
{
	struct kvmft_vm *vm;
	int err;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "binding a tap needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KVMFT_A_IFINDEX)) {
		NL_SET_ERR_MSG(info->extack,
			       "KVMFT_A_VM_ID and KVMFT_A_IFINDEX are required");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	err = kvmft_outq_tap(vm, kvmft_nl_u32(info, KVMFT_A_IFINDEX),
			     kvmft_nl_u32(info, KVMFT_A_OUTQ_MAX_PKTS),
			     kvmft_nl_u32(info, KVMFT_A_OUTQ_MAX_BYTES),
			     info->extack);
	kvmft_vm_put(vm);
	return err;
}

/* The backup holds the log up to a position: release what it covers. */
static int kvmft_nl_ack(struct sk_buff *skb, struct genl_info *info)
{
	struct kvmft_vm *vm;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KVMFT_A_LOG_SEQ)) {
		NL_SET_ERR_MSG(info->extack,
			       "KVMFT_A_VM_ID and KVMFT_A_LOG_SEQ are required");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	err = kvmft_log_ack(vm, nla_get_u64(info->attrs[KVMFT_A_LOG_SEQ]));
	if (err == -EINVAL)
		NL_SET_ERR_MSG(info->extack, "VM is not a primary");
	else if (err == -ERANGE)
		NL_SET_ERR_MSG(info->extack,
			       "position past the last record recorded");
	kvmft_vm_put(vm);
	return err;
}

static int kvmft_nl_get_vm(struct sk_buff *skb, struct genl_info *info)
{
	struct kvmft_vm *vm;
	int err = -ENOENT;

	if (GENL_REQ_ATTR_CHECK(info, KVMFT_A_VM_ID)) {
		NL_SET_ERR_MSG(info->extack, "missing attribute KVMFT_A_VM_ID");
		return -EINVAL;
	}
	vm = kvmft_nl_vm_get(info);
	if (!vm)
		return -ENOENT;
	mutex_lock(&kvmft_lock);
	if (!vm->detached)
		err = kvmft_reply_vm(skb, info, vm, KVMFT_CMD_GET_VM);
	mutex_unlock(&kvmft_lock);
	kvmft_vm_put(vm);
	return err;
}

static int kvmft_nl_dump_vms(struct sk_buff *skb, struct netlink_callback *cb)
{
	return kvmft_vm_dump(skb, cb, kvmft_vm_fill);
}

static int kvmft_nl_get_info(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kvmft_genl_family, 0,
				KVMFT_CMD_GET_INFO);
	if (!hdr ||
	    nla_put_u64_64bit(msg, KVMFT_A_LIVE_OBJECTS,
			      atomic64_read(&kvmft_live_objects), KVMFT_A_PAD) ||
	    nla_put_u32(msg, KVMFT_A_VERSION, KVMFT_GENL_VERSION) ||
	    nla_put_u64_64bit(msg, KVMFT_A_SEQ,
			      atomic64_read(&kvmft_event_seq), KVMFT_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static const struct genl_small_ops kvmft_genl_ops[] = {
	{
		.cmd = KVMFT_CMD_ATTACH,
		.doit = kvmft_nl_attach,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KVMFT_CMD_DETACH,
		.doit = kvmft_nl_detach,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KVMFT_CMD_GET_VM,
		.doit = kvmft_nl_get_vm,
		.dumpit = kvmft_nl_dump_vms,
	},
	{
		.cmd = KVMFT_CMD_GET_INFO,
		.doit = kvmft_nl_get_info,
	},
	{
		.cmd = KVMFT_CMD_PROMOTE,
		.doit = kvmft_nl_promote,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KVMFT_CMD_VERIFY,
		.doit = kvmft_nl_verify,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KVMFT_CMD_TAP,
		.doit = kvmft_nl_tap,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KVMFT_CMD_ACK,
		.doit = kvmft_nl_ack,
		.flags = GENL_ADMIN_PERM,
	},
};

/*
 * Events name VMs, roles and VMM pids: only CAP_NET_ADMIN may subscribe,
 * where the kernel can say so; elsewhere they go out without pids.
 */
static const struct genl_multicast_group kvmft_mcgrps[] = {
	{
		.name = KVMFT_MCGRP_EVENTS,
#if KVMFT_EVENTS_PRIVILEGED
		.flags = GENL_MCAST_CAP_NET_ADMIN,
#endif
	},
};

/*
 * Attached VMs belong to the host, not to a network namespace: the family
 * lives in the initial namespace only.
 */
static struct genl_family kvmft_genl_family __ro_after_init = {
	.name = KVMFT_GENL_NAME,
	.version = KVMFT_GENL_VERSION,
	.maxattr = KVMFT_A_MAX,
	.policy = kvmft_policy,
	.netnsok = false,
	/* kvmft_lock serializes what needs it; never hold genl_mutex. */
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = kvmft_genl_ops,
	.n_small_ops = ARRAY_SIZE(kvmft_genl_ops),
	.resv_start_op = KVMFT_CMD_ATTACH,
	.mcgrps = kvmft_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kvmft_mcgrps),
};

int kvmft_genl_init(void)
{
	return genl_register_family(&kvmft_genl_family);
}

void kvmft_genl_exit(void)
{
	genl_unregister_family(&kvmft_genl_family);
}
