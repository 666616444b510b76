// SPDX-License-Identifier: GPL-2.0
/*
 * outq_test: the output rule (issue 6, docs/output-rule.md) on real taps,
 * a bridge and a network namespace. Needs kvmft.ko and root; SKIPs
 * without them.
 *
 *   this process: the VM's VMM        namespace oqf<pid>: the far side
 *
 *   write ─> oqt<pid>  (bound) ──┐
 *                                 oqb<pid> ── oqv<pid> ═══ oqw<pid>: capture
 *   write ─> oqs<pid>  (other) ──┘   bridge     veth pair
 *
 * The test writes the VM's packets into its tap itself, as its VMM would,
 * numbered, between guest exits that each append one log record, so each
 * packet's tag (the log position at its arrival) is known. Packets on the
 * other tap are sentinels: they are never held, so when one arrives at
 * the far side every packet released before it was sent has arrived too
 * (one CPU, one backlog), which lets a test check that nothing else did.
 *
 *   hold_ack_release   acks withheld: nothing reaches the far side while
 *                      the other port's traffic does; an ack at P (genl)
 *                      releases exactly the packets tagged <= P, in
 *                      order, once; an ack by ioctl on the log fd the
 *                      rest; then packets at acked positions pass
 *   detach_frees       DETACH with packets held: none ever leaves
 *   vmm_exit_frees     the VMM exits with packets held: none leaves
 *   backup_drops       a backup's packets are dropped; after PROMOTE its
 *                      packets leave
 *   promoting_drops    a backup promoted with records still to replay:
 *                      its packets are dropped until its vCPU has taken
 *                      the last record (the promotion position), then
 *                      every packet it sends leaves, in order
 *   no_role_passes     an attached VM without a role: packets pass
 *   limit_waits        at the packet limit the vCPU waits (KVM_RUN makes
 *                      no progress, the wait is counted, ftctl status
 *                      shows it) until an ack
 *   errors             ACK/TAP refusals: not a primary, past the log, a
 *                      device bound twice, no such device
 *   ftctl_pair_acks    `ftctl record --acks F | ftctl replay --acks F`
 *                      between two VMs: the backup's acks release the
 *                      primary's packets, all of them, in order, once
 *   tcp_stream         a real TCP stream from a "guest" namespace whose
 *                      veth stands for the VM's tap (bound like one), to
 *                      the far namespace, acks at random delays: every
 *                      byte arrives once, in order; while acks stop, no
 *                      packet of the guest's reaches the far side
 *   tracepoints        kvmft:kvmft_outq_release gives each released
 *                      packet's tag and hold time; kvmft:kvmft_outq_drop
 *                      each packet freed unsent
 *   race_release       a release of hundreds of packets racing DETACH,
 *                      the VMM's exit, unbinding, or the log's close,
 *                      20 times each: what reaches the far side is a
 *                      prefix of the packets, in order, once
 *   stress             OUTQ_STRESS_PKTS packets (default 200000, about a
 *                      minute in the lab; 100 per KVMFT_STRESS_ITERS round
 *                      under make check-debug; the acceptance's 1000000
 *                      take about 5 minutes), the
 *                      guest advancing the log every 1..64 of them, acks
 *                      from a thread at random times and positions: every
 *                      packet arrives once, in order, never before an ack
 *                      covered it; nothing stays held or is dropped
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "harness.h"
#include "outq.h"

GUEST_IMAGE_DECLARE(harden);

#define OQ_QUIET_MS	1500		/* "nothing more came" after a sentinel */
#define OQ_MAX		512

#define REQUIRE_NET()							\
	do {								\
		const char *__why;					\
		REQUIRE_KVMFT_ADMIN();					\
		__why = net_missing();					\
		if (__why)						\
			SKIP(return, "%s", __why);			\
	} while (0)

/* A primary VM whose tap is bound; the guest reads the TSC per SYNC. */
struct oq_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint32_t id;
	int log_fd;
};

static void oq_vm_create(struct kvmft_nl *nl, struct oq_vm *v)
{
	v->vm = vm_create_with_one_vcpu(&v->vcpu, GUEST_IMAGE(harden));
	vcpu_set_args(v->vcpu, HG_TSC_SYNC, 1000000, 0);
	v->id = kvmft_attach(nl, v->vm->fd, getpid());
	v->log_fd = -1;
}

static void oq_vm_primary(struct kvmft_nl *nl, struct oq_vm *v)
{
	(void)nl;
	v->log_fd = kvmft_log_open(v->id, KVMFT_LOG_READ, NULL);
}

/* One guest exit: one more record in the log. */
static void oq_step(struct oq_vm *v)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(v->vcpu, &uc) == UCALL_SYNC, "no SYNC");
}

