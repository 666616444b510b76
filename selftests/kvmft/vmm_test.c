// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_test: the test VMM library itself (lib/vmm.c), with nothing but
 * /dev/kvm. Each test runs one scenario of guest/vmm_test_guest.c.
 */
#include <string.h>

#include "harness.h"
#include "vmm_test.h"

GUEST_IMAGE_DECLARE(vmm_test);

/* What the IN handler supplied, in order, to compare with the guest's view. */
struct in_log {
	uint8_t bytes[16384];
	size_t len;
	uint32_t exits;
	uint8_t next;
};

static void in_handler(struct kvm_vcpu *vcpu, uint16_t port, uint8_t size,
		       uint32_t count, void *data, void *opaque)
{
	struct in_log *l = opaque;
	size_t n = (size_t)size * count, i;
	uint8_t *p = data;

	(void)vcpu;
	(void)port;
	TEST_ASSERT(l->len + n <= sizeof(l->bytes), "IN data overflow");
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(l->next++ * 37 + 11);
	memcpy(l->bytes + l->len, p, n);
	l->len += n;
	l->exits++;
}

static struct kvm_vm *vt_create(struct kvm_vcpu **vcpu, uint64_t test,
				uint64_t a1, uint64_t a2)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, GUEST_IMAGE(vmm_test));

	vcpu_set_args(*vcpu, test, a1, a2);
	return vm;
}

static void expect_done(struct __test_metadata *_metadata,
			struct kvm_vcpu *vcpu, struct ucall *uc)
{
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, uc));
}

/* The guest's OUTs reach the VMM with port, width and value. */
TEST(out_value)
{
	static const struct { uint16_t port; uint8_t size; uint32_t val; } want[] = {
		{ VT_PORT, 1, 0x5a }, { VT_PORT + 2, 2, 0x1234 },
		{ VT_PORT + 4, 4, 0xdeadbeef },
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	unsigned int i;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_OUT, 0, 0);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		uint32_t val = 0;

		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_IO, vcpu->run->exit_reason)
			TH_LOG("%s", vcpu_exit_str(vcpu));
		ASSERT_EQ(KVM_EXIT_IO_OUT, vcpu->run->io.direction);
		ASSERT_EQ(want[i].port, vcpu->run->io.port);
		ASSERT_EQ(want[i].size, vcpu->run->io.size);
		ASSERT_EQ(1, vcpu->run->io.count);
		memcpy(&val, vcpu_io_data(vcpu), want[i].size);
		ASSERT_EQ(want[i].val, val);
	}
	expect_done(_metadata, vcpu, &uc);
	vm_free(vm);
}

/* IN data supplied by the VMM reaches the guest: byte, word, dword. */
TEST(in_value)
{
	struct in_log l = { .next = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t w = 0, d = 0;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_IN, 0, 0);
	vcpu_set_pio_in(vcpu, in_handler, &l);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(3, uc.nargs);
	ASSERT_EQ(3, l.exits);
	ASSERT_EQ(7, l.len);
	memcpy(&w, l.bytes + 1, 2);
	memcpy(&d, l.bytes + 3, 4);
	EXPECT_EQ(l.bytes[0], uc.args[0]);
	EXPECT_EQ(w, uc.args[1]);
	EXPECT_EQ(d, uc.args[2]);
	expect_done(_metadata, vcpu, &uc);
	vm_free(vm);
}

/* rep INS{B,W,L} across page boundaries, larger than one exit's data. */
TEST(ins_string)
{
	struct in_log l = { .next = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	size_t off = 0;
	int i;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_INS, 0, 0);
	vcpu_set_pio_in(vcpu, in_handler, &l);
	for (i = 0; i < 3; i++) {
		size_t n;

		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		n = uc.args[1] * uc.args[2];
		ASSERT_EQ(off + n, l.len);
		ASSERT_EQ(0, memcmp(addr_gpa2hva(vm, uc.args[0], n),
				    l.bytes + off, n))
			TH_LOG("INS of %llu x %llu bytes differs",
			       (unsigned long long)uc.args[2],
			       (unsigned long long)uc.args[1]);
		off += n;
	}
	/* 4400 bytes of INSL cannot be one exit: the handler ran again. */
	EXPECT_LT(3, l.exits);
	expect_done(_metadata, vcpu, &uc);
	vm_free(vm);
}

