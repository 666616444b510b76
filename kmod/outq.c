// SPDX-License-Identifier: GPL-2.0
/*
 * The output rule (DESIGN §5, docs/output-rule.md): a primary's outgoing
 * packets leave only once the backup holds the log that produced them.
 *
 * Packets from the VM enter the host through its tap, so a netfilter
 * NFPROTO_NETDEV ingress hook on the tap sees each of them, last of all
 * ingress hooks (after tc and every other netdev hook), before a bridge,
 * OVS, macvlan or the stack gets it. While the VM is a primary the hook
 * steals the packet (NF_STOLEN), tagged with the last log position
 * recorded; an ack at or past the tag releases it, in arrival order, by
 * handing the same skb back to netif_receive_skb_core() with
 * tc_skip_classify set: the receive path skips taps, tc and the netdev
 * hooks it already went through (this one included) and goes on to the
 * rx handler and protocols. No copy, never held twice. A backup's packets
 * are dropped; without a role they pass.
 *
 * Locking: oq->lock (BH) guards the queue and counters; release_lock
 * serializes releases, so batches go out in order; RTNL guards binding
 * (oq->dev, kvmft_outq_list) and is never taken under kvmft_lock's
 * holders' paths here, nor kvmft_lock under it.
 */
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/netlink.h>
#include "kvmft.h"
#define CREATE_TRACE_POINTS
#include "outq_trace.h"

/*
 * Re-injection relies on tc_skip_classify (NET_CLS_ACT) to skip the
 * ingress hooks a released packet went through, and the hold on netdev
 * ingress hooks (NETFILTER_INGRESS).
 */
#define KVMFT_OUTQ_POSSIBLE \
	(IS_ENABLED(CONFIG_NET_CLS_ACT) && IS_ENABLED(CONFIG_NETFILTER_INGRESS))

unsigned int kvmft_outq_max_pkts = KVMFT_OUTQ_MAX_PKTS_DEFAULT;
unsigned int kvmft_outq_max_bytes = KVMFT_OUTQ_MAX_BYTES_DEFAULT;

/* Bound queues, for the netdevice notifier. Under RTNL. */
static LIST_HEAD(kvmft_outq_list);

/* Packets released per BH-disabled batch. */
#define KVMFT_OUTQ_BATCH	64

/* What a held skb carries in its cb; the cb's first bytes are kept. */
struct kvmft_outq_cb {
	u8 saved[16];
	u64 tag;
	u64 t_ns;
};

static struct kvmft_outq_cb *kvmft_outq_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct kvmft_outq_cb) > sizeof(skb->cb));
	return (struct kvmft_outq_cb *)skb->cb;
}

static unsigned int kvmft_outq_frame_len(const struct sk_buff *skb)
{
	return skb->len + skb->mac_len;
}

void kvmft_outq_init(struct kvmft_outq *oq)
{
	spin_lock_init(&oq->lock);
	__skb_queue_head_init(&oq->q);
	mutex_init(&oq->release_lock);
	INIT_LIST_HEAD(&oq->node);
}

/* Is the hold queue at its limit? Then a primary's vCPU waits for acks. */
bool kvmft_outq_full(struct kvmft_vm *vm)
{
	struct kvmft_outq *oq = &vm->outq;
	u32 max_pkts = READ_ONCE(oq->max_pkts);
	u32 max_bytes = READ_ONCE(oq->max_bytes);

	/* A limit of 0 is none. */
	return (max_pkts && READ_ONCE(oq->held_pkts) >= max_pkts) ||
	       (max_bytes && READ_ONCE(oq->held_bytes) >= max_bytes);
}

/* Under oq->lock: take @skb off the queue's accounting. */
static void kvmft_outq_unaccount(struct kvmft_outq *oq, struct sk_buff *skb)
{
	WRITE_ONCE(oq->held_pkts, oq->held_pkts - 1);
	WRITE_ONCE(oq->held_bytes, oq->held_bytes -
		   kvmft_outq_frame_len(skb));
}

