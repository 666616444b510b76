// SPDX-License-Identifier: GPL-2.0
/*
 * Test-side kvmft netlink and /dev/kvmft client; see nl.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

#include "nl.h"
#include "test_util.h"

#define KVMFT_DEV_PATH	"/dev/" KVMFT_DEVICE_NAME
#define NL_BUF_SIZE	(64 * 1024)

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

/* libnl's error codes, as the errno the kernel would have given. */
static int nlerr(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_AGAIN:
		return -ETIMEDOUT;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	default:
		return -EIO;
	}
}

int __kvmft_nl_open(struct kvmft_nl *nl)
{
	struct timeval tv = { .tv_sec = KVMFT_NL_TIMEOUT_MS / 1000 };
	int one = 1, fd, r;

	memset(nl, 0, sizeof(*nl));
	nl->err_offset = -1;
	nl->miss_type = -1;
	nl->mcgrp_events = -1;
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	r = genl_connect(nl->sk);
	if (r) {
		r = nlerr(r);
		goto err;
	}
	fd = nl_socket_get_fd(nl->sk);
	/* Ask for error text; do not echo requests back in errors. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		r = -errno;
		goto err;
	}
	r = genl_ctrl_resolve(nl->sk, KVMFT_GENL_NAME);
	if (r < 0) {
		r = nlerr(r);
		goto err;
	}
	nl->family = r;
	nl->mcgrp_events = genl_ctrl_resolve_grp(nl->sk, KVMFT_GENL_NAME,
						 KVMFT_MCGRP_EVENTS);
	return 0;
err:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return r;
}

void kvmft_nl_open(struct kvmft_nl *nl)
{
	int r = __kvmft_nl_open(nl);

	errno = -r;
	TEST_ASSERT(!r, "opening generic netlink family '%s'",
		    KVMFT_GENL_NAME);
}

void kvmft_nl_close(struct kvmft_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

int kvmft_probe(char *why, size_t len)
{
	struct kvmft_nl nl;
	int r = __kvmft_nl_open(&nl);

	if (r == -ENOENT) {
		snprintf(why, len,
			 "generic netlink family '%s' not registered (kvmft.ko not loaded)",
			 KVMFT_GENL_NAME);
		return r;
	}
	if (r) {
		snprintf(why, len, "generic netlink: %s", strerror(-r));
		return r;
	}
	kvmft_nl_close(&nl);
	if (access(KVMFT_DEV_PATH, F_OK)) {
		r = -errno;
		snprintf(why, len, "%s: %s", KVMFT_DEV_PATH, strerror(errno));
		return r;
	}
	return 0;
}

struct nl_msg *kvmft_nl_msg(struct kvmft_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	TEST_ASSERT(msg, "nlmsg_alloc");
	TEST_ASSERT(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				flags, cmd, KVMFT_GENL_VERSION),
		    "genlmsg_put");
	return msg;
}

/* Extended-ack TLVs start @off bytes into the payload of @nlh. */
static void parse_extack(struct kvmft_nl *nl, struct nlmsghdr *nlh,
			 size_t off)
{
	struct nlattr *a;
	int len, rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	len = nlmsg_datalen(nlh) - (int)NLMSG_ALIGN(off);
	if (len <= 0)
		return;
	a = (struct nlattr *)((char *)nlmsg_data(nlh) + NLMSG_ALIGN(off));
	nla_for_each_attr(a, a, len, rem) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(nl->errmsg, sizeof(nl->errmsg), "%.*s",
				 nla_len(a), (char *)nla_data(a));
		else if (nla_type(a) == NLMSGERR_ATTR_OFFS &&
			 nla_len(a) == sizeof(uint32_t))
			nl->err_offset = (int)nla_get_u32(a);
		else if (nla_type(a) == NLMSGERR_ATTR_MISS_TYPE &&
			 nla_len(a) == sizeof(uint32_t))
			nl->miss_type = (int)nla_get_u32(a);
	}
}