static uint64_t oq_pos(struct kvmft_nl *nl, struct oq_vm *v)
{
	struct kvmft_vm_info info;

	kvmft_get_vm(nl, v->id, &info);
	return info.log_seq;
}

static void oq_info(struct kvmft_nl *nl, struct oq_vm *v,
		    struct kvmft_vm_info *info)
{
	kvmft_get_vm(nl, v->id, info);
}

static void oq_vm_free(struct oq_vm *v)
{
	if (v->log_fd >= 0)
		close(v->log_fd);
	if (v->vm)
		vm_free(v->vm);
	v->vm = NULL;
	v->log_fd = -1;
}

/*
 * Write packets @first..@last, one per log position: packet i goes out
 * after a guest exit, tagged with pos[i].
 */
static void send_tagged(struct kvmft_nl *nl, struct topo *t, struct oq_vm *v,
			uint32_t first, uint32_t last, uint64_t *pos)
{
	uint32_t i;

	for (i = first; i <= last; i++) {
		oq_step(v);
		pos[i] = oq_pos(nl, v);
		frame_send(t, STREAM_VM, i);
	}
}

static void expect_seq(struct __test_metadata *_metadata, const uint32_t *got,
		       int n, uint32_t first, uint32_t last)
{
	int i;

	ASSERT_EQ(n, (int)(last - first + 1)) {
		for (i = 0; i < n; i++)
			TH_LOG("got packet %u", got[i]);
	}
	for (i = 0; i < n; i++)
		ASSERT_EQ(got[i], first + i);
}

TEST(hold_ack_release)
{
	uint64_t pos[OQ_MAX], p;
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX];
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;
	int n;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	kvmft_tap(&nl, v.id, t.tap_ifindex);

	/* Acks withheld: 12 packets held, the other port's pass. */
	send_tagged(&nl, &t, &v, 1, 12, pos);
	n = collect(&t, got, OQ_MAX);
	ASSERT_EQ(n, 0);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_IFINDEX], t.tap_ifindex);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 12);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_BYTES], 12 * OQ_FRAME_MIN);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_RELEASED], 0);
	/* Each packet has its own position: an ack can split them. */
	ASSERT_LT(pos[5], pos[6]);

	/* An ack at P by genl: exactly 1..5, in order, once. */
	kvmft_ack(&nl, v.id, pos[5]);
	n = collect(&t, got, OQ_MAX);
	expect_seq(_metadata, got, n, 1, 5);
	/* A stale ack changes nothing. */
	kvmft_ack(&nl, v.id, pos[2]);
	n = collect(&t, got, OQ_MAX);
	ASSERT_EQ(n, 0);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 7);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_RELEASED], 5);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_ACKED], pos[5]);

	/* The rest by ioctl on the log fd, past a few more. */
	send_tagged(&nl, &t, &v, 13, 20, pos);
	p = pos[20];
	ASSERT_EQ(ioctl(v.log_fd, KVMFT_IOC_LOG_ACK, &p), 0);
	n = collect(&t, got, OQ_MAX);
	expect_seq(_metadata, got, n, 6, 20);

	/* Packets at an acked position pass at once. */
	frame_send(&t, STREAM_VM, 21);
	n = collect(&t, got, OQ_MAX);
	expect_seq(_metadata, got, n, 21, 21);
	/* Then the guest runs on: held again. */
	send_tagged(&nl, &t, &v, 22, 23, pos);
	n = collect(&t, got, OQ_MAX);
	ASSERT_EQ(n, 0);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 2);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD], 22);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_RELEASED], 20);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_PASSED], 1);
	ASSERT_GT(info.outq[KVMFT_OUTQ_LONGEST_NS], 0);

	/* Closing the log ends the primary role: held packets are freed. */
	close(v.log_fd);
	v.log_fd = -1;
	n = collect(&t, got, OQ_MAX);
	ASSERT_EQ(n, 0);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 0);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_DROPPED], 2);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST(detach_frees)
{
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX];
	uint64_t pos[OQ_MAX];
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	send_tagged(&nl, &t, &v, 1, 8, pos);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 8);
	kvmft_detach(&nl, v.id);
	ASSERT_EQ(collect(&t, got, OQ_MAX), 0);
	/* The tap is unbound: the VMM's packets pass, unheld. */
	frame_send(&t, STREAM_VM, 9);
	ASSERT_EQ(collect(&t, got, OQ_MAX), 1);
	ASSERT_EQ(got[0], 9);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST(vmm_exit_frees)
{
	struct kvmft_nl nl, ev;
	uint32_t got[OQ_MAX];
	uint64_t pos[OQ_MAX];
	struct oq_vm v;
	struct topo t;
	uint32_t id;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	kvmft_events_open(&ev);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	send_tagged(&nl, &t, &v, 1, 8, pos);
	id = v.id;
	/* The VMM lets go of the VM (its last fd): kvmft detaches. */
	oq_vm_free(&v);
	ASSERT_EQ(kvmft_events_wait(&ev, id, KVMFT_EVENT_DESTROY, -1, 60000,
				    NULL), 0);
	ASSERT_EQ(collect(&t, got, OQ_MAX), 0);
	topo_down(&t);
	kvmft_nl_close(&ev);
	kvmft_nl_close(&nl);
}

