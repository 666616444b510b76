// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl arb: the shared disk's arbitration area (docs/arbitration.md).
 * `init` formats one, `show` prints its generation and slots, `acquire`
 * runs the test-and-set by hand: what ftd does before a promotion, for
 * operators and for tests that race hosts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arb.h"
#include "ftctl.h"
#include "json.h"

struct arb_opts {
	const char *disk, *vm, *name;
	uint64_t offset, base;
	uint32_t hosts, host_id, timeout_ms;
	bool force, json, have_base, caw;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s arb init --disk PATH --vm IDENTITY [--hosts N] [--offset BYTES]\n"
		"                   [--caw] [--force]\n"
		"       %s arb show --disk PATH [--offset BYTES] [--json]\n"
		"       %s arb acquire --disk PATH --host-id N --name NAME --base GEN\n"
		"                      [--offset BYTES] [--timeout MS] [--json]\n\n"
		"init formats an arbitration area for one VM (default 2 hosts); with\n"
		"--caw it arbitrates by SCSI COMPARE AND WRITE (the disk must do it).\n"
		"show prints the newest generation, its owner and every host slot.\n"
		"acquire asks for generation GEN+1 as host N; exit 0 if it won,\n"
		"6 if another host owns it (or a newer one), 3 if the disk failed.\n",
		ft_prog, ft_prog, ft_prog);
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static int bad(const char *what, const char *arg)
{
	ft_msg("arb: bad %s '%s'", what, arg);
	return FT_EXIT_USAGE;
}

static int parse_opt(int c, struct arb_opts *o)
{
	switch (c) {
	case 'd': o->disk = optarg; return 0;
	case 'v': o->vm = optarg; return 0;
	case 'n': o->name = optarg; return 0;
	case 'f': o->force = true; return 0;
	case 'C': o->caw = true; return 0;
	case 'j': o->json = true; return 0;
	case 'o':
		return parse_u64(optarg, &o->offset) ? 0 : bad("offset", optarg);
	case 'b':
		o->have_base = true;
		return parse_u64(optarg, &o->base) ? 0 : bad("generation", optarg);
	case 'H':
		return ft_parse_u32(optarg, &o->hosts) ? 0 : bad("host count", optarg);
	case 'i':
		return ft_parse_u32(optarg, &o->host_id) && o->host_id ? 0 :
		       bad("host id", optarg);
	case 't':
		return ft_parse_u32(optarg, &o->timeout_ms) && o->timeout_ms ? 0 :
		       bad("timeout", optarg);
	}
	return FT_EXIT_USAGE;
}

static int parse(int argc, char **argv, struct arb_opts *o)
{
	static const struct option opts[] = {
		{ "disk", required_argument, NULL, 'd' },
		{ "vm", required_argument, NULL, 'v' },
		{ "name", required_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "base", required_argument, NULL, 'b' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "host-id", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "caw", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, ret;

	*o = (struct arb_opts){ .hosts = 2, .timeout_ms = 10000 };
	opterr = 0;
	optind = 2;	/* argv[1] is init, show or acquire */
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?' || c == ':') {
			ft_bad_option("arb", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
		ret = parse_opt(c, o);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		ft_msg("arb: unexpected argument '%s'", argv[optind]);
		return FT_EXIT_USAGE;
	}
	if (!o->disk) {
		ft_msg("arb: --disk is required");
		return FT_EXIT_USAGE;
	}
	return 0;
}

static int failed(const struct arb_err *e)
{
	ft_err("arb", e->err, e->msg);
	return e->err == EINVAL || e->err == ERANGE || e->err == EEXIST ?
	       FT_EXIT_INPUT : FT_EXIT_ENV;
}

static int do_init(const struct arb_opts *o)
{
	struct arb_err e;

	if (!o->vm) {
		ft_msg("arb: init needs --vm, the identity both QEMUs were started with (-uuid)");
		return FT_EXIT_USAGE;
	}
	if (arb_format(o->disk, o->offset, o->vm, o->hosts,
		       (o->force ? ARB_FORMAT_FORCE : 0) | (o->caw ? ARB_FORMAT_CAW : 0), &e))
		return failed(&e);
	printf("%s: arbitration area for VM '%s', %u hosts, %s, generation 0\n",
	       o->disk, o->vm, o->hosts, o->caw ? "COMPARE AND WRITE" : "Disk Paxos");
	return FT_EXIT_OK;
}

static void slot_json(struct json *j, const struct arb *a, uint32_t h)
{
	const struct arb_slot *s = &a->slot[h];

	json_obj_begin(j, NULL);
	json_u64(j, "host_id", h);
	json_str(j, "name", s->name);
	json_u64(j, "gen", s->gen);
	json_u64(j, "mbal", s->mbal);
	json_u64(j, "bal", s->bal);
	json_u64(j, "inp", s->inp);
	json_u64(j, "committed_gen", s->committed_gen);
	json_u64(j, "committed_owner", s->committed_owner);
	json_u64(j, "time_ms", s->time_ms);
	json_obj_end(j);
}

static void show_json(const struct arb *a, const struct arb_view *v)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "disk", a->path);
	json_str(&j, "vm", a->vm);
	json_u64(&j, "hosts", a->hosts);
	json_u64(&j, "sector", a->sector);
	json_str(&j, "mode", a->caw ? "caw" : "paxos");
	json_u64(&j, "gen", v->gen);
	json_u64(&j, "owner", v->owner);
	json_str(&j, "owner_name", v->gen ? v->owner_name : "");
	json_arr_begin(&j, "slots");
	for (uint32_t h = 1; h <= a->hosts; h++)
		if (!a->slot[h].empty)
			slot_json(&j, a, h);
	json_arr_end(&j);
	json_obj_end(&j);
}