/* Returns 1 when @nlh ends the exchange (*ret set), else 0. */
static int nl_handle(struct kvmft_nl *nl, struct nlmsghdr *nlh,
		     kvmft_nl_cb cb, void *arg, int *ret)
{
	struct nlmsgerr *e;
	int err = 0;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		e = nlmsg_data(nlh);
		if (nlmsg_datalen(nlh) < (int)sizeof(*e)) {
			*ret = -EPROTO;
			return 1;
		}
		parse_extack(nl, nlh, (nlh->nlmsg_flags & NLM_F_CAPPED) ?
			     sizeof(*e) :
			     sizeof(*e) + e->msg.nlmsg_len - NLMSG_HDRLEN);
		if (e->error)
			*ret = e->error;
		return 1;
	case NLMSG_DONE:
		if (nlmsg_datalen(nlh) >= (int)sizeof(err)) {
			memcpy(&err, nlmsg_data(nlh), sizeof(err));
			parse_extack(nl, nlh, sizeof(err));
		}
		if (err)
			*ret = err;
		return 1;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return 0;
	}
	if (cb && !*ret)
		*ret = cb(nlh, arg);
	return 0;
}

static int kvmft_nl_recv(struct kvmft_nl *nl, uint32_t seq, kvmft_nl_cb cb,
			 void *arg)
{
	int fd = nl_socket_get_fd(nl->sk), ret = 0, n;
	struct nlmsghdr *nlh;
	char *buf;

	nl->errmsg[0] = 0;
	nl->err_offset = -1;
	nl->miss_type = -1;
	buf = malloc(NL_BUF_SIZE);
	TEST_ASSERT(buf, "out of memory");
	for (;;) {
		n = recv(fd, buf, NL_BUF_SIZE, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (n > NL_BUF_SIZE) {
			n = -EMSGSIZE;
			break;
		}
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, n);
		     nlh = nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nl_handle(nl, nlh, cb, arg, &ret)) {
				free(buf);
				return ret;
			}
		}
	}
	free(buf);
	return n;
}

