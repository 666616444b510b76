// SPDX-License-Identifier: GPL-2.0
/*
 * Opening a VM's log through /dev/kvmft. Alone in its file so that unit
 * tests can put a pipe in its place and drive `record` and `replay`
 * without the module; what it says on failure is ft_log_open_failed()'s,
 * in util.c, so the tests see that too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvmft.h>

#include "util.h"

static int fail(struct ft_log_err *e, int code, int err)
{
	e->exit = code;
	e->err = err;
	return -1;
}

int ft_log_open(uint32_t vm, uint32_t flags, uint64_t *session,
		struct ft_log_err *e)
{
	uint64_t acked, recorded;

	return ft_log_open_at(vm, flags, session, &acked, &recorded, e);
}

int ft_log_open_at(uint32_t vm, uint32_t flags, uint64_t *session,
		   uint64_t *acked, uint64_t *recorded, struct ft_log_err *e)
{
	/* acked and recorded go in 0: an older module wants its unknown tail so. */
	struct kvmft_log_open lo = {
		.size = sizeof(lo),
		.vm_id = vm,
		.flags = flags,
		.session = flags & (KVMFT_LOG_WRITE | KVMFT_LOG_RESUME) ? *session : 0,
	};
	int ctl, fd, err;

	memset(e, 0, sizeof(*e));
	e->vm = vm;
	ctl = open("/dev/" KVMFT_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return fail(e, FT_EXIT_ENV, errno);
	fd = ioctl(ctl, KVMFT_IOC_LOG_OPEN, &lo);
	err = errno;
	close(ctl);
	if (fd < 0) {
		/* Like an extended ack: the module's words, if it gave any. */
		memcpy(e->reason, lo.reason, sizeof(e->reason));
		e->reason[sizeof(e->reason) - 1] = '\0';
		return fail(e, FT_EXIT_KERNEL, err);
	}
	/* The ioctl's fd may lack O_CLOEXEC; nothing we run should hold it. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (flags & KVMFT_LOG_READ)
		*session = lo.session;
	*acked = lo.acked;
	*recorded = lo.recorded;
	return fd;
}
