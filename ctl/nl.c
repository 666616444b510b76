// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <linux/kvmft.h>

#include "nl.h"

/* Larger than any skb the kernel builds for a dump or a notification. */
#define FTNL_BUFSZ	(64 * 1024)
#define FTNL_RCVBUF	(1024 * 1024)

static int nlerr_to_errno(int nlerr)
{
	switch (abs(nlerr)) {
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_BUSY:
		return EBUSY;
	case NLE_INTR:
		return EINTR;
	case NLE_PROTO_MISMATCH:
		return EPROTONOSUPPORT;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	}
	return EIO;
}

static int lib_fail(struct ftnl *nl, const char *what, int nlerr)
{
	snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s: %s", what,
		 nl_geterror(nlerr));
	return -nlerr_to_errno(nlerr);
}

int ftnl_open(struct ftnl *nl)
{
	return ftnl_open_family(nl, KVMFT_GENL_NAME);
}

int ftnl_open_family(struct ftnl *nl, const char *name)
{
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->events_grp = -1;
	nl->ctrl_grp = -1;
	nl->buf = malloc(FTNL_BUFSZ);
	nl->sk = nl_socket_alloc();
	if (!nl->buf || !nl->sk) {
		ftnl_close(nl);
		return -ENOMEM;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = lib_fail(nl, "cannot open a generic netlink socket", ret);
		ftnl_close(nl);
		return ret;
	}
	/* Both are hints: old kernels reject them and send no text. */
	setsockopt(ftnl_fd(nl), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	setsockopt(ftnl_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	ret = genl_ctrl_resolve(nl->sk, name);
	if (ret < 0) {
		char what[64];

		snprintf(what, sizeof(what), "cannot resolve genl family '%s'",
			 name);
		ret = lib_fail(nl, what, ret);
		ftnl_close(nl);
		return ret;
	}
	nl->family = ret;
	nl->kvmft = !strcmp(name, KVMFT_GENL_NAME);
	return 0;
}

void ftnl_close(struct ftnl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl->buf);
	nl->sk = NULL;
	nl->buf = NULL;
}

int ftnl_fd(const struct ftnl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

int ftnl_join_events(struct ftnl *nl)
{
	int ret;

	ret = genl_ctrl_resolve_grp(nl->sk, KVMFT_GENL_NAME,
				    KVMFT_MCGRP_EVENTS);
	if (ret < 0) {
		if (abs(ret) == NLE_OBJ_NOTFOUND) {
			snprintf(nl->ext_msg, sizeof(nl->ext_msg),
				 "genl family '%s' has no multicast group '%s'",
				 KVMFT_GENL_NAME, KVMFT_MCGRP_EVENTS);
			return -ENOENT;
		}
		return lib_fail(nl, "cannot resolve the events group", ret);
	}
	nl->events_grp = ret;
	ret = nl_socket_add_membership(nl->sk, nl->events_grp);
	if (ret < 0)
		return lib_fail(nl, "cannot join the events group", ret);

	/* Optional: lets a listener notice the module going away. */
	ret = genl_ctrl_resolve_grp(nl->sk, "nlctrl", "notify");
	if (ret >= 0 && nl_socket_add_membership(nl->sk, ret) == 0)
		nl->ctrl_grp = ret;

	nl_socket_disable_seq_check(nl->sk);
	nl_socket_set_buffer_size(nl->sk, FTNL_RCVBUF, 0);
	ret = nl_socket_set_nonblocking(nl->sk);
	if (ret < 0)
		return lib_fail(nl, "cannot make the socket non-blocking", ret);
	return 0;
}

struct nl_msg *ftnl_msg(struct ftnl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, KVMFT_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int ftnl_send(struct ftnl *nl, struct nl_msg *msg, uint32_t *seq)
{
	int ret;

	nl->ext_msg[0] = '\0';
	ret = nl_send_auto(nl->sk, msg);
	if (seq)
		*seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (ret < 0)
		return lib_fail(nl, "send", ret);
	return 0;
}

static const char *kvmft_attr_name(unsigned int type)
{
	static const char *const names[] = {
		[KVMFT_A_VM_FD] = "KVMFT_A_VM_FD",
		[KVMFT_A_VM_ID] = "KVMFT_A_VM_ID",
		[KVMFT_A_PID] = "KVMFT_A_PID",
		[KVMFT_A_ROLE] = "KVMFT_A_ROLE",
		[KVMFT_A_EVENT] = "KVMFT_A_EVENT",
		[KVMFT_A_SEQ] = "KVMFT_A_SEQ",
		[KVMFT_A_VCPUS] = "KVMFT_A_VCPUS",
		[KVMFT_A_STATS] = "KVMFT_A_STATS",
		[KVMFT_A_LIVE_OBJECTS] = "KVMFT_A_LIVE_OBJECTS",
		[KVMFT_A_VERSION] = "KVMFT_A_VERSION",
		[KVMFT_A_SVM_VMCB_OFF] = "KVMFT_A_SVM_VMCB_OFF",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

/*
 * The text of an extended ack: its message, or, for a required attribute
 * that was missing (GENL_REQ_ATTR_CHECK sends no text), a sentence naming
 * it. kvmft says whether the request went to the kvmft family.
 */
static void ext_ack_text(const void *attrs, int len, bool kvmft, char *msg,
			 size_t mlen)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const char *s, *name;
	uint32_t type;
	int n;

	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)attrs,
				  len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG]) {
		s = nla_data(tb[NLMSGERR_ATTR_MSG]);
		n = strnlen(s, nla_len(tb[NLMSGERR_ATTR_MSG]));
		snprintf(msg, mlen, "%.*s", n, s);
	} else if (tb[NLMSGERR_ATTR_MISS_TYPE] &&
		   nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) == sizeof(type)) {
		type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
		name = kvmft && !tb[NLMSGERR_ATTR_MISS_NEST] ?
		       kvmft_attr_name(type) : NULL;
		if (name)
			snprintf(msg, mlen, "missing required attribute %s",
				 name);
		else
			snprintf(msg, mlen, "missing required attribute %u%s",
				 type, tb[NLMSGERR_ATTR_MISS_NEST] ?
				 " in a nest" : "");
	}
}

