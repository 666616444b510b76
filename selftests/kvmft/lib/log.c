// SPDX-License-Identifier: GPL-2.0
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "test_util.h"

#define LOG_READ_BUF	(256 * 1024)

uint32_t kvmft_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

uint32_t kvmft_rec_crc(uint64_t session, const struct kvmft_rec *hdr,
		       const void *payload)
{
	struct kvmft_rec h = *hdr;
	uint64_t sid = htole64(session);
	uint32_t crc;

	h.crc = 0;
	crc = kvmft_crc32(0, &sid, sizeof(sid));
	crc = kvmft_crc32(crc, &h, sizeof(h));
	return kvmft_crc32(crc, payload, hdr->len);
}

long kvmft_rec_check(const void *buf, size_t len, uint64_t seq,
		     uint64_t session)
{
	struct kvmft_rec h;
	size_t need;

	if (len < sizeof(h))
		return -EMSGSIZE;
	memcpy(&h, buf, sizeof(h));
	need = sizeof(h) + h.len;
	if (len < need)
		return -EMSGSIZE;
	if (h.seq != seq || h.type == KVMFT_REC_UNSPEC ||
	    h.type >= __KVMFT_REC_LAST || h.reserved ||
	    h.len > KVMFT_REC_MAX_LEN - sizeof(h) ||
	    h.crc != kvmft_rec_crc(session, &h, (const uint8_t *)buf + sizeof(h)))
		return -EBADMSG;
	switch (h.type) {
	case KVMFT_REC_RDTSC:
	case KVMFT_REC_RDTSCP:
		if (h.len != sizeof(struct kvmft_rec_tsc))
			return -EBADMSG;
		break;
	case KVMFT_REC_RDMSR:
		if (h.len != sizeof(struct kvmft_rec_msr))
			return -EBADMSG;
		break;
	case KVMFT_REC_STATE:
		if (h.len != sizeof(struct kvmft_rec_state))
			return -EBADMSG;
		break;
	case KVMFT_REC_MMIO_IN:
		if (h.len != sizeof(struct kvmft_rec_mmio))
			return -EBADMSG;
		break;
	case KVMFT_REC_EVENT: {
		struct kvmft_rec_event ev;

		if (h.len < sizeof(ev))
			return -EBADMSG;
		memcpy(&ev, (const uint8_t *)buf + sizeof(h), sizeof(ev));
		if (h.len != sizeof(ev) + (ev.kind == KVMFT_ASYNC_MSI ?
					   sizeof(struct kvmft_ev_msi) : 0))
			return -EBADMSG;
		break;
	}
	case KVMFT_REC_PIO_IN: {
		struct kvmft_rec_pio p;

		if (h.len < sizeof(p))
			return -EBADMSG;
		memcpy(&p, (const uint8_t *)buf + sizeof(h), sizeof(p));
		if ((p.size != 1 && p.size != 2 && p.size != 4) ||
		    h.len != sizeof(p) + (size_t)p.size * p.count)
			return -EBADMSG;
		break;
	}
	}
	return (long)need;
}

static size_t rec_finish(void *buf, uint64_t session, uint64_t seq,
			 uint16_t type, uint16_t len)
{
	struct kvmft_rec h = { .seq = seq, .type = type, .len = len };

	h.crc = kvmft_rec_crc(session, &h, (uint8_t *)buf + sizeof(h));
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + len;
}

size_t kvmft_rec_build_tsc(void *buf, uint64_t session, uint64_t seq,
			   uint16_t type, uint64_t tsc, uint64_t aux)
{
	struct kvmft_rec_tsc t = { .tsc = tsc, .aux = aux };

	memcpy((uint8_t *)buf + sizeof(struct kvmft_rec), &t, sizeof(t));
	return rec_finish(buf, session, seq, type, sizeof(t));
}

size_t kvmft_rec_build_state(void *buf, uint64_t session, uint64_t seq,
			     uint64_t hash, uint64_t rip)
{
	struct kvmft_rec_state st = { .hash = hash, .rip = rip };

	memcpy((uint8_t *)buf + sizeof(struct kvmft_rec), &st, sizeof(st));
	return rec_finish(buf, session, seq, KVMFT_REC_STATE, sizeof(st));
}

