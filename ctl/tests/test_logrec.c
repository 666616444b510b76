// SPDX-License-Identifier: GPL-2.0
/* CRC32, record checks and the log file reader and writer (logrec.c). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logrec.h"
#include "tap.h"

static union {
	struct kvmft_rec hdr;
	unsigned char b[KVMFT_REC_MAX_LEN + 64];
} rec;

/* The session of every record here: all its bytes differ. */
#define S 0x8877665544332211ull

static void crc_vectors(void)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";

	ok(ftlog_crc32("123456789", 9) == 0xCBF43926, "crc32(\"123456789\") = 0xcbf43926");
	ok(ftlog_crc32("", 0) == 0, "crc32(\"\") = 0");
	ok(ftlog_crc32("a", 1) == 0xE8B7BE43, "crc32(\"a\") = 0xe8b7be43");
	ok(ftlog_crc32(fox, strlen(fox)) == 0x414FA339, "crc32(fox) = 0x414fa339");
	/* crc32_le(~0, a) fed into crc32_le(., b) is crc32_le over a||b. */
	ok((ftlog_crc32_le(ftlog_crc32_le(~0u, "1234", 4), "56789", 5) ^ ~0u) ==
	   0xCBF43926, "crc32_le chains like the kernel's");
}

/* A record's CRC starts with its session, 8 bytes little-endian. */
static void crc_session(void)
{
	unsigned char flat[8 + sizeof(struct kvmft_rec) + 16];
	struct ftlog_err e;
	uint32_t crc;
	size_t len;

	/* Python: zlib.crc32(pack('<Q', s) + pack('<QHHIII', 1, 2, 16, 0, 0, 0)
	 * + pack('<QQ', 0x1122334455667788, 0)). */
	len = ftlog_build_tsc(rec.b, 0x0102030405060708ull, KVMFT_REC_RDTSC, 1,
			      0, 0x1122334455667788ull, 0);
	ok(rec.hdr.crc == 0xcdea3c8e, "record crc of session 0x0102030405060708 = 0xcdea3c8e (zlib)");

	/* The same bytes laid flat, session first, little-endian. */
	for (int i = 0; i < 8; i++)
		flat[i] = (uint8_t)(S >> (8 * i));
	len = ftlog_build_pio(rec.b, S, 7, 0, 0x3f8, 1, 2, "hi");
	crc = rec.hdr.crc;
	rec.hdr.crc = 0;
	memcpy(flat + 8, rec.b, len);
	ok(len + 8 <= sizeof(flat) && crc == ftlog_crc32(flat, len + 8),
	   "record crc is crc32(session LE || header with crc 0 || payload)");
	rec.hdr.crc = crc;

	ok(ftlog_check(rec.b, len, S, 7, &e) == len, "a record checks with its own session");
	ok(!ftlog_check(rec.b, len, S ^ 1, 7, &e) && e.problem == FTLOG_BAD_CRC,
	   "a record of session A fails the check for session B: %s", e.msg);
	ok(!ftlog_check(rec.b, len, S ^ (1ull << 63), 7, &e) && e.problem == FTLOG_BAD_CRC,
	   "... and for a session that differs only in its top bit");
	ok(!ftlog_check(rec.b, len, 0, 7, &e) && e.problem == FTLOG_BAD_CRC,
	   "... and for session 0");
	ok(ftlog_rec_crc(S, &rec.hdr, rec.b + sizeof(rec.hdr)) !=
	   ftlog_rec_crc(__builtin_bswap64(S), &rec.hdr, rec.b + sizeof(rec.hdr)),
	   "the session's byte order counts");
}

static size_t check(const void *p, size_t n, uint64_t seq,
		    enum ftlog_problem *prob)
{
	struct ftlog_err e;
	size_t len = ftlog_check(p, n, S, seq, &e);

	*prob = e.problem;
	if (!len)
		tap_diag("rejected: %s", e.msg);
	return len;
}