/* Free every held packet, unsent. The caller holds release_lock. */
static void kvmft_outq_purge(struct kvmft_vm *vm)
{
	struct kvmft_outq *oq = &vm->outq;
	struct sk_buff_head dead;
	struct sk_buff *skb;
	bool was_full;

	__skb_queue_head_init(&dead);
	spin_lock_bh(&oq->lock);
	was_full = kvmft_outq_full(vm);
	while ((skb = __skb_dequeue(&oq->q))) {
		kvmft_outq_unaccount(oq, skb);
		oq->dropped++;
		__skb_queue_tail(&dead, skb);
	}
	spin_unlock_bh(&oq->lock);
	while ((skb = __skb_dequeue(&dead))) {
		trace_kvmft_outq_drop(vm->id, KVMFT_OUTQ_DROP_FREED,
				      kvmft_outq_frame_len(skb));
		kfree_skb(skb);
	}
	if (was_full)
		kvmft_log_wake(vm);
}

/*
 * Hand acked packets on, in arrival order, a batch at a time. While a
 * batch is out (oq->releasing), the hook queues even packets that are
 * acked already, so that none overtakes an earlier one.
 */
static void kvmft_outq_release(struct kvmft_vm *vm)
{
	struct kvmft_outq *oq = &vm->outq;
	struct kvmft_outq_cb *cb;
	struct sk_buff_head batch;
	struct sk_buff *skb;
	bool was_full;
	u64 now, held;
	int n;

	__skb_queue_head_init(&batch);
	mutex_lock(&oq->release_lock);
	for (;;) {
		n = 0;
		now = ktime_get_ns();
		spin_lock_bh(&oq->lock);
		was_full = kvmft_outq_full(vm);
		while (n < KVMFT_OUTQ_BATCH && (skb = skb_peek(&oq->q)) &&
		       oq->acked_any && kvmft_outq_cb(skb)->tag <= oq->acked) {
			__skb_unlink(skb, &oq->q);
			kvmft_outq_unaccount(oq, skb);
			held = now - kvmft_outq_cb(skb)->t_ns;
			if (held > oq->longest_ns)
				oq->longest_ns = held;
			kvmft_outq_cb(skb)->t_ns = held;	/* for the trace */
			oq->released++;
			__skb_queue_tail(&batch, skb);
			n++;
		}
		oq->releasing = n > 0;
		spin_unlock_bh(&oq->lock);
		if (was_full && !kvmft_outq_full(vm))
			kvmft_log_wake(vm);
		if (!n)
			break;
		local_bh_disable();
		while ((skb = __skb_dequeue(&batch))) {
			cb = kvmft_outq_cb(skb);
			trace_kvmft_outq_release(vm->id, cb->tag, cb->t_ns,
						 kvmft_outq_frame_len(skb));
			memcpy(skb->cb, cb->saved, sizeof(cb->saved));
#ifdef CONFIG_NET_CLS_ACT
			/* Past taps, tc and netdev hooks: they have seen it. */
			skb->tc_skip_classify = 1;
#endif
			netif_receive_skb_core(skb);
		}
		local_bh_enable();
	}
	mutex_unlock(&oq->release_lock);
}

static unsigned int kvmft_outq_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	struct kvmft_vm *vm = priv;
	struct kvmft_outq *oq = &vm->outq;
	struct kvmft_outq_cb *cb;
	u8 role = READ_ONCE(vm->role);
	u64 tag;

	if (role == KVMFT_ROLE_NONE || READ_ONCE(vm->detached)) {
		spin_lock(&oq->lock);
		oq->passed++;
		spin_unlock(&oq->lock);
		return NF_ACCEPT;
	}
	if (role == KVMFT_ROLE_BACKUP) {
		spin_lock(&oq->lock);
		oq->dropped++;
		spin_unlock(&oq->lock);
		trace_kvmft_outq_drop(vm->id, KVMFT_OUTQ_DROP_BACKUP,
				      kvmft_outq_frame_len(skb));
		return NF_DROP;
	}
	/* Everything recorded so far may have produced it. */
	tag = READ_ONCE(vm->log.next_seq) - 1;
	spin_lock(&oq->lock);
	if (oq->acked_any && tag <= oq->acked && !oq->releasing &&
	    skb_queue_empty(&oq->q)) {
		oq->passed++;
		spin_unlock(&oq->lock);
		return NF_ACCEPT;
	}
	cb = kvmft_outq_cb(skb);
	memcpy(cb->saved, skb->cb, sizeof(cb->saved));
	cb->tag = tag;
	cb->t_ns = ktime_get_ns();
	__skb_queue_tail(&oq->q, skb);
	WRITE_ONCE(oq->held_pkts, oq->held_pkts + 1);
	WRITE_ONCE(oq->held_bytes, oq->held_bytes + kvmft_outq_frame_len(skb));
	oq->held++;
	spin_unlock(&oq->lock);
	return NF_STOLEN;
}

