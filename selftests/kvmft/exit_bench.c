// SPDX-License-Identifier: GPL-2.0
/*
 * exit_bench: what kvmft costs a VM, measured with the checksum guest (one
 * RDTSC and one IN per iteration; lib/csum.h). Each configuration runs a
 * fresh VM for --iters iterations and prints one line:
 *
 *	<config> <ns per iteration> <vCPU exits>
 *
 * Without kvmft loaded it measures "baseline" only. With kvmft loaded, in
 * this order (the SVM exit hook, once armed, stays armed until unload):
 *
 *	loaded     VM not attached; no VM recording on the host
 *	armed      VM not attached; another VM is primary (SVM hook armed)
 *	attached   VM attached, role none
 *	primary    VM attached and recording (a thread drains the log)
 *	backup     VM replaying the primary's log (a thread feeds it)
 *
 * scripts/bench-guest.sh runs it in the lab, alternating with and without
 * the module, and prints medians and ratios; `make bench` boots the lab
 * for it. Timing lives here, never in a test.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csum.h"
#include "log.h"
#include "nl.h"
#include "vmm.h"

#define BENCH_PORT	CSUM_DEFAULT_PORT
#define JOIN_TIMEOUT_S	300

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Run @cv's guest for @iters iterations and print the config's line; a
 * NULL @config is a warm-up and prints nothing.
 */
static uint64_t run_timed(const char *config, struct csum_vm *cv,
			  uint64_t iters)
{
	uint64_t t0, t1, sum;

	t0 = now_ns();
	sum = csum_vm_run(cv, iters, BENCH_PORT, 0);
	t1 = now_ns();
	if (!config)
		return sum;
	printf("%-10s %10.1f %10llu\n", config, (double)(t1 - t0) / iters,
	       (unsigned long long)vcpu_stat_get(cv->vcpu, "exits"));
	fflush(stdout);
	return sum;
}

static void bench_plain(const char *config, uint64_t iters, uint64_t seed)
{
	struct csum_vm cv;

	csum_vm_create(&cv, seed);
	run_timed(config, &cv, iters);
	csum_vm_destroy(&cv);
}

static void bench_attached(struct kvmft_nl *nl, uint64_t iters, uint64_t seed)
{
	struct csum_vm cv;

	csum_vm_create(&cv, seed);
	kvmft_attach(nl, cv.vm->fd, getpid());
	run_timed("attached", &cv, iters);
	csum_vm_destroy(&cv);	/* detaches it */
}

/* Record one run, then replay it in another VM; the checksums must agree. */
static void bench_record_replay(struct kvmft_nl *nl, uint64_t iters,
				uint64_t seed)
{
	struct log_job rd, wr;
	struct rec_buf rb = { 0 };
	struct csum_vm a, b;
	uint64_t sum_a, sum_b;
	uint32_t id;

	csum_vm_create(&a, seed);
	id = kvmft_attach(nl, a.vm->fd, getpid());
	log_job_read(&rd, kvmft_log_open(id, KVMFT_LOG_READ, &rb.session), &rb);
	sum_a = run_timed("primary", &a, iters);
	csum_vm_destroy(&a);	/* the reader sees EOF */
	TEST_ASSERT(!log_job_join(&rd, JOIN_TIMEOUT_S), "log reader stuck");
	close(rd.fd);
	TEST_ASSERT(!rd.rc, "reading the primary's log: %s", strerror(-rd.rc));

	csum_vm_create(&b, ~seed);
	id = kvmft_attach(nl, b.vm->fd, getpid());
	log_job_write(&wr, kvmft_log_open(id, KVMFT_LOG_WRITE, &rb.session),
		      &rb);
	sum_b = run_timed("backup", &b, iters);
	TEST_ASSERT(!log_job_join(&wr, JOIN_TIMEOUT_S), "log writer stuck");
	TEST_ASSERT(!wr.rc, "writing the backup's log: %s", strerror(-wr.rc));
	TEST_ASSERT(sum_a == sum_b, "replay diverged: 0x%llx != 0x%llx",
		    (unsigned long long)sum_a, (unsigned long long)sum_b);
	csum_vm_destroy(&b);
	rec_buf_free(&rb);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: exit_bench [--iters N]\n"
		"  --iters N   guest iterations per configuration (default 20000)\n"
		"Prints '<config> <ns per iteration> <exits>' per configuration:\n"
		"baseline without kvmft loaded; loaded, armed, attached, primary\n"
		"and backup with it. Run it as root, in the lab (make bench).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct kvmft_nl nl;
	struct csum_vm decoy;
	uint64_t iters = 20000, seed = 1;
	char why[256], *end;
	int c, log_fd;
	uint32_t id;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			iters = strtoull(optarg, &end, 0);
			if (!*optarg || *end || !iters) {
				fprintf(stderr, "exit_bench: bad --iters '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (kvm_probe(why, sizeof(why)))
		test_skip("%s", why);
	/* Unmeasured: the first VM of a process pays for cold caches. */
	bench_plain(NULL, iters < 1000 ? iters : 1000, seed);
	/* Not kvmft_probe(): resolving the genl family would load the module. */
	if (access("/sys/module/kvmft", F_OK)) {
		bench_plain("baseline", iters, seed);
		return 0;
	}
	if (kvmft_probe(why, sizeof(why)))
		test_skip("%s", why);

	kvmft_nl_open(&nl);
	bench_plain("loaded", iters, seed);
	/* Another VM recording arms the SVM exit hook for every VM. */
	csum_vm_create(&decoy, seed);
	id = kvmft_attach(&nl, decoy.vm->fd, getpid());
	log_fd = kvmft_log_open(id, KVMFT_LOG_READ, NULL);
	bench_plain("armed", iters, seed);
	close(log_fd);
	csum_vm_destroy(&decoy);
	bench_attached(&nl, iters, seed);
	bench_record_replay(&nl, iters, seed);
	kvmft_nl_close(&nl);
	return 0;
}
