// SPDX-License-Identifier: GPL-2.0
/*
 * harden_test: defects a review of the foundation found, each written as a
 * test that failed on the foundation's module (issue 5). Needs kvmft.ko;
 * SKIPs without it.
 *
 *   kvm_outlives_detach    a log fd keeps the VM's struct kvm alive (the
 *                          race itself: stress_test log_open_vs_vmm_exit)
 *   ftrace_off_refused     sysctl kernel.ftrace_enabled=0 is refused while
 *                          kvmft's hooks stand; a recording guest runs on
 *   writer_woken           a backup writer blocked on a full log gets EPIPE
 *                          (and poll EPOLLERR) when the backup goes live
 *   contract_irqchip/pit   in-kernel irqchip or PIT: LOG_OPEN refuses, by name
 *   shape_fixed            no new vCPU and no PIT while a VM has a role
 *   tsc_after_go_live      the guest's TSC never goes back when replay ends
 *   detach_stuck_vcpu      a DETACH waiting for a vCPU stuck in a page fault
 *                          holds no global lock and can be killed
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csum.h"
#include "harden.h"
#include "harness.h"
#include "log.h"

GUEST_IMAGE_DECLARE(harden);

#define EVENT_TIMEOUT_MS	60000
#define JOIN_TIMEOUT_S		300
#define PROMPT_S		20	/* "at once", in a slow nested lab */
#define LOG_KB_PARAM		"/sys/module/kvmft/parameters/log_kb"
#define FTRACE_SYSCTL		"/proc/sys/kernel/ftrace_enabled"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Write @val to the file @path: 0 or -errno. */
static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static struct kvm_vm *hg_create(struct kvm_vcpu **vcpu, uint64_t test,
				uint64_t a1)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, GUEST_IMAGE(harden));

	vcpu_set_args(*vcpu, test, a1, 0);
	return vm;
}

/* KVM's debugfs directory of a VM exists from creation to destruction. */
static bool kvm_debugfs_exists(pid_t pid, int vm_fd)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d", pid, vm_fd);
	return !stat(path, &st);
}

static bool wait_gone(pid_t pid, int vm_fd, int timeout_s)
{
	double end = now_s() + timeout_s;

	while (kvm_debugfs_exists(pid, vm_fd) && now_s() < end)
		sleep_ms(20);
	return !kvm_debugfs_exists(pid, vm_fd);
}

/*
 * Defect 1: every reference to an attached VM must keep its struct kvm
 * alive (LOG_OPEN walked the vCPUs of a VM whose detach had freed it).
 * A log fd holds such a reference: with the VMM gone and the VM detached,
 * the struct kvm must stay until the fd is closed. KVM's debugfs
 * directory of the VM shows whether it is still there.
 */
TEST(kvm_outlives_detach)
{
	struct kvmft_vm_info info;
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl, ev;
	struct kvm_vm *vm;
	int fd, vm_fd, r;
	uint32_t id;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	vm = hg_create(&vcpu, HG_TSC_SPIN, 10);
	vm_fd = vm->fd;
	if (!kvm_debugfs_exists(getpid(), vm_fd))
		SKIP(return, "no KVM debugfs directory for the VM (debugfs not mounted?)");
	id = kvmft_attach(&nl, vm->fd, getpid());
	fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);

	vm_free(vm);	/* the VMM is gone: the VM is detached */
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_DESTROY, -1,
			      EVENT_TIMEOUT_MS, &info);
	EXPECT_EQ(0, r) TH_LOG("no DESTROY event: %s", strerror(-r));
	EXPECT_TRUE(kvm_debugfs_exists(getpid(), vm_fd))
		TH_LOG("the VM was destroyed while its log fd still refers to it");
	close(fd);
	EXPECT_TRUE(wait_gone(getpid(), vm_fd, JOIN_TIMEOUT_S))
		TH_LOG("the VM outlived its last reference");
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

struct drain_job {
	pthread_t thread;
	int fd;
	volatile bool stop;
};

/* Read and drop the log until EOF or told to stop. */
static void *drainer(void *arg)
{
	struct drain_job *d = arg;
	static __thread uint8_t buf[64 * 1024];
	struct pollfd p = { .fd = d->fd, .events = POLLIN };

	while (!d->stop) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(d->fd, buf, sizeof(buf)) <= 0)
			break;
	}
	return NULL;
}

