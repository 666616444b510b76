// SPDX-License-Identifier: GPL-2.0
/*
 * Arbitration by SCSI COMPARE AND WRITE (SBC-3, opcode 0x89; VMware's
 * ATS), for areas made with `ftctl arb init --caw` on a device that has
 * it. The area's second sector holds the generation and its owner; a
 * host that wants generation base + 1 reads it and swaps it for its own,
 * comparing with what it read: the device does both atomically, so of
 * hosts racing from one state exactly one swap succeeds and the others
 * get a MISCOMPARE and read who won. One I/O instead of Disk Paxos's
 * five, and no slot per host. The mode is the area's (its header), never
 * a host's choice: a host that used Disk Paxos on a COMPARE AND WRITE
 * area would not exclude one that swaps.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <scsi/sg.h>

#include "arb.h"
#include "logrec.h"
#include "util.h"

#define CAW_MAGIC	"KVMFTCAW"
#define SENSE_MISCOMPARE	0x0e
#define SG_TIMEOUT_MS	10000

struct caw_rec {
	char magic[8];
	uint32_t version;
	uint32_t owner;
	uint64_t gen;
	uint64_t time_ms;
	char name[ARB_NAME_LEN];
	uint32_t crc;
} __attribute__((packed));

/*
 * COMPARE AND WRITE of one block at lba: *miscompare says the compare
 * failed (someone changed it). 0, or -1 with e filled.
 */
static int caw(int fd, uint64_t lba, uint32_t lbs, const void *cmp,
	       const void *wr, bool *miscompare, struct arb_err *e)
{
	unsigned char cdb[16] = { 0x89, 0x08 /* FUA */ }, sense[32] = { 0 };
	unsigned char *buf = malloc(2 * (size_t)lbs);
	struct sg_io_hdr io = {
		.interface_id = 'S', .dxfer_direction = SG_DXFER_TO_DEV,
		.cmd_len = sizeof(cdb), .mx_sb_len = sizeof(sense),
		.dxfer_len = 2 * lbs, .cmdp = cdb, .sbp = sense,
		.timeout = SG_TIMEOUT_MS,
	};
	int key, ret;

	if (!buf)
		return arb_fail(e, ENOMEM, "out of memory");
	memcpy(buf, cmp, lbs);
	memcpy(buf + lbs, wr, lbs);
	io.dxferp = buf;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = lba >> (56 - 8 * i);
	cdb[13] = 1;
	*miscompare = false;
	ret = ioctl(fd, SG_IO, &io);
	free(buf);
	if (ret < 0)
		return arb_fail(e, errno == EINVAL || errno == ENOTTY ? EOPNOTSUPP : errno,
				"COMPARE AND WRITE: %s", strerror(errno));
	if (!io.status && !io.host_status && !io.driver_status)
		return 0;
	key = (sense[0] & 0x7f) >= 0x72 ? sense[1] & 0x0f : sense[2] & 0x0f;
	if (io.sb_len_wr && key == SENSE_MISCOMPARE) {
		*miscompare = true;
		return 0;
	}
	return arb_fail(e, EIO, "COMPARE AND WRITE failed: status 0x%x, host 0x%x, driver 0x%x, sense key 0x%x",
			io.status, io.host_status, io.driver_status, io.sb_len_wr ? key : 0);
}

void arb_caw_encode(void *sec, uint64_t gen, uint32_t owner, const char *name)
{
	struct caw_rec r = { .magic = CAW_MAGIC };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.version = htole32(ARB_VERSION);
	r.owner = htole32(owner);
	r.gen = htole64(gen);
	r.time_ms = htole64((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.crc = htole32(ftlog_crc32(&r, offsetof(struct caw_rec, crc)));
	memcpy(sec, &r, sizeof(r));
}

static int decode(const void *sec, struct arb_view *v, struct arb *a,
		  struct arb_err *e)
{
	struct caw_rec r;

	memcpy(&r, sec, sizeof(r));
	if (memcmp(r.magic, CAW_MAGIC, 8) || le32toh(r.version) != ARB_VERSION ||
	    le32toh(r.crc) != ftlog_crc32(&r, offsetof(struct caw_rec, crc)))
		return arb_fail(e, EBADMSG, "%s: the COMPARE AND WRITE record is corrupt; reformat the area once no host runs the VM",
				a->path);
	memset(v, 0, sizeof(*v));
	v->gen = le64toh(r.gen);
	v->owner = le32toh(r.owner);
	v->max_started = v->gen;
	memcpy(v->owner_name, r.name, sizeof(v->owner_name));
	v->owner_name[sizeof(v->owner_name) - 1] = '\0';
	return 0;
}

int arb_caw_probe(int fd, uint32_t lbs, uint64_t lba, const void *sec,
		  struct arb_err *e)
{
	bool mis;

	/* Swapping a block for itself changes nothing, where supported. */
	if (caw(fd, lba, lbs, sec, sec, &mis, e))
		return -1;
	if (mis)
		return arb_fail(e, EIO, "COMPARE AND WRITE of a block with itself miscompared: the block changed under us");
	return 0;
}

static uint64_t rec_off(const struct arb *a)
{
	return a->offset + a->sector;
}

int arb_caw_read(struct arb *a, struct arb_view *v, struct arb_err *e)
{
	if (arb_io(a, false, a->buf, a->sector, rec_off(a), ARB_STEP_READ, e))
		return -1;
	return decode(a->buf, v, a, e);
}

static void outcome(const struct arb *a, const struct arb_view *v,
		    struct arb_result *r)
{
	r->gen = v->gen;
	r->owner = v->owner;
	memcpy(r->owner_name, v->owner_name, sizeof(r->owner_name));
	/* Both: two hosts set up with one id must not both think they won. */
	r->outcome = v->owner == a->host_id && !strcmp(v->owner_name, a->name) ?
		     ARB_WON : ARB_LOST;
}

int arb_caw_acquire(struct arb *a, uint64_t base, struct arb_result *r,
		    struct arb_err *e)
{
	unsigned char *mine = a->buf + a->sector;	/* the slots' room */
	struct arb_view v;
	bool mis;

	r->ballots = 1;
	if (arb_caw_read(a, &v, e))
		return -1;
	if (v.gen < base)
		return arb_fail(e, ESTALE, "%s is at generation %llu but this host already knows generation %llu: wrong disk, or it was reformatted",
				a->path, (unsigned long long)v.gen, (unsigned long long)base);
	if (v.gen > base) {
		outcome(a, &v, r);
		return 0;
	}
	memset(mine, 0, a->sector);
	arb_caw_encode(mine, base + 1, a->host_id, a->name);
	if (a->hook && (errno = a->hook(a->hook_arg, a->ios++, ARB_STEP_WRITE_COMMIT)))
		return arb_fail(e, errno, "COMPARE AND WRITE: %s (injected)", strerror(errno));
	/* A COMPARE AND WRITE area's sector is the device's logical block. */
	if (caw(a->fd, rec_off(a) / a->sector, a->sector, a->buf, mine, &mis, e))
		return -1;
	if (!mis) {
		decode(mine, &v, a, e);
		outcome(a, &v, r);
		return 0;
	}
	/* Someone swapped first: read who. */
	if (arb_caw_read(a, &v, e))
		return -1;
	outcome(a, &v, r);
	return 0;
}