int kvmft_nl_transact(struct kvmft_nl *nl, struct nl_msg *msg,
		      kvmft_nl_cb cb, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	uint32_t seq;
	int r;

	nl_complete_msg(nl->sk, msg);	/* port, seq, REQUEST | ACK */
	seq = nlh->nlmsg_seq;
	r = nl_send(nl->sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return nlerr(r);
	return kvmft_nl_recv(nl, seq, cb, arg);
}

int kvmft_nl_send_raw(struct kvmft_nl *nl, void *buf, size_t len,
		      kvmft_nl_cb cb, void *arg)
{
	struct nlmsghdr *nlh = buf;
	uint32_t seq = nl_socket_use_seq(nl->sk);
	int r;

	if (len >= sizeof(*nlh)) {
		nlh->nlmsg_seq = seq;
		nlh->nlmsg_pid = nl_socket_get_local_port(nl->sk);
	}
	r = nl_sendto(nl->sk, buf, len);
	if (r < 0)
		return nlerr(r);
	return kvmft_nl_recv(nl, seq, cb, arg);
}

#define PARSE_ATTR(tb, a, dst, get, type)				\
	do {								\
		if (!tb[a])						\
			break;						\
		if (nla_len(tb[a]) != sizeof(type))			\
			return -EPROTO;					\
		dst = get(tb[a]);					\
		vm->present |= 1U << (a);				\
	} while (0)

int kvmft_parse_vm(struct nlmsghdr *nlh, struct kvmft_vm_info *vm)
{
	struct nlattr *tb[KVMFT_A_MAX + 1], *a;
	int rem;

	memset(vm, 0, sizeof(*vm));
	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, NULL) < 0)
		return -EPROTO;
	vm->cmd = ((struct genlmsghdr *)nlmsg_data(nlh))->cmd;
	PARSE_ATTR(tb, KVMFT_A_VM_ID, vm->id, nla_get_u32, uint32_t);
	PARSE_ATTR(tb, KVMFT_A_EVENT, vm->event, nla_get_u8, uint8_t);
	PARSE_ATTR(tb, KVMFT_A_SEQ, vm->seq, nla_get_u64, uint64_t);
	PARSE_ATTR(tb, KVMFT_A_ROLE, vm->role, nla_get_u8, uint8_t);
	PARSE_ATTR(tb, KVMFT_A_PID, vm->pid, nla_get_u32, uint32_t);
	PARSE_ATTR(tb, KVMFT_A_VCPUS, vm->vcpus, nla_get_u32, uint32_t);
	PARSE_ATTR(tb, KVMFT_A_SESSION, vm->session, nla_get_u64, uint64_t);
	PARSE_ATTR(tb, KVMFT_A_LOG_SEQ, vm->log_seq, nla_get_u64, uint64_t);
	PARSE_ATTR(tb, KVMFT_A_LOG_SHIPPED, vm->shipped, nla_get_u64, uint64_t);
	PARSE_ATTR(tb, KVMFT_A_LOG_REPLAYED, vm->replayed, nla_get_u64,
		   uint64_t);
	PARSE_ATTR(tb, KVMFT_A_DIVERGED_SEQ, vm->diverged, nla_get_u64,
		   uint64_t);
	PARSE_ATTR(tb, KVMFT_A_DIVERGED_WHY, vm->diverged_why, nla_get_u32,
		   uint32_t);
	PARSE_ATTR(tb, KVMFT_A_VM_FLAGS, vm->flags, nla_get_u32, uint32_t);
	PARSE_ATTR(tb, KVMFT_A_LOG_ACKED, vm->acked, nla_get_u64, uint64_t);
	if (tb[KVMFT_A_STATS]) {
		vm->present |= 1U << KVMFT_A_STATS;
		nla_for_each_nested(a, tb[KVMFT_A_STATS], rem) {
			int t = nla_type(a);

			if (t <= KVMFT_STAT_UNSPEC || t > KVMFT_STAT_MAX ||
			    t == KVMFT_STAT_PAD)
				continue;
			if (nla_len(a) != sizeof(uint64_t))
				return -EPROTO;
			vm->stats[t] = nla_get_u64(a);
		}
	}
	if (tb[KVMFT_A_OUTQ]) {
		vm->present |= 1U << KVMFT_A_OUTQ;
		nla_for_each_nested(a, tb[KVMFT_A_OUTQ], rem) {
			int t = nla_type(a);

			if (t <= KVMFT_OUTQ_PAD || t > KVMFT_OUTQ_MAX)
				continue;
			if (nla_len(a) == sizeof(uint32_t))
				vm->outq[t] = nla_get_u32(a);
			else if (nla_len(a) == sizeof(uint64_t))
				vm->outq[t] = nla_get_u64(a);
			else
				return -EPROTO;
		}
	}
	return (vm->present & (1U << KVMFT_A_VM_ID)) ? 0 : -EPROTO;
}

static int parse_one_vm(struct nlmsghdr *nlh, void *arg)
{
	return kvmft_parse_vm(nlh, arg);
}

int __kvmft_attach(struct kvmft_nl *nl, int vm_fd, uint32_t pid,
		   uint32_t *id)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_ATTACH, 0);
	struct kvmft_vm_info vm = { 0 };
	int r;

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_FD, (uint32_t)vm_fd), "put");
	if (pid)
		TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_PID, pid), "put");
	r = kvmft_nl_transact(nl, msg, parse_one_vm, &vm);
	if (r)
		return r;
	if (!vm.present)	/* acked without the reply the contract promises */
		return -EPROTO;
	*id = vm.id;
	return 0;
}

