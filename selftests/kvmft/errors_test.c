// SPDX-License-Identifier: GPL-2.0
/*
 * errors_test: every bad input to kvmft gets its own errno and a reason in
 * the extended ack, and changes nothing (the set of attached VMs and their
 * roles stay as they were). Needs kvmft.ko; SKIPs without it.
 *
 * Generic netlink requests are built by hand here, malformed on purpose:
 * an unknown attribute, a u8 where a u32 belongs, a missing attribute.
 */
#include <sys/ioctl.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

#define NO_SUCH_VM	0xfffffff0U

/* What each test starts from: a netlink socket and a VM, not attached. */
struct env {
	struct kvmft_nl nl;
	struct kvm_vm *vm;
	int count;		/* attached VMs before the bad request */
};

static void env_init(struct env *e)
{
	kvmft_nl_open(&e->nl);
	e->vm = vm_create(GUEST_MEM_DEFAULT);
	vm_vcpu_add(e->vm);
	e->count = kvmft_vm_count(&e->nl);
}

static void env_fini(struct env *e)
{
	vm_free(e->vm);
	kvmft_nl_close(&e->nl);
}

/* @rc is -@err, with a reason, and no VM was attached or detached. */
static void check_nl_err(struct __test_metadata *_metadata, struct env *e,
			 const char *what, int rc, int err)
{
	EXPECT_EQ(-err, rc)
		TH_LOG("%s: got %d (%s), want -%s; ext-ack \"%s\"", what, rc,
		       rc < 0 ? strerrorname_np(-rc) : "success",
		       strerrorname_np(err), e->nl.errmsg);
	EXPECT_NE(0, e->nl.errmsg[0])
		TH_LOG("%s: %s without an extended-ack message", what,
		       strerrorname_np(err));
	TH_LOG("%s: %s \"%s\" (bad attr offset %d, missing attr %d)", what,
	       rc < 0 ? strerrorname_np(-rc) : "0", e->nl.errmsg,
	       e->nl.err_offset, e->nl.miss_type);
	EXPECT_EQ(e->count, kvmft_vm_count(&e->nl))
		TH_LOG("%s changed the set of attached VMs", what);
}

static int attach_fd(struct env *e, int fd)
{
	uint32_t id;
	int r = __kvmft_attach(&e->nl, fd, 0, &id);

	if (!r)		/* do not leave it attached if the test fails */
		__kvmft_detach(&e->nl, id);
	return r;
}

TEST(attach_not_a_vm)
{
	struct env e;
	int p[2], fd;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	ASSERT_EQ(0, pipe(p));
	check_nl_err(_metadata, &e, "ATTACH pipe", attach_fd(&e, p[0]),
		     ENOTTY);
	fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, fd);
	check_nl_err(_metadata, &e, "ATTACH /dev/null", attach_fd(&e, fd),
		     ENOTTY);
	check_nl_err(_metadata, &e, "ATTACH /dev/kvm fd",
		     attach_fd(&e, e.vm->kvm_fd), ENOTTY);
	check_nl_err(_metadata, &e, "ATTACH vCPU fd",
		     attach_fd(&e, e.vm->vcpu->fd), ENOTTY);
	close(fd);
	close(p[0]);
	close(p[1]);
	env_fini(&e);
}

TEST(attach_bad_fd)
{
	struct env e;
	int fd;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, fd);
	close(fd);
	check_nl_err(_metadata, &e, "ATTACH closed fd", attach_fd(&e, fd),
		     EBADF);
	check_nl_err(_metadata, &e, "ATTACH fd 0x7fffffff",
		     attach_fd(&e, 0x7fffffff), EBADF);
	check_nl_err(_metadata, &e, "ATTACH fd 0xffffffff",
		     attach_fd(&e, -1), EBADF);
	env_fini(&e);
}

TEST(unknown_vm_id)
{
	struct kvmft_vm_info vm;
	struct env e;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	check_nl_err(_metadata, &e, "DETACH unknown id",
		     __kvmft_detach(&e.nl, NO_SUCH_VM), ENOENT);
	check_nl_err(_metadata, &e, "GET_VM unknown id",
		     __kvmft_get_vm(&e.nl, NO_SUCH_VM, &vm), ENOENT);
	env_fini(&e);
}

