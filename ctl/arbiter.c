// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "arbiter.h"

/* Past the acquire's own timeout, the child is given this much more. */
#define GRACE_MS	1000
#define REAP_MS		100

static void finish(struct arbiter *ab, const struct arbiter_ans *a)
{
	arbiter_fn fn = ab->fn;

	if (ab->answered)
		return;
	ab->answered = true;
	timer_cancel(&ab->deadline);
	ab->fn = NULL;
	if (fn)
		fn(ab->arg, a);
}

static void fail(struct arbiter *ab, int err, const char *msg)
{
	struct arbiter_ans a = { .ret = -1, .err_no = err };

	snprintf(a.err, sizeof(a.err), "%s", msg);
	a.res.outcome = ARB_FAILED;
	finish(ab, &a);
}

static void close_pipe(struct arbiter *ab)
{
	if (ab->fd >= 0) {
		loop_del(ab->fd);
		close(ab->fd);
		ab->fd = -1;
	}
}

static void on_reap(void *arg)
{
	struct arbiter *ab = arg;

	if (ab->pid && waitpid(ab->pid, NULL, WNOHANG) == 0) {
		timer_arm_in(&ab->reap, REAP_MS);	/* still inside an I/O */
		return;
	}
	ab->pid = 0;
}

static void on_answer(void *arg, int fd, short revents)
{
	struct arbiter *ab = arg;
	ssize_t n;

	(void)revents;
	n = read(fd, (char *)&ab->ans + ab->got, sizeof(ab->ans) - ab->got);
	if (n > 0) {
		ab->got += n;
		if (ab->got < sizeof(ab->ans))
			return;
		/* It exits right after its answer: reap it, then it is over. */
		close_pipe(ab);
		waitpid(ab->pid, NULL, 0);
		ab->pid = 0;
		finish(ab, &ab->ans);
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	close_pipe(ab);
	if (!ab->answered)
		fail(ab, EIO, "the arbitration process died without an answer");
	on_reap(ab);
}

static void on_deadline(void *arg)
{
	struct arbiter *ab = arg;
	char msg[200];

	snprintf(msg, sizeof(msg), "the arbitration disk did not answer within %u ms; nobody may go live",
		 ab->timeout_ms + GRACE_MS);
	if (ab->pid)
		kill(ab->pid, SIGKILL);	/* dies once its I/O returns */
	close_pipe(ab);
	fail(ab, ETIMEDOUT, msg);
	on_reap(ab);
}

void arbiter_init(struct arbiter *ab)
{
	memset(ab, 0, sizeof(*ab));
	ab->fd = -1;
	timer_init(&ab->deadline, on_deadline, ab);
	timer_init(&ab->reap, on_reap, ab);
}

bool arbiter_busy(const struct arbiter *ab)
{
	return ab->pid != 0;
}

/*
 * Children whose owner went away: reaped here, so that the owner's
 * memory (and its timers) can go now. They are not killed: one inside a
 * write must finish it before any other arbitration of ours starts.
 */
static pid_t orphans[16];
static struct timer orphan_timer;

static void reap_orphans(void *arg)
{
	bool left = false;

	(void)arg;
	for (size_t i = 0; i < sizeof(orphans) / sizeof(orphans[0]); i++) {
		if (orphans[i] && waitpid(orphans[i], NULL, WNOHANG) != 0)
			orphans[i] = 0;
		left |= orphans[i] != 0;
	}
	if (left)
		timer_arm_in(&orphan_timer, REAP_MS);
}

void arbiter_detach(struct arbiter *ab)
{
	ab->fn = NULL;
	ab->answered = true;
	timer_cancel(&ab->deadline);
	timer_cancel(&ab->reap);
	close_pipe(ab);
	if (!ab->pid)
		return;
	for (size_t i = 0; i < sizeof(orphans) / sizeof(orphans[0]); i++)
		if (!orphans[i]) {
			orphans[i] = ab->pid;
			break;
		}
	ab->pid = 0;
	if (!orphan_timer.fn)	/* never re-init a timer that may be armed */
		timer_init(&orphan_timer, reap_orphans, NULL);
	timer_arm_in(&orphan_timer, 0);
}

/*
 * In the child: every fd but the standard ones and its pipe, which it
 * moves to 3. It may sit in a disk I/O for long, and whatever it held
 * stays open meanwhile: a primary's log reader inherited here would keep
 * the module's session busy, and a restarted ftd could not take it up
 * again (docs/ftd-restart.md, section 3).
 */
static int close_others(int pipe_fd)
{
	if (pipe_fd != 3 && dup2(pipe_fd, 3) != 3)
		return -1;
	if (close_range(4, ~0U, 0) == 0)
		return 3;
	for (int fd = 4; fd < 65536; fd++)	/* a kernel before 5.9 */
		close(fd);
	return 3;
}

/* In the child: find the area, read it, maybe acquire. */
static void child(const struct arbiter_req *req, struct arbiter_ans *a)
{
	struct arb_err e = { 0 };
	struct arb arb;
	int i;

	a->ret = -1;
	for (i = 0; i < req->ndisks; i++) {
		if (arb_open(&arb, req->disks[i], 0, req->acquire ? req->host_id : 0,
			     req->host, req->vm, &e) == 0)
			break;
		if (e.err != EINVAL || !strstr(e.msg, "serves VM"))
			break;	/* not a mismatch: the disk itself failed */
	}
	if (i == req->ndisks || arb.fd < 0) {
		a->err_no = req->ndisks ? e.err : ENOENT;
		snprintf(a->err, sizeof(a->err), "%s", req->ndisks ? e.msg :
			 "no arb_disk in the configuration: nobody may go live");
		if (i == req->ndisks && req->ndisks)
			snprintf(a->err, sizeof(a->err), "no arbitration area for VM '%s' on the configured arb_disk(s) (last: %.300s)",
				 req->vm, e.msg);
		return;
	}
	snprintf(a->path, sizeof(a->path), "%s", req->disks[i]);
	a->area = arb.created_ms;
	if (arb_read(&arb, &a->view, &e) == 0 &&
	    (!req->acquire || arb_acquire(&arb, req->base, req->timeout_ms, &a->res, &e) == 0))
		a->ret = 0;
	else if (req->acquire)
		a->res.outcome = ARB_FAILED;
	a->err_no = e.err;
	snprintf(a->err, sizeof(a->err), "%s", a->ret ? e.msg : "");
	arb_close(&arb);
}

int arbiter_start(struct arbiter *ab, const struct arbiter_req *req,
		  arbiter_fn fn, void *arg, struct arbiter_ans *a)
{
	int p[2];
	pid_t pid;

	reap_orphans(NULL);
	for (size_t i = 0; i < sizeof(orphans) / sizeof(orphans[0]); i++)
		if (orphans[i] && !ab->pid)
			ab->pid = -orphans[i];	/* only to say which */
	if (ab->pid) {
		snprintf(a->err, sizeof(a->err), "an earlier arbitration is still stuck in a disk I/O (pid %d): nobody may go live until it returns",
			 ab->pid < 0 ? -(int)ab->pid : (int)ab->pid);
		if (ab->pid < 0)
			ab->pid = 0;
		return -1;
	}
	if (pipe2(p, O_CLOEXEC))
		return snprintf(a->err, sizeof(a->err), "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]), close(p[1]);
		return snprintf(a->err, sizeof(a->err), "fork: %s", strerror(errno)), -1;
	}
	if (pid == 0) {
		struct arbiter_ans ans = { 0 };
		int out = close_others(p[1]);

		if (out < 0)
			_exit(1);
		child(req, &ans);
		_exit(write(out, &ans, sizeof(ans)) != sizeof(ans));
	}
	close(p[1]);
	ab->pid = pid;
	ab->fd = p[0];
	ab->got = 0;
	ab->answered = false;
	ab->fn = fn;
	ab->arg = arg;
	ab->timeout_ms = req->timeout_ms;
	loop_add(ab->fd, POLLIN, on_answer, ab);
	timer_arm_in(&ab->deadline, req->timeout_ms + GRACE_MS);
	return 0;
}
