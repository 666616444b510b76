// SPDX-License-Identifier: GPL-2.0
/*
 * stress_test: the module's races, run in a loop. Each test repeats its
 * race KVMFT_STRESS_ITERS times (default 10; `make check-debug` runs 1000
 * under KASAN, lockdep and kmemleak, which see what a plain kernel does
 * not). KVMFT_STRESS_ONLY=NAME[,NAME] runs only those tests (check-debug
 * gives each its own lab). Needs kvmft.ko; SKIPs without it. The module
 * is reloaded by the unload tests with `modprobe kvmft`, or
 * `insmod $KVMFT_KO` if set.
 *
 *   log_open_vs_vmm_exit   LOG_OPEN while the VMM exits
 *   detach_vs_vmm_exit     DETACH while the VMM exits
 *   detach_full_log        DETACH (or VMM exit) while the primary's vCPU
 *                          waits on a full log and a backup's writer waits
 *                          on a full log
 *   unload_recording       rmmod right after a recording or replaying VM's
 *                          log closes, while its guest reads the TSC: the
 *                          guest must never see an exit kvmft left behind
 *   ftrace_toggle          sysctl kernel.ftrace_enabled=0 tried again and
 *                          again under a recording VM
 *   keep_reopen_vs_append  a KEEP session's reader closes and RESUMEs at
 *                          random while the vCPU appends and acks come:
 *                          the records read form the run, none missing,
 *                          none doubled
 *   keep_orphan_end        a KEEP session without a reader, its vCPU
 *                          waiting on a full log: rmmod is refused; DETACH
 *                          or the VMM's exit frees the vCPU and the module
 *
 * Every test ends with the module's live objects back where they were.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csum.h"
#include "harden.h"
#include "harness.h"
#include "log.h"

GUEST_IMAGE_DECLARE(harden);

/*
 * A loop of KVMFT_STRESS_ITERS rounds takes what it takes (1000 under a
 * debug kernel: up to an hour each); run_tests.sh's KVMFT_TEST_TIMEOUT bounds the
 * program, this only each test's harness alarm.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	(6 * 3600)

#define EVENT_TIMEOUT_MS	60000
#define PROMPT_S		60
#define LOG_KB_PARAM		"/sys/module/kvmft/parameters/log_kb"
#define FTRACE_SYSCTL		"/proc/sys/kernel/ftrace_enabled"

static int iters(void)
{
	const char *s = getenv("KVMFT_STRESS_ITERS");
	int n = s ? atoi(s) : 10;

	return n > 0 ? n : 10;
}

/* Is test @name in KVMFT_STRESS_ONLY (a comma-separated list), if set? */
static bool selected(const char *name)
{
	const char *s = getenv("KVMFT_STRESS_ONLY");
	size_t n = strlen(name);

	if (!s || !*s)
		return true;
	for (; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
		if (!strncmp(s, name, n) && (s[n] == ',' || !s[n]))
			return true;
	return false;
}

#define STRESS_SELECTED()						\
	do {								\
		if (!selected(_metadata->name))				\
			SKIP(return, "not in KVMFT_STRESS_ONLY");	\
	} while (0)

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

static uint64_t live_objects(void)
{
	struct kvmft_nl nl;
	uint64_t live = 0;
	uint32_t ver;

	if (__kvmft_nl_open(&nl))
		return ~0ULL;
	if (__kvmft_get_info(&nl, &live, &ver))
		live = ~0ULL;
	kvmft_nl_close(&nl);
	return live;
}

/* Live objects drop in RCU callbacks and work items: give them time. */
static bool live_back_to(uint64_t want)
{
	double end = now_s() + PROMPT_S;

	while (live_objects() != want && now_s() < end)
		sleep_ms(20);
	return live_objects() == want;
}

/*
 * The count a test starts from: an earlier test's last VM may still be
 * going (kvmft frees it from a work item and an RCU callback), and would
 * otherwise leave this test's count below where it started. Nothing is
 * attached between tests, so that is 0 (unless something outside this
 * program keeps a VM attached: then after PROMPT_S, whatever it is).
 */
static uint64_t live_start(void)
{
	live_back_to(0);
	return live_objects();
}

static struct kvm_vm *hg_create(struct kvm_vcpu **vcpu, uint64_t test,
				uint64_t a1)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, GUEST_IMAGE(harden));

	vcpu_set_args(*vcpu, test, a1, 0);
	return vm;
}

