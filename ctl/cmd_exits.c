// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl exits: KVM exit counts and exit-handling latency per exit reason,
 * every interval, from the kvmft_exits BPF program (bpf/kvmft_exits.bpf.c).
 * Latency runs from kvm_exit to the next kvm_entry on the same thread, so
 * exits completed by the VMM (port I/O, MMIO) include the VMM's time.
 *
 * Exit status, as for every ftctl command (util.h): 0 done (count reached,
 * SIGINT/SIGTERM, or the --pid process ended), 1 usage, 2 the kernel
 * refused, 3 environment: not permitted, or the kernel lacks something
 * needed (BPF, BTF, tracefs, the kvm tracepoints).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvmft_exits.skel.h"
#include "../bpf/kvmft_exits.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum {
	EXITS_OK = 0,
	EXITS_USAGE = 1,
	EXITS_FAIL = 2,
	EXITS_EPERM = 3,
	EXITS_ENOTSUP = 3,
};

struct exits_opts {
	pid_t pid;		/* 0: every process */
	double interval;	/* seconds */
	unsigned long count;	/* intervals; 0: until stopped */
	bool json;
	bool verbose;
};

struct exits_row {
	struct kvmft_exit_key key;
	struct kvmft_exit_stat st;	/* summed over CPUs */
};

struct exits_snap {
	size_t n;
	__u64 dropped;
	struct exits_row rows[KVMFT_EXITS_MAX_REASONS];
};

struct exits_ctx {
	struct exits_opts opts;
	struct kvmft_exits *skel;
	int stats_fd;
	int ncpus;
	struct kvmft_exit_stat *percpu;	/* lookup buffer, ncpus values */
	struct exits_snap *prev, *cur;
	struct exits_row *delta;	/* rows of the current interval */
	int sig_fd;
	sigset_t old_mask;
	int pid_fd;			/* -1: no --pid, or no pidfd_open */
};

enum exits_wake { EXITS_TICK, EXITS_SIGNAL, EXITS_GONE };

static bool exits_verbose;

/* Names as the kernel's kvm_exit tracepoint prints them. */
struct exits_name {
	__u32 code;
	const char *name;
};

static const struct exits_name exits_svm_names[] = {
	{ SVM_EXIT_INTR, "interrupt" },
	{ SVM_EXIT_NMI, "nmi" },
	{ SVM_EXIT_SMI, "smi" },
	{ SVM_EXIT_INIT, "init" },
	{ SVM_EXIT_VINTR, "vintr" },
	{ SVM_EXIT_CR0_SEL_WRITE, "cr0_sel_write" },
	{ SVM_EXIT_RDTSC, "rdtsc" },
	{ SVM_EXIT_RDPMC, "rdpmc" },
	{ SVM_EXIT_PUSHF, "pushf" },
	{ SVM_EXIT_POPF, "popf" },
	{ SVM_EXIT_CPUID, "cpuid" },
	{ SVM_EXIT_RSM, "rsm" },
	{ SVM_EXIT_IRET, "iret" },
	{ SVM_EXIT_SWINT, "swint" },
	{ SVM_EXIT_INVD, "invd" },
	{ SVM_EXIT_PAUSE, "pause" },
	{ SVM_EXIT_HLT, "hlt" },
	{ SVM_EXIT_INVLPG, "invlpg" },
	{ SVM_EXIT_INVLPGA, "invlpga" },
	{ SVM_EXIT_IOIO, "io" },
	{ SVM_EXIT_MSR, "msr" },
	{ SVM_EXIT_TASK_SWITCH, "task_switch" },
	{ SVM_EXIT_FERR_FREEZE, "ferr_freeze" },
	{ SVM_EXIT_SHUTDOWN, "shutdown" },
	{ SVM_EXIT_VMRUN, "vmrun" },
	{ SVM_EXIT_VMMCALL, "hypercall" },
	{ SVM_EXIT_VMLOAD, "vmload" },
	{ SVM_EXIT_VMSAVE, "vmsave" },
	{ SVM_EXIT_STGI, "stgi" },
	{ SVM_EXIT_CLGI, "clgi" },
	{ SVM_EXIT_SKINIT, "skinit" },
	{ SVM_EXIT_RDTSCP, "rdtscp" },
	{ SVM_EXIT_ICEBP, "icebp" },
	{ SVM_EXIT_WBINVD, "wbinvd" },
	{ SVM_EXIT_MONITOR, "monitor" },
	{ SVM_EXIT_MWAIT, "mwait" },
	{ SVM_EXIT_XSETBV, "xsetbv" },
	{ SVM_EXIT_NPF, "npf" },
	{ SVM_EXIT_AVIC_INCOMPLETE_IPI, "avic_incomplete_ipi" },
	{ SVM_EXIT_AVIC_UNACCELERATED_ACCESS, "avic_unaccelerated_access" },
	{ (__u32)SVM_EXIT_ERR, "invalid_guest_state" },
};