/* ATTACH with a valid VM fd plus attribute @type of @len bytes. */
static int attach_with_attr(struct env *e, int type, int len)
{
	struct nl_msg *msg = kvmft_nl_msg(&e->nl, KVMFT_CMD_ATTACH, 0);
	uint8_t junk[8] = { 0 };
	uint32_t fd = e->vm->fd;

	memcpy(junk, &fd, sizeof(fd));
	if (type != KVMFT_A_VM_FD)
		nla_put_u32(msg, KVMFT_A_VM_FD, fd);
	nla_put(msg, type, len, junk);
	return kvmft_nl_transact(&e->nl, msg, NULL, NULL);
}

TEST(unknown_attribute)
{
	struct env e;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	check_nl_err(_metadata, &e, "ATTACH with attribute KVMFT_A_MAX + 1",
		     attach_with_attr(&e, KVMFT_A_MAX + 1, 4), EINVAL);
	check_nl_err(_metadata, &e, "ATTACH with attribute 0x3fff",
		     attach_with_attr(&e, 0x3fff, 4), EINVAL);
	env_fini(&e);
}

/*
 * A wrong length for a typed (NLA_U32) attribute is refused by the netlink
 * core under strict validation with EINVAL and "invalid attribute length",
 * pointing at the attribute: the same errno as an unknown attribute, told
 * apart by the text (docs/netlink-errors.md has the decision).
 */
#define WRONG_LEN_ERRNO	EINVAL

static void check_wrong_len(struct __test_metadata *_metadata, struct env *e,
			    const char *what, int r)
{
	/* check_nl_err() makes another request: keep this one's ack. */
	int offset = e->nl.err_offset;
	char msg[sizeof(e->nl.errmsg)];

	memcpy(msg, e->nl.errmsg, sizeof(msg));
	check_nl_err(_metadata, e, what, r, WRONG_LEN_ERRNO);
	EXPECT_NE(NULL, strstr(msg, "length"))
		TH_LOG("%s: ext-ack \"%s\" does not name the length", what,
		       msg);
	EXPECT_LE(0, offset)
		TH_LOG("%s: the ext-ack does not point at the attribute", what);
}

TEST(wrong_attribute_length)
{
	struct env e;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	check_wrong_len(_metadata, &e, "ATTACH with a u8 VM_FD",
			attach_with_attr(&e, KVMFT_A_VM_FD, 1));
	check_wrong_len(_metadata, &e, "ATTACH with a u64 VM_FD",
			attach_with_attr(&e, KVMFT_A_VM_FD, 8));
	check_wrong_len(_metadata, &e, "ATTACH with a u8 PID",
			attach_with_attr(&e, KVMFT_A_PID, 1));
	env_fini(&e);
}

TEST(missing_attribute)
{
	struct env e;
	int r;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	r = kvmft_nl_transact(&e.nl, kvmft_nl_msg(&e.nl, KVMFT_CMD_ATTACH, 0),
			      NULL, NULL);
	check_nl_err(_metadata, &e, "ATTACH without VM_FD", r, EINVAL);
	if (e.nl.miss_type >= 0)	/* optional, but then it must be right */
		EXPECT_EQ(KVMFT_A_VM_FD, e.nl.miss_type);
	r = kvmft_nl_transact(&e.nl, kvmft_nl_msg(&e.nl, KVMFT_CMD_DETACH, 0),
			      NULL, NULL);
	check_nl_err(_metadata, &e, "DETACH without VM_ID", r, EINVAL);
	if (e.nl.miss_type >= 0)
		EXPECT_EQ(KVMFT_A_VM_ID, e.nl.miss_type);
	env_fini(&e);
}

/* What an unprivileged child got for one request. */
struct child_res {
	int rc;
	char msg[256];
	bool pid_shown;		/* GET_VM: the reply carried KVMFT_A_PID */
};

