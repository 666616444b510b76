// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl pair, unpair, promote, reconnect and genkey. All but genkey ask the local
 * ftd (its control socket) and wait for the outcome; ftd does the work
 * on both hosts. genkey prints a new pre-shared key for key_file.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/random.h>

#include "ctlsock.h"
#include "ftctl.h"

struct req_opts {
	uint32_t vm, timeout;
	bool have_vm;
	const char *peer;
};

static void usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "pair"))
		fprintf(f, "Usage: %s pair --vm ID --peer HOST[:PORT] [--timeout SECONDS]\n\n"
			"Makes VM ID (attached here, role none) the primary of a pair whose\n"
			"backup is the VM with the same identity (QEMU -uuid) on HOST,\n"
			"through the two hosts' ftd. Both need the same key_file, a host_id\n"
			"each, and the VM's arbitration area on a disk they share.\n", ft_prog);
	else if (!strcmp(cmd, "unpair"))
		fprintf(f, "Usage: %s unpair --vm ID [--timeout SECONDS]\n\n"
			"Ends VM ID's pair. On the primary's host the VM runs on alone,\n"
			"once it has won the next generation on the disk; on the backup's\n"
			"host the backup VM is stopped.\n", ft_prog);
	else if (!strcmp(cmd, "reconnect"))
		fprintf(f, "Usage: %s reconnect --vm ID\n\n"
			"Drops VM ID's logging channel; the primary connects again and\n"
			"resends the records the backup lacks. The pair goes on: heartbeats\n"
			"are not touched.\n", ft_prog);
	else
		fprintf(f, "Usage: %s promote --vm ID [--timeout SECONDS]\n\n"
			"Makes backup VM ID go live by hand, through the arbitration on the\n"
			"shared disk like an automatic failover: exit 0 if it won and went\n"
			"live, 6 if the other host owns the generation (this VM is then\n"
			"stopped), 3 if the disk could not be reached.\n", ft_prog);
}

static int parse(int argc, char **argv, struct req_opts *o)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "peer", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*o = (struct req_opts){ .timeout = 60 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id(argv[0], optarg, &o->vm))
				return FT_EXIT_USAGE;
			o->have_vm = true;
			break;
		case 'p':
			o->peer = optarg;
			break;
		case 't':
			if (!ft_parse_u32(optarg, &o->timeout) || !o->timeout ||
			    o->timeout > 3600) {
				ft_msg("%s: bad timeout '%s'", argv[0], optarg);
				return FT_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return -1;
		default:
			ft_bad_option(argv[0], c, argv);
			usage(stderr, argv[0]);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ft_msg("%s: unexpected argument '%s'", argv[0], argv[optind]);
		return FT_EXIT_USAGE;
	}
	if (!o->have_vm) {
		ft_msg("%s: --vm is required", argv[0]);
		return FT_EXIT_USAGE;
	}
	return 0;
}

static int call(const char *cmd, const char *req, uint32_t timeout)
{
	struct ctl_answer a;
	int exit;

	if (ctl_call(req, timeout * 1000, &a, &exit))
		return exit;
	if (a.code)
		ft_msg("%s", a.msg);
	else
		printf("%s\n", a.msg);
	(void)cmd;
	ctl_answer_free(&a);
	return exit;
}

static int request(int argc, char **argv, const char *verb)
{
	struct req_opts o;
	char req[400];
	int ret = parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? FT_EXIT_OK : ret;
	if (!strcmp(verb, "pair") && (!o.peer || !*o.peer || strchr(o.peer, ' '))) {
		ft_msg("pair: --peer HOST[:PORT] is required");
		return FT_EXIT_USAGE;
	}
	if (o.peer && strcmp(verb, "pair")) {
		ft_msg("%s: --peer is for pair only", verb);
		return FT_EXIT_USAGE;
	}
	snprintf(req, sizeof(req), "%s vm=%u%s%s", verb, o.vm, o.peer ? " peer=" : "",
		 o.peer ? o.peer : "");
	return call(verb, req, o.timeout);
}

int pair_main(int argc, char **argv)
{
	return request(argc, argv, "pair");
}

int unpair_main(int argc, char **argv)
{
	return request(argc, argv, "unpair");
}

int promote_main(int argc, char **argv)
{
	return request(argc, argv, "promote");
}

int reconnect_main(int argc, char **argv)
{
	return request(argc, argv, "reconnect");
}

int genkey_main(int argc, char **argv)
{
	unsigned char k[32];

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: %s genkey\n\nPrints a new random pre-shared key (64 hex digits) for ftd's\n"
		       "key_file. Both hosts of a pair need the same one, mode 0600, root:\n"
		       "  umask 077; %s genkey > /etc/kvmft/psk\n", ft_prog, ft_prog);
		return FT_EXIT_OK;
	}
	if (argc > 1) {
		ft_msg("genkey: unexpected argument '%s'", argv[1]);
		return FT_EXIT_USAGE;
	}
	if (getrandom(k, sizeof(k), 0) != sizeof(k)) {
		ft_err("genkey", errno, NULL);
		return FT_EXIT_ENV;
	}
	for (size_t i = 0; i < sizeof(k); i++)
		printf("%02x", k[i]);
	printf("\n");
	return FT_EXIT_OK;
}
