// SPDX-License-Identifier: GPL-2.0
/*
 * The kvmft module as ftd's VM backend (vmif.h). ftd joins the events
 * group first, then dumps (events.c); every VM the module has attached
 * becomes an ftd_vm, named by the -uuid its QEMU was started with
 * (read from /proc/PID/cmdline), with the MAC of its NIC if one was set.
 *
 * Going live is the module's PROMOTE: the backup takes the records it
 * holds, then runs live; closing its log writer never does that (ftd may
 * restart). Stopping a VM is SIGKILL to its VMM: a VM that lost must
 * never run again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <netlink/genl/genl.h>

#include "events.h"
#include "ftdlog.h"
#include "loop.h"
#include "util.h"
#include "vmif.h"

static struct ftnl nl, rq;	/* events; requests */
static struct ftev_listener L;
static struct timer held;
static bool started;

static const struct vm_ops kvmft_ops;

/* /proc/PID/<what>, NUL-separated strings; its length, 0 if none. */
static ssize_t read_proc(uint32_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return n;
}

/*
 * The identity: QEMU's -uuid, else KVMFT_IDENTITY in the VMM's
 * environment (other VMMs, the test VMM); the MAC: the first mac=; the
 * tap: the first ifname= (of -netdev tap), else KVMFT_TAP likewise.
 */
static void read_cmdline(struct ftd_vm *v)
{
	static const char env[] = "KVMFT_IDENTITY=", env_tap[] = "KVMFT_TAP=";
	char buf[8192], *p, *end, *mac, *ifn;
	ssize_t n = read_proc(v->pid, "environ", buf, sizeof(buf));

	v->tap[0] = '\0';
	for (p = buf, end = buf + n; p < end; p += strlen(p) + 1) {
		if (!strncmp(p, env, sizeof(env) - 1))
			snprintf(v->ident, sizeof(v->ident), "%s", p + sizeof(env) - 1);
		if (!strncmp(p, env_tap, sizeof(env_tap) - 1))
			snprintf(v->tap, sizeof(v->tap), "%s", p + sizeof(env_tap) - 1);
	}
	n = read_proc(v->pid, "cmdline", buf, sizeof(buf));
	for (p = buf, end = buf + n; p < end; p += strlen(p) + 1) {
		if ((!strcmp(p, "-uuid") || !strcmp(p, "--uuid")) && p + strlen(p) + 1 < end)
			snprintf(v->ident, sizeof(v->ident), "%s", p + strlen(p) + 1);
		ifn = strstr(p, "ifname=");
		if (ifn && !strncmp(p, "tap,", 4))
			snprintf(v->tap, sizeof(v->tap), "%.*s",
				 (int)strcspn(ifn + 7, ","), ifn + 7);
		mac = strstr(p, "mac=");
		if (mac && !v->has_mac)
			v->has_mac = sscanf(mac + 4, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
					    &v->mac[0], &v->mac[1], &v->mac[2], &v->mac[3],
					    &v->mac[4], &v->mac[5]) == 6;
	}
}

static struct ftd_vm *vm_new(const struct ftvm *m)
{
	struct ftd_vm *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->id = m->id;
	v->pid = m->pid;
	v->log_fd = -1;
	v->ops = &kvmft_ops;
	if (v->pid)
		read_cmdline(v);
	v->next = ftd_vms;
	ftd_vms = v;
	return v;
}

static int on_event(const struct ftvm *m, void *arg)
{
	struct ftd_vm *v = vm_find(m->id);
	static const char *const what[] = { "exists", "attached", "changed", "detached" };

	(void)arg;
	if (v && v->ops != &kvmft_ops)
		return 0;
	if (!v && m->event != KVMFT_EVENT_DESTROY)
		v = vm_new(m);
	if (!v)
		return 0;
	if (m->event == KVMFT_EVENT_CREATE && v->gone) {	/* id reused */
		v->gone = false;
		v->ident[0] = '\0';
		v->pid = m->pid;
		read_cmdline(v);
	}
	v->role = m->role;
	memcpy(v->stats, m->stats, sizeof(v->stats));
	v->log_replayed = m->log_replayed;
	v->log_seq = m->log_seq;
	v->session = m->session;
	v->log_acked = m->log_acked;
	v->flags = m->flags;
	memcpy(v->outq, m->outq, sizeof(v->outq));
	if (m->diverged_seq && !v->diverged_seq)
		fevent(v->id, "diverged", "the backup's vCPU did not do what record %llu says (%s): it is stopped there",
		       (unsigned long long)m->diverged_seq,
		       ftvm_divergence_name(m->diverged_why));
	v->diverged_seq = m->diverged_seq;
	if (m->event == KVMFT_EVENT_DESTROY) {
		v->gone = true;
		v->role = KVMFT_ROLE_NONE;
	}
	vm_changed(v, m->event < 4 ? what[m->event] : "event");
	return 0;
}

