/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftd's event loop: poll() over registered fds and a list of timers, all
 * in one thread. Callbacks may add and remove fds and timers, their own
 * included.
 */
#ifndef FT_LOOP_H
#define FT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*loop_fd_fn)(void *arg, int fd, short revents);
typedef void (*loop_timer_fn)(void *arg);

struct timer {
	uint64_t due_ms;	/* CLOCK_MONOTONIC */
	loop_timer_fn fn;
	void *arg;
	bool armed;
	struct timer *next;	/* in the loop's list while armed */
};

/* 0, or -ENOMEM. events: POLLIN, POLLOUT. */
int loop_add(int fd, short events, loop_fd_fn fn, void *arg);
void loop_set_events(int fd, short events);
/* Forgets fd (does not close it). */
void loop_del(int fd);

/* Once per timer, before it is first armed: never while it is armed. */
void timer_init(struct timer *t, loop_timer_fn fn, void *arg);
void timer_arm(struct timer *t, uint64_t due_ms);
void timer_arm_in(struct timer *t, uint64_t ms);
void timer_cancel(struct timer *t);

/* Runs until loop_stop(); returns its code. */
int loop_run(void);
void loop_stop(int code);

#endif