FIXTURE(ftrace) {
	long saved;
};

FIXTURE_SETUP(ftrace)
{
	self->saved = read_long(FTRACE_SYSCTL);
}

FIXTURE_TEARDOWN(ftrace)
{
	/* Never leave the host with function tracing off. */
	if (self->saved > 0)
		write_file(FTRACE_SYSCTL, "1");
}

/*
 * Defect 2: with kernel.ftrace_enabled=0 every hook stopped while VMCBs
 * went on intercepting RDTSC, which KVM cannot handle: the guest was
 * killed (KVM_EXIT_INTERNAL_ERROR) and recording stopped silently. The
 * hooks are permanent now, like livepatch's: the sysctl is refused.
 */
TEST_F_TIMEOUT(ftrace, off_refused, 600)
{
	struct drain_job d = { 0 };
	struct kvmft_vm_info info;
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t id;
	int r;

	REQUIRE_KVMFT_ADMIN();
	if (self->saved < 0)
		SKIP(return, "%s: %s", FTRACE_SYSCTL, strerror(-self->saved));
	ASSERT_EQ(1, self->saved) TH_LOG("function tracing is off already");
	kvmft_nl_open(&nl);
	vm = hg_create(&vcpu, HG_TSC_SPIN, 2000);
	id = kvmft_attach(&nl, vm->fd, getpid());
	d.fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);
	ASSERT_EQ(0, pthread_create(&d.thread, NULL, drainer, &d));

	r = write_file(FTRACE_SYSCTL, "0");
	EXPECT_EQ(-EBUSY, r) TH_LOG("ftrace_enabled=0 under a recording VM: %s",
				    r ? strerror(-r) : "accepted");
	EXPECT_EQ(1, read_long(FTRACE_SYSCTL));
	/*
	 * The guest reads the TSC 2000 times; each read must be handled.
	 * Not vcpu_run_ucall(), which would end the test before tracing is
	 * back on.
	 */
	r = __vcpu_run_ucall(vcpu, &uc);
	if (read_long(FTRACE_SYSCTL) != 1)
		write_file(FTRACE_SYSCTL, "1");
	EXPECT_EQ(UCALL_DONE, r)
		TH_LOG("the guest ended with %s", vcpu_exit_str(vcpu));
	kvmft_get_vm(&nl, id, &info);
	EXPECT_LE(2000U, info.stats[KVMFT_STAT_RDTSC])
		TH_LOG("RDTSCs went unrecorded");

	d.stop = true;
	pthread_join(d.thread, NULL);
	close(d.fd);
	vm_free(vm);
	kvmft_nl_close(&nl);
}

FIXTURE(small_log) {
	long saved_kb;
};

FIXTURE_SETUP(small_log)
{
	self->saved_kb = read_long(LOG_KB_PARAM);
}

FIXTURE_TEARDOWN(small_log)
{
	char buf[32];

	if (self->saved_kb > 0) {
		snprintf(buf, sizeof(buf), "%ld", self->saved_kb);
		write_file(LOG_KB_PARAM, buf);
	}
}

struct write_job {
	pthread_t thread;
	int fd;
	const uint8_t *buf;
	size_t len;
	size_t done;
	int err;		/* errno of the write that ended it, or 0 */
	volatile bool finished;
};

static void *writer(void *arg)
{
	struct write_job *w = arg;
	ssize_t n;

	while (w->done < w->len) {
		n = write(w->fd, w->buf + w->done, w->len - w->done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n < 0 ? errno : EIO;
			break;
		}
		w->done += n;
	}
	w->finished = true;
	return NULL;
}

struct csum_job {
	pthread_t thread;
	struct csum_vm *cv;
	uint64_t iters;
};

static void *csum_runner(void *arg)
{
	struct csum_job *j = arg;

	csum_vm_run(j->cv, j->iters, CSUM_DEFAULT_PORT, 0);
	return NULL;
}

/*
 * Defect 3: a backup whose log no longer matches its guest stops (it went
 * live, in the foundation), but the writer blocked on its full log was
 * never woken: `ftctl replay` hung, and poll() never said EPOLLERR. Here
 * the log holds far more than the smallest FIFO, and its first record is
 * not what the guest needs.
 */
