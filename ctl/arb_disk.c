// SPDX-License-Identifier: GPL-2.0
/*
 * The arbitration area on disk: its header, the two copies of each host
 * slot, and the O_DIRECT I/O that reads and writes them. Everything on
 * disk is little-endian; every sector carries a CRC32 of what precedes
 * it, so a torn write is seen as such, never taken for data.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "arb.h"
#include "logrec.h"

/* The header, at the area's first sector. */
struct arb_hdr_disk {
	char magic[8];
	uint32_t version;
	uint32_t sector;
	uint32_t hosts;
	uint32_t mode;		/* 0: Disk Paxos, 1: COMPARE AND WRITE */
	uint64_t created_ms;
	char vm[ARB_NAME_LEN];
	uint32_t crc;
} __attribute__((packed));

/* A host slot's copy. */
struct arb_blk_disk {
	char magic[8];
	uint32_t version;
	uint32_t host_id;
	uint64_t seq, gen, mbal, bal, inp;
	uint64_t committed_gen, committed_owner, time_ms;
	char name[ARB_NAME_LEN];
	uint32_t crc;
} __attribute__((packed));

int arb_fail(struct arb_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void *aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

/*
 * Opens path for O_DIRECT I/O (create: a missing file is made, 0600).
 * *lbs gets the device's logical block size (what O_DIRECT must be
 * aligned to), 0 for a regular file.
 */
static int open_direct(const char *path, bool create, uint32_t *lbs,
		       struct arb_err *e)
{
	struct stat st;
	int fd, n;

	fd = open(path, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC |
		  (create ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == EINVAL)
		return arb_fail(e, EINVAL, "%s does not support O_DIRECT (tmpfs?); arbitration needs a disk", path);
	if (fd < 0)
		return arb_fail(e, errno, "cannot open %s: %s", path, strerror(errno));
	*lbs = 0;
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKSSZGET, &n) < 0 || n < 512 || n > 4096) {
			close(fd);
			return arb_fail(e, EIO, "%s: cannot read its sector size", path);
		}
		*lbs = n;
	}
	return fd;
}

int arb_io(struct arb *a, bool wr, void *buf, size_t len, uint64_t off,
	   enum arb_step step, struct arb_err *e)
{
	const char *what = wr ? "write" : "read";
	ssize_t n;
	int err;

	if (a->hook && (err = a->hook(a->hook_arg, a->ios, step)))
		return arb_fail(e, err, "%s %s at %llu: %s (injected)", what,
				a->path, (unsigned long long)off, strerror(err));
	a->ios++;
	n = wr ? pwrite(a->fd, buf, len, off) : pread(a->fd, buf, len, off);
	if (n < 0)
		return arb_fail(e, errno, "%s %s at %llu: %s", what, a->path,
				(unsigned long long)off, strerror(errno));
	if ((size_t)n != len)
		return arb_fail(e, EIO, "%s %s at %llu: short %s (%zd of %zu bytes): the area runs past the end of the disk",
				what, a->path, (unsigned long long)off, what, n, len);
	return 0;
}

static void hdr_encode(void *sec, const char *vm, uint32_t sector,
		       uint32_t hosts, bool caw)
{
	struct arb_hdr_disk h = { .magic = ARB_MAGIC };

	h.version = htole32(ARB_VERSION);
	h.mode = htole32(caw);
	h.sector = htole32(sector);
	h.hosts = htole32(hosts);
	h.created_ms = htole64(realtime_ms());
	snprintf(h.vm, sizeof(h.vm), "%s", vm);
	h.crc = htole32(ftlog_crc32(&h, offsetof(struct arb_hdr_disk, crc)));
	memcpy(sec, &h, sizeof(h));
}

