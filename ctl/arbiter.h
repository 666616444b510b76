/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Arbitration for ftd, in a child process: disk I/O can hang for as long
 * as the disk does, and ftd's loop must go on beating. The child finds
 * the VM's area among the configured disks, reads it, and (for an
 * acquire) runs the test-and-set; ftd gets the answer through a pipe, or
 * gives up at the timeout. It never starts another arbitration while a
 * child is still alive (stuck inside an I/O): a late write of ours would
 * overwrite a newer state of our own slot.
 */
#ifndef FT_ARBITER_H
#define FT_ARBITER_H

#include <stdbool.h>
#include <sys/types.h>

#include "arb.h"
#include "loop.h"

struct arbiter_req {
	bool acquire;			/* else only find the area and read it */
	char disks[8][256];		/* where to look, in order */
	int ndisks;
	uint32_t host_id;
	char host[ARB_NAME_LEN];
	char vm[ARB_NAME_LEN];
	uint64_t base;			/* acquire base + 1 */
	uint32_t timeout_ms;
};

struct arbiter_ans {
	int ret;			/* 0, or -1 with err */
	int err_no;
	char err[512];
	char path[256];			/* the disk holding the VM's area */
	uint64_t area;			/* its creation stamp */
	struct arb_view view;		/* before the acquire */
	struct arb_result res;		/* the acquire's */
};

typedef void (*arbiter_fn)(void *arg, const struct arbiter_ans *a);

struct arbiter {
	pid_t pid;			/* 0: no child */
	int fd;				/* answer pipe, -1 */
	bool answered;
	struct arbiter_ans ans;
	size_t got;
	struct timer deadline, reap;
	arbiter_fn fn;
	void *arg;
	uint32_t timeout_ms;
};

void arbiter_init(struct arbiter *ab);
/* -1 with a->err if it cannot start (a child is still alive, fork). */
int arbiter_start(struct arbiter *ab, const struct arbiter_req *req,
		  arbiter_fn fn, void *arg, struct arbiter_ans *a);
bool arbiter_busy(const struct arbiter *ab);
/*
 * Forgets the callback (its owner goes away); a child still running is
 * reaped by the module, and ab may be freed at once.
 */
void arbiter_detach(struct arbiter *ab);

#endif
