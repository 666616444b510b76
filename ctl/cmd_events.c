// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl events: every VM as EXISTS, then every CREATE, CHANGE and DESTROY
 * as it happens, one per line (JSON Lines with --json).
 */
#include <getopt.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <string.h>

#include "ctlsock.h"
#include "events.h"
#include "ftctl.h"

struct printer {
	bool json, color;
	uint32_t count, limit;
	struct json j;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s events [--json] [--count N] [--timeout SECONDS]\n\n"
		"Every VM, then every change as it happens, one line each. With ftd\n"
		"running, from ftd: VMs and pairs (channel, heartbeats, arbitration,\n"
		"promotion), each with its time; without ftd, the module's events.\n",
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

/*
 * With ftd running, its stream: every VM, then every change of a VM or
 * a pair (channel, heartbeats, arbitration), each with its time.
 */
static int ftd_events(struct printer *p, uint32_t timeout)
{
	uint64_t deadline = ft_now_ms() + (uint64_t)timeout * 1000;
	char req[32], buf[4096];
	struct pollfd pfd;
	int exit, fd, wait;
	ssize_t n;

	snprintf(req, sizeof(req), "events%s", p->json ? " json=1" : "");
	fd = ctl_open(req, &exit);
	if (fd < 0)
		return exit;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	n = recv(fd, buf, sizeof(buf) - 1, 0);	/* "0 subscribed" */
	for (;;) {
		wait = timeout ? (int)(deadline > ft_now_ms() ? deadline - ft_now_ms() : 0) : -1;
		if (n <= 0 || (timeout && !wait) || poll(&pfd, 1, wait) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		if (p->limit && ++p->count >= p->limit) {
			close(fd);
			return FT_EXIT_OK;
		}
	}
	close(fd);
	if (n <= 0) {
		ft_msg("events: ftd went away");
		return FT_EXIT_ENV;
	}
	if (p->limit) {
		ft_msg("events: timed out after %u s with %u of %u events", timeout,
		       p->count, p->limit);
		return FT_EXIT_TIMEOUT;
	}
	return FT_EXIT_OK;
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

	if (ctl_ftd_running())
		return ftd_events(&p, have_timeout ? timeout : 0);
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