/* 0 if sec holds a valid header; else -1 with why. */
static int hdr_decode(const void *sec, struct arb *a, struct arb_err *e)
{
	struct arb_hdr_disk h;

	memcpy(&h, sec, sizeof(h));
	if (memcmp(h.magic, ARB_MAGIC, 8))
		return arb_fail(e, EINVAL, "%s at offset %llu is not a kvmft arbitration area (no header; run 'ftctl arb init')",
				a->path, (unsigned long long)a->offset);
	if (le32toh(h.crc) != ftlog_crc32(&h, offsetof(struct arb_hdr_disk, crc)))
		return arb_fail(e, EBADMSG, "%s: the area's header fails its checksum", a->path);
	if (le32toh(h.version) != ARB_VERSION)
		return arb_fail(e, EPROTONOSUPPORT, "%s: area version %u, this ftd knows %u",
				a->path, le32toh(h.version), ARB_VERSION);
	a->sector = le32toh(h.sector);
	a->hosts = le32toh(h.hosts);
	if (a->sector < 512 || a->sector > 4096 || (a->sector & (a->sector - 1)) ||
	    a->hosts < 2 || a->hosts > ARB_MAX_HOSTS || le32toh(h.mode) > 1)
		return arb_fail(e, EBADMSG, "%s: the area's header is inconsistent (sector %u, hosts %u)",
				a->path, a->sector, a->hosts);
	memcpy(a->vm, h.vm, sizeof(a->vm));
	a->vm[sizeof(a->vm) - 1] = '\0';
	a->created_ms = le64toh(h.created_ms);
	a->caw = le32toh(h.mode) == 1;
	return 0;
}

/* The first 4096 bytes: a header fits, and the offset is aligned. */
static int read_header(struct arb *a, struct arb_err *e)
{
	off_t end = lseek(a->fd, 0, SEEK_END);
	unsigned char *sec;
	int ret;

	if (end >= 0 && (uint64_t)end < a->offset + 4096)
		return arb_fail(e, EINVAL, "%s has no area at offset %llu (it is %lld bytes long; run 'ftctl arb init')",
				a->path, (unsigned long long)a->offset, (long long)end);
	sec = aligned(4096);
	if (!sec)
		return arb_fail(e, ENOMEM, "out of memory");
	ret = arb_io(a, false, sec, 4096, a->offset, ARB_STEP_READ, e);
	if (!ret)
		ret = hdr_decode(sec, a, e);
	free(sec);
	return ret;
}

static size_t slots_len(const struct arb *a)
{
	return (size_t)2 * a->hosts * a->sector;
}

/* A COMPARE AND WRITE area: only where the device does one. */
static int caw_check(struct arb *a, uint32_t lbs, struct arb_err *e)
{
	if (!lbs)
		return arb_fail(e, EOPNOTSUPP, "%s is a file: COMPARE AND WRITE needs a SCSI disk", a->path);
	if (arb_io(a, false, a->buf + a->sector, a->sector, a->offset + a->sector,
		   ARB_STEP_READ, e) ||
	    arb_caw_probe(a->fd, lbs, (a->offset + a->sector) / lbs, a->buf + a->sector, e))
		return arb_fail(e, e->err, "%s does not do COMPARE AND WRITE (%s); make a Disk Paxos area instead",
				a->path, e->msg);
	return 0;
}

static int format_open(struct arb *a, const char *path, uint64_t offset,
		       const char *vm, uint32_t hosts, uint32_t *lbs,
		       struct arb_err *e)
{
	if (offset % 4096)
		return arb_fail(e, EINVAL, "offset %llu is not a multiple of 4096",
				(unsigned long long)offset);
	if (hosts < 2 || hosts > ARB_MAX_HOSTS)
		return arb_fail(e, EINVAL, "hosts must be 2..%d", ARB_MAX_HOSTS);
	if (!vm || !*vm || strlen(vm) >= ARB_NAME_LEN)
		return arb_fail(e, EINVAL, "the VM identity must be 1..%d bytes", ARB_NAME_LEN - 1);
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->offset = offset;
	a->fd = open_direct(path, true, lbs, e);
	return a->fd < 0 ? -1 : 0;
}