static const struct exits_name exits_vmx_names[] = {
	{ EXIT_REASON_EXCEPTION_NMI, "EXCEPTION_NMI" },
	{ EXIT_REASON_EXTERNAL_INTERRUPT, "EXTERNAL_INTERRUPT" },
	{ EXIT_REASON_TRIPLE_FAULT, "TRIPLE_FAULT" },
	{ EXIT_REASON_INIT_SIGNAL, "INIT_SIGNAL" },
	{ EXIT_REASON_INTERRUPT_WINDOW, "INTERRUPT_WINDOW" },
	{ EXIT_REASON_NMI_WINDOW, "NMI_WINDOW" },
	{ EXIT_REASON_TASK_SWITCH, "TASK_SWITCH" },
	{ EXIT_REASON_CPUID, "CPUID" },
	{ EXIT_REASON_HLT, "HLT" },
	{ EXIT_REASON_INVD, "INVD" },
	{ EXIT_REASON_INVLPG, "INVLPG" },
	{ EXIT_REASON_RDPMC, "RDPMC" },
	{ EXIT_REASON_RDTSC, "RDTSC" },
	{ EXIT_REASON_VMCALL, "VMCALL" },
	{ EXIT_REASON_CR_ACCESS, "CR_ACCESS" },
	{ EXIT_REASON_DR_ACCESS, "DR_ACCESS" },
	{ EXIT_REASON_IO_INSTRUCTION, "IO_INSTRUCTION" },
	{ EXIT_REASON_MSR_READ, "MSR_READ" },
	{ EXIT_REASON_MSR_WRITE, "MSR_WRITE" },
	{ EXIT_REASON_INVALID_STATE, "INVALID_STATE" },
	{ EXIT_REASON_MWAIT_INSTRUCTION, "MWAIT_INSTRUCTION" },
	{ EXIT_REASON_MONITOR_TRAP_FLAG, "MONITOR_TRAP_FLAG" },
	{ EXIT_REASON_MONITOR_INSTRUCTION, "MONITOR_INSTRUCTION" },
	{ EXIT_REASON_PAUSE_INSTRUCTION, "PAUSE_INSTRUCTION" },
	{ EXIT_REASON_TPR_BELOW_THRESHOLD, "TPR_BELOW_THRESHOLD" },
	{ EXIT_REASON_APIC_ACCESS, "APIC_ACCESS" },
	{ EXIT_REASON_EOI_INDUCED, "EOI_INDUCED" },
	{ EXIT_REASON_GDTR_IDTR, "GDTR_IDTR" },
	{ EXIT_REASON_LDTR_TR, "LDTR_TR" },
	{ EXIT_REASON_EPT_VIOLATION, "EPT_VIOLATION" },
	{ EXIT_REASON_EPT_MISCONFIG, "EPT_MISCONFIG" },
	{ EXIT_REASON_RDTSCP, "RDTSCP" },
	{ EXIT_REASON_PREEMPTION_TIMER, "PREEMPTION_TIMER" },
	{ EXIT_REASON_WBINVD, "WBINVD" },
	{ EXIT_REASON_XSETBV, "XSETBV" },
	{ EXIT_REASON_APIC_WRITE, "APIC_WRITE" },
	{ EXIT_REASON_RDRAND, "RDRAND" },
	{ EXIT_REASON_INVPCID, "INVPCID" },
	{ EXIT_REASON_RDSEED, "RDSEED" },
	{ EXIT_REASON_PML_FULL, "PML_FULL" },
	{ EXIT_REASON_XSAVES, "XSAVES" },
	{ EXIT_REASON_XRSTORS, "XRSTORS" },
};