TEST(backup_drops)
{
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX];
	uint64_t session = 0x5eed;
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;
	int i;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	v.log_fd = kvmft_log_open(v.id, KVMFT_LOG_WRITE, &session);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	for (i = 1; i <= 6; i++)
		frame_send(&t, STREAM_VM, i);
	ASSERT_EQ(collect(&t, got, OQ_MAX), 0);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_DROPPED], 6);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 0);
	/* An ack means nothing to a backup. */
	ASSERT_EQ(__kvmft_ack(&nl, v.id, 0), -EINVAL);
	kvmft_promote(&nl, v.id);
	for (i = 7; i <= 9; i++)
		frame_send(&t, STREAM_VM, i);
	expect_seq(_metadata, got, collect(&t, got, OQ_MAX), 7, 9);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

static uint64_t now_ms(void);

TEST(promoting_drops)
{
	static char rec[1 << 16];
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX];
	uint64_t session = 0, end;
	struct kvmft_nl nl;
	struct oq_vm a, b;
	struct topo t;
	ssize_t n, off = 0;
	int i;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &a);
	oq_vm_create(&nl, &b);
	/* A records ten RDTSCs; B takes its log and the tap. */
	a.log_fd = kvmft_log_open(a.id, KVMFT_LOG_READ, &session);
	for (i = 0; i < 10; i++)
		oq_step(&a);
	end = now_ms() + 60000;
	while (off < 10 * 40 && now_ms() < end) {
		n = read(a.log_fd, rec + off, sizeof(rec) - off);
		ASSERT_GT(n, 0);
		off += n;
	}
	b.log_fd = kvmft_log_open(b.id, KVMFT_LOG_WRITE, &session);
	ASSERT_EQ(write(b.log_fd, rec, off), off);
	kvmft_tap(&nl, b.id, t.tap_ifindex);
	kvmft_promote(&nl, b.id);
	oq_info(&nl, &b, &info);
	ASSERT_EQ(info.role, KVMFT_ROLE_BACKUP);
	ASSERT_TRUE(info.flags & KVMFT_VM_F_PROMOTING);
	/* Promoting, records left: still a backup's packets. */
	for (i = 1; i <= 3; i++)
		frame_send(&t, STREAM_VM, i);
	ASSERT_EQ(collect(&t, got, OQ_MAX), 0);
	/* B replays the ten records; at the last it goes live. */
	for (i = 0; i < 10; i++)
		oq_step(&b);
	end = now_ms() + 60000;
	do
		oq_info(&nl, &b, &info);
	while (info.role != KVMFT_ROLE_NONE && now_ms() < end && !usleep(20000));
	ASSERT_EQ(info.role, KVMFT_ROLE_NONE);
	for (i = 4; i <= 6; i++)
		frame_send(&t, STREAM_VM, i);
	expect_seq(_metadata, got, collect(&t, got, OQ_MAX), 4, 6);
	oq_info(&nl, &b, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_DROPPED], 3);
	kvmft_detach(&nl, a.id);
	kvmft_detach(&nl, b.id);
	oq_vm_free(&a);
	oq_vm_free(&b);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST(no_role_passes)
{
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX];
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;
	int i;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	for (i = 1; i <= 5; i++)
		frame_send(&t, STREAM_VM, i);
	expect_seq(_metadata, got, collect(&t, got, OQ_MAX), 1, 5);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_PASSED], 5);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

struct runner {
	struct oq_vm *v;
	volatile int steps;
	volatile bool stop;
};

