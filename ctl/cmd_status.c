// SPDX-License-Identifier: GPL-2.0
/* ftctl status: the attached VMs, as a table or one JSON object. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "ftctl.h"
#include "nl.h"
#include "vm.h"

struct vms {
	struct ftvm *v;
	size_t n, cap;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s status [--vm ID] [--json]\n\n"
		"With ftd running: every VM it knows and its pair (role, peer, channel,\n"
		"log positions sent/acked/replayed, lag, heartbeat age, arbitration\n"
		"generation), and the frames and heartbeats it refused. Without ftd:\n"
		"the module's VMs and their counters.\n", ft_prog);
}

static int collect(struct nlmsghdr *nlh, void *arg)
{
	struct vms *vms = arg;
	struct ftvm *nv;

	if (vms->n == vms->cap) {
		vms->cap = vms->cap ? vms->cap * 2 : 8;
		nv = realloc(vms->v, vms->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		vms->v = nv;
	}
	return ftvm_parse(nlh, &vms->v[vms->n++]) ? (vms->n--, -EBADMSG) : 0;
}

static int by_id(const void *a, const void *b)
{
	const struct ftvm *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The output rule's columns, after the counters. */
static const struct {
	const char *head;
	unsigned int attr;
	unsigned int div;
} outq_cols[] = {
	{ "HELD", KVMFT_OUTQ_HELD_PKTS, 1 },
	{ "HELD_BYTES", KVMFT_OUTQ_HELD_BYTES, 1 },
	{ "RELEASED", KVMFT_OUTQ_RELEASED, 1 },
	{ "DROPPED", KVMFT_OUTQ_DROPPED, 1 },
	{ "LONGEST_HOLD_US", KVMFT_OUTQ_LONGEST_NS, 1000 },
	{ "OUT_WAITS", KVMFT_OUTQ_WAITS, 1 },
};

#define NFIXED 6
#define NCOLS (NFIXED + __KVMFT_STAT_LAST + ARRAY_SIZE(outq_cols))

struct row {
	char cell[NCOLS][24];
};

static int fill_row(struct row *r, const struct ftvm *vm)
{
	int c = 0;

	snprintf(r->cell[c++], 24, "%" PRIu32, vm->id);
	snprintf(r->cell[c++], 24, "%s", ftvm_role_name(vm->role));
	snprintf(r->cell[c++], 24, "%" PRIu32, vm->pid);
	snprintf(r->cell[c++], 24, "%" PRIu32, vm->vcpus);
	/* The log: last record in it, and how many are not through yet. */
	snprintf(r->cell[c++], 24, "%" PRIu64, vm->log_seq);
	snprintf(r->cell[c++], 24, "%" PRIu64, ftvm_log_lag(vm));
	for (unsigned int s = 0; s < __KVMFT_STAT_LAST; s++)
		if (ftvm_stat_name(s))
			snprintf(r->cell[c++], 24, "%" PRIu64, vm->stats[s]);
	for (size_t i = 0; i < ARRAY_SIZE(outq_cols); i++) {
		if (vm->has_outq)
			snprintf(r->cell[c++], 24, "%" PRIu64,
				 vm->outq[outq_cols[i].attr] / outq_cols[i].div);
		else
			strcpy(r->cell[c++], "-");
	}
	return c;
}

static int fill_header(struct row *r)
{
	int c = 0;

	strcpy(r->cell[c++], "VM");
	strcpy(r->cell[c++], "ROLE");
	strcpy(r->cell[c++], "PID");
	strcpy(r->cell[c++], "VCPUS");
	strcpy(r->cell[c++], "LOG");
	strcpy(r->cell[c++], "LAG");
	for (unsigned int s = 0; s < __KVMFT_STAT_LAST; s++) {
		if (!ftvm_stat_name(s))
			continue;
		snprintf(r->cell[c], 24, "%s", ftvm_stat_name(s));
		for (char *p = r->cell[c]; *p; p++)
			*p = toupper((unsigned char)*p);
		c++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(outq_cols); i++)
		snprintf(r->cell[c++], 24, "%s", outq_cols[i].head);
	return c;
}

/* The table column of a statistic: after the fixed ones, named ones only. */
static int stat_col(unsigned int stat)
{
	int c = NFIXED;

	for (unsigned int s = 0; s < stat; s++)
		if (ftvm_stat_name(s))
			c++;
	return c;
}

