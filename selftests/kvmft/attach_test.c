// SPDX-License-Identifier: GPL-2.0
/*
 * attach_test: attaching kvmft to a VM over generic netlink, what GET_VM
 * and the "events" group say about it, and detaching (explicitly, or by
 * closing the VM). Needs kvmft.ko; SKIPs without it.
 *
 *   test process --(genl: ATTACH vm fd)--> kvmft.ko --(kvm_get_kvm)--> VM
 *        \--(events group: CREATE / CHANGE / DESTROY)--<--/
 */
#include <linux/capability.h>
#include <string.h>
#include <unistd.h>

#include "csum.h"
#include "harness.h"

#define EVENT_TIMEOUT_MS	60000	/* the lab is slow and its speed varies */

/* A VM with one vCPU and no guest: enough to attach to. */
static struct kvm_vm *new_vm(void)
{
	struct kvm_vm *vm = vm_create(GUEST_MEM_DEFAULT);

	vm_vcpu_add(vm);
	return vm;
}

/* Only for the longer timeouts of TEST_F_TIMEOUT. */
FIXTURE(attach) {};
FIXTURE_SETUP(attach) {}
FIXTURE_TEARDOWN(attach) {}

static void expect_vm(struct __test_metadata *_metadata,
		      const struct kvmft_vm_info *vm, uint32_t id,
		      uint8_t event, uint8_t role)
{
	EXPECT_EQ(id, vm->id);
	EXPECT_EQ(event, vm->event) TH_LOG("event %s", kvmft_event_str(vm->event));
	EXPECT_EQ(role, vm->role) TH_LOG("role %s", kvmft_role_str(vm->role));
	EXPECT_EQ((uint32_t)getpid(), vm->pid);
	EXPECT_EQ(1U, vm->vcpus);
	EXPECT_TRUE(vm->present & (1U << KVMFT_A_SEQ));
	EXPECT_TRUE(vm->present & (1U << KVMFT_A_STATS));
}

/* GET_INFO answers with the protocol version this header describes. */
TEST_F(attach, info)
{
	struct kvmft_nl nl;
	uint32_t version = 0;
	uint64_t live = 0;

	REQUIRE_KVMFT();
	kvmft_nl_open(&nl);
	ASSERT_EQ(0, __kvmft_get_info(&nl, &live, &version))
		TH_LOG("GET_INFO: %s", nl.errmsg);
	EXPECT_EQ(KVMFT_GENL_VERSION, version);
	TH_LOG("module version %u, %llu live objects", version,
	       (unsigned long long)live);
	kvmft_nl_close(&nl);
}

/* An attached VM appears in the dump and in GET_VM: role none, 1 vCPU. */
TEST_F(attach, dump)
{
	struct kvmft_vm_info vm, one;
	struct kvm_vm *kvm;
	struct kvmft_nl nl;
	uint32_t id;
	int n0;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	n0 = kvmft_vm_count(&nl);
	kvm = new_vm();
	id = kvmft_attach(&nl, kvm->fd, getpid());
	ASSERT_EQ(n0 + 1, kvmft_vm_count(&nl));
	ASSERT_TRUE(kvmft_find_vm(&nl, id, &vm)) TH_LOG("VM %u not in dump", id);
	expect_vm(_metadata, &vm, id, KVMFT_EVENT_EXISTS, KVMFT_ROLE_NONE);
	kvmft_get_vm(&nl, id, &one);
	expect_vm(_metadata, &one, id, KVMFT_EVENT_EXISTS, KVMFT_ROLE_NONE);
	EXPECT_LE(vm.seq, one.seq);
	kvmft_detach(&nl, id);
	EXPECT_EQ(n0, kvmft_vm_count(&nl));
	vm_free(kvm);
	kvmft_nl_close(&nl);
}