TEST_F_TIMEOUT(small_log, writer_woken, 600)
{
	const uint64_t nrec = 4000;
	uint64_t sid = csum_random_seed() | 1;
	struct csum_job run = { .iters = 20 };
	struct write_job w = { 0 };
	struct kvmft_nl nl, ev;
	struct kvmft_vm_info vm;
	struct pollfd p;
	struct csum_vm b;
	uint8_t *log;
	size_t len = 0;
	uint32_t id, val = 7;
	uint64_t i;
	double end;
	int r;

	REQUIRE_KVMFT_ADMIN();
	ASSERT_LT(0, self->saved_kb);
	ASSERT_EQ(0, write_file(LOG_KB_PARAM, "64"));
	log = malloc(nrec * 64);
	ASSERT_NE(NULL, log);
	/* The guest reads the TSC first: a PIO record is a divergence. */
	len += kvmft_rec_build_pio(log, sid, 1, CSUM_DEFAULT_PORT, 4, 1, &val);
	for (i = 2; i <= nrec; i++)
		len += kvmft_rec_build_tsc(log + len, sid, i, KVMFT_REC_RDTSC,
					   i, 0);
	ASSERT_LT(64 * 1024, len);

	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	csum_vm_create(&b, csum_random_seed());
	id = kvmft_attach(&nl, b.vm->fd, getpid());
	w.fd = kvmft_log_open(id, KVMFT_LOG_WRITE, &sid);
	w.buf = log;
	w.len = len;
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, writer, &w));
	/* Until the log is full the writer is not blocked: wait for that. */
	end = now_s() + PROMPT_S;
	while (now_s() < end && !w.finished &&
	       (poll(&(struct pollfd){ .fd = w.fd, .events = POLLOUT }, 1, 0) > 0))
		sleep_ms(10);
	EXPECT_FALSE(w.finished) TH_LOG("the log took it all: nothing blocked");

	/* The first record does not match: the vCPU stops there. */
	run.cv = &b;
	ASSERT_EQ(0, pthread_create(&run.thread, NULL, csum_runner, &run));
	do
		r = kvmft_events_wait(&ev, id, KVMFT_EVENT_CHANGE,
				      KVMFT_ROLE_BACKUP, EVENT_TIMEOUT_MS, &vm);
	while (!r && !(vm.flags & KVMFT_VM_F_DIVERGED));
	EXPECT_EQ(0, r) TH_LOG("no divergence event: %s", strerror(-r));
	EXPECT_EQ(1U, vm.diverged);
	p = (struct pollfd){ .fd = w.fd, .events = POLLOUT };
	EXPECT_EQ(1, poll(&p, 1, PROMPT_S * 1000));
	EXPECT_TRUE(p.revents & POLLERR)
		TH_LOG("poll() on the writer: revents 0x%x, no POLLERR",
		       p.revents);
	end = now_s() + PROMPT_S;
	while (!w.finished && now_s() < end)
		sleep_ms(10);
	ASSERT_TRUE(w.finished)
		TH_LOG("the writer is still blocked %d s after the backup diverged",
		       PROMPT_S);
	pthread_join(w.thread, NULL);
	EXPECT_EQ(EPIPE, w.err) TH_LOG("writer ended with %s", strerror(w.err));
	kvmft_get_vm(&nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_BACKUP, vm.role) TH_LOG("a diverged backup went live");
	EXPECT_EQ(1U, vm.stats[KVMFT_STAT_DIVERGENCES]);
	EXPECT_EQ(0U, vm.stats[KVMFT_STAT_REPLAYED]);
	kvmft_detach(&nl, id);	/* lets the stopped vCPU go on */
	pthread_join(run.thread, NULL);
	close(w.fd);
	csum_vm_destroy(&b);
	free(log);
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

/* LOG_OPEN of @vm_fd's VM, both ways, is refused naming @needle. */
static void expect_refused(struct __test_metadata *_metadata,
			   struct kvmft_nl *nl, int vm_fd, const char *needle)
{
	char why[KVMFT_REASON_LEN];
	struct kvmft_vm_info vm;
	uint64_t sid = 1;
	uint32_t id = kvmft_attach(nl, vm_fd, getpid());
	int r;