int arb_format(const char *path, uint64_t offset, const char *vm,
	       uint32_t hosts, unsigned int flags, struct arb_err *e)
{
	struct arb a = { 0 };
	struct arb_err old;
	uint32_t lbs;
	size_t len;
	int ret = -1;

	if (format_open(&a, path, offset, vm, hosts, &lbs, e))
		return -1;
	if (!(flags & ARB_FORMAT_FORCE) && read_header(&a, &old) == 0) {
		close(a.fd);
		return arb_fail(e, EEXIST, "%s already holds an area for VM '%s' (%u hosts); --force overwrites it, losing its generations",
				path, a.vm, a.hosts);
	}
	a.sector = lbs ? lbs : ARB_FILE_SECTOR;
	a.hosts = hosts;
	len = (size_t)a.sector * (1 + 2 * hosts);
	a.buf = aligned(len);
	if (!a.buf) {
		arb_fail(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((flags & ARB_FORMAT_CAW) && caw_check(&a, lbs, e))
		goto out;
	memset(a.buf, 0, len);
	hdr_encode(a.buf, vm, a.sector, hosts, flags & ARB_FORMAT_CAW);
	if (flags & ARB_FORMAT_CAW)
		arb_caw_encode(a.buf + a.sector, 0, 0, "");
	/* Slots first, header last: a half-formatted area has no header. */
	ret = arb_io(&a, true, a.buf + a.sector, len - a.sector, offset + a.sector,
		     ARB_STEP_WRITE_COMMIT, e);
	if (!ret)
		ret = arb_io(&a, true, a.buf, a.sector, offset, ARB_STEP_WRITE_COMMIT, e);
out:
	free(a.buf);
	close(a.fd);
	return ret;
}

static void slot_decode_copy(const unsigned char *sec, uint32_t host_id,
			     struct arb_slot *s, bool *valid)
{
	struct arb_blk_disk b;

	memcpy(&b, sec, sizeof(b));
	*valid = !memcmp(b.magic, ARB_HMAGIC, 8) &&
		 le32toh(b.version) == ARB_VERSION &&
		 le32toh(b.host_id) == host_id &&
		 le32toh(b.crc) == ftlog_crc32(&b, offsetof(struct arb_blk_disk, crc));
	if (!*valid)
		return;
	s->seq = le64toh(b.seq);
	s->gen = le64toh(b.gen);
	s->mbal = le64toh(b.mbal);
	s->bal = le64toh(b.bal);
	s->inp = le64toh(b.inp);
	s->committed_gen = le64toh(b.committed_gen);
	s->committed_owner = le64toh(b.committed_owner);
	s->time_ms = le64toh(b.time_ms);
	memcpy(s->name, b.name, sizeof(s->name));
	s->name[sizeof(s->name) - 1] = '\0';
}

/*
 * A slot is its newest valid copy. With none valid it is empty if a copy
 * was never written (the first write tore: nobody saw it), else bad.
 */
static void slot_decode(const unsigned char *p, uint32_t sector,
			uint32_t host_id, struct arb_slot *s)
{
	struct arb_slot c[2] = { 0 };
	bool valid[2], zero[2];

	for (int i = 0; i < 2; i++) {
		zero[i] = all_zero(p + (size_t)i * sector, sector);
		slot_decode_copy(p + (size_t)i * sector, host_id, &c[i], &valid[i]);
	}
	if (valid[0] && (!valid[1] || c[0].seq > c[1].seq))
		*s = c[0];
	else if (valid[1])
		*s = c[1];
	else
		*s = (struct arb_slot){ .empty = zero[0] || zero[1],
					.bad = !zero[0] && !zero[1] };
}

int arb_read_slots(struct arb *a, struct arb_err *e)
{
	if (arb_io(a, false, a->buf, slots_len(a), a->offset + a->sector,
	       ARB_STEP_READ, e))
		return -1;
	for (uint32_t h = 1; h <= a->hosts; h++)
		slot_decode(a->buf + (size_t)(h - 1) * 2 * a->sector, a->sector,
			    h, &a->slot[h]);
	return 0;
}

/* Writes our slot as a->slot[host_id] says, into the older copy. */
int arb_write_slot(struct arb *a, enum arb_step step, struct arb_err *e)
{
	struct arb_slot *s = &a->slot[a->host_id];
	struct arb_blk_disk b = { .magic = ARB_HMAGIC };
	uint64_t seq = s->seq + 1;
	unsigned char *sec = a->buf;	/* reused: slots are read again */

	b.version = htole32(ARB_VERSION);
	b.host_id = htole32(a->host_id);
	b.seq = htole64(seq);
	b.gen = htole64(s->gen);
	b.mbal = htole64(s->mbal);
	b.bal = htole64(s->bal);
	b.inp = htole64(s->inp);
	b.committed_gen = htole64(s->committed_gen);
	b.committed_owner = htole64(s->committed_owner);
	b.time_ms = htole64(realtime_ms());
	memcpy(b.name, a->name, sizeof(b.name));
	b.crc = htole32(ftlog_crc32(&b, offsetof(struct arb_blk_disk, crc)));
	memset(sec, 0, a->sector);
	memcpy(sec, &b, sizeof(b));
	if (arb_io(a, true, sec, a->sector, a->offset + a->sector *
	       (1 + 2 * (uint64_t)(a->host_id - 1) + seq % 2), step, e))
		return -1;
	s->seq = seq;
	s->empty = false;
	return 0;
}

static int check_own_slot(struct arb *a, struct arb_err *e)
{
	const struct arb_slot *s = &a->slot[a->host_id];

	if (s->bad)
		return arb_fail(e, EBADMSG, "%s: host slot %u is corrupt (both copies fail their checksum); reformat the area",
				a->path, a->host_id);
	if (!s->empty && strcmp(s->name, a->name))
		return arb_fail(e, EADDRINUSE, "%s: host slot %u belongs to host '%s', not '%s'; every host needs its own host_id",
				a->path, a->host_id, s->name, a->name);
	return 0;
}

int arb_open(struct arb *a, const char *path, uint64_t offset,
	     uint32_t host_id, const char *name, const char *vm,
	     struct arb_err *e)
{
	uint32_t lbs;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (offset % 4096)
		return arb_fail(e, EINVAL, "offset %llu is not a multiple of 4096",
				(unsigned long long)offset);
	if (!name || !*name || strlen(name) >= ARB_NAME_LEN)
		return arb_fail(e, EINVAL, "the host name must be 1..%d bytes", ARB_NAME_LEN - 1);
	snprintf(a->path, sizeof(a->path), "%s", path);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->offset = offset;
	a->host_id = host_id;
	a->fd = open_direct(path, false, &lbs, e);
	if (a->fd < 0)
		return -1;
	if (read_header(a, e))
		goto fail;
	if (lbs > a->sector) {
		arb_fail(e, EINVAL, "%s has %u-byte sectors; the area was made with %u",
			 path, lbs, a->sector);
		goto fail;
	}
	if (vm && strcmp(vm, a->vm)) {
		arb_fail(e, EINVAL, "%s serves VM '%s', not '%s'", path, a->vm, vm);
		goto fail;
	}
	if (!host_id || a->caw) {	/* no slot of ours to check */
		a->buf = aligned(slots_len(a));
		if (a->buf)
			return 0;
		arb_fail(e, ENOMEM, "out of memory");
		goto fail;
	}
	if (host_id > a->hosts) {
		arb_fail(e, ERANGE, "host_id %u is outside the area's slots 1..%u",
			 host_id, a->hosts);
		goto fail;
	}
	a->buf = aligned(slots_len(a));
	if (!a->buf) {
		arb_fail(e, ENOMEM, "out of memory");
		goto fail;
	}
	if (arb_read_slots(a, e) || check_own_slot(a, e))
		goto fail;
	return 0;
fail:
	arb_close(a);
	return -1;
}

void arb_close(struct arb *a)
{
	if (a->fd >= 0)
		close(a->fd);
	free(a->buf);
	a->fd = -1;
	a->buf = NULL;
}
