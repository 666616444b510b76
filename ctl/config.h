/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftd's configuration: /etc/kvmft/ftd.conf (ftd.conf(5) in ftd.8), lines
 * of "key = value", '#' comments. A missing default file means the
 * defaults, which pair nothing: without a key_file, pairing is off.
 */
#ifndef FT_CONFIG_H
#define FT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "proto.h"

#define FTD_CONF_PATH	"/etc/kvmft/ftd.conf"
#define FTD_SOCK_PATH	"/run/kvmft/ftd.sock"
#define FTD_MAX_DISKS	8

struct ftd_conf {
	char listen[64];		/* address to bind, "" = any */
	uint16_t port;			/* TCP channel and UDP heartbeats */
	char key_file[256];
	bool have_key;
	unsigned char psk[FTP_KEY_LEN];
	uint32_t host_id;		/* arbitration slot, 0: not set */
	char host_name[64];
	char arb_disk[FTD_MAX_DISKS][256];
	int n_arb;
	uint32_t arb_timeout_ms;
	uint32_t hb_interval_ms;
	uint32_t hb_timeout_ms;
	uint32_t lag_slow;		/* records in flight before slowing */
	uint32_t lag_stall;		/* ... before stalling */
	char socket[108];		/* control socket */
	char state_dir[200];		/* pairs kept across restarts */
	char announce_dev[IFNAMSIZ];	/* where the MAC is announced */
};

void conf_defaults(struct ftd_conf *c);
/*
 * Reads path; a missing file is not an error when !required. 0, or -1
 * with err saying which line is wrong and why.
 */
int conf_load(struct ftd_conf *c, const char *path, bool required,
	      char *err, size_t len);
/*
 * Reads c->key_file: a regular file owned by root, not readable or
 * writable by group or others, holding 64 hex digits. 0, or -1 with err.
 */
int conf_load_key(struct ftd_conf *c, char *err, size_t len);
/* Parses 64 hex digits (trailing whitespace allowed) into key. */
bool conf_parse_key(const char *s, unsigned char key[FTP_KEY_LEN]);

#endif
