/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMs ftd protects, behind one interface with two backends:
 *  - kvmft (vm_kvmft.c): the module; VMs come from its events and dumps,
 *    logs from /dev/kvmft, the identity from QEMU's -uuid;
 *  - sim (vm_sim.c): VMs simulated inside ftd (`ftd --sim-vm`), that
 *    record and replay real log records at a set rate. They let the
 *    network, heartbeats and arbitration be tested in namespaces on a
 *    machine without KVM; they say nothing about the module.
 * Either way a VM's log is an fd: read whole records from a primary's,
 * write whole records to a backup's.
 */
#ifndef FT_VMIF_H
#define FT_VMIF_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvmft.h>

#include "proto.h"

struct ftd_vm;

/* vm_ops.log_open's in and out (as struct kvmft_log_open). */
struct vm_log {
	/* KVMFT_LOG_READ, with KVMFT_LOG_KEEP and KVMFT_LOG_RESUME, or _WRITE */
	uint32_t flags;
	uint64_t session;	/* in for WRITE and RESUME, else out */
	uint64_t acked;		/* out, RESUME: the last record acked */
	/* out: the last record recorded (READ) or received (WRITE); 0: unsaid */
	uint64_t recorded;
	int err;		/* out: the refusal's errno */
	char reason[KVMFT_REASON_LEN];	/* out: the backend's words, or "" */
};

struct vm_ops {
	const char *name;
	/* The log fd, or -1 with lo->err, lo->reason and err (all of it). */
	int (*log_open)(struct ftd_vm *vm, struct vm_log *lo, char *err, size_t len);
	/*
	 * The pair ends on purpose: the primary's recording ends, a KEEP
	 * session too (KVMFT_IOC_LOG_END), and the VM runs on unrecorded.
	 * An ftd that exits never calls it: the session waits for the next.
	 */
	void (*log_close)(struct ftd_vm *vm);
	/* The backup takes every record it holds, then runs live. */
	int (*promote)(struct ftd_vm *vm, char *err, size_t len);
	/* Stops the VM for good (it lost, or its pair ended). */
	void (*halt)(struct ftd_vm *vm);
	/* Re-reads role and counters. */
	void (*refresh)(struct ftd_vm *vm);
	/*
	 * Primary: the backup holds the log up to @seq; its held packets up
	 * to there may leave (the output rule), and a KEEP session's log
	 * lets them go. 0 or -errno. NULL: nothing to tell.
	 */
	int (*ack)(struct ftd_vm *vm, uint64_t seq);
};

struct ftd_vm {
	uint32_t id;
	uint32_t pid;			/* the VMM, 0 if unknown */
	uint8_t role;			/* enum kvmft_role, as the module says */
	bool gone;			/* destroyed, or halted by us */
	char ident[FTP_NAME_LEN];	/* -uuid both QEMUs were started with */
	unsigned char mac[6];		/* the guest NIC's, for announcing */
	bool has_mac;
	char tap[16];			/* its tap (ifname=), "" if unknown */
	uint64_t stats[__KVMFT_STAT_LAST];
	uint64_t log_replayed;		/* backup: last record its vCPU took */
	uint64_t log_seq;		/* backup: last record the module has */
	uint64_t diverged_seq;		/* backup: where it diverged, 0: never */
	uint64_t log_acked;		/* KEEP primary: the last record acked */
	uint32_t flags;			/* KVMFT_VM_F_* */
	uint64_t outq[__KVMFT_OUTQ_LAST]; /* the output rule's queue */
	int log_fd;			/* -1: none */
	bool log_keep;			/* log_fd is a KEEP reader */
	uint64_t session;
	const struct vm_ops *ops;
	void *priv;			/* the backend's */
	struct pair *pair;		/* pair.c's, NULL if unpaired */
	struct ftd_vm *next;
};

/* All VMs, both backends. */
extern struct ftd_vm *ftd_vms;
struct ftd_vm *vm_find(uint32_t id);
struct ftd_vm *vm_find_ident(const char *ident);
/* The module's protocol version, 0 for sim VMs or no module. */
extern uint32_t ftd_module_version;

/* vm_sim.c: "IDENT[,rate=N][,replay=N][,mac=XX:..]". 0 or -1 with err. */
int vm_sim_add(const char *spec, char *err, size_t len);

/* vm_kvmft.c */
int vm_kvmft_start(char *err, size_t len);
void vm_kvmft_stop(void);

/* Calls pair.c when a VM changes or goes away (both backends). */
void vm_changed(struct ftd_vm *vm, const char *why);

#endif