enum { PRIV_NOBODY, PRIV_NO_SYS_ADMIN };
enum { RES_ATTACH, RES_DETACH, RES_GET_VM, RES_N };

static int child_drop(int how)
{
	if (how == PRIV_NOBODY) {
		/* Leaving uid 0 clears the effective capabilities. */
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			return -errno;
		return 0;
	}
	return __drop_caps(1ULL << CAP_SYS_ADMIN);
}

/*
 * In a child with privileges dropped @how: ATTACH the VM (inherited fd),
 * DETACH @id and GET_VM @id. Results come back through a pipe.
 */
static void run_unprivileged(struct __test_metadata *_metadata,
			     struct env *e, int how, uint32_t id,
			     struct child_res res[RES_N])
{
	const size_t size = RES_N * sizeof(*res);
	int p[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kvmft_vm_info vm;
		struct kvmft_nl nl;
		uint32_t got;
		int r, i;

		memset(res, 0, size);
		r = child_drop(how);
		if (!r)
			r = __kvmft_nl_open(&nl);
		if (r) {
			for (i = 0; i < RES_N; i++)
				res[i].rc = r;
			snprintf(res[0].msg, sizeof(res[0].msg),
				 "child setup failed: %s", strerror(-r));
		} else {
			res[RES_ATTACH].rc = __kvmft_attach(&nl, e->vm->fd, 0,
							    &got);
			strcpy(res[RES_ATTACH].msg, nl.errmsg);
			res[RES_DETACH].rc = __kvmft_detach(&nl, id);
			strcpy(res[RES_DETACH].msg, nl.errmsg);
			res[RES_GET_VM].rc = __kvmft_get_vm(&nl, id, &vm);
			strcpy(res[RES_GET_VM].msg, nl.errmsg);
			res[RES_GET_VM].pid_shown =
				vm.present & (1U << KVMFT_A_PID);
		}
		_exit(write(p[1], res, size) == (ssize_t)size ? 0 : 1);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)size, read(p[0], res, size));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

/*
 * Without CAP_NET_ADMIN the genetlink core refuses admin commands itself
 * (GENL_UNS_ADMIN_PERM), before kvmft sees them, and gives no reason; so
 * only the errno is checked here. The module's own CAP_SYS_ADMIN checks on
 * ATTACH and DETACH must give a reason: detaching a backup makes it run
 * live, so it needs the same privilege as attaching. GET_VM works for
 * anyone but shows the VMM's pid only to CAP_NET_ADMIN.
 */
