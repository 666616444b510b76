// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "test_util.h"

void __test_assert(const char *file, int line, const char *cond,
		   const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# ==== Test Assertion Failure ====\n");
	fprintf(stderr, "#   %s:%d: %s\n", file, line, cond);
	fprintf(stderr, "#   pid=%d errno=%d (%s)\n#   ", getpid(), err,
		strerror(err));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(KSFT_EXIT_SKIP);
}

static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

bool have_cap(int cap)
{
	struct __user_cap_data_struct d[2];

	if (caps_get(d))
		return false;
	return d[cap / 32].effective & (1U << (cap % 32));
}

int __drop_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	int i, r;

	r = caps_get(d);
	if (r)
		return r;
	for (i = 0; i < 2; i++)
		d[i].effective &= ~(uint32_t)(caps >> (32 * i));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -EIO;
}