static void on_lost(void *arg)
{
	(void)arg;
	flog(LOG_WARNING, "kvmft events lost (receive buffer overran); dumping the state again");
}

static const struct ftev_ops ev_ops = { .event = on_event, .lost = on_lost };

static void deliver(void *arg)
{
	int wait = -1;

	(void)arg;
	ftev_listen_deliver(&L, &ev_ops, NULL, &wait);
	if (wait >= 0)
		timer_arm_in(&held, wait);
}

static void on_nl(void *arg, int fd, short revents)
{
	int ret;

	(void)arg, (void)fd, (void)revents;
	ret = ftev_listen_read(&L, &ev_ops, NULL);
	if (ret == FTEV_GONE) {
		flog(LOG_ERR, "the kvmft module was unloaded; exiting");
		loop_stop(FT_EXIT_ENV);
		return;
	}
	if (ret < 0) {
		flog(LOG_ERR, "kvmft events: %s", nl.ext_msg[0] ? nl.ext_msg : strerror(-ret));
		loop_stop(FT_EXIT_KERNEL);
		return;
	}
	deliver(NULL);
}

static int get_info(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[KVMFT_A_MAX + 1];

	(void)arg;
	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, NULL) >= 0 && tb[KVMFT_A_VERSION])
		ftd_module_version = nla_get_u32(tb[KVMFT_A_VERSION]);
	return 0;
}

int vm_kvmft_start(char *err, size_t len)
{
	struct nl_msg *msg;
	int ret = ft_nl_connect(&nl, true);

	if (ret)
		return snprintf(err, len, "the kvmft module is needed (or --sim-vm)"), ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_GET_INFO, 0);
	if (msg)
		ftnl_request(&nl, msg, get_info, NULL);
	if (!ftd_module_version)
		ftd_module_version = KVMFT_GENL_VERSION;
	if (ftnl_open(&rq))
		rq.sk = NULL;
	ret = ftev_listen_start(&L, &nl);
	if (ret < 0 || loop_add(ftnl_fd(&nl), POLLIN, on_nl, NULL)) {
		snprintf(err, len, "kvmft events: %s", strerror(ret < 0 ? -ret : ENOMEM));
		ftnl_close(&nl);
		return FT_EXIT_KERNEL;
	}
	timer_init(&held, deliver, NULL);
	started = true;
	return 0;
}

void vm_kvmft_stop(void)
{
	if (!started)
		return;
	ftev_listen_free(&L);
	ftnl_close(&nl);
	if (rq.sk)
		ftnl_close(&rq);
}

/*
 * The output rule: a primary's packets wait on its tap for the backup's
 * acks, a backup's are dropped. Bound as the VM takes a role; a tap that
 * cannot be bound is said, and the pair goes on without the rule.
 */
static void bind_tap(struct ftd_vm *v)
{
	unsigned int ifindex = v->tap[0] ? if_nametoindex(v->tap) : 0;
	struct nl_msg *msg;
	int ret = -ENOMEM;

	if (!v->tap[0] || !rq.sk)
		return;
	if (!ifindex) {
		fevent(v->id, "tap", "no tap %s here: its packets are not held", v->tap);
		return;
	}
	msg = ftnl_msg(&rq, KVMFT_CMD_TAP, 0);
	if (msg && nla_put_u32(msg, KVMFT_A_VM_ID, v->id) >= 0 &&
	    nla_put_u32(msg, KVMFT_A_IFINDEX, ifindex) >= 0)
		ret = ftnl_request(&rq, msg, NULL, NULL);
	else
		nlmsg_free(msg);
	if (ret < 0)
		fevent(v->id, "tap", "cannot hold the packets of tap %s: %s", v->tap,
		       rq.ext_msg[0] ? rq.ext_msg : strerror(-ret));
}

