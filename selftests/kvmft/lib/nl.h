/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-side client of the kvmft generic netlink family and /dev/kvmft,
 * written for the tests only (it does not share code with ctl/, so the
 * tests check the contract, not a second copy of the controller).
 *
 * libnl builds the messages, resolves the family and owns the socket;
 * replies are received and parsed here, so that a test sees exactly what
 * the kernel sent: every reply message, the errno, and the extended-ack
 * text (kvmft_nl.errmsg). Requests may be hand-crafted and malformed:
 * build them with kvmft_nl_msg() and libnl's nla_put*() (any type, any
 * length), or pass raw bytes to kvmft_nl_send_raw().
 *
 * `__kvmft_foo()` returns 0 or -errno; `kvmft_foo()` asserts success.
 */
#ifndef KVMFT_NL_H
#define KVMFT_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <linux/kvmft.h>

#define KVMFT_NL_TIMEOUT_MS	30000	/* no reply in this time: -ETIMEDOUT */

struct kvmft_nl {
	struct nl_sock *sk;
	int family;
	int mcgrp_events;
	char errmsg[256];	/* extended-ack text of the last error, or "" */
	int err_offset;		/* NLMSGERR_ATTR_OFFS, or -1 */
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE, or -1 */
};

/* A VM as GET_VM replies and VM_EVENT notifications describe it. */
struct kvmft_vm_info {
	uint8_t cmd;		/* KVMFT_CMD_GET_VM or KVMFT_CMD_VM_EVENT */
	uint32_t id;
	uint8_t event;		/* enum kvmft_event */
	uint64_t seq;
	uint8_t role;		/* enum kvmft_role */
	uint32_t pid;
	uint32_t vcpus;
	uint64_t stats[KVMFT_STAT_MAX + 1];
	uint64_t session;	/* of the VM's log, 0 if none */
	uint64_t log_seq;	/* last record appended */
	uint64_t shipped;	/* primary: last record read out */
	uint64_t replayed;	/* backup: last record taken */
	uint64_t diverged;	/* backup: record it stopped at, or 0 */
	uint32_t diverged_why;	/* enum kvmft_divergence */
	uint32_t flags;		/* KVMFT_VM_F_* */
	uint64_t acked;		/* primary of a KEEP session: last acked */
	uint64_t outq[KVMFT_OUTQ_MAX + 1];	/* KVMFT_A_OUTQ, by attribute */
	uint32_t present;	/* bit per KVMFT_A_* seen */
};

/* Called for every reply message with the request's sequence number. */
typedef int (*kvmft_nl_cb)(struct nlmsghdr *nlh, void *arg);

/* 0 if the family and /dev/kvmft are there; else -errno and why. */
int kvmft_probe(char *why, size_t len);

/* -ENOENT if the family is not registered. */
int __kvmft_nl_open(struct kvmft_nl *nl);
void kvmft_nl_open(struct kvmft_nl *nl);
void kvmft_nl_close(struct kvmft_nl *nl);

/* A request with a generic netlink header for @cmd; @flags e.g. NLM_F_DUMP. */
struct nl_msg *kvmft_nl_msg(struct kvmft_nl *nl, uint8_t cmd, int flags);
/*
 * Send @msg (freed) and receive until the ack, error or end of dump;
 * returns 0, the callback's first non-zero return, or -errno (with
 * nl->errmsg set when the kernel gave a reason).
 */
int kvmft_nl_transact(struct kvmft_nl *nl, struct nl_msg *msg,
		      kvmft_nl_cb cb, void *arg);
/* The same for raw bytes; the header's pid and seq are filled in. */
int kvmft_nl_send_raw(struct kvmft_nl *nl, void *buf, size_t len,
		      kvmft_nl_cb cb, void *arg);

/* Parse a GET_VM reply or VM_EVENT; -EPROTO on a malformed one. */
int kvmft_parse_vm(struct nlmsghdr *nlh, struct kvmft_vm_info *vm);