static void *run_steps(void *arg)
{
	struct runner *r = arg;

	while (!r->stop) {
		oq_step(r->v);
		r->steps++;
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* ctl/ftctl beside the selftests, or $FTCTL. */
static void ftctl_path(char *buf, size_t len)
{
	char exe[512];
	ssize_t n;

	if (getenv("FTCTL")) {
		snprintf(buf, len, "%s", getenv("FTCTL"));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	TEST_ASSERT(n > 0, "readlink: %m");
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(buf, len, "%s/../../ctl/ftctl", exe);
}

TEST(limit_waits)
{
	struct kvmft_vm_info info;
	uint64_t pos[OQ_MAX], end;
	uint32_t got[OQ_MAX];
	struct runner r = { 0 };
	char ftctl[600];
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;
	pthread_t th;
	int steps, i;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	ASSERT_EQ(__kvmft_tap(&nl, v.id, t.tap_ifindex, 4, 0), 0);
	send_tagged(&nl, &t, &v, 1, 4, pos);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_MAX_PKTS], 4);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 4);
	/* At the limit: the vCPU waits in KVM_RUN, counted. */
	r.v = &v;
	ASSERT_EQ(pthread_create(&th, NULL, run_steps, &r), 0);
	end = now_ms() + 60000;
	do {
		usleep(20000);
		oq_info(&nl, &v, &info);
	} while (!info.outq[KVMFT_OUTQ_WAITS] && now_ms() < end);
	ASSERT_GE(info.outq[KVMFT_OUTQ_WAITS], 1);
	/* ftctl status shows the queue and the wait. */
	ftctl_path(ftctl, sizeof(ftctl));
	if (!access(ftctl, X_OK)) {
		ASSERT_EQ(sh("%s status --vm %u --json | grep -Eq '\"outq\":.*\"held_pkts\":4,.*\"waits\":[1-9]'",
			     ftctl, v.id), 0);
		ASSERT_EQ(sh("%s status --vm %u | grep -q OUT_WAITS", ftctl,
			     v.id), 0);
	}
	steps = r.steps;
	usleep(OQ_QUIET_MS * 1000);
	ASSERT_EQ(r.steps, steps);
	/* An ack frees room: the guest runs on. */
	kvmft_ack(&nl, v.id, pos[4]);
	end = now_ms() + 60000;
	while (r.steps == steps && now_ms() < end)
		usleep(20000);
	ASSERT_GT(r.steps, steps);
	r.stop = true;
	pthread_join(th, NULL);
	i = collect(&t, got, OQ_MAX);
	expect_seq(_metadata, got, i, 1, 4);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST(errors)
{
	uint64_t session = 0x5eed, p;
	struct kvmft_nl nl;
	struct oq_vm v, w;
	struct topo t;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_create(&nl, &w);
	/* No role: nothing to ack. */
	ASSERT_EQ(__kvmft_ack(&nl, v.id, 0), -EINVAL);
	oq_vm_primary(&nl, &v);
	oq_step(&v);
	/* Past the last record. */
	ASSERT_EQ(__kvmft_ack(&nl, v.id, oq_pos(&nl, &v) + 1), -ERANGE);
	p = oq_pos(&nl, &v) + 1;
	ASSERT_EQ(ioctl(v.log_fd, KVMFT_IOC_LOG_ACK, &p), -1);
	ASSERT_EQ(errno, ERANGE);
	ASSERT_EQ(__kvmft_tap(&nl, v.id, 0x7ffffff0, 0, 0), -ENODEV);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	ASSERT_EQ(__kvmft_tap(&nl, w.id, t.tap_ifindex, 0, 0), -EBUSY);
	ASSERT_EQ(__kvmft_tap(&nl, v.id, if_nametoindex(t.other), 0, 0),
		  -EEXIST);
	/* Unbind, then the other VM may have it. */
	kvmft_tap(&nl, v.id, 0);
	kvmft_tap(&nl, w.id, t.tap_ifindex);
	/* A backup's writer fd takes no acks. */
	w.log_fd = kvmft_log_open(w.id, KVMFT_LOG_WRITE, &session);
	p = 0;
	ASSERT_EQ(ioctl(w.log_fd, KVMFT_IOC_LOG_ACK, &p), -1);
	ASSERT_EQ(errno, EBADF);
	kvmft_detach(&nl, v.id);
	kvmft_detach(&nl, w.id);
	oq_vm_free(&v);
	oq_vm_free(&w);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST(ftctl_pair_acks)
{
	char ftctl[600], dir[] = "/tmp/oqXXXXXX", fifo[64], cmd[1600];
	struct kvmft_vm_info info;
	uint32_t got[OQ_MAX], all[OQ_MAX];
	uint64_t pos[OQ_MAX], end;
	struct oq_vm a, b;
	struct kvmft_nl nl;
	struct topo t;
	int n, total = 0, i;
	pid_t pid;

	REQUIRE_NET();
	ftctl_path(ftctl, sizeof(ftctl));
	if (access(ftctl, X_OK))
		SKIP(return, "no ftctl at %s", ftctl);
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &a);
	oq_vm_create(&nl, &b);
	kvmft_tap(&nl, a.id, t.tap_ifindex);
	ASSERT_NE(mkdtemp(dir), NULL);
	snprintf(fifo, sizeof(fifo), "%s/acks", dir);
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	snprintf(cmd, sizeof(cmd),
		 "%s record --vm %u --out - --acks %s 2>%s/rec.err | %s replay --vm %u --in - --acks %s >%s/rep.out 2>&1",
		 ftctl, a.id, fifo, dir, ftctl, b.id, fifo, dir);
	printf("# + %s\n", cmd);
	fflush(stdout);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		setsid();
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	end = now_ms() + 60000;
	do {
		usleep(20000);
		oq_info(&nl, &a, &info);
	} while (info.role != KVMFT_ROLE_PRIMARY && now_ms() < end);
	ASSERT_EQ(info.role, KVMFT_ROLE_PRIMARY);

	/* The guest runs and sends; the backup's acks let it all out. */
	send_tagged(&nl, &t, &a, 1, 40, pos);
	end = now_ms() + OQ_WAIT_S * 1000;
	while (total < 40 && now_ms() < end) {
		n = collect(&t, got, OQ_MAX);
		for (i = 0; i < n && total < OQ_MAX; i++)
			all[total++] = got[i];
		if (total < 40)
			usleep(100000);
	}
	expect_seq(_metadata, all, total, 1, 40);
	oq_info(&nl, &a, &info);
	ASSERT_GE(info.outq[KVMFT_OUTQ_ACKED], pos[40]);
	ASSERT_GT(info.outq[KVMFT_OUTQ_ACKS], 0);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_RELEASED] + info.outq[KVMFT_OUTQ_PASSED],
		  40);

	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
	kvmft_detach(&nl, a.id);
	kvmft_detach(&nl, b.id);
	oq_vm_free(&a);
	oq_vm_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh("%s", cmd);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