/*
 * The backup holds every record up to @pos: release what it covers.
 * From process context.
 */
int kvmft_outq_ack(struct kvmft_vm *vm, u64 pos)
{
	struct kvmft_outq *oq = &vm->outq;
	bool more;

	if (READ_ONCE(vm->role) != KVMFT_ROLE_PRIMARY || READ_ONCE(vm->detached))
		return -EINVAL;
	if (pos > READ_ONCE(vm->log.next_seq) - 1)
		return -ERANGE;
	spin_lock_bh(&oq->lock);
	oq->acks++;
	more = !oq->acked_any || pos > oq->acked;
	if (more) {
		oq->acked = pos;
		oq->acked_any = true;
	}
	more = more && !skb_queue_empty(&oq->q);
	spin_unlock_bh(&oq->lock);
	if (more)
		kvmft_outq_release(vm);
	return 0;
}

/*
 * The VM's role changed (kvmft_lock held). A new primary starts with no
 * ack; a primary that stops being one frees what it holds: a role change
 * never releases a packet whose position was not acknowledged.
 */
void kvmft_outq_set_role(struct kvmft_vm *vm, u8 role)
{
	struct kvmft_outq *oq = &vm->outq;

	mutex_lock(&oq->release_lock);
	kvmft_outq_purge(vm);
	spin_lock_bh(&oq->lock);
	oq->acked = 0;
	oq->acked_any = false;
	spin_unlock_bh(&oq->lock);
	mutex_unlock(&oq->release_lock);
}

/* Under RTNL: stop holding; free what is held. */
static void kvmft_outq_unbind(struct kvmft_vm *vm)
{
	struct kvmft_outq *oq = &vm->outq;
	struct net_device *dev = oq->dev;

	ASSERT_RTNL();
	if (!dev)
		return;
	/* Waits for hooks in flight (synchronize_net()). */
	nf_unregister_net_hook(dev_net(dev), &oq->ops);
	mutex_lock(&oq->release_lock);
	kvmft_outq_purge(vm);
	mutex_unlock(&oq->release_lock);
	WRITE_ONCE(oq->ifindex, 0);
	oq->dev = NULL;
	list_del_init(&oq->node);
	netdev_put(dev, &oq->dev_tracker);
	kvmft_vm_put(vm);	/* the binding's reference */
}

/* Detach: the VM leaves the table; nothing it held may go out. */
void kvmft_outq_detach(struct kvmft_vm *vm)
{
	rtnl_lock();
	kvmft_outq_unbind(vm);
	rtnl_unlock();
}

static int kvmft_outq_bind(struct kvmft_vm *vm, int ifindex,
			   struct netlink_ext_ack *extack)
{
	struct kvmft_outq *oq = &vm->outq, *other;
	struct net_device *dev;
	int err;

	ASSERT_RTNL();
	if (!KVMFT_OUTQ_POSSIBLE) {
		NL_SET_ERR_MSG(extack,
			       "the kernel lacks NET_CLS_ACT or NETFILTER_INGRESS");
		return -EOPNOTSUPP;
	}
	dev = __dev_get_by_index(&init_net, ifindex);
	if (!dev) {
		NL_SET_ERR_MSG(extack, "no network device has this index");
		return -ENODEV;
	}
	if (oq->dev == dev)
		return 0;
	if (oq->dev) {
		NL_SET_ERR_MSG(extack,
			       "the VM has another device bound: unbind it first");
		return -EEXIST;
	}
	list_for_each_entry(other, &kvmft_outq_list, node) {
		if (other->dev == dev) {
			NL_SET_ERR_MSG(extack, "the device is bound to another VM");
			return -EBUSY;
		}
	}
	oq->ops = (struct nf_hook_ops) {
		.hook = kvmft_outq_hook,
		.dev = dev,
		.priv = vm,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		/* Last: whatever else filters ingress has seen it. */
		.priority = INT_MAX,
	};
	err = nf_register_net_hook(dev_net(dev), &oq->ops);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot register the ingress hook");
		return err;
	}
	netdev_hold(dev, &oq->dev_tracker, GFP_KERNEL);
	kref_get(&vm->ref);
	oq->dev = dev;
	WRITE_ONCE(oq->ifindex, dev->ifindex);
	list_add(&oq->node, &kvmft_outq_list);
	return 0;
}