static int k_log_open(struct ftd_vm *v, struct vm_log *lo, char *err, size_t len)
{
	struct ft_log_err e;
	int fd = ft_log_open_at(v->id, lo->flags, &lo->session, &lo->acked,
				&lo->recorded, &e);

	if (fd < 0) {
		lo->err = e.err;
		snprintf(lo->reason, sizeof(lo->reason), "%s", e.reason);
		return snprintf(err, len, "LOG_OPEN of VM %u: %s (%s)", v->id,
				e.reason[0] ? e.reason : strerror(e.err),
				ft_errno_name(e.err)), -1;
	}
	v->log_fd = fd;
	v->log_keep = lo->flags & KVMFT_LOG_KEEP;
	v->session = lo->session;
	bind_tap(v);
	return fd;
}

/*
 * Closing a KEEP reader leaves the session to the next ftd; ending the
 * pair on purpose ends it, so LOG_END first. A failed LOG_END leaves the
 * VM recording, unread, until its log is full: say so.
 */
static void k_close(struct ftd_vm *v)
{
	if (v->log_fd >= 0 && v->log_keep && !v->gone &&
	    ioctl(v->log_fd, KVMFT_IOC_LOG_END) && errno != ENOENT)
		flog(LOG_ERR, "VM %u: KVMFT_IOC_LOG_END: %s; its recording is left for a reader",
		     v->id, strerror(errno));
	if (v->log_fd >= 0)
		close(v->log_fd);
	v->log_fd = -1;
	v->log_keep = false;
}

/* PROMOTE: the backup takes what it holds, then runs live. */
static int k_promote(struct ftd_vm *v, char *err, size_t len)
{
	struct nl_msg *msg;
	int ret = -ENOMEM;

	if (!rq.sk)
		return snprintf(err, len, "no netlink socket for PROMOTE"), -1;
	msg = ftnl_msg(&rq, KVMFT_CMD_PROMOTE, 0);
	if (msg && nla_put_u32(msg, KVMFT_A_VM_ID, v->id) >= 0)
		ret = ftnl_request(&rq, msg, NULL, NULL);
	else
		nlmsg_free(msg);
	if (ret == -EOPNOTSUPP || ret == -EINVAL) {
		if (!rq.ext_msg[0])
			snprintf(rq.ext_msg, sizeof(rq.ext_msg), "the module has no PROMOTE or refused it");
	}
	if (ret < 0 && ret != -EALREADY)
		return snprintf(err, len, "PROMOTE of VM %u: %s (%s)", v->id,
				rq.ext_msg[0] ? rq.ext_msg : strerror(-ret),
				ft_errno_name(-ret)), -1;
	/* Records not yet taken would only get EPIPE now. */
	k_close(v);
	return 0;
}

static void k_halt(struct ftd_vm *v)
{
	if (v->pid && kill(v->pid, SIGKILL))
		flog(LOG_ERR, "stopping VM %u: kill %u: %s", v->id, v->pid, strerror(errno));
	/*
	 * No LOG_END: that would let its packets out unheld until the kill
	 * lands. The orphaned session goes when the VMM's exit detaches it.
	 */
	v->gone = true;
	k_close(v);
	vm_changed(v, "stopped (its VMM killed)");
}

static int refresh_cb(struct nlmsghdr *nlh, void *arg)
{
	struct ftd_vm *v = arg;
	struct ftvm m;

	if (!ftvm_parse(nlh, &m)) {
		memcpy(v->stats, m.stats, sizeof(v->stats));
		v->role = m.role;
		v->log_replayed = m.log_replayed;
		v->log_seq = m.log_seq;
		v->log_acked = m.log_acked;
		v->flags = m.flags;
		memcpy(v->outq, m.outq, sizeof(v->outq));
	}
	return 0;
}

/* On a socket of its own: the events socket's replies are the listener's. */
static void k_refresh(struct ftd_vm *v)
{
	struct nl_msg *msg;

	if (v->gone || !rq.sk)
		return;
	msg = ftnl_msg(&rq, KVMFT_CMD_GET_VM, 0);
	if (msg && nla_put_u32(msg, KVMFT_A_VM_ID, v->id) >= 0)
		ftnl_request(&rq, msg, refresh_cb, v);
	else
		nlmsg_free(msg);
}

/* The output rule: one ioctl on the log fd the records come from. */
static int k_ack(struct ftd_vm *v, uint64_t seq)
{
	if (v->log_fd < 0 || v->gone)
		return -EBADF;
	return ioctl(v->log_fd, KVMFT_IOC_LOG_ACK, &seq) ? -errno : 0;
}

static const struct vm_ops kvmft_ops = {
	.name = "kvmft",
	.log_open = k_log_open,
	.log_close = k_close,
	.promote = k_promote,
	.halt = k_halt,
	.refresh = k_refresh,
	.ack = k_ack,
};