/* The log's reader, as a primary has one: a full log stops the vCPU. */
struct drain {
	int fd;
	volatile bool stop;
	pthread_t th;
};

static void *drain_log(void *arg)
{
	struct drain *d = arg;
	static char buf[1 << 16];
	struct pollfd p = { .fd = d->fd, .events = POLLIN };

	while (!d->stop)
		if (poll(&p, 1, 100) > 0 && read(d->fd, buf, sizeof(buf)) <= 0)
			break;
	return NULL;
}

static void drain_start(struct drain *d, int fd)
{
	d->fd = fd;
	d->stop = false;
	pthread_create(&d->th, NULL, drain_log, d);
}

static void drain_stop(struct drain *d)
{
	d->stop = true;
	pthread_join(d->th, NULL);
}

/* Run @fn in network namespace @ns, on a thread of its own. */
struct in_ns {
	const char *ns;
	void *(*fn)(void *);
	void *arg;
};

static void *ns_thread(void *arg)
{
	struct in_ns *n = arg;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", n->ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0 && !setns(fd, CLONE_NEWNET), "setns %s: %m", n->ns);
	close(fd);
	return n->fn(n->arg);
}

#define TCP_BYTES	(4 << 20)
#define TCP_PORT	7707

static uint8_t tcp_byte(size_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

struct tcp {
	int lfd;			/* listening, in the far namespace */
	volatile size_t got;		/* bytes the far side read, checked */
	volatile bool bad;
	volatile bool sent;
	volatile bool paused;		/* no acks now */
	volatile uint64_t pos;
	struct oq_vm *v;
	struct kvmft_nl *nl;
};

static void *tcp_listen(void *arg)
{
	struct tcp *c = arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(TCP_PORT) };
	int one = 1;

	c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	TEST_ASSERT(!bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) &&
		    !listen(c->lfd, 1), "listen: %m");
	return NULL;
}

static void *tcp_server(void *arg)
{
	struct tcp *c = arg;
	static uint8_t buf[65536];
	ssize_t n, i;
	int fd = accept(c->lfd, NULL, NULL);

	TEST_ASSERT(fd >= 0, "accept: %m");
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] != tcp_byte(c->got + i))
				c->bad = true;
		c->got += n;
	}
	close(fd);
	return NULL;
}

static void *tcp_client(void *arg)
{
	struct tcp *c = arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(TCP_PORT) };
	static uint8_t buf[TCP_BYTES];
	size_t off = 0;
	ssize_t n;
	int fd;

	for (off = 0; off < TCP_BYTES; off++)
		buf[off] = tcp_byte(off);
	inet_pton(AF_INET, "10.77.0.2", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(!connect(fd, (struct sockaddr *)&a, sizeof(a)),
		    "connect: %m");
	for (off = 0; off < TCP_BYTES; off += n) {
		n = write(fd, buf + off, TCP_BYTES - off);
		TEST_ASSERT(n > 0, "write: %m");
	}
	close(fd);
	c->sent = true;
	return NULL;
}

