/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness plus the SKIP checks the kvmft tests share. Use the
 * REQUIRE_* macros at the top of a TEST body: what is missing becomes a TAP
 * SKIP with the reason, never a silent pass. (In the 6.1 harness a SKIP in
 * FIXTURE_SETUP still runs the test body, so keep them in the body.)
 */
#ifndef KVMFT_HARNESS_H
#define KVMFT_HARNESS_H

#include "kselftest_harness.h"

/* Nested KVM under TCG in the lab is slow: 30 s is not enough to be sure. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180
#include "nl.h"
#include "vmm.h"

#define REQUIRE_KVM()							\
	do {								\
		char __why[256];					\
		if (kvm_probe(__why, sizeof(__why)))			\
			SKIP(return, "%s", __why);			\
	} while (0)

#define REQUIRE_KVMFT()							\
	do {								\
		char __why[256];					\
		if (kvmft_probe(__why, sizeof(__why)))			\
			SKIP(return, "%s", __why);			\
	} while (0)

#define REQUIRE_CAP(cap)						\
	do {								\
		if (!have_cap(cap))					\
			SKIP(return, "needs " #cap);			\
	} while (0)

/* kvmft loaded and the caller may attach VMs and open logs. */
#define REQUIRE_KVMFT_ADMIN()						\
	do {								\
		REQUIRE_KVM();						\
		REQUIRE_KVMFT();					\
		REQUIRE_CAP(CAP_NET_ADMIN);				\
		REQUIRE_CAP(CAP_SYS_ADMIN);				\
	} while (0)

#endif /* KVMFT_HARNESS_H */
