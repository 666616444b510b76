// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "util.h"

struct slot {
	int fd;			/* -1: free */
	short events;
	loop_fd_fn fn;
	void *arg;
};

static struct {
	struct slot *s;
	struct pollfd *p;
	size_t n, cap;
	struct timer *timers;
	bool stop;
	int code;
} L;

static struct slot *find(int fd)
{
	for (size_t i = 0; i < L.n; i++)
		if (L.s[i].fd == fd)
			return &L.s[i];
	return NULL;
}

int loop_add(int fd, short events, loop_fd_fn fn, void *arg)
{
	struct slot *s = find(-1);

	if (!s) {
		if (L.n == L.cap) {
			size_t cap = L.cap ? 2 * L.cap : 16;
			struct slot *ns = realloc(L.s, cap * sizeof(*ns));
			struct pollfd *np;

			if (!ns)
				return -ENOMEM;
			L.s = ns;
			np = realloc(L.p, cap * sizeof(*np));
			if (!np)
				return -ENOMEM;
			L.p = np;
			L.cap = cap;
		}
		s = &L.s[L.n++];
	}
	*s = (struct slot){ fd, events, fn, arg };
	return 0;
}

void loop_set_events(int fd, short events)
{
	struct slot *s = find(fd);

	if (s)
		s->events = events;
}

void loop_del(int fd)
{
	struct slot *s = fd >= 0 ? find(fd) : NULL;

	if (s)
		s->fd = -1;
}

void timer_init(struct timer *t, loop_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
}

void timer_cancel(struct timer *t)
{
	for (struct timer **pp = &L.timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->armed = false;
	t->next = NULL;
}

void timer_arm(struct timer *t, uint64_t due_ms)
{
	timer_cancel(t);
	t->due_ms = due_ms;
	t->armed = true;
	t->next = L.timers;
	L.timers = t;
}

void timer_arm_in(struct timer *t, uint64_t ms)
{
	timer_arm(t, ft_now_ms() + ms);
}

void loop_stop(int code)
{
	L.stop = true;
	L.code = code;
}

/* Runs the timers that are due; returns ms until the next, or -1. */
static int run_timers(void)
{
	uint64_t now = ft_now_ms(), next = UINT64_MAX;
	struct timer *t;

	for (t = L.timers; t; t = t->next) {
		if (t->due_ms <= now) {
			timer_cancel(t);
			t->fn(t->arg);
			return 0;	/* the list may have changed: look again */
		}
		if (t->due_ms < next)
			next = t->due_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static void dispatch(size_t n)
{
	for (size_t i = 0; i < n && !L.stop; i++) {
		struct slot *s;

		if (!L.p[i].revents)
			continue;
		/* The slot may have been freed or reused by a callback. */
		s = find(L.p[i].fd);
		if (s)
			s->fn(s->arg, s->fd, L.p[i].revents);
	}
}

int loop_run(void)
{
	size_t n;
	int wait;

	while (!L.stop) {
		while ((wait = run_timers()) == 0 && !L.stop)
			;
		if (L.stop)
			break;
		n = 0;
		for (size_t i = 0; i < L.n; i++)
			if (L.s[i].fd >= 0)
				L.p[n++] = (struct pollfd){ L.s[i].fd, L.s[i].events, 0 };
		if (poll(L.p, n, wait) < 0 && errno != EINTR)
			return -errno;
		dispatch(n);
	}
	return L.code;
}