/* Acks at random delays (0..20 ms) of a position the log had a while ago. */
static void *tcp_acker(void *arg)
{
	struct tcp *c = arg;
	unsigned int seed = 3;
	uint64_t p;

	while (!c->sent || c->got < TCP_BYTES) {
		usleep(rand_r(&seed) % 20000);
		p = c->pos;
		if (!c->paused && p)
			ioctl(c->v->log_fd, KVMFT_IOC_LOG_ACK, &p);
		if (c->bad)
			break;
	}
	return NULL;
}

/* The guest's packets at the far side: frames from the guest's MAC. */
static int guest_frames(int fd, const uint8_t *mac)
{
	uint8_t f[2048];
	int n = 0;

	while (recv(fd, f, sizeof(f), MSG_DONTWAIT) >= 14)
		n += !memcmp(f + 6, mac, 6);
	return n;
}

TEST(tcp_stream)
{
	struct in_ns srv_ns, cli_ns, lst_ns;
	struct drain dr;
	pthread_t srv, cli, ack, lst;
	struct tcp c = { 0 };
	struct sockaddr_ll sll = { 0 };
	uint8_t mac[6];
	char gns[32], gv[IFNAMSIZ], hv[IFNAMSIZ], path[192], line[64];
	uint64_t end;
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;
	int cap, self, far, n, i;
	uint32_t got[OQ_MAX];
	bool checked = false;
	FILE *f;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	snprintf(gns, sizeof(gns), "oqg%d", getpid());
	snprintf(gv, sizeof(gv), "oqx%d", getpid());
	snprintf(hv, sizeof(hv), "oqy%d", getpid());
	/* The guest: a namespace whose veth is the "tap" the VM sends on. */
	ASSERT_EQ(sh("ip netns add %s && ip link add %s type veth peer name %s netns %s && "
		     "ip link set %s master %s && ip link set %s up && "
		     "ip -n %s addr add 10.77.0.1/24 dev %s && ip -n %s link set %s up && "
		     "ip -n %s link set lo up && ip -n %s addr add 10.77.0.2/24 dev %s",
		     gns, hv, gv, gns, hv, t.br, hv, gns, gv, gns, gv, gns,
		     t.ns, t.peer), 0);
	snprintf(path, sizeof(path), "ip -n %s link show %s | sed -n 's/.*ether \\([^ ]*\\).*/\\1/p'",
		 gns, gv);
	f = popen(path, "r");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(line, sizeof(line), f), NULL);
	pclose(f);
	ASSERT_EQ(sscanf(line, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
			 &mac[2], &mac[3], &mac[4], &mac[5]), 6);
	/* A capture of everything at the far side. */
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", t.ns);
	far = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(setns(far, CLONE_NEWNET), 0);
	cap = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(t.peer);
	ASSERT_EQ(bind(cap, (struct sockaddr *)&sll, sizeof(sll)), 0);
	ASSERT_EQ(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(far);
	n = 64 << 20;
	setsockopt(cap, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n));

	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	ASSERT_EQ(__kvmft_tap(&nl, v.id, if_nametoindex(hv), 0, 0), 0);
	drain_start(&dr, v.log_fd);
	c.v = &v;
	c.nl = &nl;
	lst_ns = (struct in_ns){ t.ns, tcp_listen, &c };
	pthread_create(&lst, NULL, ns_thread, &lst_ns);
	pthread_join(lst, NULL);
	srv_ns = (struct in_ns){ t.ns, tcp_server, &c };
	cli_ns = (struct in_ns){ gns, tcp_client, &c };
	pthread_create(&srv, NULL, ns_thread, &srv_ns);
	pthread_create(&ack, NULL, tcp_acker, &c);
	pthread_create(&cli, NULL, ns_thread, &cli_ns);

	/* The guest runs: the log advances while the stream goes on. */
	end = now_ms() + 600000;
	for (i = 0; (!c.sent || c.got < TCP_BYTES) && !c.bad && now_ms() < end; i++) {
		oq_step(&v);
		c.pos = oq_pos(&nl, &v);
		if (!checked && c.got >= TCP_BYTES / 4) {
			checked = true;
			/* Acks stop: what is acked drains, then nothing. */
			c.paused = true;
			usleep(50000);
			collect(&t, got, OQ_MAX);
			guest_frames(cap, mac);
			for (n = 0; n < 20; n++) {
				oq_step(&v);
				c.pos = oq_pos(&nl, &v);
				usleep(20000);
			}
			collect(&t, got, OQ_MAX);
			ASSERT_EQ(guest_frames(cap, mac), 0);
			c.paused = false;
		}
		usleep(1000);
	}
	pthread_join(cli, NULL);
	pthread_join(srv, NULL);
	pthread_join(ack, NULL);
	drain_stop(&dr);
	ASSERT_FALSE(c.bad);
	ASSERT_EQ(c.got, TCP_BYTES);
	ASSERT_TRUE(checked);
	close(cap);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	sh("ip netns del %s", gns);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