TEST(unprivileged)
{
	struct kvmft_vm_info vm;
	struct child_res res[RES_N];
	struct env e;
	uint32_t id;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	/* Attached by us, so that DETACH has a real target. */
	id = kvmft_attach(&e.nl, e.vm->fd, 4242);
	e.count = kvmft_vm_count(&e.nl);
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(4242U, vm.pid) TH_LOG("root sees the pid given at attach");

	run_unprivileged(_metadata, &e, PRIV_NOBODY, id, res);
	EXPECT_EQ(-EPERM, res[RES_ATTACH].rc)
		TH_LOG("uid 65534 ATTACH: %d \"%s\"", res[RES_ATTACH].rc,
		       res[RES_ATTACH].msg);
	EXPECT_EQ(-EPERM, res[RES_DETACH].rc)
		TH_LOG("uid 65534 DETACH: %d \"%s\"", res[RES_DETACH].rc,
		       res[RES_DETACH].msg);
	EXPECT_EQ(0, res[RES_GET_VM].rc)
		TH_LOG("uid 65534 GET_VM: %d \"%s\"", res[RES_GET_VM].rc,
		       res[RES_GET_VM].msg);
	EXPECT_FALSE(res[RES_GET_VM].pid_shown)
		TH_LOG("uid 65534 GET_VM shows the VMM's pid");
	EXPECT_EQ(e.count, kvmft_vm_count(&e.nl));
	EXPECT_EQ(0, __kvmft_get_vm(&e.nl, id, &vm))
		TH_LOG("VM %u no longer attached", id);

	/* CAP_NET_ADMIN without CAP_SYS_ADMIN: no DETACH either. */
	run_unprivileged(_metadata, &e, PRIV_NO_SYS_ADMIN, id, res);
	EXPECT_EQ(-EPERM, res[RES_DETACH].rc)
		TH_LOG("DETACH without CAP_SYS_ADMIN: %d \"%s\"",
		       res[RES_DETACH].rc, res[RES_DETACH].msg);
	EXPECT_NE(0, res[RES_DETACH].msg[0])
		TH_LOG("DETACH without CAP_SYS_ADMIN: no extended-ack message");
	TH_LOG("DETACH without CAP_SYS_ADMIN: \"%s\"", res[RES_DETACH].msg);
	EXPECT_EQ(0, __kvmft_get_vm(&e.nl, id, &vm))
		TH_LOG("VM %u was detached without CAP_SYS_ADMIN", id);
	EXPECT_TRUE(res[RES_GET_VM].pid_shown)
		TH_LOG("CAP_NET_ADMIN GET_VM does not show the pid");

	/* Detach it again so that ATTACH would otherwise succeed. */
	kvmft_detach(&e.nl, id);
	e.count = kvmft_vm_count(&e.nl);
	run_unprivileged(_metadata, &e, PRIV_NO_SYS_ADMIN, NO_SUCH_VM, res);
	EXPECT_EQ(-EPERM, res[RES_ATTACH].rc)
		TH_LOG("ATTACH without CAP_SYS_ADMIN: %d \"%s\"",
		       res[RES_ATTACH].rc, res[RES_ATTACH].msg);
	EXPECT_NE(0, res[RES_ATTACH].msg[0])
		TH_LOG("ATTACH without CAP_SYS_ADMIN: no extended-ack message");
	TH_LOG("ATTACH without CAP_SYS_ADMIN: \"%s\"", res[RES_ATTACH].msg);
	EXPECT_EQ(e.count, kvmft_vm_count(&e.nl));
	env_fini(&e);
}

/* LOG_OPEN refused with -@err and a reason that mentions @needle. */
static void check_refused(struct __test_metadata *_metadata, const char *what,
			  int rc, int err, const char *why, const char *needle)
{
	EXPECT_EQ(-err, rc) TH_LOG("%s: got %d, want -%s (\"%s\")", what, rc,
				  strerrorname_np(err), why);
	EXPECT_TRUE(needle ? strstr(why, needle) != NULL : why[0] != 0)
		TH_LOG("%s: reason \"%s\" does not name \"%s\"", what, why,
		       needle ? needle : "anything");
	TH_LOG("%s: %s \"%s\"", what, strerrorname_np(err), why);
}

/*
 * LOG_OPEN: bad flags, a bad struct, unknown VM, a second opener; each
 * with a reason. Roles stay put.
 */