/* Subscribe, attach: CREATE; close every fd of the VM: DESTROY. */
TEST_F_TIMEOUT(attach, destroy_on_close, 180)
{
	struct kvmft_vm_info created, destroyed, vm;
	struct kvmft_nl nl, ev;
	struct kvm_vm *kvm;
	uint32_t id;
	int r;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	kvm = new_vm();
	id = kvmft_attach(&nl, kvm->fd, getpid());
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_CREATE, -1,
			      EVENT_TIMEOUT_MS, &created);
	ASSERT_EQ(0, r) TH_LOG("no CREATE event for VM %u: %s", id, strerror(-r));
	expect_vm(_metadata, &created, id, KVMFT_EVENT_CREATE, KVMFT_ROLE_NONE);

	/* VM fd, vCPU fd and its mapping, stats fd, /dev/kvm: all gone. */
	vm_free(kvm);
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_DESTROY, -1,
			      EVENT_TIMEOUT_MS, &destroyed);
	ASSERT_EQ(0, r)
		TH_LOG("no DESTROY event for VM %u within %d ms of closing it: %s",
		       id, EVENT_TIMEOUT_MS, strerror(-r));
	EXPECT_EQ(id, destroyed.id);
	EXPECT_LT(created.seq, destroyed.seq);
	EXPECT_FALSE(kvmft_find_vm(&nl, id, &vm));
	EXPECT_EQ(-ENOENT, __kvmft_get_vm(&nl, id, &vm));
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

/*
 * DETACH works once (DESTROY event), then gives ENOENT; the VM runs on
 * normally afterwards.
 */
TEST_F_TIMEOUT(attach, detach_twice, 180)
{
	struct kvmft_nl nl, ev;
	struct kvmft_vm_info vm;
	struct csum_vm cv;
	uint32_t id;
	int n0, r;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	n0 = kvmft_vm_count(&nl);
	csum_vm_create(&cv, 1);
	id = kvmft_attach(&nl, cv.vm->fd, getpid());
	ASSERT_EQ(0, __kvmft_detach(&nl, id)) TH_LOG("DETACH: %s", nl.errmsg);
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_DESTROY, -1,
			      EVENT_TIMEOUT_MS, &vm);
	EXPECT_EQ(0, r) TH_LOG("no DESTROY event after DETACH: %s", strerror(-r));
	EXPECT_EQ(n0, kvmft_vm_count(&nl));

	ASSERT_EQ(-ENOENT, __kvmft_detach(&nl, id));
	EXPECT_NE(0, nl.errmsg[0]) TH_LOG("second DETACH: no extended-ack message");
	TH_LOG("second DETACH: ENOENT \"%s\"", nl.errmsg);

	csum_vm_run(&cv, 100, CSUM_DEFAULT_PORT, 0);
	csum_vm_destroy(&cv);
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

/* The same VM, through the same fd or another one, attaches only once. */
TEST_F(attach, reattach_eexist)
{
	struct kvm_vm *kvm;
	struct kvmft_nl nl;
	uint32_t id, id2 = 0;
	int n0, fd2;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	n0 = kvmft_vm_count(&nl);
	kvm = new_vm();
	id = kvmft_attach(&nl, kvm->fd, getpid());

	ASSERT_EQ(-EEXIST, __kvmft_attach(&nl, kvm->fd, getpid(), &id2));
	EXPECT_NE(0, nl.errmsg[0]) TH_LOG("re-ATTACH: no extended-ack message");
	TH_LOG("re-ATTACH: EEXIST \"%s\"", nl.errmsg);

	fd2 = dup(kvm->fd);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-EEXIST, __kvmft_attach(&nl, fd2, 0, &id2))
		TH_LOG("ATTACH through a dup()ed fd: %s", nl.errmsg);
	close(fd2);
	EXPECT_EQ(n0 + 1, kvmft_vm_count(&nl));

	kvmft_detach(&nl, id);
	vm_free(kvm);
	kvmft_nl_close(&nl);
}

TEST_HARNESS_MAIN
