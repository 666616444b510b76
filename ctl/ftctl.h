/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftctl subcommands. Each lives in cmd_<name>.c as <name>_main(argc, argv),
 * with argv[0] the subcommand's name, and returns an FT_EXIT_ code (util.h).
 */
#ifndef FT_FTCTL_H
#define FT_FTCTL_H

#include "util.h"

int attach_main(int argc, char **argv);
int detach_main(int argc, char **argv);
int status_main(int argc, char **argv);
int events_main(int argc, char **argv);
int record_main(int argc, char **argv);
int replay_main(int argc, char **argv);
int info_main(int argc, char **argv);
int log_dump_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int tap_main(int argc, char **argv);	/* cmd_tap.c */
int ack_main(int argc, char **argv);	/* cmd_tap.c */
int arb_main(int argc, char **argv);
int pair_main(int argc, char **argv);
int unpair_main(int argc, char **argv);
int promote_main(int argc, char **argv);
int reconnect_main(int argc, char **argv);
int genkey_main(int argc, char **argv);
int exits_main(int argc, char **argv);	/* cmd_exits.c, built if present */

#endif
