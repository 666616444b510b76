// SPDX-License-Identifier: GPL-2.0
/*
 * The output rule (docs/output-rule.md) by hand:
 *
 *   ftctl tap --vm ID --dev IFNAME|none [--max-pkts N] [--max-bytes N]
 *	bind the VM's tap: a primary's packets are held there until acked,
 *	a backup's dropped; "none" unbinds.
 *   ftctl ack --vm ID --at SEQ
 *	the backup holds the primary's log up to SEQ: release what it
 *	covers. `ftctl record --acks` does this for a running pair.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "ftctl.h"
#include "nl.h"

static int request(const char *cmd, struct ftnl *nl, struct nl_msg *msg)
{
	int ret = ftnl_request(nl, msg, NULL, NULL);

	if (ret < 0) {
		ft_err(cmd, -ret, nl->ext_msg);
		return FT_EXIT_KERNEL;
	}
	return FT_EXIT_OK;
}

static void tap_usage(FILE *f)
{
	fprintf(f, "Usage: %s tap --vm ID --dev IFNAME|none [--max-pkts N] [--max-bytes N]\n",
		ft_prog);
}

int tap_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "dev", required_argument, NULL, 'd' },
		{ "max-pkts", required_argument, NULL, 'p' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint32_t id = 0, ifindex = 0, max_pkts = 0, max_bytes = 0;
	const char *dev = NULL;
	bool have_id = false;
	struct nl_msg *msg;
	struct ftnl nl;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("tap", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'p':
		case 'b':
			if (!ft_parse_u32(optarg, c == 'p' ? &max_pkts : &max_bytes)) {
				ft_msg("tap: bad limit '%s'", optarg);
				return FT_EXIT_USAGE;
			}
			break;
		case 'h':
			tap_usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("tap", c, argv);
			tap_usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id || !dev) {
		ft_msg("tap: --vm and --dev are required");
		tap_usage(stderr);
		return FT_EXIT_USAGE;
	}
	if (strcmp(dev, "none")) {
		ifindex = if_nametoindex(dev);
		if (!ifindex) {
			ft_err("tap", errno, "no such network device here");
			return FT_EXIT_ENV;
		}
	}
	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_TAP, 0);
	if (!msg || nla_put_u32(msg, KVMFT_A_VM_ID, id) < 0 ||
	    nla_put_u32(msg, KVMFT_A_IFINDEX, ifindex) < 0 ||
	    (max_pkts && nla_put_u32(msg, KVMFT_A_OUTQ_MAX_PKTS, max_pkts) < 0) ||
	    (max_bytes &&
	     nla_put_u32(msg, KVMFT_A_OUTQ_MAX_BYTES, max_bytes) < 0)) {
		nlmsg_free(msg);
		ftnl_close(&nl);
		ft_err("tap", ENOMEM, NULL);
		return FT_EXIT_ENV;
	}
	ret = request("tap", &nl, msg);
	if (!ret && ifindex)
		printf("vm %" PRIu32 ": output held on %s\n", id, dev);
	else if (!ret)
		printf("vm %" PRIu32 ": no tap\n", id);
	ftnl_close(&nl);
	return ret;
}

static void ack_usage(FILE *f)
{
	fprintf(f, "Usage: %s ack --vm ID --at SEQ\n", ft_prog);
}

int ack_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_id = false, have_at = false;
	unsigned long long at = 0;
	struct nl_msg *msg;
	struct ftnl nl;
	uint32_t id = 0;
	char *end;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("ack", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'a':
			errno = 0;
			at = strtoull(optarg, &end, 10);
			if (errno || *end || *optarg < '0' || *optarg > '9') {
				ft_msg("ack: bad position '%s'", optarg);
				return FT_EXIT_USAGE;
			}
			have_at = true;
			break;
		case 'h':
			ack_usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("ack", c, argv);
			ack_usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id || !have_at) {
		ft_msg("ack: --vm and --at are required");
		ack_usage(stderr);
		return FT_EXIT_USAGE;
	}
	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_ACK, 0);
	if (!msg || nla_put_u32(msg, KVMFT_A_VM_ID, id) < 0 ||
	    nla_put_u64(msg, KVMFT_A_LOG_SEQ, at) < 0) {
		nlmsg_free(msg);
		ftnl_close(&nl);
		ft_err("ack", ENOMEM, NULL);
		return FT_EXIT_ENV;
	}
	ret = request("ack", &nl, msg);
	ftnl_close(&nl);
	return ret;
}