size_t kvmft_rec_build_pio(void *buf, uint64_t session, uint64_t seq,
			   uint16_t port, uint8_t size, uint32_t count,
			   const void *data)
{
	struct kvmft_rec_pio p = { .port = port, .size = size, .count = count };
	uint8_t *q = (uint8_t *)buf + sizeof(struct kvmft_rec);
	size_t n = (size_t)size * count;

	memcpy(q, &p, sizeof(p));
	memcpy(q + sizeof(p), data, n);
	return rec_finish(buf, session, seq, KVMFT_REC_PIO_IN, sizeof(p) + n);
}

void rec_buf_free(struct rec_buf *rb)
{
	free(rb->data);
	memset(rb, 0, sizeof(*rb));
}

static int rec_buf_reserve(struct rec_buf *rb, size_t more)
{
	uint8_t *p;
	size_t cap = rb->cap ? rb->cap : LOG_READ_BUF;

	while (cap - rb->len < more)
		cap *= 2;
	if (cap == rb->cap)
		return 0;
	p = realloc(rb->data, cap);
	if (!p)
		return -ENOMEM;
	rb->data = p;
	rb->cap = cap;
	return 0;
}

ssize_t log_read_some(int fd, struct rec_buf *rb)
{
	ssize_t n;
	long r;
	size_t off;

	if (rec_buf_reserve(rb, LOG_READ_BUF))
		return -ENOMEM;
	do {
		n = read(fd, rb->data + rb->len, LOG_READ_BUF);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Whole records only, each the next in sequence. */
	for (off = rb->len; off < rb->len + (size_t)n; off += r) {
		struct kvmft_rec h;

		r = kvmft_rec_check(rb->data + off, rb->len + n - off,
				    rb->nrec + 1, rb->session);
		if (r < 0)
			return r;
		memcpy(&h, rb->data + off, sizeof(h));
		rb->nrec++;
		rb->ntype[h.type]++;
	}
	rb->len += n;
	return n;
}

int log_read_all(int fd, struct rec_buf *rb)
{
	ssize_t n;

	while ((n = log_read_some(fd, rb)) > 0)
		;
	return (int)n;
}

int log_write_all(int fd, const struct rec_buf *rb, size_t chunk)
{
	size_t off = 0, end;
	ssize_t n;
	long r;

	while (off < rb->len) {
		/* As many whole records as fit in @chunk (at least one). */
		for (end = off; end < rb->len; end += r) {
			struct kvmft_rec h;

			memcpy(&h, rb->data + end, sizeof(h));
			r = (long)(sizeof(h) + h.len);
			if (end > off && end + r - off > chunk)
				break;
		}
		n = write(fd, rb->data + off, end - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		/* The kernel takes whole records: a short write ends on one. */
		for (end = off; end < off + (size_t)n; end += r) {
			struct kvmft_rec h;

			memcpy(&h, rb->data + end, sizeof(h));
			r = (long)(sizeof(h) + h.len);
		}
		if (end != off + (size_t)n)
			return -EPROTO;
		off += n;
	}
	return 0;
}

const void *rec_buf_at(const struct rec_buf *rb, uint64_t i)
{
	struct kvmft_rec h;
	size_t off = 0;

	while (off < rb->len) {
		if (!i--)
			return rb->data + off;
		memcpy(&h, rb->data + off, sizeof(h));
		off += sizeof(h) + h.len;
	}
	return NULL;
}

static void *log_reader(void *arg)
{
	struct log_job *j = arg;

	j->rc = log_read_all(j->fd, j->rb);
	return NULL;
}

static void *log_writer(void *arg)
{
	struct log_job *j = arg;

	j->rc = log_write_all(j->fd, j->rb, LOG_WRITE_CHUNK);
	close(j->fd);
	j->fd = -1;
	return NULL;
}

static void log_job_start(struct log_job *j, int fd, struct rec_buf *rb,
			  void *(*fn)(void *))
{
	int err;

	*j = (struct log_job){ .fd = fd, .rb = rb };
	err = pthread_create(&j->thread, NULL, fn, j);
	TEST_ASSERT(!err, "pthread_create: %s", strerror(err));
}

void log_job_read(struct log_job *j, int fd, struct rec_buf *rb)
{
	log_job_start(j, fd, rb, log_reader);
}

void log_job_write(struct log_job *j, int fd, struct rec_buf *rb)
{
	log_job_start(j, fd, rb, log_writer);
}

int log_job_join(struct log_job *j, int timeout_s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_s;
	return pthread_timedjoin_np(j->thread, NULL, &ts);
}