#define TRACEFS "/sys/kernel/tracing"

TEST(tracepoints)
{
	uint64_t pos[OQ_MAX];
	uint32_t got[OQ_MAX];
	struct kvmft_nl nl;
	struct oq_vm v;
	struct topo t;

	REQUIRE_NET();
	if (access(TRACEFS "/events/kvmft/kvmft_outq_release/enable", W_OK))
		SKIP(return, "no %s/events/kvmft", TRACEFS);
	kvmft_nl_open(&nl);
	topo_up(&t);
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	kvmft_tap(&nl, v.id, t.tap_ifindex);
	ASSERT_EQ(sh("echo > " TRACEFS "/trace && echo 1 > " TRACEFS "/events/kvmft/enable"), 0);
	send_tagged(&nl, &t, &v, 1, 5, pos);
	kvmft_ack(&nl, v.id, pos[3]);
	expect_seq(_metadata, got, collect(&t, got, OQ_MAX), 1, 3);
	close(v.log_fd);	/* 4 and 5 are freed */
	v.log_fd = -1;
	ASSERT_EQ(sh("echo 0 > " TRACEFS "/events/kvmft/enable"), 0);
	ASSERT_EQ(sh("grep -c 'kvmft_outq_release: vm=%u tag=[0-9]* hold_ns=[1-9][0-9]* len=60' " TRACEFS "/trace | grep -qx 3",
		     v.id), 0);
	ASSERT_EQ(sh("grep -c 'kvmft_outq_release: vm=%u tag=%llu ' " TRACEFS "/trace | grep -qx 1",
		     v.id, (unsigned long long)pos[3]), 0);
	ASSERT_EQ(sh("grep -c 'kvmft_outq_drop: vm=%u why=freed len=60' " TRACEFS "/trace | grep -qx 2",
		     v.id), 0);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

struct racer {
	struct oq_vm *v;
	uint64_t pos;
};

static void *race_ack(void *arg)
{
	struct racer *r = arg;

	/* May fail: the other side may have won. */
	ioctl(r->v->log_fd, KVMFT_IOC_LOG_ACK, &r->pos);
	return NULL;
}

enum { RACE_DETACH, RACE_VMM_EXIT, RACE_UNBIND, RACE_LOG_CLOSE, RACE_LAST };

/*
 * From here on, tests take minutes: race_release's 80 VMs under the debug
 * kernel (it ran past the harness's default 30 s there), stress's million
 * packets anywhere.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 1800

TEST(race_release)
{
	static const char *const what[] = { "detach", "VMM exit", "unbind",
					    "log close" };
	uint32_t got[OQ_MAX];
	struct kvmft_nl nl;
	struct racer r;
	struct oq_vm v;
	struct topo t;
	pthread_t th;
	int kind, round, i, n;
	uint32_t base = 0;

	REQUIRE_NET();
	kvmft_nl_open(&nl);
	topo_up(&t);
	for (kind = 0; kind < RACE_LAST; kind++) {
		for (round = 0; round < 20; round++) {
			oq_vm_create(&nl, &v);
			oq_vm_primary(&nl, &v);
			kvmft_tap(&nl, v.id, t.tap_ifindex);
			oq_step(&v);
			r.v = &v;
			r.pos = oq_pos(&nl, &v);
			for (i = 0; i < 300; i++)
				frame_send(&t, STREAM_VM, base + i);
			pthread_create(&th, NULL, race_ack, &r);
			if (round & 1)
				usleep(round * 100);
			switch (kind) {
			case RACE_DETACH:
				kvmft_detach(&nl, v.id);
				break;
			case RACE_VMM_EXIT:
				oq_vm_free(&v);
				break;
			case RACE_UNBIND:
				kvmft_tap(&nl, v.id, 0);
				break;
			case RACE_LOG_CLOSE:
				close(v.log_fd);
				v.log_fd = -1;
				break;
			}
			pthread_join(th, NULL);
			n = collect(&t, got, OQ_MAX);
			for (i = 0; i < n; i++)
				ASSERT_EQ(got[i], base + i) {
					TH_LOG("%s, round %d", what[kind], round);
				}
			if (kind != RACE_VMM_EXIT && kind != RACE_DETACH)
				__kvmft_detach(&nl, v.id);
			oq_vm_free(&v);
			base += 300;
		}
	}
	topo_down(&t);
	kvmft_nl_close(&nl);
}

struct stress {
	struct topo *t;
	struct oq_vm *v;
	uint64_t *tags;			/* each packet's position */
	uint32_t n;
	volatile uint64_t pos;		/* the log's, as the writer saw it */
	volatile uint64_t acked;	/* published before each ack */
	volatile uint32_t sent, got;
	volatile bool done;
	const char *err;		/* the receiver's finding, if any */
	uint32_t err_num;
};