	r = __kvmft_log_open(id, KVMFT_LOG_READ, NULL, why, sizeof(why));
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("LOG_OPEN(READ): %d \"%s\"", r, why);
	if (r >= 0)
		close(r);
	EXPECT_NE(NULL, strstr(why, needle))
		TH_LOG("reason \"%s\" does not name \"%s\"", why, needle);
	r = __kvmft_log_open(id, KVMFT_LOG_WRITE, &sid, why, sizeof(why));
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("LOG_OPEN(WRITE): %d \"%s\"", r, why);
	if (r >= 0)
		close(r);
	TH_LOG("refused: \"%s\"", why);
	kvmft_get_vm(nl, id, &vm);
	EXPECT_EQ(KVMFT_ROLE_NONE, vm.role);
	kvmft_detach(nl, id);
}

/*
 * Defect 4: KVM answers reads of its in-kernel PIC, IOAPIC, ELCR, LAPIC
 * timer and PIT itself, from host time and state; nothing recorded them,
 * so such a replay drifted unnoticed. Until replay covers them (issue 9),
 * LOG_OPEN refuses such VMs, by name; without the device the same VM is
 * accepted (vcpu_while_recording), so this can fail.
 */
TEST(contract_irqchip)
{
	struct kvmft_nl nl;
	struct kvm_vm *vm;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	vm = vm_create(GUEST_MEM_DEFAULT);
	ASSERT_EQ(0, ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vm_vcpu_add(vm);
	expect_refused(_metadata, &nl, vm->fd, "irqchip");
	vm_free(vm);
	kvmft_nl_close(&nl);
}

/*
 * Does this KVM create an in-kernel PIT without an in-kernel PIC? Debian's
 * 6.1 does; its 6.12 answers ENOENT, so there a VM that LOG_OPEN accepts
 * (no in-kernel irqchip) can have no PIT at all.
 */
static bool kvm_pit_without_pic(void)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_vm *vm = vm_create(GUEST_MEM_DEFAULT);
	bool ok = !ioctl(vm->fd, KVM_CREATE_PIT2, &pit);

	vm_free(vm);
	return ok;
}

#define PIT_NEEDS_PIC \
	"this KVM creates a PIT only with an in-kernel PIC, which LOG_OPEN refuses first (contract_irqchip)"

TEST(contract_pit)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvmft_nl nl;
	struct kvm_vm *vm;

	REQUIRE_KVMFT_ADMIN();
	if (!kvm_pit_without_pic())
		SKIP(return, PIT_NEEDS_PIC);
	kvmft_nl_open(&nl);
	vm = vm_create(GUEST_MEM_DEFAULT);
	vm_vcpu_add(vm);
	ASSERT_EQ(0, ioctl(vm->fd, KVM_CREATE_PIT2, &pit));
	expect_refused(_metadata, &nl, vm->fd, "PIT");
	vm_free(vm);
	kvmft_nl_close(&nl);
}

/*
 * The rest of the contract the module can see (issue 9): a guest CPUID
 * that offers RDRAND, RDSEED or KVM's paravirtual clock is refused, by
 * name; the test VMM's own CPUID leaves them out and is accepted (every
 * recording test).
 */
TEST(contract_cpuid)
{
	static const struct {
		uint32_t leaf, index;
		int reg, bit;
		const char *name;
	} bits[] = {
		{ 1, 0, 2, 30, "RDRAND" },
		{ 7, 0, 1, 18, "RDSEED" },
		{ 0x40000001, 0, 0, 0, "kvmclock" },
		{ 0x40000001, 0, 0, 5, "steal time" },
	};
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl;
	struct kvm_vm *vm;
	unsigned int i;
	int tested = 0;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		if (!kvm_cpuid_has(bits[i].leaf, bits[i].index, bits[i].reg,
				   bits[i].bit)) {
			TH_LOG("KVM does not offer %s here: not tried",
			       bits[i].name);
			continue;
		}
		vm = hg_create(&vcpu, HG_TSC_SPIN, 1);
		ASSERT_EQ(0, __vcpu_cpuid_set(vcpu, bits[i].leaf,
					      bits[i].index, bits[i].reg,
					      bits[i].bit, true));
		expect_refused(_metadata, &nl, vm->fd, bits[i].name);
		vm_free(vm);
		tested++;
	}
	if (!tested)
		SKIP(return, "KVM offers none of the refused CPUID bits here");
	kvmft_nl_close(&nl);
}

/*
 * Defects 8 and 4: the one-vCPU rule and the absence of a PIT were checked
 * at LOG_OPEN only; a vCPU or PIT created afterwards joined the recording.
 * While the VM has a role both are refused; once the log is closed they
 * are allowed again.
 */
