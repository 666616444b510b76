// SPDX-License-Identifier: GPL-2.0
/*
 * outq_bench: what the output rule costs, side by side on one tap (the
 * topology of lib/outq.h), for `make bench` (scripts/bench-outq.sh).
 *
 *   acks        KVMFT_CMD_ACK (genl) against KVMFT_IOC_LOG_ACK (ioctl on
 *               the log fd): time per ack, nothing held
 *   tput SIZE   frames of SIZE bytes, in batches of BATCH after one guest
 *               exit each: "plain" with the tap unbound (as without
 *               kvmft), "held" with the VM primary, each batch held and
 *               released by one ack. Frames per second at the far side
 *               of the bridge, and the ratio held/plain.
 *   latency     one 64-byte frame at a time: plain, write to capture;
 *               held, ack to capture (what the rule adds beyond the ack's
 *               own round trip). Medians, and their difference.
 *
 * Output: one line per measure, "outq <name> <value> <unit>", then the
 * ratios; tests never check the numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "nl.h"
#include "outq.h"
#include "vmm.h"

GUEST_IMAGE_DECLARE(harden);

#define BATCH	64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct bench {
	struct kvmft_nl nl;
	struct topo t;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint32_t id;
	int log_fd;
};

static void step(struct bench *b)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(b->vcpu, &uc) == UCALL_SYNC, "no SYNC");
}

static uint64_t pos(struct bench *b)
{
	struct kvmft_vm_info info;

	kvmft_get_vm(&b->nl, b->id, &info);
	return info.log_seq;
}

static void ack(struct bench *b, uint64_t p)
{
	TEST_ASSERT(!ioctl(b->log_fd, KVMFT_IOC_LOG_ACK, &p), "ack: %m");
}

static void bench_acks(struct bench *b, int n)
{
	uint64_t p = pos(b), t0;
	double genl, ioc;
	int i;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		kvmft_ack(&b->nl, b->id, p);
	genl = (now_ns() - t0) / 1e3 / n;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		ack(b, p);
	ioc = (now_ns() - t0) / 1e3 / n;
	printf("outq ack_genl %.2f us\n", genl);
	printf("outq ack_ioctl %.2f us\n", ioc);
	printf("outq ack_genl_vs_ioctl %.2f x\n", genl / ioc);
}

/* Frames of this run at the far side, counted by a thread. */
struct counter {
	struct topo *t;
	volatile uint32_t n;
	volatile bool stop;
};

static void *count_frames(void *arg)
{
	struct counter *c = arg;
	uint32_t stream, num;

	while (!c->stop)
		if (frame_recv(c->t, 100, &stream, &num) && stream == STREAM_VM)
			c->n++;
	return NULL;
}

/* Frames per second through the bridge, @held or plain. */
static double tput(struct bench *b, size_t size, int n, bool held)
{
	struct counter c = { .t = &b->t };
	uint64_t t0, end, p;
	pthread_t th;
	int i, j;

	kvmft_tap(&b->nl, b->id, held ? b->t.tap_ifindex : 0);
	pthread_create(&th, NULL, count_frames, &c);
	t0 = now_ns();
	for (i = 0; i < n; i += BATCH) {
		/* The guest runs: a new log position for the batch. */
		step(b);
		p = pos(b);
		for (j = i; j < i + BATCH && j < n; j++)
			frame_send_len(&b->t, STREAM_VM, j, size);
		if (held)
			ack(b, p);
	}
	end = now_ns() + 60000000000ULL;
	while (c.n < (uint32_t)n && now_ns() < end)
		usleep(1000);
	c.stop = true;
	pthread_join(th, NULL);
	TEST_ASSERT(c.n == (uint32_t)n, "%u of %d frames arrived", c.n, n);
	return n / ((now_ns() - t0) / 1e9);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median ns from write (plain) or ack (held) to the capture. */
static uint64_t latency(struct bench *b, int n, bool held)
{
	uint64_t *v = calloc(n, sizeof(*v)), t0, p, m;
	uint32_t stream, num;
	int i;

	kvmft_tap(&b->nl, b->id, held ? b->t.tap_ifindex : 0);
	for (i = 0; i < n; i++) {
		step(b);
		p = pos(b);
		t0 = now_ns();
		frame_send(&b->t, STREAM_VM, i);
		if (held) {
			t0 = now_ns();
			ack(b, p);
		}
		do
			TEST_ASSERT(frame_recv(&b->t, 60000, &stream, &num),
				    "frame %d never arrived", i);
		while (stream != STREAM_VM || num != (uint32_t)i);
		v[i] = now_ns() - t0;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	m = v[n / 2];
	free(v);
	return m;
}

int main(int argc, char **argv)
{
	int pkts = 20000, lat = 500, acks = 5000, c;
	static const size_t sizes[] = { 64, 1500 };
	struct bench b = { 0 };
	double plain, held;
	uint64_t lp, lh;
	const char *why;
	char kwhy[256];
	size_t i;

	while ((c = getopt(argc, argv, "p:l:a:")) != -1) {
		switch (c) {
		case 'p':
			pkts = atoi(optarg);
			break;
		case 'l':
			lat = atoi(optarg);
			break;
		case 'a':
			acks = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-p PKTS] [-l SAMPLES] [-a ACKS]\n",
				argv[0]);
			return 2;
		}
	}
	if (kvm_probe(kwhy, sizeof(kwhy)) || kvmft_probe(kwhy, sizeof(kwhy)))
		test_skip("%s", kwhy);
	why = net_missing();
	if (why)
		test_skip("%s", why);
	kvmft_nl_open(&b.nl);
	topo_up(&b.t);
	c = 64 << 20;	/* the counter must not be what drops frames */
	setsockopt(b.t.cap_fd, SOL_SOCKET, SO_RCVBUFFORCE, &c, sizeof(c));
	b.vm = vm_create_with_one_vcpu(&b.vcpu, GUEST_IMAGE(harden));
	vcpu_set_args(b.vcpu, HG_TSC_SYNC, 100000000, 0);
	b.id = kvmft_attach(&b.nl, b.vm->fd, getpid());
	b.log_fd = kvmft_log_open(b.id, KVMFT_LOG_READ, NULL);
	step(&b);

	bench_acks(&b, acks);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		plain = tput(&b, sizes[i], pkts, false);
		held = tput(&b, sizes[i], pkts, true);
		printf("outq tput_plain_%zu %.0f frames/s\n", sizes[i], plain);
		printf("outq tput_held_%zu %.0f frames/s\n", sizes[i], held);
		printf("outq tput_ratio_%zu %.2f held/plain\n", sizes[i],
		       held / plain);
	}
	lp = latency(&b, lat, false);
	lh = latency(&b, lat, true);
	printf("outq latency_plain %.1f us (write to capture)\n", lp / 1e3);
	printf("outq latency_held %.1f us (ack to capture)\n", lh / 1e3);
	printf("outq latency_added %.1f us (beyond the ack's round trip)\n",
	       ((double)lh - (double)lp) / 1e3);
	kvmft_detach(&b.nl, b.id);
	close(b.log_fd);
	vm_free(b.vm);
	topo_down(&b.t);
	return 0;
}
