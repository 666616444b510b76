// SPDX-License-Identifier: GPL-2.0
/*
 * Opening a VM's log through /dev/kvmft. Alone in its file so that unit
 * tests can put a pipe in its place and drive `record` and `replay`
 * without the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvmft.h>

#include "util.h"

int ft_log_open(const char *op, uint32_t vm, uint32_t flags)
{
	struct kvmft_log_open lo = { .vm_id = vm, .flags = flags };
	int ctl, fd, err;

	ctl = open("/dev/" KVMFT_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err = errno;
		if (err == ENOENT)
			ft_msg("%s: /dev/%s not found: kvmft module not loaded; run 'modprobe kvmft'",
			       op, KVMFT_DEVICE_NAME);
		else
			ft_err(op, err, NULL);
		return -FT_EXIT_ENV;
	}
	fd = ioctl(ctl, KVMFT_IOC_LOG_OPEN, &lo);
	err = errno;
	close(ctl);
	if (fd < 0) {
		/* An ioctl carries no text: give the contract's meanings. */
		char why[160] = "";

		if (err == ENOENT)
			snprintf(why, sizeof(why), "no attached VM with id %u", vm);
		else if (err == EBUSY)
			snprintf(why, sizeof(why), "vm %u already has a log open", vm);
		else if (err == EPERM)
			snprintf(why, sizeof(why), "opening a log needs CAP_SYS_ADMIN");
		else if (err == EOPNOTSUPP)
			snprintf(why, sizeof(why),
				 "vm %u is outside the determinism contract: it needs exactly one vCPU, kvm_amd, no SVM in the guest's CPUID, and a kvm_amd layout matching the module's build",
				 vm);
		ft_err(op, err, why);
		return -FT_EXIT_KERNEL;
	}
	/* The ioctl's fd may lack O_CLOEXEC; nothing we run should hold it. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}
