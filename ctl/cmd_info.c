// SPDX-License-Identifier: GPL-2.0
/* ftctl info: what the loaded module says about itself. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netlink/genl/genl.h>

#include "ftctl.h"
#include "json.h"
#include "nl.h"

struct info {
	bool has_version, has_live;
	uint32_t version;
	uint64_t live;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s info [--json]\n", ft_prog);
}

static int parse_info(struct nlmsghdr *nlh, void *arg)
{
	static struct nla_policy policy[KVMFT_A_MAX + 1] = {
		[KVMFT_A_VERSION] = { .type = NLA_U32 },
		[KVMFT_A_LIVE_OBJECTS] = { .type = NLA_U64 },
	};
	struct nlattr *tb[KVMFT_A_MAX + 1];
	struct info *info = arg;

	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, policy) < 0)
		return -EBADMSG;
	if (tb[KVMFT_A_VERSION]) {
		info->has_version = true;
		info->version = nla_get_u32(tb[KVMFT_A_VERSION]);
	}
	if (tb[KVMFT_A_LIVE_OBJECTS]) {
		info->has_live = true;
		info->live = nla_get_u64(tb[KVMFT_A_LIVE_OBJECTS]);
	}
	return 0;
}

static void print(const struct info *info, bool json)
{
	struct json j;

	if (json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		if (info->has_version)
			json_u64(&j, "version", info->version);
		if (info->has_live)
			json_u64(&j, "live_objects", info->live);
		json_u64(&j, "ftctl_version", KVMFT_GENL_VERSION);
		json_obj_end(&j);
		return;
	}
	if (info->has_version)
		printf("module protocol version: %" PRIu32 "\n", info->version);
	else
		printf("module protocol version: (not reported)\n");
	printf("ftctl protocol version:  %d\n", KVMFT_GENL_VERSION);
	if (info->has_live)
		printf("live objects:            %" PRIu64 "\n", info->live);
}

int info_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct info info = { 0 };
	struct nl_msg *msg;
	bool json = false;
	struct ftnl nl;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("info", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ft_msg("info: unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return FT_EXIT_USAGE;
	}

	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_GET_INFO, 0);
	ret = msg ? ftnl_request(&nl, msg, parse_info, &info) : -ENOMEM;
	if (ret < 0) {
		ft_err("info", -ret, nl.ext_msg);
		ret = FT_EXIT_KERNEL;
	} else {
		print(&info, json);
		ret = FT_EXIT_OK;
	}
	ftnl_close(&nl);
	return ret;
}