struct opener {
	uint32_t id;
	int fd;
};

static void *log_opener(void *arg)
{
	struct opener *o = arg;

	o->fd = __kvmft_log_open(o->id, KVMFT_LOG_READ, NULL, NULL, 0);
	return NULL;
}

TEST(log_open_vs_vmm_exit)
{
	int i, n = iters(), opened = 0;
	struct kvm_vcpu *vcpu;
	struct kvmft_nl nl;
	struct opener o;
	uint64_t live0;
	pthread_t t;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	live0 = live_start();
	for (i = 0; i < n; i++) {
		struct kvm_vm *vm = hg_create(&vcpu, HG_TSC_SPIN, 10);

		o.id = kvmft_attach(&nl, vm->fd, getpid());
		o.fd = -1;
		ASSERT_EQ(0, pthread_create(&t, NULL, log_opener, &o));
		if (i & 1)
			sleep_ms(i % 5);
		vm_free(vm);
		pthread_join(t, NULL);
		if (o.fd >= 0) {
			opened++;
			close(o.fd);
		}
	}
	TH_LOG("%d rounds; LOG_OPEN won the race %d times", n, opened);
	if (n >= 100)	/* both orders, or the race was not run */
		EXPECT_TRUE(opened > 0 && opened < n);
	EXPECT_TRUE(live_back_to(live0)) TH_LOG("live objects: %llu, were %llu",
					       (unsigned long long)live_objects(),
					       (unsigned long long)live0);
	kvmft_nl_close(&nl);
}

struct detacher {
	struct kvmft_nl nl;	/* opened before: the thread only detaches */
	uint32_t id;
	int rc;
};

static void *detach_thread(void *arg)
{
	struct detacher *d = arg;

	d->rc = __kvmft_detach(&d->nl, d->id);
	return NULL;
}

TEST(detach_vs_vmm_exit)
{
	int i, n = iters(), detached = 0;
	struct kvm_vcpu *vcpu;
	struct detacher d;
	struct kvmft_nl nl;
	uint64_t live0;
	pthread_t t;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	kvmft_nl_open(&d.nl);
	live0 = live_start();
	for (i = 0; i < n; i++) {
		struct kvm_vm *vm = hg_create(&vcpu, HG_TSC_SPIN, 10);
		int fd;

		d.id = kvmft_attach(&nl, vm->fd, getpid());
		fd = (i % 3) ? kvmft_log_open(d.id, KVMFT_LOG_READ, NULL) : -1;
		ASSERT_EQ(0, pthread_create(&t, NULL, detach_thread, &d));
		if (i & 1)
			sleep_ms(i % 5);
		vm_free(vm);
		pthread_join(t, NULL);
		/* Whoever came second found the VM gone or going. */
		EXPECT_TRUE(d.rc == 0 || d.rc == -ENOENT)
			TH_LOG("DETACH: %s", strerror(-d.rc));
		detached += !d.rc;
		if (fd >= 0)
			close(fd);
	}
	TH_LOG("%d rounds; DETACH won the race %d times", n, detached);
	/*
	 * Both orders, or the race was not run: under the debug kernel,
	 * with its socket opened in the thread, DETACH never won.
	 */
	if (n >= 100)
		EXPECT_TRUE(detached > 0 && detached < n);
	EXPECT_TRUE(live_back_to(live0));
	kvmft_nl_close(&d.nl);
	kvmft_nl_close(&nl);
}

struct vm_job {
	pthread_t thread;
	struct csum_vm *cv;
	uint64_t n;
	uint64_t sum;
};

static void *vm_runner(void *arg)
{
	struct vm_job *j = arg;

	j->sum = csum_vm_run(j->cv, j->n, CSUM_DEFAULT_PORT, 0);
	return NULL;
}

static uint64_t stat_of(struct kvmft_nl *nl, uint32_t id, int stat)
{
	struct kvmft_vm_info vm;

	if (__kvmft_get_vm(nl, id, &vm))
		return 0;
	return vm.stats[stat];
}

