// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "logrec.h"

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (c & 1 ? 0xEDB88320u : 0);
		crc_table[i] = c;
	}
}

uint32_t ftlog_crc32_le(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!crc_table[1])
		crc_table_init();
	while (n--)
		crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t ftlog_crc32(const void *p, size_t n)
{
	return ftlog_crc32_le(~0u, p, n) ^ ~0u;
}

uint32_t ftlog_rec_crc(uint64_t session, const struct kvmft_rec *hdr,
		       const void *payload)
{
	struct kvmft_rec h = *hdr;
	unsigned char sid[8];
	uint32_t crc;

	/* Little-endian whatever the host, as the kernel's cpu_to_le64(). */
	for (int i = 0; i < 8; i++)
		sid[i] = session >> (8 * i);
	h.crc = 0;
	crc = ftlog_crc32_le(~0u, sid, sizeof(sid));
	crc = ftlog_crc32_le(crc, &h, sizeof(h));
	crc = ftlog_crc32_le(crc, payload, hdr->len);
	return crc ^ ~0u;
}

const char *ftlog_rec_type_name(unsigned int type)
{
	switch (type) {
	case KVMFT_REC_PIO_IN:
		return "pio_in";
	case KVMFT_REC_RDTSC:
		return "rdtsc";
	case KVMFT_REC_RDTSCP:
		return "rdtscp";
	case KVMFT_REC_RDMSR:
		return "rdmsr";
	case KVMFT_REC_STATE:
		return "state";
	case KVMFT_REC_EVENT:
		return "event";
	case KVMFT_REC_MMIO_IN:
		return "mmio_in";
	}
	return NULL;
}