int ftnl_msg_error(const struct ftnl *nl, const struct nlmsghdr *nlh,
		   char *msg, size_t len)
{
	const unsigned char *p = NLMSG_DATA(nlh);
	int plen = nlh->nlmsg_len - NLMSG_HDRLEN;
	const struct nlmsgerr *e;
	bool kvmft = false;
	int err, off;

	if (len)
		msg[0] = '\0';
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (plen < (int)sizeof(int))
			return 0;
		memcpy(&err, p, sizeof(err));
		off = NLMSG_ALIGN(sizeof(int));
		kvmft = nl && nl->kvmft;	/* only kvmft dumps go there */
	} else {
		if (plen < (int)sizeof(*e))
			return -EPROTO;
		e = (const struct nlmsgerr *)p;
		err = e->error;
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		off = NLMSG_ALIGN(off);
		kvmft = nl && nl->kvmft && e->msg.nlmsg_type == nl->family;
	}
	if (err && (nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < plen)
		ext_ack_text(p + off, plen - off, kvmft, msg, len);
	return err > 0 ? -err : err;
}

int ftnl_recv(struct ftnl *nl, ftnl_cb cb, void *arg)
{
	struct sockaddr_nl sa;
	struct iovec iov = { nl->buf, FTNL_BUFSZ };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret;

	n = recvmsg(ftnl_fd(nl), &mh, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (sa.nl_pid != 0)	/* only the kernel speaks to us */
		return 1;
	for (nlh = (struct nlmsghdr *)nl->buf; NLMSG_OK(nlh, n);
	     nlh = NLMSG_NEXT(nlh, n)) {
		ret = cb(nlh, arg);
		if (ret < 0)
			return ret;
	}
	return 1;
}

struct request {
	struct ftnl *nl;
	uint32_t seq;
	ftnl_cb cb;
	void *arg;
	bool done;
	int err;
};

static int request_cb(struct nlmsghdr *nlh, void *arg)
{
	struct request *r = arg;
	int ret;

	if (nlh->nlmsg_seq != r->seq || r->done)
		return 0;	/* a notification, or an old reply */
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
	case NLMSG_DONE:
		ret = ftnl_msg_error(r->nl, nlh, r->nl->ext_msg,
				     sizeof(r->nl->ext_msg));
		if (!r->err)
			r->err = ret;
		r->done = true;
		return 0;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return 0;
	}
	/* A failing callback still drains the rest of the reply. */
	if (r->cb && !r->err) {
		ret = r->cb(nlh, r->arg);
		if (ret < 0)
			r->err = ret;
	}
	return 0;
}

int ftnl_request(struct ftnl *nl, struct nl_msg *msg, ftnl_cb cb, void *arg)
{
	struct request r = { .nl = nl, .cb = cb, .arg = arg };
	struct pollfd pfd = { .fd = ftnl_fd(nl), .events = POLLIN };
	int ret;

	ret = ftnl_send(nl, msg, &r.seq);
	if (ret < 0)
		return ret;
	while (!r.done) {
		ret = ftnl_recv(nl, request_cb, &r);
		if (ret == 0)
			ret = poll(&pfd, 1, -1) < 0 ? -errno : 1;
		if (ret == -EINTR || ret == -ENOBUFS)
			continue;	/* lost notifications are not ours */
		if (ret < 0) {
			snprintf(nl->ext_msg, sizeof(nl->ext_msg),
				 "receiving the reply: %s", strerror(-ret));
			return ret;
		}
	}
	return r.err;
}

int ftnl_cmd(const struct ftnl *nl, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != nl->family ||
	    nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
		return -1;
	return g->cmd;
}

bool ftnl_family_gone(const struct ftnl *nl, struct nlmsghdr *nlh)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct genlmsghdr *g = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != GENL_ID_CTRL ||
	    nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN) ||
	    g->cmd != CTRL_CMD_DELFAMILY)
		return false;
	if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) < 0)
		return false;
	if (tb[CTRL_ATTR_FAMILY_ID])
		return nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == nl->family;
	return tb[CTRL_ATTR_FAMILY_NAME] &&
	       !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]),
		       KVMFT_GENL_NAME);
}