/* SVM's ranges of numbered exits: CR and DR accesses, exceptions. */
static bool exits_svm_range(__u32 code, char *buf, size_t len)
{
	static const char *const op[] = { "read_cr", "write_cr", "read_dr", "write_dr" };

	if (code <= SVM_EXIT_WRITE_DR7) {
		snprintf(buf, len, "%s%u", op[code >> 4], code & 0xf);
		return true;
	}
	if (code >= SVM_EXIT_EXCP_BASE && code <= SVM_EXIT_LAST_EXCP) {
		snprintf(buf, len, "excp_%u", code - SVM_EXIT_EXCP_BASE);
		return true;
	}
	return false;
}

static const char *exits_lookup(const struct exits_name *t, size_t n, __u32 code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

/* The exit reason's name, or its number when it has none here. */
static const char *exits_reason_name(const struct kvmft_exit_key *k, char *buf, size_t len)
{
	const char *name;
	__u32 basic = k->reason & 0xffff;

	if (k->isa == KVMFT_ISA_SVM) {
		name = exits_lookup(exits_svm_names, ARRAY_SIZE(exits_svm_names), k->reason);
		if (!name && !exits_svm_range(k->reason, buf, len))
			snprintf(buf, len, "0x%x", k->reason);
		return name ? name : buf;
	}
	if (k->isa != KVMFT_ISA_VMX) {
		snprintf(buf, len, "%u", k->reason);
		return buf;
	}
	/* VMX: basic reason in the low 16 bits, flags above. */
	name = exits_lookup(exits_vmx_names, ARRAY_SIZE(exits_vmx_names), basic);
	if (name)
		snprintf(buf, len, "%s%s", name,
			 k->reason & VMX_EXIT_REASONS_FAILED_VMENTRY ? "|FAILED_VMENTRY" : "");
	else
		snprintf(buf, len, "%u", k->reason);
	return buf;
}

static const char *exits_isa_name(__u32 isa)
{
	return isa == KVMFT_ISA_SVM ? "svm" : isa == KVMFT_ISA_VMX ? "vmx" : "unknown";
}

static void exits_usage(FILE *f)
{
	fprintf(f,
		"usage: ftctl exits [--pid PID] [--interval SECS] [--count N] [--json] [--verbose]\n"
		"\n"
		"Count KVM exits per exit reason and their mean handling latency\n"
		"(kvm_exit to the next kvm_entry on the vCPU thread, including time\n"
		"spent in the VMM), printed every interval.\n"
		"\n"
		"  --pid PID        only the VM (process) PID; stops when it exits\n"
		"  --interval SECS  seconds between reports (default 1, fractions allowed)\n"
		"  --count N        stop after N reports (default: until interrupted)\n"
		"  --json           one JSON object per interval on stdout\n"
		"  --verbose        show libbpf's log\n");
}

static int exits_parse(int argc, char **argv, struct exits_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long v;
	int c;

	*o = (struct exits_opts){ .interval = 1.0 };
	optind = 0;	/* glibc: rescan from argv[1] even if ftctl used getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:i:c:jvh", longopts, NULL)) != -1) {
		errno = 0;
		switch (c) {
		case 'p':
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0 || v > INT_MAX)
				goto bad;
			o->pid = (pid_t)v;
			break;
		case 'i':
			o->interval = strtod(optarg, &end);
			if (errno || *end || !(o->interval >= 0.01 && o->interval <= 86400))
				goto bad;
			break;
		case 'c':
			o->count = strtoul(optarg, &end, 10);
			if (errno || *end || !o->count || optarg[0] == '-')
				goto bad;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			exits_usage(stdout);
			exit(EXITS_OK);
		default:
			fprintf(stderr, "ftctl exits: unknown option or missing value: '%s'\n",
				argv[optind - 1]);
			exits_usage(stderr);
			return -1;
		}
	}
	if (optind == argc)
		return 0;
	fprintf(stderr, "ftctl exits: unexpected argument '%s'\n", argv[optind]);
	return -1;
bad:
	fprintf(stderr, "ftctl exits: invalid value '%s' for --%s\n", optarg,
		c == 'p' ? "pid" : c == 'i' ? "interval" : "count");
	return -1;
}

static int exits_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !exits_verbose)
		return 0;
	if (level == LIBBPF_INFO && !exits_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int exits_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int exits_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ftctl exits: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

/* The kvm tracepoints, under the tracefs mount libbpf will use. */
static int exits_check_tracepoints(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[128];
	bool mounted = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (access(path, F_OK))
			continue;
		mounted = true;
		snprintf(path, sizeof(path), "%s/events/kvm/kvm_exit", roots[i]);
		if (!access(path, F_OK))
			return 0;
	}
	if (!mounted)
		return exits_fail(EXITS_ENOTSUP,
				  "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
	return exits_fail(EXITS_ENOTSUP,
			  "the kvm tracepoints are absent: KVM is not loaded (modprobe kvm_amd or kvm_intel)");
}

static int exits_check_kernel(void)
{
	int ret;

	if (geteuid() != 0)
		return exits_fail(EXITS_EPERM, "must run as root (loads a BPF program)");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return exits_fail(EXITS_ENOTSUP, "the kernel has no BTF (/sys/kernel/btf/vmlinux): %s",
				  "CONFIG_DEBUG_INFO_BTF is needed");
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	if (ret == -EPERM || ret == -EACCES)
		return exits_fail(EXITS_EPERM, "not permitted to load BPF programs: %s",
				  strerror(-ret));
	if (ret <= 0)
		return exits_fail(EXITS_ENOTSUP, "the kernel cannot run BPF tracepoint programs%s%s",
				  ret ? ": " : "", ret ? strerror(-ret) : "");
	return exits_check_tracepoints();
}

/* A pidfd polls readable when the process ends, zombie or reaped. */
static int exits_open_pid(struct exits_ctx *c)
{
	c->pid_fd = -1;
	if (!c->opts.pid)
		return 0;
	c->pid_fd = (int)syscall(SYS_pidfd_open, c->opts.pid, 0);
	if (c->pid_fd >= 0 || errno == ENOSYS)
		return 0;
	if (errno == ESRCH)
		return exits_fail(EXITS_USAGE, "no process %d", c->opts.pid);
	/* EINVAL before 6.9, ENOENT since (PIDFD_THREAD). */
	if (errno == EINVAL || errno == ENOENT)
		return exits_fail(EXITS_USAGE, "%d is a thread, not a process: give its process id",
				  c->opts.pid);
	return exits_fail(EXITS_FAIL, "pidfd_open(%d): %s", c->opts.pid, strerror(errno));
}

static int exits_errcode(int err)
{
	return err == -EPERM || err == -EACCES ? EXITS_EPERM : EXITS_FAIL;
}

static int exits_load(struct exits_ctx *c)
{
	const char *hint = c->opts.verbose ? "" : " (--verbose shows libbpf's log)";
	int err;

	c->skel = kvmft_exits__open();
	if (!c->skel)
		return exits_fail(EXITS_FAIL, "cannot open the BPF object: %s", strerror(errno));
	c->skel->rodata->targ_tgid = (__u32)c->opts.pid;
	err = kvmft_exits__load(c->skel);
	if (err)
		return exits_fail(exits_errcode(err), "cannot load the BPF program: %s%s",
				  strerror(-err), hint);
	err = kvmft_exits__attach(c->skel);
	if (err == -ENOENT)
		return exits_fail(EXITS_ENOTSUP, "the kvm tracepoints are absent: is KVM loaded?");
	if (err)
		return exits_fail(exits_errcode(err), "cannot attach to kvm:kvm_exit/kvm_entry: %s%s",
				  strerror(-err), hint);
	c->stats_fd = bpf_map__fd(c->skel->maps.exit_stats);
	return 0;
}

static int exits_alloc(struct exits_ctx *c)
{
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0)
		return exits_fail(EXITS_FAIL, "cannot count CPUs: %s", strerror(-c->ncpus));
	c->percpu = calloc(c->ncpus, sizeof(*c->percpu));
	c->prev = calloc(1, sizeof(*c->prev));
	c->cur = calloc(1, sizeof(*c->cur));
	c->delta = calloc(KVMFT_EXITS_MAX_REASONS, sizeof(*c->delta));
	if (!c->percpu || !c->prev || !c->cur || !c->delta)
		return exits_fail(EXITS_FAIL, "out of memory");
	return 0;
}

static int exits_block_signals(struct exits_ctx *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, &c->old_mask))
		return exits_fail(EXITS_FAIL, "sigprocmask: %s", strerror(errno));
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (c->sig_fd < 0) {
		sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
		return exits_fail(EXITS_FAIL, "signalfd: %s", strerror(errno));
	}
	return 0;
}

