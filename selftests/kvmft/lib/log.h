/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmft log records (struct kvmft_rec in linux/kvmft.h), as the tests see
 * them: CRC32, checking a stream of records, building records by hand, and
 * moving a whole log between a log fd and memory.
 */
#ifndef KVMFT_LOG_H
#define KVMFT_LOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvmft.h>

/* CRC-32/IEEE, as crc32_le(~0, ...) ^ ~0; pass 0 to start. */
uint32_t kvmft_crc32(uint32_t crc, const void *buf, size_t len);
/*
 * The CRC a record of recording @session must carry: the session id, the
 * header with crc = 0, then the payload.
 */
uint32_t kvmft_rec_crc(uint64_t session, const struct kvmft_rec *hdr,
		       const void *payload);

/*
 * Check the record at the start of @buf (@len bytes available) and that
 * its sequence number is @seq. Returns its total length, -EMSGSIZE if it is
 * truncated, -EBADMSG if it is corrupt or out of order.
 */
long kvmft_rec_check(const void *buf, size_t len, uint64_t seq,
		     uint64_t session);

/* Build an RDTSC/RDTSCP or PIO_IN record at @buf; returns its length. */
size_t kvmft_rec_build_tsc(void *buf, uint64_t session, uint64_t seq,
			   uint16_t type, uint64_t tsc, uint64_t aux);
size_t kvmft_rec_build_state(void *buf, uint64_t session, uint64_t seq,
			     uint64_t hash, uint64_t rip);
size_t kvmft_rec_build_pio(void *buf, uint64_t session, uint64_t seq,
			   uint16_t port, uint8_t size, uint32_t count,
			   const void *data);

/* A log in memory: records back to back, checked as they came in. */
struct rec_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	uint64_t session;	/* the recording they belong to */
	uint64_t nrec;		/* records held; the last one's seq */
	uint64_t ntype[__KVMFT_REC_LAST];
};

void rec_buf_free(struct rec_buf *rb);
/*
 * read() @fd until it returns 0, checking every record (whole records per
 * read, sequence from 1 without gaps, CRC). 0 or -errno.
 */
int log_read_all(int fd, struct rec_buf *rb);
/* One read() of @fd, checked and appended: bytes read, 0 or -errno. */
ssize_t log_read_some(int fd, struct rec_buf *rb);
/* write() all records of @rb to @fd, at most @chunk bytes (whole records)
 * per call. 0 or -errno. */
int log_write_all(int fd, const struct rec_buf *rb, size_t chunk);
/*
 * The i-th record (slow: walks from the start; for diagnostics). Records
 * are packed back to back, so it may be unaligned: memcpy() it out.
 */
const void *rec_buf_at(const struct rec_buf *rb, uint64_t i);

/*
 * log_read_all() or log_write_all() on a thread of its own, while the VM
 * runs on the caller's. A reader leaves @fd open; a writer closes it once
 * everything is written, so that the backup may go live.
 */
struct log_job {
	pthread_t thread;
	int fd;
	struct rec_buf *rb;
	int rc;			/* 0 or -errno, once joined */
};

#define LOG_WRITE_CHUNK	(64 * 1024)

void log_job_read(struct log_job *j, int fd, struct rec_buf *rb);
void log_job_write(struct log_job *j, int fd, struct rec_buf *rb);
/* Join, waiting at most @timeout_s seconds: 0 or an errno (ETIMEDOUT). */
int log_job_join(struct log_job *j, int timeout_s);

#endif /* KVMFT_LOG_H */
