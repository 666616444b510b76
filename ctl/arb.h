/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Arbitration on a shared disk: a test-and-set that needs nothing but
 * sector reads and writes (Disk Paxos, Gafni and Lamport, on one disk),
 * done with O_DIRECT|O_DSYNC. Each "generation" is one Paxos instance
 * that decides which host owns it; a host that wants to go live asks for
 * the generation after the one it knows, and either wins it or learns who
 * did. docs/arbitration.md has the layout and the safety argument.
 *
 * An area is a header sector and, for each host slot 1..hosts, two
 * sectors that only that host writes (two copies, so that a torn write
 * never loses the slot's previous state).
 */
#ifndef FT_ARB_H
#define FT_ARB_H

#include <stdbool.h>
#include <stdint.h>

#define ARB_MAGIC	"KVMFTARB"	/* header; host blocks use ARB_HMAGIC */
#define ARB_HMAGIC	"KVMFTHST"
#define ARB_VERSION	1
#define ARB_MAX_HOSTS	64
#define ARB_NAME_LEN	64		/* VM identity, host name: with NUL */
#define ARB_FILE_SECTOR	4096		/* sector size used on regular files */

struct arb_err {
	int err;		/* positive errno */
	char msg[320];		/* what failed, for a human */
};

/* A host slot as last read; an empty slot (never written) is all zero. */
struct arb_slot {
	bool empty;
	bool bad;		/* both copies fail their checksum */
	uint64_t seq;		/* write counter, picks the newer copy */
	uint64_t gen;		/* instance the Paxos fields belong to */
	uint64_t mbal, bal, inp;
	uint64_t committed_gen;	/* the newest decision this host knows */
	uint64_t committed_owner;
	uint64_t time_ms;	/* CLOCK_REALTIME of the write, for people */
	char name[ARB_NAME_LEN];
};

/* One step of arb_acquire()'s I/O, for tests that crash or fail there. */
enum arb_step {
	ARB_STEP_READ,
	ARB_STEP_WRITE_P1,	/* phase 1: our ballot */
	ARB_STEP_WRITE_P2,	/* phase 2: our ballot and value */
	ARB_STEP_WRITE_COMMIT,	/* the decision, for others to read */
};

/*
 * Called before each I/O of arb_acquire() with how many it did before
 * (0: the first read, 1: phase 1's write, ...); a non-zero
 * return fails that I/O with that errno (a test's unreachable disk), and
 * a hook may also _exit() to crash the host there.
 */
typedef int (*arb_hook)(void *arg, unsigned int n, enum arb_step step);

struct arb {
	int fd;
	char path[256];
	uint64_t offset;	/* of the area on the disk, bytes */
	uint32_t sector;	/* bytes per sector of the area */
	uint32_t hosts;		/* slots */
	uint32_t host_id;	/* ours, 1..hosts */
	char vm[ARB_NAME_LEN];	/* identity of the VM the area serves */
	uint64_t created_ms;	/* when it was formatted: names the area */
	bool caw;		/* COMPARE AND WRITE area (arb_caw.c) */
	char name[ARB_NAME_LEN];	/* our host name, kept in our slot */
	unsigned char *buf;	/* aligned, the host slots' sectors */
	struct arb_slot slot[ARB_MAX_HOSTS + 1];	/* [1..hosts] */
	unsigned int ios;	/* I/Os done by this arb_acquire() */
	arb_hook hook;
	void *hook_arg;
	uint64_t deadline_ms;	/* of the running acquire, CLOCK_MONOTONIC */
};

/* The newest decision on the disk, from arb_read(). */
struct arb_view {
	uint64_t gen;		/* 0: nobody has won anything yet */
	uint32_t owner;		/* host that won gen, 0 if gen is 0 */
	char owner_name[ARB_NAME_LEN];
	uint64_t max_started;	/* highest generation any host works on */
};

enum arb_outcome {
	ARB_WON = 1,
	ARB_LOST,		/* another host owns the generation: halt */
	ARB_FAILED,		/* disk error or timeout: nobody may assume */
};

struct arb_result {
	enum arb_outcome outcome;
	uint64_t gen;		/* the generation decided */
	uint32_t owner;		/* who owns it */
	char owner_name[ARB_NAME_LEN];
	unsigned int ballots;	/* rounds it took */
};

#define ARB_FORMAT_FORCE	1u	/* overwrite a valid area */
#define ARB_FORMAT_CAW		2u	/* arbitrate by COMPARE AND WRITE */

/*
 * Writes an empty area for VM vm with hosts slots at offset (a multiple
 * of 4096) of path. Refuses to overwrite a valid area unless
 * ARB_FORMAT_FORCE; with ARB_FORMAT_CAW, refuses a device on which a
 * COMPARE AND WRITE does not work. 0, or -1 with *e filled.
 */
int arb_format(const char *path, uint64_t offset, const char *vm,
	       uint32_t hosts, unsigned int flags, struct arb_err *e);

/*
 * Opens the area at offset of path for host host_id called name. Checks
 * the header, that vm (if not NULL) is the VM it serves, and that our
 * slot is empty or already carries name (two hosts with one id would
 * break the algorithm). host_id 0 opens it to read only (arb_read).
 * 0, or -1 with *e filled.
 */
int arb_open(struct arb *a, const char *path, uint64_t offset,
	     uint32_t host_id, const char *name, const char *vm,
	     struct arb_err *e);
void arb_close(struct arb *a);

/* Reads every slot into a->slot and sums them up. 0, or -1. */
int arb_read(struct arb *a, struct arb_view *v, struct arb_err *e);

/*
 * Test-and-set of generation base + 1: runs that instance, proposing
 * ourselves, until it is decided or timeout_ms pass. Returns 0 with
 * r->outcome WON or LOST (r->gen may be above base + 1 if others already
 * went further: then we lost), or -1 with r->outcome FAILED and *e saying
 * why (I/O error, timeout, a corrupt slot, base newer than the disk).
 */
int arb_acquire(struct arb *a, uint64_t base, unsigned int timeout_ms,
		struct arb_result *r, struct arb_err *e);

/* arb_disk.c: the I/O and the on-disk encoding under arb.c. */
int arb_io(struct arb *a, bool wr, void *buf, size_t len, uint64_t off,
	   enum arb_step step, struct arb_err *e);
int arb_read_slots(struct arb *a, struct arb_err *e);
int arb_write_slot(struct arb *a, enum arb_step step, struct arb_err *e);
int arb_fail(struct arb_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* arb_caw.c */
void arb_caw_encode(void *sec, uint64_t gen, uint32_t owner, const char *name);
int arb_caw_probe(int fd, uint32_t lbs, uint64_t lba, const void *sec,
		  struct arb_err *e);
int arb_caw_read(struct arb *a, struct arb_view *v, struct arb_err *e);
int arb_caw_acquire(struct arb *a, uint64_t base, struct arb_result *r,
		    struct arb_err *e);

#endif