static void accept_cases(void)
{
	unsigned char data[8] = { 0x41, 0x42, 0x43, 0x44, 1, 2, 3, 4 };
	enum ftlog_problem p;
	size_t len;

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 12345, 0);
	ok(len == sizeof(struct kvmft_rec) + sizeof(struct kvmft_rec_tsc) &&
	   check(rec.b, len, 1, &p) == len, "rdtsc record accepted");
	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSCP, 2, 0, 12345, 7);
	ok(check(rec.b, len, 2, &p) == len, "rdtscp record with aux accepted");
	len = ftlog_build_pio(rec.b, S, 3, 0, 0x3f8, 1, 1, data);
	ok(len == 24 + 8 + 1 && check(rec.b, len, 3, &p) == len,
	   "pio_in 1x1 accepted");
	len = ftlog_build_pio(rec.b, S, 4, 0, 0x1f0, 2, 4, data);
	ok(check(rec.b, len, 4, &p) == len, "pio_in 2x4 accepted");
	len = ftlog_build_pio(rec.b, S, 5, 0, 0xcfc, 4, 2, data);
	ok(check(rec.b, len, 0, &p) == len, "pio_in 4x2 accepted, seq unchecked");
	/* Records follow one another unpadded: the next header is unaligned. */
	len = ftlog_build_pio(rec.b, S, 6, 0, 0x60, 1, 1, data);
	memmove(rec.b + 1, rec.b, len);
	ok(check(rec.b + 1, len, 6, &p) == len, "unaligned record accepted");
}

static void reject(const char *name, size_t len, uint64_t seq,
		   enum ftlog_problem want)
{
	enum ftlog_problem p;

	ok(!check(rec.b, len, seq, &p) && p == want, "rejects %s", name);
}

/* Rebuilds the crc after a change, so only the change is wrong. */
static size_t recrc(size_t len)
{
	rec.hdr.crc = ftlog_rec_crc(S, &rec.hdr, rec.b + sizeof(rec.hdr));
	return len;
}

static void reject_cases(void)
{
	static unsigned char big[KVMFT_REC_MAX_PIO_DATA + 4];
	unsigned char d[4] = { 1, 2, 3, 4 };
	struct kvmft_rec_pio *pio = (void *)(rec.b + sizeof(rec.hdr));
	size_t len;

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	rec.b[sizeof(rec.hdr)] ^= 1;
	reject("a flipped payload bit (bad crc)", len, 1, FTLOG_BAD_CRC);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	rec.hdr.crc ^= 0x80000000u;
	reject("a wrong crc", len, 1, FTLOG_BAD_CRC);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 2, 0, 99, 0);
	reject("a sequence gap", len, 1, FTLOG_BAD_SEQ);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	rec.hdr.type = 0;
	reject("type 0 (UNSPEC)", recrc(len), 1, FTLOG_BAD_TYPE);
	rec.hdr.type = __KVMFT_REC_LAST;
	reject("an unknown type", recrc(len), 1, FTLOG_BAD_TYPE);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	rec.hdr.len = 8;
	reject("rdtsc with an 8-byte payload", recrc(len - 8), 1, FTLOG_BAD_LEN);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 5);
	reject("rdtsc with aux set", len, 1, FTLOG_BAD_RESERVED);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	rec.hdr.reserved = 1;
	reject("a set header reserved field", recrc(len), 1, FTLOG_BAD_RESERVED);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 2, 2, d);
	rec.hdr.len -= 1;
	reject("pio_in len short of size*count", recrc(len - 1), 1, FTLOG_BAD_LEN);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 1, 2, d);
	rec.hdr.len += 1;
	reject("pio_in len beyond size*count", recrc(len + 1), 1, FTLOG_BAD_LEN);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 1, 3, d);
	pio->size = 3;
	reject("pio_in size 3", recrc(len), 1, FTLOG_BAD_PIO);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 1, 1, d);
	pio->reserved = 1;
	reject("pio_in reserved byte set", recrc(len), 1, FTLOG_BAD_RESERVED);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 1, 1, d);
	pio->count = 0;
	rec.hdr.len = sizeof(*pio);
	reject("pio_in count 0", recrc(len - 1), 1, FTLOG_BAD_PIO);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 4, KVMFT_REC_MAX_PIO_DATA / 4 + 1, big);
	reject("pio_in data over KVMFT_REC_MAX_PIO_DATA", len, 1, FTLOG_BAD_PIO);

	len = ftlog_build_pio(rec.b, S, 1, 0, 0x60, 4, 1, d);
	pio->count = 0x40000001;	/* size * count wraps 32 bits */
	reject("pio_in size*count overflow", recrc(len), 1, FTLOG_BAD_PIO);

	len = ftlog_build_tsc(rec.b, S, KVMFT_REC_RDTSC, 1, 0, 99, 0);
	reject("a truncated header", 10, 1, FTLOG_TRUNC_HDR);
	reject("a truncated payload", len - 1, 1, FTLOG_TRUNC_PAYLOAD);
	reject("nothing at all", 0, 1, FTLOG_TRUNC_HDR);
}