static size_t fail(struct ftlog_err *err, enum ftlog_problem p,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static size_t fail(struct ftlog_err *err, enum ftlog_problem p,
		   const char *fmt, ...)
{
	va_list ap;

	err->problem = p;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static size_t check_payload(const struct kvmft_rec *h, const unsigned char *pl,
			    struct ftlog_err *err)
{
	struct kvmft_rec_pio pio;
	struct kvmft_rec_tsc tsc;
	struct kvmft_rec_msr msr;
	uint64_t data;

	switch (h->type) {
	case KVMFT_REC_EVENT: {
		struct kvmft_rec_event ev;
		size_t extra;

		if (h->len < sizeof(ev))
			return fail(err, FTLOG_BAD_LEN,
				    "event payload is %u bytes, less than %zu",
				    h->len, sizeof(ev));
		memcpy(&ev, pl, sizeof(ev));
		if (!ev.kind || ev.kind >= __KVMFT_ASYNC_LAST)
			return fail(err, FTLOG_BAD_RESERVED,
				    "event kind %u unknown", ev.kind);
		if (ev.reserved)
			return fail(err, FTLOG_BAD_RESERVED,
				    "event reserved field not 0");
		if (ev.landmark >= __KVMFT_LANDMARK_LAST)
			return fail(err, FTLOG_BAD_RESERVED,
				    "event landmark kind %u unknown", ev.landmark);
		if (ev.landmark == KVMFT_LANDMARK_EXIT && ev.hash)
			return fail(err, FTLOG_BAD_RESERVED,
				    "event at an exit landmark carries a hash");
		extra = ev.kind == KVMFT_ASYNC_MSI ?
			sizeof(struct kvmft_ev_msi) : 0;
		if (h->len != sizeof(ev) + extra)
			return fail(err, FTLOG_BAD_LEN,
				    "event of kind %u is %u bytes, must be %zu",
				    ev.kind, h->len, sizeof(ev) + extra);
		return 1;
	}
	case KVMFT_REC_STATE:
		if (h->len != sizeof(struct kvmft_rec_state))
			return fail(err, FTLOG_BAD_LEN,
				    "state payload is %u bytes, must be %zu",
				    h->len, sizeof(struct kvmft_rec_state));
		return 1;
	case KVMFT_REC_MMIO_IN: {
		struct kvmft_rec_mmio m;

		if (h->len != sizeof(m))
			return fail(err, FTLOG_BAD_LEN,
				    "mmio_in payload is %u bytes, must be %zu",
				    h->len, sizeof(m));
		memcpy(&m, pl, sizeof(m));
		if (!m.len || m.len > sizeof(m.data))
			return fail(err, FTLOG_BAD_LEN,
				    "mmio_in of %u bytes, must be 1 to 8", m.len);
		if (m.reserved)
			return fail(err, FTLOG_BAD_RESERVED,
				    "mmio_in reserved field not 0");
		for (size_t i = m.len; i < sizeof(m.data); i++)
			if (m.data[i])
				return fail(err, FTLOG_BAD_RESERVED,
					    "mmio_in data past its %u bytes not 0", m.len);
		return 1;
	}
	case KVMFT_REC_RDMSR:
		if (h->len != sizeof(msr))
			return fail(err, FTLOG_BAD_LEN,
				    "rdmsr payload is %u bytes, must be %zu",
				    h->len, sizeof(msr));
		memcpy(&msr, pl, sizeof(msr));
		if (msr.flags & ~(uint32_t)__KVMFT_MSR_F_ALL)
			return fail(err, FTLOG_BAD_RESERVED,
				    "rdmsr flags 0x%x, unknown bits", msr.flags);
		if ((msr.flags & KVMFT_MSR_F_GP) && msr.value)
			return fail(err, FTLOG_BAD_RESERVED,
				    "rdmsr #GP record has value 0x%" PRIx64
				    ", must be 0", (uint64_t)msr.value);
		return 1;
	case KVMFT_REC_RDTSC:
	case KVMFT_REC_RDTSCP:
		if (h->len != sizeof(tsc))
			return fail(err, FTLOG_BAD_LEN,
				    "%s payload is %u bytes, must be %zu",
				    ftlog_rec_type_name(h->type), h->len,
				    sizeof(tsc));
		memcpy(&tsc, pl, sizeof(tsc));
		if (h->type == KVMFT_REC_RDTSC && tsc.aux)
			return fail(err, FTLOG_BAD_RESERVED,
				    "rdtsc record has aux 0x%" PRIx64
				    ", must be 0", (uint64_t)tsc.aux);
		return 1;
	case KVMFT_REC_PIO_IN:
		if (h->len < sizeof(pio))
			return fail(err, FTLOG_BAD_LEN,
				    "pio_in payload is %u bytes, less than %zu",
				    h->len, sizeof(pio));
		memcpy(&pio, pl, sizeof(pio));
		if (pio.size != 1 && pio.size != 2 && pio.size != 4)
			return fail(err, FTLOG_BAD_PIO,
				    "pio_in size %u, must be 1, 2 or 4",
				    pio.size);
		if (pio.reserved)
			return fail(err, FTLOG_BAD_RESERVED,
				    "pio_in reserved byte is %u, must be 0",
				    pio.reserved);
		if (!pio.count)
			return fail(err, FTLOG_BAD_PIO, "pio_in count is 0");
		data = (uint64_t)pio.size * pio.count;
		if (data > KVMFT_REC_MAX_PIO_DATA)
			return fail(err, FTLOG_BAD_PIO,
				    "pio_in data is %" PRIu64
				    " bytes, more than %u", data,
				    KVMFT_REC_MAX_PIO_DATA);
		if (h->len != sizeof(pio) + data)
			return fail(err, FTLOG_BAD_LEN,
				    "pio_in payload is %u bytes, size %u x count %u needs %" PRIu64,
				    h->len, pio.size, pio.count,
				    sizeof(pio) + data);
		return 1;
	}
	return fail(err, FTLOG_BAD_TYPE, "unknown record type %u", h->type);
}

size_t ftlog_check(const void *p, size_t avail, uint64_t session,
		   uint64_t want_seq, struct ftlog_err *err)
{
	const unsigned char *b = p;
	struct kvmft_rec h;
	uint32_t crc;

	err->problem = FTLOG_OK;
	err->msg[0] = '\0';
	if (avail < sizeof(h))
		return fail(err, FTLOG_TRUNC_HDR,
			    "truncated: %zu bytes left, a record header needs %zu",
			    avail, sizeof(h));
	memcpy(&h, b, sizeof(h));
	if (!ftlog_rec_type_name(h.type))
		return fail(err, FTLOG_BAD_TYPE, "unknown record type %u",
			    h.type);
	if (avail - sizeof(h) < h.len)
		return fail(err, FTLOG_TRUNC_PAYLOAD,
			    "truncated: payload is %u bytes, %zu left",
			    h.len, avail - sizeof(h));
	/*
	 * CRC before meaning: a flipped bit should read as corruption. A
	 * record of another session fails here too; nothing in it says so.
	 */
	crc = ftlog_rec_crc(session, &h, b + sizeof(h));
	if (crc != h.crc)
		return fail(err, FTLOG_BAD_CRC,
			    "bad CRC: stored 0x%08x, computed 0x%08x for session %016" PRIx64,
			    h.crc, crc, session);
	if (h.reserved)
		return fail(err, FTLOG_BAD_RESERVED,
			    "header reserved field is 0x%x, must be 0",
			    h.reserved);
	if (!check_payload(&h, b + sizeof(h), err))
		return 0;
	if (want_seq && h.seq != want_seq)
		return fail(err, FTLOG_BAD_SEQ,
			    "sequence %" PRIu64 ", expected %" PRIu64,
			    (uint64_t)h.seq, want_seq);
	return sizeof(h) + h.len;
}

static size_t finish(uint64_t session, struct kvmft_rec *h)
{
	h->crc = ftlog_rec_crc(session, h, h + 1);
	return sizeof(*h) + h->len;
}

size_t ftlog_build_tsc(void *buf, uint64_t session, uint16_t type,
		       uint64_t seq, uint32_t vcpu, uint64_t tsc, uint64_t aux)
{
	struct kvmft_rec *h = buf;
	struct kvmft_rec_tsc t = { .tsc = tsc, .aux = aux };

	*h = (struct kvmft_rec){ .seq = seq, .type = type, .vcpu = vcpu,
				 .len = sizeof(t) };
	memcpy(h + 1, &t, sizeof(t));
	return finish(session, h);
}

size_t ftlog_build_pio(void *buf, uint64_t session, uint64_t seq,
		       uint32_t vcpu, uint16_t port, uint8_t size,
		       uint32_t count, const void *data)
{
	struct kvmft_rec *h = buf;
	struct kvmft_rec_pio p = { .port = port, .size = size, .count = count };
	size_t n = (size_t)size * count;

	*h = (struct kvmft_rec){ .seq = seq, .type = KVMFT_REC_PIO_IN,
				 .vcpu = vcpu, .len = sizeof(p) + n };
	memcpy(h + 1, &p, sizeof(p));
	memcpy((unsigned char *)(h + 1) + sizeof(p), data, n);
	return finish(session, h);
}

void ftlog_hdr_init(struct kvmft_logfile_hdr *h, uint64_t session)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, KVMFT_LOGFILE_MAGIC, sizeof(h->magic));
	h->version = KVMFT_LOGFILE_VERSION;
	h->session = session;
}