uint32_t kvmft_attach(struct kvmft_nl *nl, int vm_fd, uint32_t pid)
{
	uint32_t id = 0;
	int r = __kvmft_attach(nl, vm_fd, pid, &id);

	errno = -r;
	TEST_ASSERT(!r, "ATTACH of VM fd %d: %s", vm_fd, nl->errmsg);
	return id;
}

int __kvmft_detach(struct kvmft_nl *nl, uint32_t id)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_DETACH, 0);

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id), "put");
	return kvmft_nl_transact(nl, msg, NULL, NULL);
}

void kvmft_detach(struct kvmft_nl *nl, uint32_t id)
{
	int r = __kvmft_detach(nl, id);

	errno = -r;
	TEST_ASSERT(!r, "DETACH of VM %u: %s", id, nl->errmsg);
}

struct verify_reply {
	uint64_t seq, hash;
	bool got;
};

static int parse_verify(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[KVMFT_A_MAX + 1];
	struct verify_reply *v = arg;

	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, NULL) < 0 ||
	    !tb[KVMFT_A_LOG_SEQ] || !tb[KVMFT_A_MEM_HASH])
		return -EPROTO;
	v->seq = nla_get_u64(tb[KVMFT_A_LOG_SEQ]);
	v->hash = nla_get_u64(tb[KVMFT_A_MEM_HASH]);
	v->got = true;
	return 0;
}

int __kvmft_verify(struct kvmft_nl *nl, uint32_t id, uint64_t at,
		   uint64_t *hash, uint64_t *seq)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_VERIFY, 0);
	struct verify_reply v = { 0 };
	int r;

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id) &&
		    !nla_put_u64(msg, KVMFT_A_LOG_SEQ, at), "put");
	r = kvmft_nl_transact(nl, msg, parse_verify, &v);
	if (r)
		return r;
	if (!v.got)
		return -EPROTO;
	*hash = v.hash;
	*seq = v.seq;
	return 0;
}

int __kvmft_promote(struct kvmft_nl *nl, uint32_t id)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_PROMOTE, 0);

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id), "put");
	return kvmft_nl_transact(nl, msg, NULL, NULL);
}

void kvmft_promote(struct kvmft_nl *nl, uint32_t id)
{
	int r = __kvmft_promote(nl, id);

	errno = -r;
	TEST_ASSERT(!r, "PROMOTE of VM %u: %s", id, nl->errmsg);
}

int __kvmft_tap(struct kvmft_nl *nl, uint32_t id, uint32_t ifindex,
		uint32_t max_pkts, uint32_t max_bytes)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_TAP, 0);

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id) &&
		    !nla_put_u32(msg, KVMFT_A_IFINDEX, ifindex), "put");
	if (max_pkts)
		TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_OUTQ_MAX_PKTS, max_pkts),
			    "put");
	if (max_bytes)
		TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_OUTQ_MAX_BYTES,
					 max_bytes), "put");
	return kvmft_nl_transact(nl, msg, NULL, NULL);
}

void kvmft_tap(struct kvmft_nl *nl, uint32_t id, uint32_t ifindex)
{
	int r = __kvmft_tap(nl, id, ifindex, 0, 0);

	errno = -r;
	TEST_ASSERT(!r, "TAP %u for VM %u: %s", ifindex, id, nl->errmsg);
}

int __kvmft_ack(struct kvmft_nl *nl, uint32_t id, uint64_t pos)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_ACK, 0);

	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id) &&
		    !nla_put_u64(msg, KVMFT_A_LOG_SEQ, pos), "put");
	return kvmft_nl_transact(nl, msg, NULL, NULL);
}

void kvmft_ack(struct kvmft_nl *nl, uint32_t id, uint64_t pos)
{
	int r = __kvmft_ack(nl, id, pos);

	errno = -r;
	TEST_ASSERT(!r, "ACK %llu for VM %u: %s", (unsigned long long)pos, id,
		    nl->errmsg);
}

int __kvmft_get_vm(struct kvmft_nl *nl, uint32_t id,
		   struct kvmft_vm_info *vm)
{
	struct nl_msg *msg = kvmft_nl_msg(nl, KVMFT_CMD_GET_VM, 0);
	int r;