/* RDTSC (and RDTSCP, with TSC_AUX from the VMM) increase in the guest. */
TEST(rdtsc_monotonic)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t a2 = 0;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_RDTSC, 1000, 0);
	if (kvm_has_rdtscp()) {
		vcpu_set_msr(vcpu, MSR_TSC_AUX, 0x5eed);
		a2 = VT_RDTSCP | 0x5eed;
	} else {
		TH_LOG("KVM does not offer RDTSCP: RDTSC only");
	}
	vcpu_set_args(vcpu, VT_RDTSC, 1000, a2);
	expect_done(_metadata, vcpu, &uc);
	ASSERT_EQ(2, uc.nargs);
	EXPECT_LT(uc.args[0], uc.args[1]);
	vm_free(vm);
}

/*
 * An unattached VM does not exit on RDTSC: kvmft's replay test relies on
 * this baseline when it checks that attaching turns interception on.
 */
TEST(rdtsc_no_exits)
{
	const uint64_t n = 100000;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t before, after;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_RDTSC, n, 0);
	before = vcpu_stat_get(vcpu, "exits");
	expect_done(_metadata, vcpu, &uc);
	after = vcpu_stat_get(vcpu, "exits");
	TH_LOG("%llu RDTSC, %llu exits", (unsigned long long)n,
	       (unsigned long long)(after - before));
	EXPECT_LT(after - before, n / 10);
	vm_free(vm);
}

/* HLT exits to the VMM (no in-kernel irqchip) and resumes after it. */
TEST(hlt_exit)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_HLT, 0, 0);
	vcpu_run(vcpu);
	ASSERT_EQ(KVM_EXIT_HLT, vcpu->run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(vcpu));
	expect_done(_metadata, vcpu, &uc);
	ASSERT_EQ(1, uc.nargs);
	EXPECT_EQ(VT_HLT_DONE, uc.args[0]);
	vm_free(vm);
}

/* The "exits" statistic is readable and counts every OUT. */
TEST(exits_stat)
{
	const uint64_t n = 500;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t before, after, i, val;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_OUT_LOOP, n, 0);
	ASSERT_EQ(-ENOENT, __vcpu_stat_get(vcpu, "no_such_stat", &val));
	before = vcpu_stat_get(vcpu, "exits");
	for (i = 0; i < n; i++) {
		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_IO, vcpu->run->exit_reason);
		ASSERT_EQ(VT_PORT, vcpu->run->io.port);
		ASSERT_EQ((uint8_t)i, *(uint8_t *)vcpu_io_data(vcpu));
	}
	after = vcpu_stat_get(vcpu, "exits");
	EXPECT_LE(before + n, after);
	expect_done(_metadata, vcpu, &uc);
	vm_free(vm);
}

/* A failed GUEST_ASSERT_EQ reaches the VMM with both values. */
TEST(guest_assert)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_ASSERT, 41, 42);
	ASSERT_EQ(UCALL_ABORT, __vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.nargs);
	EXPECT_EQ(41, uc.args[0]);
	EXPECT_EQ(42, uc.args[1]);
	EXPECT_NE(NULL, strstr(uc.msg, "a1 == a2")) TH_LOG("%s", uc.msg);
	vm_free(vm);
}

/* A guest exception is reported with its vector, not a triple fault. */
TEST(guest_exception)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	REQUIRE_KVM();
	vm = vt_create(&vcpu, VT_UD2, 0, 0);
	ASSERT_EQ(UCALL_EXCEPTION, __vcpu_run_ucall(vcpu, &uc))
		TH_LOG("%s", vcpu_exit_str(vcpu));
	EXPECT_EQ(6, uc.args[0]) TH_LOG("%s", ucall_str(&uc));
	EXPECT_LE(GUEST_LOAD_GPA, uc.args[2]);
	vm_free(vm);
}

TEST_HARNESS_MAIN