TEST(log_open_errors)
{
	static const uint32_t bad_flags[] = {
		0, KVMFT_LOG_READ | KVMFT_LOG_WRITE, 1U << 2, 1U << 31,
		KVMFT_LOG_READ | (1U << 7),
	};
	struct {
		struct kvmft_log_open lo;
		uint64_t tail;
	} big;
	struct kvmft_log_open lo;
	char why[KVMFT_REASON_LEN];
	struct kvmft_vm_info vm;
	uint64_t sid = 0;
	struct env e;
	unsigned int i;
	uint32_t id;
	int fd;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	id = kvmft_attach(&e.nl, e.vm->fd, 0);
	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		sid = 1;
		check_refused(_metadata, "bad flags",
			      __kvmft_log_open(id, bad_flags[i], &sid, why,
					       sizeof(why)),
			      EINVAL, why, "flags");
	}
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_NONE, vm.role);

	/* The struct: too short, reserved set, an unknown non-zero tail. */
	lo = (struct kvmft_log_open){ .size = 8, .vm_id = id,
				      .flags = KVMFT_LOG_READ };
	EXPECT_EQ(-EINVAL, __kvmft_log_open_arg(&lo)) TH_LOG("size 8");
	lo = (struct kvmft_log_open){ .size = sizeof(lo), .vm_id = id,
				      .flags = KVMFT_LOG_READ, .reserved = 1 };
	check_refused(_metadata, "reserved", __kvmft_log_open_arg(&lo), EINVAL,
		      lo.reason, "reserved");
	memset(&big, 0, sizeof(big));
	big.lo = (struct kvmft_log_open){ .size = sizeof(big), .vm_id = id,
					  .flags = KVMFT_LOG_READ };
	big.tail = 1;
	EXPECT_EQ(-E2BIG, __kvmft_log_open_arg(&big.lo)) TH_LOG("unknown tail");
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_NONE, vm.role);

	/* A backup must say which recording it replays. */
	sid = 0;
	check_refused(_metadata, "WRITE without a session",
		      __kvmft_log_open(id, KVMFT_LOG_WRITE, &sid, why,
				       sizeof(why)),
		      EINVAL, why, "session");

	check_refused(_metadata, "unknown VM (READ)",
		      __kvmft_log_open(NO_SUCH_VM, KVMFT_LOG_READ, NULL, why,
				       sizeof(why)), ENOENT, why, "id");
	sid = 1;
	check_refused(_metadata, "unknown VM (WRITE)",
		      __kvmft_log_open(NO_SUCH_VM, KVMFT_LOG_WRITE, &sid, why,
				       sizeof(why)), ENOENT, why, "id");

	/* A longer struct with a zero tail is fine (a newer caller). */
	big.tail = 0;
	fd = __kvmft_log_open_arg(&big.lo);
	ASSERT_LE(0, fd) TH_LOG("zero tail: %s \"%s\"", strerror(-fd),
				big.lo.reason);
	EXPECT_NE(0U, big.lo.session) TH_LOG("READ gave no session id");
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_PRIMARY, vm.role);
	check_refused(_metadata, "second READ",
		      __kvmft_log_open(id, KVMFT_LOG_READ, NULL, why,
				       sizeof(why)), EBUSY, why, "log open");
	check_refused(_metadata, "WRITE while recording",
		      __kvmft_log_open(id, KVMFT_LOG_WRITE, &sid, why,
				       sizeof(why)), EBUSY, why, "log open");
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_PRIMARY, vm.role);
	close(fd);

	/* Sessions differ from one recording to the next. */
	sid = 0;
	fd = kvmft_log_open(id, KVMFT_LOG_READ, &sid);
	EXPECT_NE(big.lo.session, sid) TH_LOG("two recordings, one session");
	close(fd);

	kvmft_detach(&e.nl, id);
	env_fini(&e);
}

/*
 * Outside the v1 determinism contract (one vCPU): recording or replaying
 * is refused with EOPNOTSUPP, a reason, and the role stays none; with the
 * second vCPU gone from the picture the same request would succeed, so
 * this can fail.
 */
TEST(log_open_two_vcpus)
{
	char why[KVMFT_REASON_LEN];
	struct kvmft_vm_info vm;
	uint64_t sid = 1;
	struct env e;
	uint32_t id;
	int vcpu1;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	/* The VMM library keeps one vCPU; a raw second one is enough here. */
	vcpu1 = ioctl(e.vm->fd, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, vcpu1);
	id = kvmft_attach(&e.nl, e.vm->fd, 0);
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(2, vm.vcpus);
	check_refused(_metadata, "two vCPUs (READ)",
		      __kvmft_log_open(id, KVMFT_LOG_READ, NULL, why,
				       sizeof(why)), EOPNOTSUPP, why, "vCPU");
	check_refused(_metadata, "two vCPUs (WRITE)",
		      __kvmft_log_open(id, KVMFT_LOG_WRITE, &sid, why,
				       sizeof(why)), EOPNOTSUPP, why, "vCPU");
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_NONE, vm.role);
	kvmft_detach(&e.nl, id);
	close(vcpu1);
	env_fini(&e);
}

