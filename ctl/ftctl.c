// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl: the operator's command line for kvmft. A table of subcommands in
 * the manner of wireguard-tools' wg.c; each one is name_main(argc, argv).
 */
#include <string.h>

#include "ftctl.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *description;
} subcommands[] = {
	{ "pair", pair_main, "Pair a VM here (primary) with its backup on another host" },
	{ "unpair", unpair_main, "End a VM's pair" },
	{ "promote", promote_main, "Make a backup go live by hand, through arbitration" },
	{ "reconnect", reconnect_main, "Drop a pair's logging channel; it reconnects and resends" },
	{ "attach", attach_main, "Attach kvmft to a running VM" },
	{ "detach", detach_main, "Detach kvmft from a VM" },
	{ "status", status_main, "Show the attached VMs and their counters" },
	{ "events", events_main, "Print the VMs, then every change, as it happens" },
	{ "record", record_main, "Make a VM primary and save its log to a file" },
	{ "replay", replay_main, "Make a VM backup and feed it a saved log" },
	{ "log-dump", log_dump_main, "List the records of a log file" },
	{ "verify", verify_main, "Hash a VM's memory when its log reaches a record" },
	{ "tap", tap_main, "Hold a VM's packets on its tap until its backup acks them" },
	{ "ack", ack_main, "Release a primary's packets up to a log position" },
	{ "genkey", genkey_main, "Print a new pre-shared key for ftd's key_file" },
	{ "arb", arb_main, "Format, show or test-and-set the shared arbitration disk" },
	{ "info", info_main, "Show the module's protocol version and live objects" },
#ifdef FT_HAVE_EXITS
	{ "exits", exits_main, "Count KVM exits and their latency per exit reason (BPF)" },
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s <cmd> [<args>]\n\n", ft_prog);
	fprintf(f, "Available subcommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name,
			subcommands[i].description);
	fprintf(f, "  %-9s %s\n", "help", "Show this message");
	fprintf(f, "\nPass --help to any subcommand for its usage.\n");
	fprintf(f, "Exit status: 0 ok, 1 usage, 2 refused by the kernel, "
		"3 environment\n(module not loaded, no permission), "
		"4 bad input file, 5 events timed out, 6 lost the arbitration,\n"
		"7 refused by ftd or its peer.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return FT_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].main(argc - 1, argv + 1);
	ft_msg("unknown subcommand '%s'; run '%s help'", argv[1], ft_prog);
	return FT_EXIT_USAGE;
}
