// SPDX-License-Identifier: GPL-2.0
/*
 * checksum_vm: run the checksum guest (lib/csum.h) once and print its
 * checksum. Two runs of an unattached VM differ (TSC and input differ); a
 * VM replayed from a recorded log prints the recorded run's checksum.
 *
 *   checksum_vm [--iters N] [--port P] [--seed S] [--rdtscp] [--ins]
 *               [--wait-file PATH] [--stats]
 *
 * With --wait-file the VM and its vCPU are created first, "ready pid=<pid>"
 * is printed, and the guest starts only once PATH exists, so that a test
 * can attach kvmft to this VM (ftctl attach --pid) and open its log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csum.h"
#include "vmm.h"

#define WAIT_FILE_TIMEOUT_S	3600

static void usage(FILE *f)
{
	fprintf(f,
		"usage: checksum_vm [--iters N] [--port P] [--seed S] [--rdtscp] [--ins]\n"
		"                   [--wait-file PATH] [--stats]\n"
		"  --iters N       guest loop iterations (default 10000)\n"
		"  --port P        I/O port of the random input (default 0x%x)\n"
		"  --seed S        seed of the VMM's random input (default: getrandom)\n"
		"  --rdtscp        odd iterations read the TSC with RDTSCP\n"
		"  --ins           read input with rep insl (%d dwords) instead of inl\n"
		"  --wait-file P   print 'ready pid=<pid>' and wait for P before running\n"
		"  --stats         also print the vCPU's exits statistic\n",
		CSUM_DEFAULT_PORT, CSUM_INS_COUNT);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end || v > max) {
		fprintf(stderr, "checksum_vm: bad %s '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static void wait_for_file(const char *path)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	time_t end = time(NULL) + WAIT_FILE_TIMEOUT_S;

	while (access(path, F_OK)) {
		TEST_ASSERT(time(NULL) < end, "%s did not appear in %d s", path,
			    WAIT_FILE_TIMEOUT_S);
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "rdtscp", no_argument, NULL, 'r' },
		{ "ins", no_argument, NULL, 'i' },
		{ "wait-file", required_argument, NULL, 'w' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t iters = 10000, seed = 0, sum;
	const char *wait_file = NULL;
	uint16_t port = CSUM_DEFAULT_PORT;
	bool have_seed = false, stats = false;
	uint32_t flags = 0;
	struct csum_vm cv;
	char why[256];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			iters = parse_u64("--iters", optarg, UINT64_MAX);
			break;
		case 'p':
			port = parse_u64("--port", optarg, 0xffff);
			if (port == UCALL_PORT) {
				fprintf(stderr, "checksum_vm: port 0x%x is reserved\n",
					port);
				return 2;
			}
			break;
		case 's':
			seed = parse_u64("--seed", optarg, UINT64_MAX);
			have_seed = true;
			break;
		case 'r':
			flags |= CSUM_F_RDTSCP;
			break;
		case 'i':
			flags |= CSUM_F_INS;
			break;
		case 'w':
			wait_file = optarg;
			break;
		case 'S':
			stats = true;
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
	if ((flags & CSUM_F_RDTSCP) && !kvm_has_rdtscp())
		test_skip("KVM does not offer RDTSCP to guests");

	csum_vm_create(&cv, have_seed ? seed : csum_random_seed());
	if (wait_file) {
		printf("ready pid=%d\n", getpid());
		fflush(stdout);
		wait_for_file(wait_file);
	}
	sum = csum_vm_run(&cv, iters, port, flags);
	printf("checksum=0x%016llx\n", (unsigned long long)sum);
	if (stats)
		printf("exits=%llu\n",
		       (unsigned long long)vcpu_stat_get(cv.vcpu, "exits"));
	csum_vm_destroy(&cv);
	return 0;
}