/* write() @len bytes of @buf: 0 if all were taken, else -errno. */
static int log_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * A backup's log takes only whole, intact records in sequence: corrupt or
 * out-of-order ones get EBADMSG, truncated ones EMSGSIZE, and a bad record
 * is never taken, nor anything after it in the same write.
 */
TEST(log_write_errors)
{
	uint8_t good[64], bad[64], two[128];
	uint64_t sid = 0x5e5510d5e5510dULL;
	struct kvmft_vm_info vm;
	size_t len, len2;
	struct env e;
	ssize_t n;
	uint32_t id;
	int fd;

	REQUIRE_KVMFT_ADMIN();
	env_init(&e);
	id = kvmft_attach(&e.nl, e.vm->fd, 0);
	fd = kvmft_log_open(id, KVMFT_LOG_WRITE, &sid);
	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_BACKUP, vm.role);

	len = kvmft_rec_build_tsc(good, sid, 1, KVMFT_REC_RDTSC, 0x123456789ULL,
				  0);
	ASSERT_EQ((long)len, kvmft_rec_check(good, len, 1, sid));

	/* A record of another recording, intact and in sequence. */
	len2 = kvmft_rec_build_tsc(bad, sid + 1, 1, KVMFT_REC_RDTSC,
				   0x123456789ULL, 0);
	EXPECT_EQ(-EBADMSG, log_write(fd, bad, len2)) TH_LOG("other session");

	memcpy(bad, good, len);
	bad[offsetof(struct kvmft_rec, crc)] ^= 1;
	EXPECT_EQ(-EBADMSG, log_write(fd, bad, len)) TH_LOG("bad CRC");
	memcpy(bad, good, len);
	bad[len - 1] ^= 0x80;
	EXPECT_EQ(-EBADMSG, log_write(fd, bad, len)) TH_LOG("payload bit flip");
	len2 = kvmft_rec_build_tsc(bad, sid, 2, KVMFT_REC_RDTSC, 1, 0);
	EXPECT_EQ(-EBADMSG, log_write(fd, bad, len2)) TH_LOG("seq 2 first");
	len2 = kvmft_rec_build_tsc(bad, sid, 1, 0xffff, 1, 0);
	EXPECT_EQ(-EBADMSG, log_write(fd, bad, len2)) TH_LOG("unknown type");

	EXPECT_EQ(-EMSGSIZE, log_write(fd, good, len - 8))
		TH_LOG("payload cut short");
	EXPECT_EQ(-EMSGSIZE, log_write(fd, good, 10)) TH_LOG("header cut short");

	/* None of that was taken: seq 1 is still what the log wants. */
	EXPECT_EQ(0, log_write(fd, good, len)) TH_LOG("the good record");

	/*
	 * seq 2 (good) + seq 3 (bad CRC) in one write: the bad record is
	 * never taken. Either the write fails and takes nothing, or it is
	 * short and takes exactly the good record before it.
	 */
	len = kvmft_rec_build_tsc(two, sid, 2, KVMFT_REC_RDTSC, 2, 0);
	len2 = kvmft_rec_build_tsc(two + len, sid, 3, KVMFT_REC_RDTSC, 3, 0);
	two[len + offsetof(struct kvmft_rec, crc)] ^= 1;
	n = write(fd, two, len + len2);
	if (n < 0) {
		EXPECT_EQ(EBADMSG, errno);
		EXPECT_EQ(0, log_write(fd, two, len)) TH_LOG("seq 2 alone");
	} else {
		EXPECT_EQ((ssize_t)len, n)
			TH_LOG("a short write must stop before the bad record");
	}
	EXPECT_EQ(-EBADMSG, log_write(fd, two + len, len2)) TH_LOG("bad seq 3");
	len2 = kvmft_rec_build_tsc(two + len, sid, 3, KVMFT_REC_RDTSC, 3, 0);
	EXPECT_EQ(0, log_write(fd, two + len, len2)) TH_LOG("good seq 3");

	kvmft_get_vm(&e.nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_BACKUP, vm.role);
	close(fd);
	kvmft_detach(&e.nl, id);
	env_fini(&e);
}

TEST_HARNESS_MAIN
