// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the heartbeat parser (hb.c). The first byte picks
 * the mode: even, the rest is a datagram as it came off the socket; odd,
 * the rest fills a heartbeat's fields, which is sent validly and then,
 * with the rest of the input as a second datagram, checked after it (so
 * the replay check sees a state the input chose).
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

static const unsigned char psk[FTP_KEY_LEN] = "fuzzing key, 32 bytes long......";

static uint64_t take64(const uint8_t **p, size_t *n)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *n; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftp_hb_rx rx = { .pair_id = 42 };
	struct ftp_stats st = { 0 };
	unsigned char d[FTP_HB_LEN];
	struct ftp_hb hb;
	const char *why;
	uint64_t pair;

	if (!size)
		return 0;
	ftp_key_hb(psk, rx.pair_id, rx.key);
	if (!(data[0] & 1)) {
		ftp_hb_peek(data + 1, size - 1, &pair);
		ftp_hb_decode(&rx, data + 1, size - 1, &hb, &st, &why);
		return 0;
	}
	data++, size--;
	memset(&hb, 0, sizeof(hb));
	hb.pair_id = take64(&data, &size) % 2 ? 42 : 43;
	hb.epoch = take64(&data, &size);
	hb.seq = take64(&data, &size);
	hb.sent = take64(&data, &size);
	hb.role = take64(&data, &size);
	ftp_hb_encode(rx.key, &hb, d);
	ftp_hb_decode(&rx, d, sizeof(d), &hb, &st, &why);
	ftp_hb_decode(&rx, data, size, &hb, &st, &why);
	return 0;
}