TEST(shape_fixed)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvmft_vm_info info;
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl;
	struct kvm_vm *vm;
	uint32_t id;
	int fd, v1;
	bool pit_ok;

	REQUIRE_KVMFT_ADMIN();
	pit_ok = kvm_pit_without_pic();
	kvmft_nl_open(&nl);
	vm = hg_create(&vcpu, HG_TSC_SPIN, 10);
	id = kvmft_attach(&nl, vm->fd, getpid());
	fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);

	v1 = ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	EXPECT_EQ(-1, v1) TH_LOG("a second vCPU joined a recording VM");
	EXPECT_EQ(EBUSY, errno);
	if (v1 >= 0)
		close(v1);
	EXPECT_EQ(-1, ioctl(vm->fd, KVM_CREATE_PIT2, &pit))
		TH_LOG("an in-kernel PIT joined a recording VM");
	kvmft_get_vm(&nl, id, &info);
	EXPECT_EQ(1U, info.vcpus);

	close(fd);	/* role none: the VM may grow again */
	v1 = ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	EXPECT_LE(0, v1) TH_LOG("KVM_CREATE_VCPU after the log closed: %s",
				strerror(errno));
	if (pit_ok) {
		EXPECT_EQ(0, ioctl(vm->fd, KVM_CREATE_PIT2, &pit))
			TH_LOG("KVM_CREATE_PIT2 after the log closed: %s",
			       strerror(errno));
	} else {
		TH_LOG("no PIT after the log closed: " PIT_NEEDS_PIC);
	}
	if (v1 >= 0)
		close(v1);
	kvmft_detach(&nl, id);
	vm_free(vm);
	kvmft_nl_close(&nl);
}

/*
 * Defect 7: a backup shows its guest the primary's TSC values; when it
 * stops replaying, its own TSC may be far behind them, and the guest saw
 * time go back. Here the log's values are far ahead of any live TSC.
 */
TEST(tsc_after_go_live)
{
	const uint64_t k = 20, m = 20;
	uint64_t sid = csum_random_seed() | 1;
	const uint64_t base = 1ULL << 58;
	struct kvmft_vm_info info;
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl, ev;
	uint64_t i, prev = 0, t;
	struct kvm_vm *vm;
	uint8_t log[64 * 20];
	struct ucall uc;
	size_t len = 0;
	uint32_t id;
	int fd, r;

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	for (i = 1; i <= k; i++)
		len += kvmft_rec_build_tsc(log + len, sid, i, KVMFT_REC_RDTSC,
					   base + i * 1000, 0);
	vm = hg_create(&vcpu, HG_TSC_SYNC, k + m);
	id = kvmft_attach(&nl, vm->fd, getpid());
	fd = kvmft_log_open(id, KVMFT_LOG_WRITE, &sid);
	ASSERT_EQ((ssize_t)len, write(fd, log, len));
	close(fd);
	/* It replays the k records, then goes live: never back in time. */
	kvmft_promote(&nl, id);

	for (i = 0; i < k + m; i++) {
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		t = uc.args[0];
		if (i < k)
			EXPECT_EQ(base + (i + 1) * 1000, t)
				TH_LOG("read %llu: not the replayed value",
				       (unsigned long long)i);
		EXPECT_LT(prev, t)
			TH_LOG("read %llu: TSC went back from 0x%llx to 0x%llx",
			       (unsigned long long)i,
			       (unsigned long long)prev,
			       (unsigned long long)t);
		prev = t;
	}
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_CHANGE, KVMFT_ROLE_NONE,
			      EVENT_TIMEOUT_MS, &info);
	EXPECT_EQ(0, r) TH_LOG("no CHANGE to role none: %s", strerror(-r));
	kvmft_get_vm(&nl, id, &info);
	EXPECT_EQ(k, info.stats[KVMFT_STAT_REPLAYED]);
	vm_free(vm);
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

struct vcpu_job {
	pthread_t thread;
	struct kvm_vcpu *vcpu;
	uint64_t cmd;
	struct ucall uc;
};

static void *vcpu_runner(void *arg)
{
	struct vcpu_job *j = arg;

	j->cmd = __vcpu_run_ucall(j->vcpu, &j->uc);
	return NULL;
}