static void exits_sum(const struct kvmft_exit_stat *percpu, int ncpus, struct kvmft_exit_stat *sum)
{
	int i;

	*sum = (struct kvmft_exit_stat){ 0 };
	for (i = 0; i < ncpus; i++) {
		sum->count += percpu[i].count;
		sum->lat_ns += percpu[i].lat_ns;
		sum->lat_samples += percpu[i].lat_samples;
	}
}

/* Entries are never deleted, so a walk sees each key once. */
static int exits_snapshot(struct exits_ctx *c, struct exits_snap *s)
{
	struct kvmft_exit_key key, next, *prev = NULL;
	struct exits_row *r;
	int err;

	s->n = 0;
	while (s->n < KVMFT_EXITS_MAX_REASONS) {
		err = bpf_map_get_next_key(c->stats_fd, prev, &next);
		if (err == -ENOENT)
			break;
		if (err)
			return exits_fail(EXITS_FAIL, "reading the exit_stats map: %s",
					  strerror(-err));
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->stats_fd, &key, c->percpu))
			continue;
		r = &s->rows[s->n++];
		r->key = key;
		exits_sum(c->percpu, c->ncpus, &r->st);
	}
	s->dropped = __atomic_load_n(&c->skel->bss->nr_dropped, __ATOMIC_RELAXED);
	return 0;
}