static void *stress_acker(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = 1;
	uint64_t p;

	while (!s->done) {
		usleep(rand_r(&seed) % 2000);
		/* Somewhere between the last ack and the log's position. */
		p = s->pos;
		if (p > s->acked)
			p = s->acked + rand_r(&seed) % (p - s->acked + 1);
		if (p <= s->acked)
			continue;
		s->acked = p;
		__sync_synchronize();
		TEST_ASSERT(!ioctl(s->v->log_fd, KVMFT_IOC_LOG_ACK, &p),
			    "ack %llu: %m", (unsigned long long)p);
	}
	return NULL;
}

static void *stress_receiver(void *arg)
{
	struct stress *s = arg;
	uint32_t stream, num;

	while (s->got < s->n) {
		if (!frame_recv(s->t, 60000, &stream, &num)) {
			s->err = "nothing arrived for 60 s";
			break;
		}
		if (stream != STREAM_VM)
			continue;
		__sync_synchronize();
		if (num != s->got) {
			s->err = num < s->got ? "duplicate or reordered" : "lost";
			s->err_num = num;
			break;
		}
		if (s->tags[num] > s->acked) {
			s->err = "left before an ack covered it";
			s->err_num = num;
			break;
		}
		s->got++;
	}
	return NULL;
}

TEST(stress)
{
	struct stress s = { 0 };
	struct kvmft_vm_info info;
	pthread_t ack_th, rx_th;
	struct drain dr;
	unsigned int seed = 7;
	const char *env = getenv("OUTQ_STRESS_PKTS");
	const char *iters = getenv("KVMFT_STRESS_ITERS");
	struct kvmft_nl nl;
	uint32_t i, next = 0;
	struct oq_vm v;
	struct topo t;
	int big = 64 << 20;

	REQUIRE_NET();
	s.n = env ? strtoul(env, NULL, 0) :
	      iters ? 100 * strtoul(iters, NULL, 0) : 200000;
	if (!s.n)
		s.n = 1;
	s.tags = calloc(s.n, sizeof(*s.tags));
	ASSERT_NE(s.tags, NULL);
	kvmft_nl_open(&nl);
	topo_up(&t);
	setsockopt(t.cap_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	oq_vm_create(&nl, &v);
	oq_vm_primary(&nl, &v);
	/* A low limit: the vCPU waits for the acker now and then. */
	ASSERT_EQ(__kvmft_tap(&nl, v.id, t.tap_ifindex, 512, 0), 0);
	s.t = &t;
	s.v = &v;
	drain_start(&dr, v.log_fd);
	pthread_create(&ack_th, NULL, stress_acker, &s);
	pthread_create(&rx_th, NULL, stress_receiver, &s);
	for (i = 0; i < s.n && !s.err; i++) {
		if (i == next) {
			oq_step(&v);
			s.pos = oq_pos(&nl, &v);
			next = i + 1 + rand_r(&seed) % 64;
		}
		s.tags[i] = s.pos;
		__sync_synchronize();
		frame_send(&t, STREAM_VM, i);
		s.sent = i + 1;
	}
	/* The last ack covers everything. */
	while (s.acked < s.pos && !s.err)
		usleep(10000);
	pthread_join(rx_th, NULL);
	s.done = true;
	pthread_join(ack_th, NULL);
	drain_stop(&dr);
	if (s.err)
		TH_LOG("packet %u: %s", s.err_num, s.err);
	ASSERT_EQ(s.err, NULL);
	ASSERT_EQ(s.got, s.n);
	oq_info(&nl, &v, &info);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD_PKTS], 0);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_DROPPED], 0);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_HELD] + info.outq[KVMFT_OUTQ_PASSED], s.n);
	ASSERT_EQ(info.outq[KVMFT_OUTQ_RELEASED], info.outq[KVMFT_OUTQ_HELD]);
	TH_LOG("%u packets: %llu held and released, %llu passed, %llu acks, %llu waits, longest hold %llu us",
	       s.n, (unsigned long long)info.outq[KVMFT_OUTQ_RELEASED],
	       (unsigned long long)info.outq[KVMFT_OUTQ_PASSED],
	       (unsigned long long)info.outq[KVMFT_OUTQ_ACKS],
	       (unsigned long long)info.outq[KVMFT_OUTQ_WAITS],
	       (unsigned long long)info.outq[KVMFT_OUTQ_LONGEST_NS] / 1000);
	kvmft_detach(&nl, v.id);
	oq_vm_free(&v);
	free(s.tags);
	topo_down(&t);
	kvmft_nl_close(&nl);
}

TEST_HARNESS_MAIN