/* KVMFT_CMD_TAP: bind @ifindex (0: unbind) and set the limits. */
int kvmft_outq_tap(struct kvmft_vm *vm, int ifindex, u32 max_pkts,
		   u32 max_bytes, struct netlink_ext_ack *extack)
{
	struct kvmft_outq *oq = &vm->outq;
	int err = 0;

	rtnl_lock();
	if (READ_ONCE(vm->detached)) {
		NL_SET_ERR_MSG(extack, "VM is being detached");
		err = -ENOENT;
	} else if (!ifindex) {
		kvmft_outq_unbind(vm);
	} else {
		err = kvmft_outq_bind(vm, ifindex, extack);
	}
	if (!err) {
		WRITE_ONCE(oq->max_pkts, max_pkts ?: READ_ONCE(kvmft_outq_max_pkts));
		WRITE_ONCE(oq->max_bytes,
			   max_bytes ?: READ_ONCE(kvmft_outq_max_bytes));
		kvmft_log_wake(vm);
	}
	rtnl_unlock();
	return err;
}

int kvmft_outq_fill(struct sk_buff *skb, struct kvmft_vm *vm)
{
	struct kvmft_outq *oq = &vm->outq;
	u64 v[__KVMFT_OUTQ_LAST] = { 0 };
	struct nlattr *nest;
	int i;

	spin_lock_bh(&oq->lock);
	v[KVMFT_OUTQ_ACKED] = oq->acked;
	v[KVMFT_OUTQ_HELD_PKTS] = oq->held_pkts;
	v[KVMFT_OUTQ_HELD_BYTES] = oq->held_bytes;
	v[KVMFT_OUTQ_HELD] = oq->held;
	v[KVMFT_OUTQ_RELEASED] = oq->released;
	v[KVMFT_OUTQ_PASSED] = oq->passed;
	v[KVMFT_OUTQ_DROPPED] = oq->dropped;
	v[KVMFT_OUTQ_LONGEST_NS] = oq->longest_ns;
	v[KVMFT_OUTQ_ACKS] = oq->acks;
	spin_unlock_bh(&oq->lock);
	v[KVMFT_OUTQ_WAITS] = atomic64_read(&oq->waits);

	nest = nla_nest_start(skb, KVMFT_A_OUTQ);
	if (!nest ||
	    nla_put_u32(skb, KVMFT_OUTQ_IFINDEX, READ_ONCE(oq->ifindex)) ||
	    nla_put_u32(skb, KVMFT_OUTQ_MAX_PKTS, READ_ONCE(oq->max_pkts)) ||
	    nla_put_u32(skb, KVMFT_OUTQ_MAX_BYTES, READ_ONCE(oq->max_bytes)))
		return -EMSGSIZE;
	for (i = KVMFT_OUTQ_ACKED; i <= KVMFT_OUTQ_MAX; i++) {
		if (i == KVMFT_OUTQ_MAX_PKTS || i == KVMFT_OUTQ_MAX_BYTES)
			continue;
		if (nla_put_u64_64bit(skb, i, v[i], KVMFT_OUTQ_PAD))
			return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The bound device goes away (or leaves the namespace): unbind. */
static int kvmft_outq_netdev_event(struct notifier_block *nb,
				   unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct kvmft_outq *oq, *tmp;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	list_for_each_entry_safe(oq, tmp, &kvmft_outq_list, node)
		if (oq->dev == dev)
			kvmft_outq_unbind(container_of(oq, struct kvmft_vm,
						       outq));
	return NOTIFY_DONE;
}

static struct notifier_block kvmft_outq_notifier = {
	.notifier_call = kvmft_outq_netdev_event,
};

int kvmft_outq_module_init(void)
{
	return register_netdevice_notifier(&kvmft_outq_notifier);
}

/* After every VM has detached: nothing is bound any more. */
void kvmft_outq_module_exit(void)
{
	unregister_netdevice_notifier(&kvmft_outq_notifier);
	WARN_ON(!list_empty(&kvmft_outq_list));
}

module_param_named(outq_max_pkts, kvmft_outq_max_pkts, uint, 0644);
MODULE_PARM_DESC(outq_max_pkts,
		 "Packets a primary holds before its vCPU waits for acks (default 4096); for taps bound after a change");
module_param_named(outq_max_bytes, kvmft_outq_max_bytes, uint, 0644);
MODULE_PARM_DESC(outq_max_bytes,
		 "Frame bytes a primary holds before its vCPU waits for acks (default 4 MiB); for taps bound after a change");
