// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "events.h"
#include "evq.h"
#include "util.h"

#define listener ftev_listener

static int start_dump(struct listener *l)
{
	struct nl_msg *msg = ftnl_msg(l->nl, KVMFT_CMD_GET_VM, NLM_F_DUMP);
	int ret;

	if (!msg)
		return -ENOMEM;
	evq_restart(&l->q);
	ret = ftnl_send(l->nl, msg, &l->dump_seq);
	l->dumping = !ret;
	return ret;
}

static int dump_end(struct listener *l, struct nlmsghdr *nlh)
{
	int ret = ftnl_msg_error(l->nl, nlh, l->nl->ext_msg, sizeof(l->nl->ext_msg));

	l->dumping = false;
	if (ret < 0) {
		l->err = ret;
		return ret;
	}
	if (l->lost) {	/* this dump may predate the lost events */
		l->lost = false;
		return start_dump(l);
	}
	evq_dump_done(&l->q);
	return 0;
}

static int on_msg(struct nlmsghdr *nlh, void *arg)
{
	struct listener *l = arg;
	struct ftvm vm;
	int cmd;

	if (ftnl_family_gone(l->nl, nlh)) {
		l->gone = true;
		return -ESHUTDOWN;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE)
		return l->dumping && nlh->nlmsg_seq == l->dump_seq ?
		       dump_end(l, nlh) : 0;
	cmd = ftnl_cmd(l->nl, nlh);
	if (cmd < 0 || ftvm_parse(nlh, &vm))
		return 0;
	if (cmd == KVMFT_CMD_GET_VM && l->dumping &&
	    nlh->nlmsg_seq == l->dump_seq)
		return evq_add_dump(&l->q, &vm);
	if (cmd == KVMFT_CMD_VM_EVENT)
		return evq_add_event(&l->q, &vm, ft_now_ms());
	return 0;
}

/* Reads all that is queued on the socket. */
static int drain(struct listener *l, const struct ftev_ops *ops, void *arg)
{
	int ret;

	for (;;) {
		ret = ftnl_recv(l->nl, on_msg, l);
		if (ret > 0 || ret == -EINTR)
			continue;
		if (ret != -ENOBUFS)
			return ret;
		if (ops->lost)
			ops->lost(arg);
		if (l->dumping) {
			l->lost = true;
			continue;
		}
		ret = start_dump(l);
		if (ret < 0)
			return ret;
	}
}

static int deliver(struct listener *l, const struct ftev_ops *ops, void *arg,
		   int *wait_ms)
{
	struct ftvm vm;

	while (evq_next(&l->q, ft_now_ms(), &vm, wait_ms) == 1)
		if (ops->event(&vm, arg))
			return FTEV_STOP;
	return 0;
}

int ftev_listen_start(struct listener *l, struct ftnl *nl)
{
	memset(l, 0, sizeof(*l));
	l->nl = nl;
	evq_init(&l->q);
	return start_dump(l);
}

int ftev_listen_read(struct listener *l, const struct ftev_ops *ops, void *arg)
{
	int ret = drain(l, ops, arg);

	if (l->gone)
		return FTEV_GONE;
	if (l->err)
		return l->err;
	return ret < 0 ? ret : 0;
}

int ftev_listen_deliver(struct listener *l, const struct ftev_ops *ops,
			void *arg, int *wait_ms)
{
	return deliver(l, ops, arg, wait_ms);
}

void ftev_listen_free(struct listener *l)
{
	evq_free(&l->q);
}

static int run(struct listener *l, const struct ftev_ops *ops, void *arg,
	       int timeout_ms, int sfd, int *signo)
{
	uint64_t deadline = ft_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd pfd[2] = {
		{ .fd = ftnl_fd(l->nl), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	int ret, wait;
	uint64_t now;

	ret = start_dump(l);
	while (ret >= 0) {
		ret = deliver(l, ops, arg, &wait);
		if (ret)
			return ret;
		now = ft_now_ms();
		if (timeout_ms >= 0) {
			if (now >= deadline)
				return FTEV_TIMEOUT;
			if (wait < 0 || (uint64_t)wait > deadline - now)
				wait = deadline - now;
		}
		if (poll(pfd, 2, wait) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents & POLLIN &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			*signo = si.ssi_signo;
			return FTEV_SIGNAL;
		}
		if (pfd[0].revents)
			ret = drain(l, ops, arg);
	}
	if (l->gone)
		return FTEV_GONE;
	return l->err ? l->err : ret;
}

int ftev_run(struct ftnl *nl, const struct ftev_ops *ops, void *arg,
	     int timeout_ms, int *signo)
{
	struct listener l = { .nl = nl };
	sigset_t mask, old;
	int sfd, ret;

	*signo = 0;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = -errno;
		goto out;
	}
	evq_init(&l.q);
	ret = run(&l, ops, arg, timeout_ms, sfd, signo);
	evq_free(&l.q);
	close(sfd);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