/* An MMIO read's record: @n bytes of @data at 0x20000000. */
static size_t build_mmio(uint64_t seq, uint32_t n, uint64_t data)
{
	struct kvmft_rec_mmio m = { .gpa = 0x20000000, .len = n };

	memcpy(m.data, &data, sizeof(m.data));
	memset(&rec.hdr, 0, sizeof(rec.hdr));
	rec.hdr.seq = seq;
	rec.hdr.type = KVMFT_REC_MMIO_IN;
	rec.hdr.len = sizeof(m);
	memcpy(rec.b + sizeof(rec.hdr), &m, sizeof(m));
	return recrc(sizeof(rec.hdr) + sizeof(m));
}

static void mmio_cases(void)
{
	enum ftlog_problem p;
	size_t len;

	len = build_mmio(1, 4, 0x11223344);
	ok(check(rec.b, len, 1, &p) == len, "mmio_in of 4 bytes accepted");
	len = build_mmio(1, 8, ~0ULL);
	ok(check(rec.b, len, 1, &p) == len, "mmio_in of 8 bytes accepted");
	reject("mmio_in of 0 bytes", build_mmio(1, 0, 0), 1, FTLOG_BAD_LEN);
	reject("mmio_in of 9 bytes", build_mmio(1, 9, 0), 1, FTLOG_BAD_LEN);
	reject("mmio_in data past its length", build_mmio(1, 2, 0x10000), 1,
	       FTLOG_BAD_RESERVED);
	len = build_mmio(1, 4, 0);
	rec.hdr.len -= 1;
	reject("mmio_in one byte short", recrc(len - 1), 1, FTLOG_BAD_LEN);
}

static void file_header(void)
{
	struct kvmft_logfile_hdr h;
	char msg[256];

	ok(sizeof(h) == 24 && sizeof(struct kvmft_rec) == 24, "uapi sizes: file header 24, record header 24");
	ftlog_hdr_init(&h, S);
	ok(h.version == 2 && h.session == S && !ftlog_hdr_check(&h, msg, sizeof(msg)),
	   "fresh file header: version 2, the session, accepted");
	h.magic[0] = 'X';
	ok(ftlog_hdr_check(&h, msg, sizeof(msg)) && strstr(msg, "magic"), "bad magic rejected: %s", msg);
	ftlog_hdr_init(&h, S);
	h.version = 1;
	ok(ftlog_hdr_check(&h, msg, sizeof(msg)) && strstr(msg, "version 1 predates recording sessions") &&
	   strstr(msg, "record the VM again"), "version 1 rejected: %s", msg);
	ftlog_hdr_init(&h, S);
	h.version = 3;
	ok(ftlog_hdr_check(&h, msg, sizeof(msg)) && strstr(msg, "version 3"), "version 3 rejected: %s", msg);
	ftlog_hdr_init(&h, S);
	h.reserved = 1;
	ok(ftlog_hdr_check(&h, msg, sizeof(msg)) && strstr(msg, "reserved"), "reserved field rejected");
	ftlog_hdr_init(&h, 0);
	ok(ftlog_hdr_check(&h, msg, sizeof(msg)) && strstr(msg, "session 0"), "session 0 rejected: %s", msg);
}

