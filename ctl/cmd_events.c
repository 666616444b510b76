// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl events: every VM as EXISTS, then every CREATE, CHANGE and DESTROY
 * as it happens, one per line (JSON Lines with --json).
 */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "events.h"
#include "ftctl.h"

struct printer {
	bool json, color;
	uint32_t count, limit;
	struct json j;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s events [--json] [--count N] [--timeout SECONDS]\n",
		ft_prog);
}

static int print_event(const struct ftvm *vm, void *arg)
{
	struct printer *p = arg;

	if (p->json)
		ftvm_json(&p->j, NULL, vm, true);
	else
		ftvm_line(stdout, vm, p->color);
	fflush(stdout);
	return p->limit && ++p->count >= p->limit;
}

static void lost(void *arg)
{
	(void)arg;
	ft_msg("events: notifications lost (receive buffer overran); dumping the state again");
}

int events_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const struct ftev_ops ops = { .event = print_event, .lost = lost };
	struct printer p = { 0 };
	uint32_t timeout = 0;
	bool have_timeout = false;
	struct ftnl nl;
	int c, ret, signo;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			p.json = true;
			break;
		case 'c':
			if (!ft_parse_u32(optarg, &p.limit) || !p.limit) {
				ft_msg("events: bad count '%s'", optarg);
				return FT_EXIT_USAGE;
			}
			break;
		case 't':
			if (!ft_parse_u32(optarg, &timeout) || !timeout ||
			    timeout > INT32_MAX / 1000) {
				ft_msg("events: bad timeout '%s'", optarg);
				return FT_EXIT_USAGE;
			}
			have_timeout = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("events", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ft_msg("events: unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return FT_EXIT_USAGE;
	}

	ret = ft_nl_connect(&nl, true);
	if (ret)
		return ret;
	p.color = !p.json && ft_color(stdout);
	json_init(&p.j, stdout);
	ret = ftev_run(&nl, &ops, &p, have_timeout ? (int)timeout * 1000 : -1,
		       &signo);
	ftnl_close(&nl);
	switch (ret) {
	case FTEV_STOP:
	case FTEV_SIGNAL:
		return FT_EXIT_OK;
	case FTEV_TIMEOUT:
		if (!p.limit)
			return FT_EXIT_OK;
		ft_msg("events: timed out after %u s with %u of %u events",
		       timeout, p.count, p.limit);
		return FT_EXIT_TIMEOUT;
	case FTEV_GONE:
		ft_msg("events: the kvmft module was unloaded");
		return FT_EXIT_ENV;
	}
	ft_err("events", -ret, nl.ext_msg);
	return FT_EXIT_KERNEL;
}