/* In a child: DETACH @id; exit 0 if it worked. */
static pid_t detach_child(uint32_t id)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct kvmft_nl nl;

		if (__kvmft_nl_open(&nl))
			_exit(2);
		_exit(__kvmft_detach(&nl, id) ? 1 : 0);
	}
	return pid;
}

/*
 * In a child: resolve a generic netlink family through the controller,
 * which takes the global genl_mutex; exit 0 once it answered.
 */
static pid_t genl_ctrl_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct nl_sock *sk = nl_socket_alloc();

		if (!sk || genl_connect(sk))
			_exit(2);
		_exit(genl_ctrl_resolve(sk, "nlctrl") < 0 ? 1 : 0);
	}
	return pid;
}

/* waitpid() with a deadline: the exit status, or -1 if it did not exit. */
static int wait_exit(pid_t pid, int timeout_s)
{
	double end = now_s() + timeout_s;
	int status;

	do {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		sleep_ms(20);
	} while (now_s() < end);
	return -1;
}

/*
 * Defect 6: DETACH waited for every vCPU to reach a hook while holding the
 * global genl_mutex, in a loop that ignored signals: a vCPU stuck in KVM
 * (here: a guest page fault held back by userfaultfd, as in postcopy
 * migration) stalled every generic netlink family on the host, and the
 * caller could not be killed.
 */
TEST(detach_stuck_vcpu)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_zeropage zp = { 0 };
	struct drain_job d = { 0 };
	struct vcpu_job j = { 0 };
	struct uffd_msg msg;
	struct kvmft_vm_info info;
	struct kvmft_nl nl, ev;
	struct kvm_vm *vm;
	pid_t det, ctl;
	int uffd, rc, ctl_rc, r;
	uint32_t id;

	REQUIRE_KVMFT_ADMIN();
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	vm = hg_create(&j.vcpu, HG_TOUCH, HG_TOUCH_GPA);
	reg.range.start = (uintptr_t)addr_gpa2hva(vm, HG_TOUCH_GPA, 4096);
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* Recording: the vCPU's intercepts must be undone before detach ends. */
	id = kvmft_attach(&nl, vm->fd, getpid());
	d.fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);
	ASSERT_EQ(0, pthread_create(&d.thread, NULL, drainer, &d));
	ASSERT_EQ(0, pthread_create(&j.thread, NULL, vcpu_runner, &j));
	/* The vCPU is stuck in KVM_RUN once the fault reaches us. */
	r = poll(&(struct pollfd){ .fd = uffd, .events = POLLIN }, 1,
		 EVENT_TIMEOUT_MS);
	ASSERT_EQ(1, r) TH_LOG("the guest's page fault never came");
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	det = detach_child(id);
	ASSERT_LT(0, det);
	sleep_ms(500);	/* let it reach its wait */
	EXPECT_EQ(-1, wait_exit(det, 0)) TH_LOG("DETACH did not wait for the vCPU");

	ctl = genl_ctrl_child();
	ASSERT_LT(0, ctl);
	ctl_rc = wait_exit(ctl, PROMPT_S);
	EXPECT_EQ(0, ctl_rc)
		TH_LOG("the genetlink controller did not answer within %d s while a DETACH waited",
		       PROMPT_S);

	kill(det, SIGKILL);
	rc = wait_exit(det, PROMPT_S);
	EXPECT_EQ(128 + SIGKILL, rc)
		TH_LOG("a waiting DETACH could not be killed (status %d)", rc);

	/* Let the vCPU go: the detach finishes on its own. */
	zp.range.start = reg.range.start;
	zp.range.len = 4096;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	r = kvmft_events_wait(&ev, id, KVMFT_EVENT_DESTROY, -1,
			      EVENT_TIMEOUT_MS, &info);
	EXPECT_EQ(0, r) TH_LOG("the detach did not finish: %s", strerror(-r));
	pthread_join(j.thread, NULL);
	EXPECT_EQ(UCALL_DONE, j.cmd) TH_LOG("guest: %s", ucall_str(&j.uc));
	/* Not reaped yet: they were stuck behind the vCPU too. */
	if (rc < 0)
		wait_exit(det, JOIN_TIMEOUT_S);
	if (ctl_rc < 0)
		wait_exit(ctl, JOIN_TIMEOUT_S);

	d.stop = true;
	pthread_join(d.thread, NULL);
	close(d.fd);
	close(uffd);
	vm_free(vm);
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

TEST_HARNESS_MAIN