	memset(vm, 0, sizeof(*vm));
	TEST_ASSERT(!nla_put_u32(msg, KVMFT_A_VM_ID, id), "put");
	r = kvmft_nl_transact(nl, msg, parse_one_vm, vm);
	if (r)
		return r;
	return vm->present ? 0 : -EPROTO;
}

void kvmft_get_vm(struct kvmft_nl *nl, uint32_t id, struct kvmft_vm_info *vm)
{
	int r = __kvmft_get_vm(nl, id, vm);

	errno = -r;
	TEST_ASSERT(!r, "GET_VM %u: %s", id, nl->errmsg);
}

struct dump_ctx {
	struct kvmft_vm_info *vms;
	int max;
	int n;
};

static int dump_one(struct nlmsghdr *nlh, void *arg)
{
	struct dump_ctx *d = arg;
	struct kvmft_vm_info vm;
	int r = kvmft_parse_vm(nlh, &vm);

	if (r)
		return r;
	if (d->n < d->max)
		d->vms[d->n] = vm;
	d->n++;
	return 0;
}

int __kvmft_dump_vms(struct kvmft_nl *nl, struct kvmft_vm_info *vms, int max)
{
	struct dump_ctx d = { vms, max, 0 };
	int r;

	r = kvmft_nl_transact(nl, kvmft_nl_msg(nl, KVMFT_CMD_GET_VM,
						NLM_F_DUMP),
			      dump_one, &d);
	return r ? r : d.n;
}

int kvmft_vm_count(struct kvmft_nl *nl)
{
	int n = __kvmft_dump_vms(nl, NULL, 0);

	errno = n < 0 ? -n : 0;
	TEST_ASSERT(n >= 0, "GET_VM dump: %s", nl->errmsg);
	return n;
}

bool kvmft_find_vm(struct kvmft_nl *nl, uint32_t id,
		   struct kvmft_vm_info *vm)
{
	struct kvmft_vm_info vms[256];
	int n, i;

	n = __kvmft_dump_vms(nl, vms, ARRAY_SIZE(vms));
	errno = n < 0 ? -n : 0;
	TEST_ASSERT(n >= 0 && n <= (int)ARRAY_SIZE(vms), "GET_VM dump: %s",
		    nl->errmsg);
	for (i = 0; i < n; i++) {
		if (vms[i].id == id) {
			*vm = vms[i];
			return true;
		}
	}
	return false;
}

struct info_ctx {
	uint64_t live;
	uint32_t version;
	bool seen;
};

static int parse_info(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[KVMFT_A_MAX + 1];
	struct info_ctx *c = arg;

	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, NULL) < 0 ||
	    !tb[KVMFT_A_LIVE_OBJECTS] || !tb[KVMFT_A_VERSION] ||
	    nla_len(tb[KVMFT_A_LIVE_OBJECTS]) != sizeof(uint64_t) ||
	    nla_len(tb[KVMFT_A_VERSION]) != sizeof(uint32_t))
		return -EPROTO;
	c->live = nla_get_u64(tb[KVMFT_A_LIVE_OBJECTS]);
	c->version = nla_get_u32(tb[KVMFT_A_VERSION]);
	c->seen = true;
	return 0;
}

int __kvmft_get_info(struct kvmft_nl *nl, uint64_t *live, uint32_t *version)
{
	struct info_ctx c = { 0 };
	int r;

	r = kvmft_nl_transact(nl, kvmft_nl_msg(nl, KVMFT_CMD_GET_INFO, 0),
			      parse_info, &c);
	if (r)
		return r;
	if (!c.seen)
		return -EPROTO;
	*live = c.live;
	*version = c.version;
	return 0;
}

