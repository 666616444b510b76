/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One VM as the module describes it: the attributes of a GET_VM reply,
 * an ATTACH reply and every VM_EVENT notification. One parser and one
 * printer serve `ftctl status`, `ftctl events`, `ftctl attach` and ftd.
 */
#ifndef FT_VM_H
#define FT_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/netlink.h>
#include <linux/kvmft.h>

#include "json.h"

struct ftvm {
	uint32_t id;
	uint32_t pid;
	uint32_t vcpus;
	uint8_t role;
	uint8_t event;
	uint8_t cmd;		/* KVMFT_CMD_GET_VM, _ATTACH or _VM_EVENT */
	bool has_seq;
	uint64_t seq;
	uint64_t stats[__KVMFT_STAT_LAST];
	/* The log's positions (0 where the module does not say). */
	uint64_t session;
	uint64_t log_seq;	/* last record appended (recorded/received) */
	uint64_t log_shipped;	/* primary: last read out */
	uint64_t log_replayed;	/* backup: last taken by its vCPU */
	uint64_t log_acked;	/* KEEP primary: last acked, gone from its log */
	uint64_t diverged_seq;	/* backup: where it diverged, 0: never */
	uint32_t diverged_why;	/* enum kvmft_divergence */
	uint32_t flags;		/* KVMFT_VM_F_* */
	/* The output rule's queue (KVMFT_A_OUTQ), if the module sent it. */
	bool has_outq;
	uint64_t outq[__KVMFT_OUTQ_LAST];
};

/* Parses a kvmft message; -EBADMSG if it is malformed or has no VM id. */
int ftvm_parse(struct nlmsghdr *nlh, struct ftvm *vm);

const char *ftvm_role_name(unsigned int role);	/* "primary", "role3" */
const char *ftvm_event_name(unsigned int event);	/* "create", ... */
/* Name of a known counter, or NULL for UNSPEC, PAD and unknown ones. */
const char *ftvm_stat_name(unsigned int stat);
/* Records recorded but not shipped (primary), received but not replayed. */
uint64_t ftvm_log_lag(const struct ftvm *vm);

/* Name of a KVMFT_OUTQ_* value ("held_pkts"), or NULL. */
const char *ftvm_outq_name(unsigned int attr);
/* KVMFT_A_DIVERGED_WHY as a word, "unknown" for a value it does not know. */
const char *ftvm_divergence_name(unsigned int why);

/* {"id":..,"role":..,"pid":..,"vcpus":..,"seq":..,"stats":{..},"outq":{..}} */
void ftvm_json(struct json *j, const char *key, const struct ftvm *vm,
	       bool with_event);
/* One line: "create vm:3 seq:12 role:none pid:1234 vcpus:1 runs:0 ..." */
void ftvm_line(FILE *f, const struct ftvm *vm, bool color);

#endif