static const struct kvmft_exit_stat *
exits_find(const struct exits_snap *s, const struct kvmft_exit_key *k)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->rows[i].key.isa == k->isa && s->rows[i].key.reason == k->reason)
			return &s->rows[i].st;
	return NULL;
}

static int exits_row_cmp(const void *a, const void *b)
{
	const struct exits_row *x = a, *y = b;

	if (x->st.count != y->st.count)
		return x->st.count < y->st.count ? 1 : -1;
	if (x->key.isa != y->key.isa)
		return x->key.isa < y->key.isa ? -1 : 1;
	return x->key.reason < y->key.reason ? -1 : x->key.reason > y->key.reason;
}

/* What happened since the previous snapshot, busiest reason first. */
static size_t exits_diff(struct exits_ctx *c, __u64 *total)
{
	static const struct kvmft_exit_stat none;
	const struct kvmft_exit_stat *p;
	struct exits_row *r;
	size_t i, n = 0;

	*total = 0;
	for (i = 0; i < c->cur->n; i++) {
		r = &c->cur->rows[i];
		p = exits_find(c->prev, &r->key);
		if (!p)
			p = &none;
		if (r->st.count == p->count && r->st.lat_samples == p->lat_samples)
			continue;
		c->delta[n].key = r->key;
		c->delta[n].st.count = r->st.count - p->count;
		c->delta[n].st.lat_ns = r->st.lat_ns - p->lat_ns;
		c->delta[n].st.lat_samples = r->st.lat_samples - p->lat_samples;
		*total += c->delta[n].st.count;
		n++;
	}
	qsort(c->delta, n, sizeof(*c->delta), exits_row_cmp);
	return n;
}

static void exits_print_json(struct exits_ctx *c, unsigned long seq, double secs, size_t n,
			     __u64 total)
{
	const struct exits_row *r;
	char buf[48];
	size_t i;

	printf("{\"interval\":%lu,\"seconds\":%.3f,\"pid\":", seq, secs);
	printf(c->opts.pid ? "%d" : "null", c->opts.pid);
	printf(",\"total\":%llu,\"dropped\":%llu,\"exits\":[", total,
	       c->cur->dropped - c->prev->dropped);
	for (i = 0; i < n; i++) {
		r = &c->delta[i];
		printf("%s{\"isa\":\"%s\",\"code\":%u,\"reason\":\"%s\",\"count\":%llu,"
		       "\"latency_samples\":%llu,\"mean_latency_ns\":",
		       i ? "," : "", exits_isa_name(r->key.isa), r->key.reason,
		       exits_reason_name(&r->key, buf, sizeof(buf)), r->st.count,
		       r->st.lat_samples);
		if (r->st.lat_samples)
			printf("%llu}", r->st.lat_ns / r->st.lat_samples);
		else
			printf("null}");
	}
	printf("]}\n");
}

static void exits_print_human(struct exits_ctx *c, unsigned long seq, double secs, size_t n,
			      __u64 total)
{
	const struct exits_row *r;
	__u64 dropped = c->cur->dropped - c->prev->dropped;
	char buf[48], who[32] = "all processes";
	size_t i;

	if (c->opts.pid)
		snprintf(who, sizeof(who), "pid %d", c->opts.pid);
	printf("interval %lu: %.2f s, %s, %llu exits, %.1f/s\n", seq, secs, who, total,
	       secs > 0 ? total / secs : 0.0);
	if (n)
		printf("  %-28s %12s %12s %14s\n", "REASON", "COUNT", "PER SEC", "MEAN LATENCY");
	for (i = 0; i < n; i++) {
		r = &c->delta[i];
		printf("  %-28s %12llu %12.1f ", exits_reason_name(&r->key, buf, sizeof(buf)),
		       r->st.count, secs > 0 ? r->st.count / secs : 0.0);
		if (r->st.lat_samples)
			printf("%11.1f us\n", r->st.lat_ns / 1000.0 / r->st.lat_samples);
		else
			printf("%14s\n", "-");
	}
	if (dropped)
		printf("  %llu updates lost: a BPF map was full\n", dropped);
}

