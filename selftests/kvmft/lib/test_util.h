/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions for the test libraries, in the KVM selftests' manner:
 * `__foo()` returns an error for the caller to check, `foo()` asserts.
 * A failed TEST_ASSERT prints where and why (as TAP diagnostics) and
 * aborts, which the kselftest harness reports as "terminated by assertion".
 */
#ifndef KVMFT_TEST_UTIL_H
#define KVMFT_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSFT_EXIT_SKIP	4	/* kselftest's KSFT_SKIP */

void __test_assert(const char *file, int line, const char *cond,
		   const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			__test_assert(__FILE__, __LINE__, #cond,	\
				      fmt, ##__VA_ARGS__);		\
	} while (0)

#define TEST_FAIL(fmt, ...)	TEST_ASSERT(false, fmt, ##__VA_ARGS__)

/* For plain programs: exit with a kselftest SKIP and the reason. */
void test_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Is @cap in the calling thread's effective set? */
bool have_cap(int cap);
/* The number in a sysfs or procfs file, or -errno. */
long read_long(const char *path);
/* Remove @caps (bit mask of CAP_* numbers) from the effective set. */
int __drop_caps(uint64_t caps);

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* KVMFT_TEST_UTIL_H */