int __kvmft_events_open(struct kvmft_nl *ev)
{
	int r = __kvmft_nl_open(ev);

	if (r)
		return r;
	if (ev->mcgrp_events < 0) {
		kvmft_nl_close(ev);
		return -ENOENT;
	}
	r = nl_socket_add_membership(ev->sk, ev->mcgrp_events);
	if (r) {
		kvmft_nl_close(ev);
		return nlerr(r);
	}
	return 0;
}

void kvmft_events_open(struct kvmft_nl *ev)
{
	int r = __kvmft_events_open(ev);

	errno = -r;
	TEST_ASSERT(!r, "subscribing to the '%s' group", KVMFT_MCGRP_EVENTS);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool event_matches(struct kvmft_nl *ev, struct nlmsghdr *nlh,
			  uint32_t id, int event, int role,
			  struct kvmft_vm_info *vm)
{
	if (nlh->nlmsg_type != ev->family || kvmft_parse_vm(nlh, vm))
		return false;
	return vm->cmd == KVMFT_CMD_VM_EVENT && vm->id == id &&
	       vm->event == event && (role < 0 || vm->role == role);
}

int kvmft_events_wait(struct kvmft_nl *ev, uint32_t id, int event, int role,
		      int timeout_ms, struct kvmft_vm_info *vm)
{
	int fd = nl_socket_get_fd(ev->sk), r = -ETIMEDOUT, n;
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct kvmft_vm_info tmp;
	struct nlmsghdr *nlh;
	char *buf = malloc(NL_BUF_SIZE);

	TEST_ASSERT(buf, "out of memory");
	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			break;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (n <= 0)
			continue;
		n = recv(fd, buf, NL_BUF_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r = -errno;	/* ENOBUFS: events were lost */
			break;
		}
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, n);
		     nlh = nlmsg_next(nlh, &n)) {
			if (event_matches(ev, nlh, id, event, role, &tmp)) {
				if (vm)
					*vm = tmp;
				free(buf);
				return 0;
			}
		}
	}
	free(buf);
	return r;
}

int __kvmft_log_open_arg(struct kvmft_log_open *arg)
{
	int fd, r;

	fd = open(KVMFT_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, KVMFT_IOC_LOG_OPEN, arg);
	if (r < 0)
		r = -errno;
	close(fd);
	return r;
}

int __kvmft_log_open(uint32_t vm_id, uint32_t flags, uint64_t *session,
		     char *reason, size_t len)
{
	struct kvmft_log_open arg = {
		.size = sizeof(arg),
		.vm_id = vm_id,
		.flags = flags,
		.session = session ? *session : 0,
	};
	int r = __kvmft_log_open_arg(&arg);

	if (r >= 0 && session)
		*session = arg.session;
	if (reason && len)
		snprintf(reason, len, "%.*s", (int)sizeof(arg.reason),
			 arg.reason);
	return r;
}

int kvmft_log_open_lo(uint32_t vm_id, uint32_t flags, uint64_t session,
		      struct kvmft_log_open *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->size = sizeof(*lo);
	lo->vm_id = vm_id;
	lo->flags = flags;
	lo->session = session;
	return __kvmft_log_open_arg(lo);
}

int kvmft_log_open(uint32_t vm_id, uint32_t flags, uint64_t *session)
{
	char why[KVMFT_REASON_LEN];
	int r = __kvmft_log_open(vm_id, flags, session, why, sizeof(why));

	errno = r < 0 ? -r : 0;
	TEST_ASSERT(r >= 0, "LOG_OPEN of VM %u with flags 0x%x: %s", vm_id,
		    flags, why);
	return r;
}

const char *kvmft_role_str(int role)
{
	static const char *const names[] = { "none", "primary", "backup" };

	return role >= 0 && role <= KVMFT_ROLE_MAX ? names[role] : "?";
}

const char *kvmft_event_str(int event)
{
	static const char *const names[] = {
		"exists", "create", "change", "destroy",
	};

	return event >= 0 && event < __KVMFT_EVENT_LAST ? names[event] : "?";
}