static char path[] = "/tmp/ftlog-test-XXXXXX";

static int write_file(int nrec, bool close_it)
{
	unsigned char data[64];
	struct ftlog_writer w;
	size_t len;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	if (ftlog_writer_open(&w, path, S))
		return -1;
	for (int i = 1; i <= nrec; i++) {
		if (i % 3 == 1)
			len = ftlog_build_pio(rec.b, S, i, 0, 0x3f8, 1, i % 40 + 1, data);
		else
			len = ftlog_build_tsc(rec.b, S, i % 3 ? KVMFT_REC_RDTSC : KVMFT_REC_RDTSCP,
					      i, 0, 1000 * i, i % 3 ? 0 : 9);
		if (ftlog_writer_add(&w, rec.b, len))
			return -1;
	}
	return close_it ? ftlog_writer_close(&w) : 0;
}

/* Reads the whole file; the number of records, or -1 with the error. */
static int read_file(char *err, size_t len)
{
	struct ftlog_reader r;
	int ret;

	if (ftlog_reader_open(&r, path)) {
		snprintf(err, len, "%s", r.err);
		return -1;
	}
	while ((ret = ftlog_reader_next(&r)) > 0)
		;
	snprintf(err, len, "%s", r.err);
	ftlog_reader_close(&r);
	return ret < 0 ? -1 : (int)r.nrec;
}

static void patch(long off, const void *p, size_t n)
{
	FILE *f = fopen(path, "r+b");

	fseek(f, off, SEEK_SET);
	fwrite(p, 1, n, f);
	fclose(f);
}

static void round_trip(void)
{
	const long rec1 = sizeof(struct kvmft_logfile_hdr);
	const long rec2 = rec1 + 24 + 8 + 2;	/* pio 1x2 */
	char err[256];
	uint8_t b = 0xff;
	int fd = mkstemp(path);

	close(fd);
	ok(write_file(100, true) == 0, "writer: 100 records written and fsynced");
	ok(read_file(err, sizeof(err)) == 100, "reader: 100 records read back and checked");
	{
		struct ftlog_reader r;

		ok(!ftlog_reader_open(&r, path) && r.session == S,
		   "reader: the session comes from the file header");
		ftlog_reader_close(&r);
	}
	{
		struct ftlog_writer w;

		write_file(1, true);
		errno = 0;
		ok(ftlog_writer_open(&w, path, 0) && errno == EINVAL &&
		   read_file(err, sizeof(err)) == 1,
		   "writer: session 0 refused with EINVAL, the file left alone");
	}

	ok(write_file(0, true) == 0 && read_file(err, sizeof(err)) == 0,
	   "an empty log reads as 0 records");

	write_file(3, true);
	patch(rec2 + 24, &b, 1);	/* a payload byte of record 2 */
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "record 2 ") && strstr(err, "bad CRC"),
	   "a corrupt record 2 is named: %s", err);

	write_file(3, true);
	if (truncate(path, rec2 + 10))
		tap_diag("truncate failed");
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "record 2 ") && strstr(err, "truncated"),
	   "a truncated record 2 is named: %s", err);

	write_file(3, true);
	{
		uint64_t seq = 3;	/* record 2 claims to be 3 */
		struct kvmft_rec h;
		FILE *f = fopen(path, "r+b");

		fseek(f, rec2, SEEK_SET);
		if (fread(&h, sizeof(h), 1, f) != 1)
			tap_diag("fread failed");
		fclose(f);
		h.seq = seq;
		h.crc = 0;
		/* Recompute the crc over the changed header and payload. */
		memcpy(rec.b, &h, sizeof(h));
		f = fopen(path, "rb");
		fseek(f, rec2 + sizeof(h), SEEK_SET);
		if (fread(rec.b + sizeof(h), 1, h.len, f) != h.len)
			tap_diag("fread failed");
		fclose(f);
		rec.hdr.crc = ftlog_rec_crc(S, &rec.hdr, rec.b + sizeof(h));
		patch(rec2, rec.b, sizeof(h));
	}
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "record 2 ") &&
	   strstr(err, "sequence 3, expected 2"), "a sequence gap at record 2 is named: %s", err);

	write_file(1, true);
	{
		uint16_t len = 0xffff;

		patch(rec1 + 10, &len, sizeof(len));
	}
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "record 1 "),
	   "a record longer than any record is rejected: %s", err);

	write_file(3, true);
	{
		uint64_t other = S + 1;	/* the records are still S's */

		patch(offsetof(struct kvmft_logfile_hdr, session), &other, sizeof(other));
	}
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "record 1 ") && strstr(err, "bad CRC"),
	   "records under a header of another session fail at record 1: %s", err);

	write_file(3, true);
	{
		uint32_t v1 = 1;

		patch(offsetof(struct kvmft_logfile_hdr, version), &v1, sizeof(v1));
	}
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "predates recording sessions"),
	   "a version 1 file with records is refused: %s", err);
	if (truncate(path, offsetof(struct kvmft_logfile_hdr, session)))
		tap_diag("truncate failed");
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "predates recording sessions"),
	   "an empty version 1 file (16 bytes) is named as version 1: %s", err);

	write_file(0, true);
	if (truncate(path, sizeof(struct kvmft_logfile_hdr) - 1))
		tap_diag("truncate failed");
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "truncated file header"),
	   "a version 2 header short of its session is truncated: %s", err);

	write_file(0, true);
	{
		uint64_t zero = 0;

		patch(offsetof(struct kvmft_logfile_hdr, session), &zero, sizeof(zero));
	}
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "session 0"),
	   "a file header with session 0 is refused: %s", err);

	write_file(1, true);
	patch(0, "KVMFTLOX", 8);
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "magic"), "a bad magic is rejected: %s", err);

	if (truncate(path, 5))
		tap_diag("truncate failed");
	ok(read_file(err, sizeof(err)) < 0 && strstr(err, "truncated file header"),
	   "a 5-byte file is rejected: %s", err);
	unlink(path);
	ok(read_file(err, sizeof(err)) < 0, "a missing file is an error: %s", err);
}