static const char *cell_color(const struct ftvm *vm, int col)
{
	if (col == 1 && vm->role == KVMFT_ROLE_PRIMARY)
		return COLOR_GREEN;
	if (col == 1 && vm->role == KVMFT_ROLE_BACKUP)
		return COLOR_CYAN;
	if (col == stat_col(KVMFT_STAT_DIVERGENCES) &&
	    vm->stats[KVMFT_STAT_DIVERGENCES])
		return COLOR_RED COLOR_BOLD;
	return NULL;
}

static void print_table(const struct vms *vms, bool color)
{
	struct row *rows = calloc(vms->n + 1, sizeof(*rows));
	int width[NCOLS] = { 0 }, ncols = 0;
	const char *col;

	if (!rows) {
		ft_err("status", ENOMEM, NULL);
		return;
	}
	ncols = fill_header(&rows[0]);
	for (size_t i = 0; i < vms->n; i++)
		fill_row(&rows[i + 1], &vms->v[i]);
	for (size_t i = 0; i <= vms->n; i++)
		for (int c = 0; c < ncols; c++)
			if ((int)strlen(rows[i].cell[c]) > width[c])
				width[c] = strlen(rows[i].cell[c]);
	for (size_t i = 0; i <= vms->n; i++) {
		for (int c = 0; c < ncols; c++) {
			col = i && color ? cell_color(&vms->v[i - 1], c)
					 : NULL;
			printf("%s%-*s%s%s", col ? col : "",
			       c == ncols - 1 ? 0 : width[c], rows[i].cell[c],
			       col ? COLOR_RESET : "",
			       c == ncols - 1 ? "\n" : "  ");
		}
	}
	free(rows);
	/* A diverged backup is stopped for good: say where and why. */
	for (size_t i = 0; i < vms->n; i++)
		if (vms->v[i].diverged_seq)
			printf("VM %" PRIu32 ": the backup diverged at log record %" PRIu64 " (%s); its vCPU stays stopped until detach\n",
			       vms->v[i].id, vms->v[i].diverged_seq,
			       ftvm_divergence_name(vms->v[i].diverged_why));
}

static void print_json(const struct vms *vms)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_arr_begin(&j, "vms");
	for (size_t i = 0; i < vms->n; i++)
		ftvm_json(&j, NULL, &vms->v[i], false);
	json_arr_end(&j);
	json_obj_end(&j);
}

/* With ftd running, it knows the VMs, their pairs and more: ask it. */
static int ftd_status(bool have_id, uint32_t id, bool json)
{
	struct ctl_answer a;
	char req[64];
	int exit;

	if (have_id)
		snprintf(req, sizeof(req), "status vm=%u%s", id, json ? " json=1" : "");
	else
		snprintf(req, sizeof(req), "status%s", json ? " json=1" : "");
	if (ctl_call(req, 10000, &a, &exit))
		return exit;
	if (a.code)
		ft_msg("status: %s", a.msg);
	else
		fputs(a.body, stdout);
	ctl_answer_free(&a);
	return exit;
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct vms vms = { 0 };
	bool json = false, have_id = false;
	struct nl_msg *msg;
	struct ftnl nl;
	uint32_t id = 0;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("status", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("status", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ft_msg("status: unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return FT_EXIT_USAGE;
	}

	if (ctl_ftd_running())
		return ftd_status(have_id, id, json);
	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_GET_VM, have_id ? 0 : NLM_F_DUMP);
	if (!msg || (have_id && nla_put_u32(msg, KVMFT_A_VM_ID, id) < 0)) {
		nlmsg_free(msg);
		ret = -ENOMEM;
	} else {
		ret = ftnl_request(&nl, msg, collect, &vms);
	}
	if (ret < 0) {
		if (ret == -ENOENT && have_id && !nl.ext_msg[0])
			snprintf(nl.ext_msg, sizeof(nl.ext_msg),
				 "no attached VM with id %u", id);
		ft_err("status", -ret, nl.ext_msg);
		ret = FT_EXIT_KERNEL;
		goto out;
	}
	if (vms.n)
		qsort(vms.v, vms.n, sizeof(*vms.v), by_id);
	if (json)
		print_json(&vms);
	else if (!vms.n)
		printf("no VMs attached\n");
	else
		print_table(&vms, ft_color(stdout));
	ret = FT_EXIT_OK;
out:
	free(vms.v);
	ftnl_close(&nl);
	return ret;
}