int __kvmft_attach(struct kvmft_nl *nl, int vm_fd, uint32_t pid,
		   uint32_t *id);
uint32_t kvmft_attach(struct kvmft_nl *nl, int vm_fd, uint32_t pid);
int __kvmft_detach(struct kvmft_nl *nl, uint32_t id);
void kvmft_detach(struct kvmft_nl *nl, uint32_t id);
/*
 * Wait until VM @id's log reaches position @at, then hash its memory:
 * the hash and the position hashed at. Blocks; -errno on error.
 */
int __kvmft_verify(struct kvmft_nl *nl, uint32_t id, uint64_t at,
		   uint64_t *hash, uint64_t *seq);
/* A backup replays what it holds, then runs live. */
int __kvmft_promote(struct kvmft_nl *nl, uint32_t id);
void kvmft_promote(struct kvmft_nl *nl, uint32_t id);
/* The output rule: bind a tap (0: unbind) with limits (0: defaults). */
int __kvmft_tap(struct kvmft_nl *nl, uint32_t id, uint32_t ifindex,
		uint32_t max_pkts, uint32_t max_bytes);
void kvmft_tap(struct kvmft_nl *nl, uint32_t id, uint32_t ifindex);
/* KVMFT_CMD_ACK: the backup holds the log up to @pos. */
int __kvmft_ack(struct kvmft_nl *nl, uint32_t id, uint64_t pos);
void kvmft_ack(struct kvmft_nl *nl, uint32_t id, uint64_t pos);
int __kvmft_get_vm(struct kvmft_nl *nl, uint32_t id,
		   struct kvmft_vm_info *vm);
void kvmft_get_vm(struct kvmft_nl *nl, uint32_t id, struct kvmft_vm_info *vm);
/* Dump all VMs into @vms (up to @max); returns how many exist, or -errno. */
int __kvmft_dump_vms(struct kvmft_nl *nl, struct kvmft_vm_info *vms,
		     int max);
int kvmft_vm_count(struct kvmft_nl *nl);
/* Find @id in a dump; false if it is not attached. */
bool kvmft_find_vm(struct kvmft_nl *nl, uint32_t id,
		   struct kvmft_vm_info *vm);
int __kvmft_get_info(struct kvmft_nl *nl, uint64_t *live, uint32_t *version);

/* A second socket, subscribed to the "events" group. */
int __kvmft_events_open(struct kvmft_nl *ev);
void kvmft_events_open(struct kvmft_nl *ev);
/*
 * Wait up to @timeout_ms for a VM_EVENT for @id with @event (and @role,
 * unless it is -1); others are skipped. 0, -ETIMEDOUT or -errno.
 */
int kvmft_events_wait(struct kvmft_nl *ev, uint32_t id, int event, int role,
		      int timeout_ms, struct kvmft_vm_info *vm);

/* /dev/kvmft KVMFT_IOC_LOG_OPEN: a log fd, or -errno. */
/*
 * @session: READ: the new recording's id comes back here (may be NULL);
 * WRITE: the recording to replay. @reason gets the kernel's reason for a
 * refusal ("" if none).
 */
int __kvmft_log_open(uint32_t vm_id, uint32_t flags, uint64_t *session,
		     char *reason, size_t len);
int kvmft_log_open(uint32_t vm_id, uint32_t flags, uint64_t *session);
/* The raw ioctl: @arg as given (size and all). */
int __kvmft_log_open_arg(struct kvmft_log_open *arg);
/* With every field; the reply (session, acked, recorded, reason) in @lo. */
int kvmft_log_open_lo(uint32_t vm_id, uint32_t flags, uint64_t session,
		      struct kvmft_log_open *lo);

const char *kvmft_role_str(int role);
const char *kvmft_event_str(int event);

#endif /* KVMFT_NL_H */