/* An RDMSR record by hand: the value, or a #GP with value 0. */
static size_t build_msr(uint64_t seq, uint32_t index, uint32_t flags,
			uint64_t value)
{
	struct kvmft_rec_msr m = { .index = index, .flags = flags,
				   .value = value };

	rec.hdr = (struct kvmft_rec){ .seq = seq, .type = KVMFT_REC_RDMSR,
				      .len = sizeof(m) };
	memcpy(rec.b + sizeof(rec.hdr), &m, sizeof(m));
	rec.hdr.crc = ftlog_rec_crc(S, &rec.hdr, rec.b + sizeof(rec.hdr));
	return sizeof(rec.hdr) + sizeof(m);
}

static void msr_cases(void)
{
	enum ftlog_problem p;
	size_t len;

	len = build_msr(1, 0x10, 0, 0x123456789abULL);
	ok(check(rec.b, len, 1, &p) == len, "rdmsr record accepted");
	len = build_msr(1, 0xdeadbeef, KVMFT_MSR_F_GP, 0);
	ok(check(rec.b, len, 1, &p) == len, "rdmsr #GP record accepted");
	len = build_msr(1, 0x10, KVMFT_MSR_F_GP, 5);
	ok(!check(rec.b, len, 1, &p) && p == FTLOG_BAD_RESERVED,
	   "rdmsr #GP record with a value rejected");
	len = build_msr(1, 0x10, 2, 0);
	ok(!check(rec.b, len, 1, &p) && p == FTLOG_BAD_RESERVED,
	   "rdmsr record with unknown flags rejected");
}

int main(void)
{
	tap_plan(70);
	crc_vectors();
	crc_session();
	accept_cases();
	msr_cases();
	reject_cases();
	mmio_cases();
	file_header();
	round_trip();
	return tap_done();
}