int ftlog_hdr_check(const struct kvmft_logfile_hdr *h, char *msg, size_t len)
{
	if (memcmp(h->magic, KVMFT_LOGFILE_MAGIC, sizeof(h->magic)))
		snprintf(msg, len, "not a kvmft log file (bad magic)");
	else if (h->version == 1)
		snprintf(msg, len,
			 "log file version 1 predates recording sessions and cannot be replayed or checked; record the VM again");
	else if (h->version != KVMFT_LOGFILE_VERSION)
		snprintf(msg, len,
			 "log file version %u, this program reads version %u",
			 h->version, KVMFT_LOGFILE_VERSION);
	else if (h->reserved)
		snprintf(msg, len, "file header reserved field is 0x%x, must be 0",
			 h->reserved);
	else if (!h->session)
		snprintf(msg, len,
			 "file header has session 0, which no recording has: not a log written by ftctl record");
	else
		return 0;
	return -1;
}

static int reader_start(struct ftlog_reader *r)
{
	const size_t v1_len = offsetof(struct kvmft_logfile_hdr, session);
	struct kvmft_logfile_hdr h = {};
	size_t n;

	n = fread(&h, 1, sizeof(h), r->f);
	/*
	 * A version 1 header is shorter: an empty v1 log should still be
	 * named for what it is, not as truncated.
	 */
	if (ferror(r->f) || n < v1_len ||
	    (n < sizeof(h) && h.version == KVMFT_LOGFILE_VERSION &&
	     !memcmp(h.magic, KVMFT_LOGFILE_MAGIC, sizeof(h.magic)))) {
		r->sys_err = ferror(r->f);
		snprintf(r->err, sizeof(r->err), "%s",
			 r->sys_err ? strerror(errno) :
			 "truncated file header: not a kvmft log file");
		goto err;
	}
	if (ftlog_hdr_check(&h, r->err, sizeof(r->err)))
		goto err;
	r->session = h.session;
	r->off = sizeof(h);
	return 0;
err:
	fclose(r->f);
	r->f = NULL;
	return -1;
}