static int exits_report(struct exits_ctx *c, unsigned long seq, double secs)
{
	struct exits_snap *t;
	__u64 total;
	size_t n;

	if (exits_snapshot(c, c->cur))
		return -1;
	n = exits_diff(c, &total);
	if (c->opts.json)
		exits_print_json(c, seq, secs, n, total);
	else
		exits_print_human(c, seq, secs, n, total);
	fflush(stdout);
	t = c->prev;
	c->prev = c->cur;
	c->cur = t;
	return 0;
}

static double exits_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until deadline, a signal, or the end of the --pid process. */
static enum exits_wake exits_wait(struct exits_ctx *c, double deadline)
{
	struct pollfd fds[2] = {
		{ .fd = c->sig_fd, .events = POLLIN },
		{ .fd = c->pid_fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	double left;
	int ret;

	for (;;) {
		left = deadline - exits_now();
		ret = poll(fds, c->pid_fd >= 0 ? 2 : 1, left > 0 ? (int)(left * 1000) + 1 : 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret > 0 && fds[0].revents) {
			/* Consume it, so that restoring the mask does not deliver it. */
			while (read(c->sig_fd, &si, sizeof(si)) < 0 && errno == EINTR)
				;
			return EXITS_SIGNAL;
		}
		if (ret > 0 && fds[1].revents)
			return EXITS_GONE;
		if (c->pid_fd < 0 && c->opts.pid && kill(c->opts.pid, 0) && errno == ESRCH)
			return EXITS_GONE;
		if (ret <= 0 && exits_now() >= deadline)
			return EXITS_TICK;
	}
}

static int exits_loop(struct exits_ctx *c)
{
	double start = exits_now(), last = start, now;
	enum exits_wake why = EXITS_TICK;
	unsigned long seq;

	if (exits_snapshot(c, c->prev))
		return EXITS_FAIL;
	for (seq = 1; why == EXITS_TICK && (!c->opts.count || seq <= c->opts.count); seq++) {
		why = exits_wait(c, start + seq * c->opts.interval);
		now = exits_now();
		if (exits_report(c, seq, now - last))
			return EXITS_FAIL;
		last = now;
	}
	if (why == EXITS_GONE)
		fprintf(stderr, "ftctl exits: process %d ended\n", c->opts.pid);
	return EXITS_OK;
}

static void exits_cleanup(struct exits_ctx *c)
{
	kvmft_exits__destroy(c->skel);
	if (c->pid_fd >= 0)
		close(c->pid_fd);
	if (c->sig_fd >= 0) {
		close(c->sig_fd);
		sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
	}
	free(c->percpu);
	free(c->prev);
	free(c->cur);
	free(c->delta);
}

static int exits_run(struct exits_ctx *c)
{
	int ret;

	ret = exits_open_pid(c);
	if (!ret)
		ret = exits_check_kernel();
	if (!ret)
		ret = exits_alloc(c);
	if (!ret)
		ret = exits_load(c);
	if (!ret)
		ret = exits_block_signals(c);
	if (ret)
		return ret;
	if (c->opts.pid)
		fprintf(stderr, "ftctl exits: tracing pid %d every %g s; Ctrl-C to stop\n",
			c->opts.pid, c->opts.interval);
	else
		fprintf(stderr, "ftctl exits: tracing all processes every %g s; Ctrl-C to stop\n",
			c->opts.interval);
	return exits_loop(c);
}

int exits_main(int argc, char **argv)
{
	struct exits_ctx c = { .sig_fd = -1, .pid_fd = -1 };
	int ret;

	if (exits_parse(argc, argv, &c.opts))
		return EXITS_USAGE;
	exits_verbose = c.opts.verbose;
	libbpf_set_print(exits_libbpf_print);
	ret = exits_run(&c);
	exits_cleanup(&c);
	return ret;
}
