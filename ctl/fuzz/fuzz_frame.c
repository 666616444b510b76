// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the logging channel's parser (frame.c). The first
 * byte picks the mode:
 *  - even: the rest is a byte stream fed to ftp_decode() in chunks whose
 *    sizes the input also chooses, as TCP would deliver it;
 *  - odd: the rest is a frame type and a payload, sent through a valid
 *    frame (right key and sequence) so the payload decoders are reached,
 *    which a tag would otherwise keep the fuzzer from.
 * Every frame that passes is decoded by its type's payload parser.
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

static const unsigned char key[FTP_KEY_LEN] = "fuzzing key, 32 bytes long......";

static void payload(const struct ftp_frame *f)
{
	union {
		struct ftp_hello h;
		struct ftp_pair p;
		struct ftp_ack a;
		struct ftp_error e;
	} u;
	const unsigned char *recs;
	uint64_t first;
	size_t len;

	switch (f->type) {
	case FTP_HELLO:
	case FTP_HELLO_ACK:
		ftp_hello_decode(f, &u.h);
		break;
	case FTP_PAIR:
	case FTP_PAIR_OK:
		ftp_pair_decode(f, &u.p);
		break;
	case FTP_ACK:
		ftp_ack_decode(f, &u.a);
		break;
	case FTP_ERROR:
		ftp_error_decode(f, &u.e);
		break;
	case FTP_LOG:
		if (!ftp_log_decode(f, &first, &recs, &len) && len)
			(void)recs[len - 1];	/* in bounds, or ASan says */
		break;
	}
	(void)ftp_type_name(f->type);
}

/* Feeds data as a stream, chunk sizes taken from the data itself. */
static void stream(const uint8_t *data, size_t size)
{
	struct ftp_dir d = { .seq = 1 };
	struct ftp_stats st = { 0 };
	struct ftp_frame f;
	size_t start = 0, have = 0, used, need;
	const char *why;

	memcpy(d.key, key, sizeof(key));
	while (start < size) {
		size_t step = 1 + data[(start + have) % size] % 64;
		int r;

		have = have + step > size - start ? size - start : have + step;
		r = ftp_decode(&d, data + start, have, &f, &used, &need, &st, &why);
		if (r == FTP_BAD)
			return;
		if (r == FTP_OK) {
			payload(&f);
			start += used;
			have = 0;
		} else if (start + have == size) {
			ftp_stream_end(have, &st);
			return;
		}
	}
}

static unsigned char wire[FTP_HDR_LEN + FTP_MAX_PAYLOAD + FTP_TAG_LEN];

/* Wraps the data in a valid frame and parses it back. */
static void framed(const uint8_t *data, size_t size)
{
	struct ftp_dir tx = { .seq = 1 }, rx = { .seq = 1 };
	struct ftp_stats st = { 0 };
	struct ftp_frame f;
	size_t n, used, need;
	const char *why;

	if (!size || size - 1 > FTP_MAX_PAYLOAD)
		return;
	memcpy(tx.key, key, sizeof(key));
	memcpy(rx.key, key, sizeof(key));
	n = ftp_encode(&tx, data[0] % (__FTP_TYPE_LAST + 1), data + 1, size - 1, wire);
	if (ftp_decode(&rx, wire, n, &f, &used, &need, &st, &why) == FTP_OK)
		payload(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		framed(data + 1, size - 1);
	else
		stream(data + 1, size - 1);
	return 0;
}