int ftlog_reader_open(struct ftlog_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "rbe");
	if (!r->f) {
		r->sys_err = true;
		snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		return -1;
	}
	return reader_start(r);
}

int ftlog_reader_fdopen(struct ftlog_reader *r, int fd)
{
	int saved;

	memset(r, 0, sizeof(*r));
	r->f = fdopen(fd, "rb");
	if (!r->f) {
		saved = errno;
		close(fd);
		r->sys_err = true;
		snprintf(r->err, sizeof(r->err), "%s", strerror(saved));
		return -1;
	}
	return reader_start(r);
}

int ftlog_reader_next(struct ftlog_reader *r)
{
	unsigned char *b = r->rec.buf;
	struct ftlog_err e;
	size_t have, want;

	have = fread(b, 1, sizeof(struct kvmft_rec), r->f);
	if (have == sizeof(struct kvmft_rec)) {
		want = r->rec.hdr.len;
		/* A len beyond the largest record is caught by the check. */
		if (want > sizeof(r->rec.buf) - have)
			want = sizeof(r->rec.buf) - have;
		have += fread(b + have, 1, want, r->f);
	}
	if (ferror(r->f)) {
		r->sys_err = true;
		snprintf(r->err, sizeof(r->err), "record %" PRIu64
			 " (offset %" PRIu64 "): %s", r->nrec + 1, r->off,
			 strerror(errno));
		return -1;
	}
	if (!have)
		return 0;
	if (!ftlog_check(b, have, r->session, r->nrec + 1, &e)) {
		if (e.problem == FTLOG_TRUNC_PAYLOAD &&
		    r->rec.hdr.len > KVMFT_REC_MAX_LEN - sizeof(r->rec.hdr))
			snprintf(e.msg, sizeof(e.msg),
				 "length %u is more than the largest record payload (%zu)",
				 r->rec.hdr.len,
				 KVMFT_REC_MAX_LEN - sizeof(r->rec.hdr));
		snprintf(r->err, sizeof(r->err), "record %" PRIu64
			 " (offset %" PRIu64 "): %s", r->nrec + 1, r->off,
			 e.msg);
		return -1;
	}
	r->nrec++;
	r->off += have;
	return 1;
}

void ftlog_reader_close(struct ftlog_reader *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
}

int ftlog_writer_open(struct ftlog_writer *w, const char *path,
		      uint64_t session)
{
	int fd;

	if (!session) {
		errno = EINVAL;
		return -1;
	}
	/* 0600: the log carries guest input (console, network data). */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	return ftlog_writer_fdopen(w, fd, session);
}

int ftlog_writer_fdopen(struct ftlog_writer *w, int fd, uint64_t session)
{
	struct kvmft_logfile_hdr h;
	struct stat st;
	int saved;

	memset(w, 0, sizeof(*w));
	/* A file no reader would take: refuse it before truncating. */
	if (!session) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* Pipes and character devices (a shell's >(...)) are fine too. */
	if (fstat(fd, &st) || (S_ISREG(st.st_mode) && ftruncate(fd, 0)) ||
	    !(w->f = fdopen(fd, "wb"))) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	ftlog_hdr_init(&h, session);
	if (fwrite(&h, sizeof(h), 1, w->f) != 1) {
		saved = errno;
		fclose(w->f);
		w->f = NULL;
		errno = saved;
		return -1;
	}
	w->session = session;
	w->bytes = sizeof(h);
	return 0;
}

int ftlog_writer_add(struct ftlog_writer *w, const void *rec, size_t len)
{
	if (fwrite(rec, 1, len, w->f) != len)
		return -1;
	w->nrec++;
	w->bytes += len;
	return 0;
}

int ftlog_writer_close(struct ftlog_writer *w)
{
	int ret = 0, saved = 0;

	if (!w->f)
		return 0;
	/* EINVAL: a pipe or device, which has nothing to sync. */
	if (fflush(w->f) || (fsync(fileno(w->f)) && errno != EINVAL)) {
		ret = -1;
		saved = errno;
	}
	if (fclose(w->f) && !ret) {
		ret = -1;
		saved = errno;
	}
	w->f = NULL;
	errno = saved;
	return ret;
}
