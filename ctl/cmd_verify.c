// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl verify: hash a VM's guest memory when its log reaches a position.
 * Run it on a primary and on its backup with the same position: equal
 * hashes say the backup's memory is the primary's at that record, a
 * difference is a divergence. It waits until the VM gets there.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>

#include "ftctl.h"
#include "json.h"
#include "nl.h"

#include <netlink/genl/genl.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s verify --vm ID --at SEQ [--json]\n", ft_prog);
}

struct verify_reply {
	uint64_t seq, hash;
	bool got;
};

static int parse_reply(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[KVMFT_A_MAX + 1];
	struct verify_reply *v = arg;

	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, NULL) < 0 ||
	    !tb[KVMFT_A_LOG_SEQ] || !tb[KVMFT_A_MEM_HASH])
		return -EPROTO;
	v->seq = nla_get_u64(tb[KVMFT_A_LOG_SEQ]);
	v->hash = nla_get_u64(tb[KVMFT_A_MEM_HASH]);
	v->got = true;
	return 0;
}

static int verify(uint32_t vm, uint64_t at, bool json)
{
	struct verify_reply v = { 0 };
	struct nl_msg *msg;
	struct json j;
	struct ftnl nl;
	char hash[17];
	int ret;

	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_VERIFY, 0);
	if (!msg || nla_put_u32(msg, KVMFT_A_VM_ID, vm) < 0 ||
	    nla_put_u64(msg, KVMFT_A_LOG_SEQ, at) < 0) {
		nlmsg_free(msg);
		ret = -ENOMEM;
	} else {
		ret = ftnl_request(&nl, msg, parse_reply, &v);
	}
	if (!ret && !v.got)
		ret = -EPROTO;
	ftnl_close(&nl);
	if (ret < 0) {
		ft_err("verify", -ret, nl.ext_msg);
		return FT_EXIT_KERNEL;
	}
	snprintf(hash, sizeof(hash), "%016" PRIx64, v.hash);
	if (json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_u64(&j, "vm", vm);
		json_u64(&j, "seq", v.seq);
		json_str(&j, "hash", hash);
		json_obj_end(&j);
	} else {
		printf("vm %" PRIu32 " memory at record %" PRIu64 ": %s\n", vm,
		       v.seq, hash);
	}
	return FT_EXIT_OK;
}

int verify_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_id = false, json = false;
	uint64_t at = 0;
	uint32_t id = 0;
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("verify", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'a':
			errno = 0;
			at = strtoull(optarg, &end, 10);
			if (errno || *end || !at || optarg[0] == '-') {
				ft_msg("verify: --at '%s' is not a log position (a record number from 1)",
				       optarg);
				return FT_EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("verify", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id || !at) {
		if (optind < argc)
			ft_msg("verify: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("verify: --vm and --at are required");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	return verify(id, at, json);
}