static void show_text(const struct arb *a, const struct arb_view *v)
{
	char when[32];
	time_t t;

	printf("%s: VM '%s', %u hosts, %u-byte sectors, %s\n", a->path, a->vm,
	       a->hosts, a->sector, a->caw ? "COMPARE AND WRITE" : "Disk Paxos");
	if (v->gen)
		printf("generation %" PRIu64 ", owner host %u (%s)\n", v->gen,
		       v->owner, v->owner_name);
	else
		printf("generation 0: nobody has won yet\n");
	if (a->caw)
		return;
	printf("%-4s %-16s %6s %8s %8s %4s %9s  %s\n", "SLOT", "NAME", "GEN",
	       "MBAL", "BAL", "INP", "COMMITTED", "WRITTEN");
	for (uint32_t h = 1; h <= a->hosts; h++) {
		const struct arb_slot *s = &a->slot[h];

		if (s->empty)
			continue;
		t = s->time_ms / 1000;
		strftime(when, sizeof(when), "%F %T", localtime(&t));
		printf("%-4u %-16s %6" PRIu64 " %8" PRIu64 " %8" PRIu64 " %4" PRIu64
		       " %4" PRIu64 ":%-4" PRIu64 "  %s\n", h, s->name, s->gen,
		       s->mbal, s->bal, s->inp, s->committed_gen,
		       s->committed_owner, when);
	}
}

static int do_show(const struct arb_opts *o)
{
	struct arb_view v;
	struct arb_err e;
	struct arb a;

	if (arb_open(&a, o->disk, o->offset, 0, "ftctl", NULL, &e))
		return failed(&e);
	if (arb_read(&a, &v, &e)) {
		arb_close(&a);
		return failed(&e);
	}
	if (o->json)
		show_json(&a, &v);
	else
		show_text(&a, &v);
	arb_close(&a);
	return FT_EXIT_OK;
}

static void result_json(const struct arb_result *r, uint64_t ms)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "outcome", r->outcome == ARB_WON ? "won" : "lost");
	json_u64(&j, "gen", r->gen);
	json_u64(&j, "owner", r->owner);
	json_str(&j, "owner_name", r->owner_name);
	json_u64(&j, "ballots", r->ballots);
	json_u64(&j, "ms", ms);
	json_obj_end(&j);
}

static int do_acquire(const struct arb_opts *o)
{
	uint64_t start = ft_now_ms();
	struct arb_result r;
	struct arb_err e;
	struct arb a;
	int ret;

	if (!o->host_id || !o->name || !o->have_base) {
		ft_msg("arb: acquire needs --host-id, --name and --base");
		return FT_EXIT_USAGE;
	}
	if (arb_open(&a, o->disk, o->offset, o->host_id, o->name, NULL, &e))
		return failed(&e);
	ret = arb_acquire(&a, o->base, o->timeout_ms, &r, &e);
	arb_close(&a);
	if (ret)
		return failed(&e);
	if (o->json)
		result_json(&r, ft_now_ms() - start);
	else if (r.outcome == ARB_WON)
		printf("won generation %" PRIu64 "\n", r.gen);
	else
		printf("lost: generation %" PRIu64 " belongs to host %u (%s)\n",
		       r.gen, r.owner, r.owner_name);
	return r.outcome == ARB_WON ? FT_EXIT_OK : FT_EXIT_LOST;
}

int arb_main(int argc, char **argv)
{
	struct arb_opts o;
	const char *verb = argc > 1 ? argv[1] : NULL;
	int ret;

	if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h") ||
		     !strcmp(verb, "help"))) {
		usage(stdout);
		return FT_EXIT_OK;
	}
	if (!verb || (strcmp(verb, "init") && strcmp(verb, "show") &&
		      strcmp(verb, "acquire"))) {
		ft_msg("arb: expected init, show or acquire");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	ret = parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? FT_EXIT_OK : ret;
	if (!strcmp(verb, "init"))
		return do_init(&o);
	if (!strcmp(verb, "show"))
		return do_show(&o);
	return do_acquire(&o);
}
