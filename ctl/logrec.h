/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log records and log files (see struct kvmft_rec in <linux/kvmft.h>):
 * CRC32, the checks a record must pass before it is written to a file or
 * to /dev/kvmft, and a reader and writer for `ftctl record` files.
 */
#ifndef FT_LOGREC_H
#define FT_LOGREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kvmft.h>

/* crc32_le() semantics: no pre- or post-inversion. */
uint32_t ftlog_crc32_le(uint32_t crc, const void *p, size_t n);
/* The standard CRC-32 (IEEE 802.3, zlib): crc32_le(~0, p, n) ^ ~0. */
uint32_t ftlog_crc32(const void *p, size_t n);
/*
 * The crc a record of recording session `session` must carry: the session
 * as 8 bytes little-endian, the header with crc = 0, then the payload. A
 * record of another session fails it.
 */
uint32_t ftlog_rec_crc(uint64_t session, const struct kvmft_rec *hdr,
		       const void *payload);

enum ftlog_problem {
	FTLOG_OK,
	FTLOG_TRUNC_HDR,	/* fewer bytes left than a record header */
	FTLOG_TRUNC_PAYLOAD,	/* fewer bytes left than hdr.len */
	FTLOG_BAD_TYPE,		/* type unknown */
	FTLOG_BAD_LEN,		/* len does not fit the type */
	FTLOG_BAD_RESERVED,	/* a reserved field is not zero */
	FTLOG_BAD_PIO,		/* PIO size not 1/2/4, count 0, data too long */
	FTLOG_BAD_SEQ,		/* seq is not the next one */
	FTLOG_BAD_CRC,		/* crc does not match (or another session's) */
};

struct ftlog_err {
	enum ftlog_problem problem;
	char msg[160];		/* what is wrong, without the record number */
};

const char *ftlog_rec_type_name(unsigned int type);

/*
 * Checks the record at p, of which avail bytes are readable, which must
 * belong to session (its CRC) and whose seq must be want_seq (0: do not
 * check). p need not be aligned. Returns the record's total length, or 0
 * with *err filled.
 */
size_t ftlog_check(const void *p, size_t avail, uint64_t session,
		   uint64_t want_seq, struct ftlog_err *err);

/*
 * Fills a record of session (header at buf, aligned) and its crc; returns
 * its length.
 */
size_t ftlog_build_tsc(void *buf, uint64_t session, uint16_t type,
		       uint64_t seq, uint32_t vcpu, uint64_t tsc, uint64_t aux);
size_t ftlog_build_pio(void *buf, uint64_t session, uint64_t seq,
		       uint32_t vcpu, uint16_t port, uint8_t size,
		       uint32_t count, const void *data);

/* A file header of the current version for session. */
void ftlog_hdr_init(struct kvmft_logfile_hdr *h, uint64_t session);
/*
 * 0, or -1 with what is wrong in msg: bad magic, a version other than
 * KVMFT_LOGFILE_VERSION (version 1 predates sessions and is named as
 * such), reserved not 0, session 0.
 */
int ftlog_hdr_check(const struct kvmft_logfile_hdr *h, char *msg,
		    size_t len);

/* Sequential reader of a log file; checks every record as it goes. */
struct ftlog_reader {
	FILE *f;
	uint64_t session;	/* from the file header */
	uint64_t nrec;		/* records returned so far */
	uint64_t off;		/* file offset of the next record */
	bool sys_err;		/* the error was I/O, not file content */
	char err[256];		/* "record N (offset X): problem" */
	union {
		struct kvmft_rec hdr;
		unsigned char buf[KVMFT_REC_MAX_LEN];
	} rec;
};

/* 0, or -1 with r->err (and r->sys_err for I/O errors). */
int ftlog_reader_open(struct ftlog_reader *r, const char *path);
/* The same on an fd open for reading (a pipe), which it then owns. */
int ftlog_reader_fdopen(struct ftlog_reader *r, int fd);
/* 1 with the record in r->rec, 0 at a clean end of file, -1 on error. */
int ftlog_reader_next(struct ftlog_reader *r);
void ftlog_reader_close(struct ftlog_reader *r);

/* Writer: the header at open, then whole records; fsync at close. */
struct ftlog_writer {
	FILE *f;
	bool stream;		/* flushed after each batch (a pipe) */
	uint64_t session;	/* in the file header */
	uint64_t nrec;
	uint64_t bytes;
};

/*
 * Creates or truncates path (mode 0600) with a header for session (not 0:
 * EINVAL); 0, or -1 with errno set.
 */
int ftlog_writer_open(struct ftlog_writer *w, const char *path,
		      uint64_t session);
/* The same on an fd open for writing, which it truncates and then owns. */
int ftlog_writer_fdopen(struct ftlog_writer *w, int fd, uint64_t session);
int ftlog_writer_add(struct ftlog_writer *w, const void *rec, size_t len);
/* Flushes, fsyncs and closes; -1 with errno set if any of it failed. */
int ftlog_writer_close(struct ftlog_writer *w);

#endif
