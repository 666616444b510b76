// SPDX-License-Identifier: GPL-2.0
/* ftctl detach: let go of a VM; it runs on unrecorded. */
#include <errno.h>
#include <getopt.h>

#include "ftctl.h"
#include "nl.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s detach --vm ID\n", ft_prog);
}

int detach_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_id = false;
	struct nl_msg *msg;
	struct ftnl nl;
	uint32_t id = 0;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("detach", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("detach", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id) {
		if (optind < argc)
			ft_msg("detach: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("detach: --vm is required");
		usage(stderr);
		return FT_EXIT_USAGE;
	}

	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_DETACH, 0);
	if (!msg || nla_put_u32(msg, KVMFT_A_VM_ID, id) < 0) {
		nlmsg_free(msg);
		ret = -ENOMEM;
	} else {
		ret = ftnl_request(&nl, msg, NULL, NULL);
	}
	if (ret < 0) {
		if (ret == -ENOENT && have_id && !nl.ext_msg[0])
			snprintf(nl.ext_msg, sizeof(nl.ext_msg),
				 "no attached VM with id %u", id);
		ft_err("detach", -ret, nl.ext_msg);
		ret = FT_EXIT_KERNEL;
	} else {
		printf("detached vm %u\n", id);
		ret = FT_EXIT_OK;
	}
	ftnl_close(&nl);
	return ret;
}