/* Wait until VM @id's log waits are counted: its vCPU waits now. */
static bool vcpu_waits(struct kvmft_nl *nl, uint32_t id)
{
	double end = now_s() + PROMPT_S;

	while (!stat_of(nl, id, KVMFT_STAT_LOG_WAITS) && now_s() < end)
		sleep_ms(10);
	return stat_of(nl, id, KVMFT_STAT_LOG_WAITS) != 0;
}

struct writer {
	pthread_t thread;
	int fd;
	struct rec_buf *rb;
	int rc;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;

	w->rc = log_write_all(w->fd, w->rb, LOG_WRITE_CHUNK);
	return NULL;
}

/*
 * A VMM whose primary vCPU waits on a full log is killed: the VM is
 * detached on its own. The VMM is a child process, so that it can die.
 */
static void primary_killed(struct __test_metadata *_metadata,
			   struct kvmft_nl *nl, int round)
{
	struct kvmft_vm_info vm;
	uint32_t id = 0;
	int p[2], status;
	double end;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kvmft_nl cnl;
		struct csum_vm a;

		kvmft_nl_open(&cnl);
		csum_vm_create(&a, round);
		id = kvmft_attach(&cnl, a.vm->fd, getpid());
		kvmft_log_open(id, KVMFT_LOG_READ, NULL);	/* never read */
		if (write(p[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		csum_vm_run(&a, 3000, CSUM_DEFAULT_PORT, 0);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(id), read(p[0], &id, sizeof(id)));
	close(p[0]);
	ASSERT_TRUE(vcpu_waits(nl, id)) TH_LOG("round %d", round);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	end = now_s() + PROMPT_S;
	while (!__kvmft_get_vm(nl, id, &vm) && now_s() < end)
		sleep_ms(10);
	EXPECT_EQ(-ENOENT, __kvmft_get_vm(nl, id, &vm))
		TH_LOG("round %d: VM %u still attached after its VMM died",
		       round, id);
}

FIXTURE(full) {
	long saved_kb;
};

FIXTURE_SETUP(full)
{
	self->saved_kb = read_long(LOG_KB_PARAM);
}

FIXTURE_TEARDOWN(full)
{
	char buf[32];

	if (self->saved_kb > 0) {
		snprintf(buf, sizeof(buf), "%ld", self->saved_kb);
		write_file(LOG_KB_PARAM, buf);
	}
}

/*
 * A primary whose vCPU waits on a full log (nobody reads), and a backup
 * whose writer waits on a full log (the vCPU never runs), are detached,
 * by DETACH or by their VMM's exit: the vCPU runs on, the reader gets the
 * rest and EOF, the writer EPIPE.
 */
TEST_F_TIMEOUT(full, detach_full_log, 6 * 3600)
{
	int i, n = iters();
	struct kvmft_nl nl;
	uint64_t live0;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	ASSERT_LT(0, self->saved_kb);
	ASSERT_EQ(0, write_file(LOG_KB_PARAM, "64"));
	kvmft_nl_open(&nl);
	live0 = live_start();
	for (i = 0; i < n; i++) {
		struct vm_job j = { .n = 3000 };
		struct rec_buf rb = { 0 };
		struct writer w = { 0 };
		struct csum_vm a, b;
		bool by_exit = i & 1;
		uint32_t id;
		uint64_t k;
		int fd;

		/* Primary: full log, nobody reading. */
		if (by_exit) {
			primary_killed(_metadata, &nl, i);
		} else {
			csum_vm_create(&a, i);
			id = kvmft_attach(&nl, a.vm->fd, getpid());
			fd = kvmft_log_open(id, KVMFT_LOG_READ, &rb.session);
			j.cv = &a;
			ASSERT_EQ(0, pthread_create(&j.thread, NULL, vm_runner,
						    &j));
			ASSERT_TRUE(vcpu_waits(&nl, id));
			kvmft_detach(&nl, id);
			pthread_join(j.thread, NULL);
			csum_vm_destroy(&a);
			ASSERT_EQ(0, log_read_all(fd, &rb)) TH_LOG("round %d", i);
			close(fd);
		}

		/* Backup: more records than the log holds, no vCPU running. */
		rec_buf_free(&rb);
		rb.session = (uint64_t)i + 1;
		for (k = 1; k <= 3000; k++) {
			uint8_t rec[64];
			size_t len = kvmft_rec_build_tsc(rec, rb.session, k,
							 KVMFT_REC_RDTSC, k, 0);

			if (rb.len + len > rb.cap) {
				rb.cap = rb.cap ? 2 * rb.cap : 65536;
				rb.data = realloc(rb.data, rb.cap);
				ASSERT_NE(NULL, rb.data);
			}
			memcpy(rb.data + rb.len, rec, len);
			rb.len += len;
			rb.nrec++;
		}
		csum_vm_create(&b, i);
		id = kvmft_attach(&nl, b.vm->fd, getpid());
		w.fd = kvmft_log_open(id, KVMFT_LOG_WRITE, &rb.session);
		w.rb = &rb;
		ASSERT_EQ(0, pthread_create(&w.thread, NULL, writer_thread, &w));
		sleep_ms(i % 20);
		if (!by_exit)
			kvmft_detach(&nl, id);
		else
			csum_vm_destroy(&b);
		pthread_join(w.thread, NULL);
		EXPECT_EQ(-EPIPE, w.rc) TH_LOG("round %d: writer %s", i,
					       strerror(-w.rc));
		close(w.fd);
		if (!by_exit)
			csum_vm_destroy(&b);
		rec_buf_free(&rb);
	}
	EXPECT_TRUE(live_back_to(live0));
	kvmft_nl_close(&nl);
}

/* (Re)load kvmft: 0 or the shell's status. */
static int module_load(void)
{
	const char *ko = getenv("KVMFT_KO");
	char cmd[512];

	if (!access("/sys/module/kvmft", F_OK))
		return 0;	/* loaded already */
	if (ko && *ko)
		snprintf(cmd, sizeof(cmd), "insmod '%s' 2>/dev/null || modprobe kvmft", ko);
	else
		snprintf(cmd, sizeof(cmd), "modprobe kvmft");
	return system(cmd);
}

/* rmmod kvmft, retrying while something still holds it: 0 or -errno. */
static int module_unload(void)
{
	double end = now_s() + PROMPT_S;
	int r;

	do {
		r = syscall(SYS_delete_module, "kvmft", O_NONBLOCK) ? -errno : 0;
		if (r != -EAGAIN && r != -EBUSY && r != -EWOULDBLOCK)
			return r;
		sleep_ms(5);
	} while (now_s() < end);
	return r;
}

struct spin_job {
	pthread_t thread;
	struct kvm_vcpu *vcpu;
	uint64_t cmd;
	struct ucall uc;
};

static void *spinner(void *arg)
{
	struct spin_job *j = arg;

	j->cmd = __vcpu_run_ucall(j->vcpu, &j->uc);
	return NULL;
}

/*
 * Unload right after the log closes, while the guest reads the TSC in a
 * loop: its RDTSCs may still be intercepted for a moment (a primary's
 * vCPU undoes interception at its next exit; a backup keeps its role until
 * its log is drained), and each one must still be handled. The guest ends
 * with UCALL_DONE, never with an exit KVM could not handle.
 */
TEST(unload_recording)
{
	const uint64_t spins = 20000;
	int i, n = iters(), r;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	for (i = 0; i < n; i++) {
		bool backup = i & 1;
		struct spin_job j = { 0 };
		struct kvmft_nl nl;
		struct kvm_vm *vm;
		uint64_t sid = 0;
		uint32_t id;
		int fd;

		ASSERT_EQ(0, module_load()) TH_LOG("round %d: cannot load kvmft", i);
		kvmft_nl_open(&nl);
		vm = hg_create(&j.vcpu, HG_TSC_SPIN, spins);
		id = kvmft_attach(&nl, vm->fd, getpid());
		if (backup) {
			uint8_t log[64 * 64];
			size_t len = 0;
			uint64_t k;

			sid = (uint64_t)i + 1;
			fd = kvmft_log_open(id, KVMFT_LOG_WRITE, &sid);
			for (k = 1; k <= 64; k++)
				len += kvmft_rec_build_tsc(log + len, sid, k,
							   KVMFT_REC_RDTSC,
							   1000 * k, 0);
			ASSERT_EQ((ssize_t)len, write(fd, log, len));
			ASSERT_EQ(0, pthread_create(&j.thread, NULL, spinner,
						    &j));
			/* Records are left: the role outlives the fd. */
			close(fd);
		} else {
			uint8_t buf[KVMFT_REC_MAX_LEN];

			fd = kvmft_log_open(id, KVMFT_LOG_READ, &sid);
			ASSERT_EQ(0, pthread_create(&j.thread, NULL, spinner,
						    &j));
			/* One record read: the guest runs under recording. */
			ASSERT_LT(0, read(fd, buf, sizeof(buf)));
			close(fd);
		}
		kvmft_nl_close(&nl);
		r = module_unload();
		EXPECT_EQ(0, r) TH_LOG("round %d: rmmod: %s", i, strerror(-r));
		pthread_join(j.thread, NULL);
		EXPECT_EQ(UCALL_DONE, j.cmd)
			TH_LOG("round %d (%s): the guest ended with %s", i,
			       backup ? "backup" : "primary",
			       j.cmd == UCALL_NONE ? vcpu_exit_str(j.vcpu) :
						     ucall_str(&j.uc));
		vm_free(vm);
		if (j.cmd != UCALL_DONE)
			break;
	}
	ASSERT_EQ(0, module_load());
}

struct toggler {
	pthread_t thread;
	volatile bool stop;
	int tries, refused, accepted;
};

static void *toggle_thread(void *arg)
{
	struct toggler *t = arg;

	while (!t->stop) {
		int r = write_file(FTRACE_SYSCTL, "0");

		t->tries++;
		if (r == -EBUSY) {
			t->refused++;
		} else {
			t->accepted++;
			write_file(FTRACE_SYSCTL, "1");
		}
		sleep_ms(1);
	}
	return NULL;
}

struct drainer {
	pthread_t thread;
	int fd;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	static __thread uint8_t buf[64 * 1024];

	while (read(d->fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

/*
 * A recording VM's guest reads the TSC while kernel.ftrace_enabled=0 is
 * tried again and again: every try is refused, every read handled.
 */
TEST(ftrace_toggle)
{
	int i, n = iters();
	struct kvmft_nl nl;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	kvmft_nl_open(&nl);
	for (i = 0; i < n; i++) {
		struct spin_job j = { 0 };
		struct toggler t = { 0 };
		struct drainer d;
		struct kvm_vm *vm;
		uint32_t id;

		vm = hg_create(&j.vcpu, HG_TSC_SPIN, 2000);
		id = kvmft_attach(&nl, vm->fd, getpid());
		d.fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);
		ASSERT_EQ(0, pthread_create(&d.thread, NULL, drain_thread, &d));
		ASSERT_EQ(0, pthread_create(&t.thread, NULL, toggle_thread, &t));
		ASSERT_EQ(0, pthread_create(&j.thread, NULL, spinner, &j));
		pthread_join(j.thread, NULL);
		t.stop = true;
		pthread_join(t.thread, NULL);
		EXPECT_EQ(UCALL_DONE, j.cmd)
			TH_LOG("round %d: the guest ended with %s", i,
			       j.cmd == UCALL_NONE ? vcpu_exit_str(j.vcpu) :
						     ucall_str(&j.uc));
		EXPECT_EQ(0, t.accepted)
			TH_LOG("round %d: ftrace_enabled=0 accepted %d of %d times",
			       i, t.accepted, t.tries);
		vm_free(vm);	/* the drainer sees EOF */
		pthread_join(d.thread, NULL);
		close(d.fd);
		if (j.cmd != UCALL_DONE || t.accepted)
			break;
	}
	write_file(FTRACE_SYSCTL, "1");
	kvmft_nl_close(&nl);
}

/* The guest's run on a thread of its own, which ends it (detach). */
struct keep_vm {
	pthread_t thread;
	pthread_mutex_t lock;	/* held while the reader is away */
	struct csum_vm cv;
	uint64_t n, sum;
	bool gone;		/* the VM is destroyed, under lock */
};

static void *keep_vm_run(void *arg)
{
	struct keep_vm *k = arg;

	k->sum = csum_vm_run(&k->cv, k->n, CSUM_DEFAULT_PORT, 0);
	pthread_mutex_lock(&k->lock);
	csum_vm_destroy(&k->cv);
	k->gone = true;
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/*
 * The reader of a KEEP session reads, acks some of what it read (not
 * always all, not always at once) and now and then closes and RESUMEs,
 * while the guest appends. After a RESUME it must read from the record
 * after the last ack on, so the records kept (up to each ack, then what
 * came after) are the whole run: in sequence (log_read_some() checks each
 * record's seq and CRC) and with the guest's checksum.
 */
TEST_F_TIMEOUT(full, keep_reopen_vs_append, 6 * 3600)
{
	const uint32_t keep = KVMFT_LOG_READ | KVMFT_LOG_KEEP;
	int i, n = iters(), resumes = 0;
	struct kvmft_nl nl;
	uint64_t live0;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	ASSERT_LT(0, self->saved_kb);
	ASSERT_EQ(0, write_file(LOG_KB_PARAM, "64"));
	kvmft_nl_open(&nl);
	live0 = live_start();
	srandom(getpid());
	/* An iteration of this race is one close and RESUME. */
	for (i = 0; !i || resumes < n; i++) {
		struct keep_vm k = { .n = 3000 };
		struct rec_buf rb = { 0 };
		struct kvmft_log_open lo;
		uint64_t acked = 0, sum;
		ssize_t r;
		uint32_t id;
		int fd;

		pthread_mutex_init(&k.lock, NULL);
		csum_vm_create(&k.cv, i);
		id = kvmft_attach(&nl, k.cv.vm->fd, getpid());
		fd = kvmft_log_open_lo(id, keep, 0, &lo);
		ASSERT_LE(0, fd) TH_LOG("round %d: %s", i, lo.reason);
		rb.session = lo.session;
		ASSERT_EQ(0, pthread_create(&k.thread, NULL, keep_vm_run, &k));
		while ((r = log_read_some(fd, &rb)) > 0) {
			if (random() % 3) {
				/* Anything between the last ack and the last read. */
				uint64_t to = acked + random() % (rb.nrec - acked + 1);
				bool gone;

				/* Refused (no longer a primary) once the VM has gone. */
				pthread_mutex_lock(&k.lock);
				r = ioctl(fd, KVMFT_IOC_LOG_ACK, &to) ? -errno : 0;
				gone = k.gone;
				pthread_mutex_unlock(&k.lock);
				ASSERT_TRUE(!r || (gone && r == -EINVAL))
					TH_LOG("round %d: ack %llu: %s", i,
					       (unsigned long long)to, strerror(-r));
				if (!r)
					acked = to;
			}
			if (random() % 5)
				continue;
			/* The reader goes away and comes back, if the VM is still there. */
			pthread_mutex_lock(&k.lock);
			if (k.gone) {
				pthread_mutex_unlock(&k.lock);
				continue;
			}
			close(fd);
			sleep_ms(random() % 3);
			fd = kvmft_log_open_lo(id, keep | KVMFT_LOG_RESUME, rb.session, &lo);
			pthread_mutex_unlock(&k.lock);
			ASSERT_LE(0, fd) TH_LOG("round %d: RESUME: %s: %s", i,
						strerror(-fd), lo.reason);
			ASSERT_EQ(acked, lo.acked) TH_LOG("round %d", i);
			/* Read again from acked + 1. */
			if (acked < rb.nrec)
				rb.len = (const uint8_t *)rec_buf_at(&rb, acked) - rb.data;
			rb.nrec = acked;
			resumes++;
		}
		ASSERT_EQ(0, r) TH_LOG("round %d: read: %s", i, strerror(-r));
		close(fd);
		pthread_join(k.thread, NULL);
		ASSERT_EQ(0, csum_from_log(&rb, &sum));
		EXPECT_EQ(k.sum, sum) TH_LOG("round %d: the records kept are not the run", i);
		rec_buf_free(&rb);
		pthread_mutex_destroy(&k.lock);
	}
	TH_LOG("%d rounds, %d resumes", i, resumes);
	EXPECT_TRUE(live_back_to(live0));
	kvmft_nl_close(&nl);
}

/*
 * The VMM of a KEEP session, in a child that can die: attach, LOG_OPEN
 * (READ|KEEP), close the reader, run the guest (which then waits on a
 * full log). Sends the VM id and session to @wfd.
 */
static void keep_orphan_child(int wfd, int round)
{
	struct kvmft_log_open lo;
	struct kvmft_nl cnl;
	struct csum_vm a;
	uint64_t msg[2];
	int fd;

	kvmft_nl_open(&cnl);
	csum_vm_create(&a, round);
	msg[0] = kvmft_attach(&cnl, a.vm->fd, getpid());
	fd = kvmft_log_open_lo(msg[0], KVMFT_LOG_READ | KVMFT_LOG_KEEP, 0, &lo);
	if (fd < 0)
		_exit(1);
	msg[1] = lo.session;
	close(fd);
	if (write(wfd, msg, sizeof(msg)) != sizeof(msg))
		_exit(1);
	csum_vm_run(&a, 3000, CSUM_DEFAULT_PORT, 0);
	_exit(0);
}

/*
 * A KEEP session whose reader closed (before the guest runs, or while it
 * appends), with its vCPU waiting on a log full of unacked records: the
 * module is pinned (rmmod refused), and the session ends by DETACH, the
 * guest then running to its end, or by its VMM's death. A RESUME then
 * finds nothing, and the module unloads again.
 */
TEST_F_TIMEOUT(full, keep_orphan_end, 6 * 3600)
{
	const uint32_t keep = KVMFT_LOG_READ | KVMFT_LOG_KEEP;
	int i, n = iters(), r;
	struct kvmft_nl nl;
	uint64_t live0;

	STRESS_SELECTED();

	REQUIRE_KVMFT_ADMIN();
	ASSERT_LT(0, self->saved_kb);
	ASSERT_EQ(0, write_file(LOG_KB_PARAM, "64"));
	kvmft_nl_open(&nl);
	live0 = live_start();
	for (i = 0; i < n; i++) {
		struct keep_vm k = { .n = 3000 };
		struct kvmft_log_open lo;
		bool by_exit = i & 1;
		uint64_t msg[2];
		int fd, p[2], status;
		uint32_t id;
		pid_t pid = 0;

		pthread_mutex_init(&k.lock, NULL);
		if (by_exit) {
			ASSERT_EQ(0, pipe(p));
			pid = fork();
			ASSERT_LE(0, pid);
			if (!pid)
				keep_orphan_child(p[1], i);
			close(p[1]);
			ASSERT_EQ((ssize_t)sizeof(msg), read(p[0], msg, sizeof(msg)));
			close(p[0]);
			id = msg[0];
		} else {
			csum_vm_create(&k.cv, i);
			id = kvmft_attach(&nl, k.cv.vm->fd, getpid());
			fd = kvmft_log_open_lo(id, keep, 0, &lo);
			ASSERT_LE(0, fd) TH_LOG("round %d: %s", i, lo.reason);
			msg[1] = lo.session;
			if (i % 4)
				close(fd);	/* before the guest runs, or ... */
			ASSERT_EQ(0, pthread_create(&k.thread, NULL, keep_vm_run, &k));
			if (!(i % 4)) {
				sleep_ms(i % 7);
				close(fd);	/* ... while it appends */
			}
		}
		ASSERT_TRUE(vcpu_waits(&nl, id)) TH_LOG("round %d", i);
		if (i % 3 == 0) {
			r = syscall(SYS_delete_module, "kvmft", O_NONBLOCK) ? -errno : 0;
			ASSERT_NE(0, r) TH_LOG("round %d: kvmft unloaded under a kept session", i);
		}
		if (by_exit) {
			struct kvmft_vm_info vm;
			double end = now_s() + PROMPT_S;

			kill(pid, SIGKILL);
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			while (!__kvmft_get_vm(&nl, id, &vm) && now_s() < end)
				sleep_ms(10);
		} else {
			kvmft_detach(&nl, id);
			pthread_join(k.thread, NULL);	/* runs live to its end */
		}
		r = kvmft_log_open_lo(id, keep | KVMFT_LOG_RESUME, msg[1], &lo);
		EXPECT_TRUE(r == -ENOENT) TH_LOG("round %d: RESUME after the end: %d %s",
						 i, r, lo.reason);
		if (r >= 0)
			close(r);
		pthread_mutex_destroy(&k.lock);
	}
	EXPECT_TRUE(live_back_to(live0));
	kvmft_nl_close(&nl);
	r = module_unload();
	EXPECT_EQ(0, r) TH_LOG("rmmod after the sessions ended: %s", strerror(-r));
	ASSERT_EQ(0, module_load());
}

TEST_HARNESS_MAIN
