// SPDX-License-Identifier: GPL-2.0
/*
 * Heartbeat datagrams (proto.h): one fixed size, a tag under the pair's
 * key, and (epoch, seq) that must rise, so a datagram recorded earlier
 * and sent again is refused. Checks run cheapest first.
 */
#include <string.h>

#include "proto.h"

/*
 * Layout: magic 4, version 1, type 1, flags 2, host_id 4, interval_ms 4,
 * pair_id, epoch, seq, sent, acked, gen, echo (8 each), role 1, state 1,
 * reserved 6, then the tag.
 */
#define HB_TYPE		1
#define OFF_PAIR	16

void ftp_hb_encode(const unsigned char key[FTP_KEY_LEN],
		   const struct ftp_hb *hb, unsigned char out[FTP_HB_LEN])
{
	unsigned char *p = out;

	memset(out, 0, FTP_HB_LEN);
	put32(p, FTP_HB_MAGIC);
	p[4] = FTP_HB_VERSION;
	p[5] = HB_TYPE;
	put32(p + 8, hb->host_id);
	put32(p + 12, hb->interval_ms);
	put64(p + OFF_PAIR, hb->pair_id);
	put64(p + 24, hb->epoch);
	put64(p + 32, hb->seq);
	put64(p + 40, hb->sent);
	put64(p + 48, hb->acked);
	put64(p + 56, hb->gen);
	put64(p + 64, hb->echo);
	p[72] = hb->role;
	p[73] = hb->state;
	hmac256(key, FTP_KEY_LEN, out, FTP_HB_BODY, out + FTP_HB_BODY);
}

bool ftp_hb_peek(const unsigned char *buf, size_t len, uint64_t *pair_id)
{
	if (len != FTP_HB_LEN || get32(buf) != FTP_HB_MAGIC)
		return false;
	*pair_id = get64(buf + OFF_PAIR);
	return true;
}

static int bad(uint64_t *counter, const char **why, const char *what)
{
	(*counter)++;
	*why = what;
	return -1;
}

static void fill(const unsigned char *p, struct ftp_hb *hb)
{
	hb->host_id = get32(p + 8);
	hb->interval_ms = get32(p + 12);
	hb->pair_id = get64(p + OFF_PAIR);
	hb->epoch = get64(p + 24);
	hb->seq = get64(p + 32);
	hb->sent = get64(p + 40);
	hb->acked = get64(p + 48);
	hb->gen = get64(p + 56);
	hb->echo = get64(p + 64);
	hb->role = p[72];
	hb->state = p[73];
}

static bool reserved_zero(const unsigned char *p)
{
	static const unsigned char zero[6];

	return !get16(p + 6) && !memcmp(p + 74, zero, sizeof(zero));
}

int ftp_hb_decode(struct ftp_hb_rx *rx, const unsigned char *buf, size_t len,
		  struct ftp_hb *hb, struct ftp_stats *st, const char **why)
{
	unsigned char t[FTP_TAG_LEN];

	*why = NULL;
	if (len > FTP_HB_LEN)
		return bad(&st->oversized, why, "heartbeat longer than its size");
	if (len >= 4 && get32(buf) != FTP_HB_MAGIC)
		return bad(&st->garbage, why, "not a kvmft heartbeat (bad magic)");
	if (len < FTP_HB_LEN)
		return bad(&st->truncated, why, "heartbeat shorter than its size");
	if (buf[4] != FTP_HB_VERSION || buf[5] != HB_TYPE || !reserved_zero(buf))
		return bad(&st->bad_version, why, "heartbeat version or type not spoken here");
	hmac256(rx->key, FTP_KEY_LEN, buf, FTP_HB_BODY, t);
	if (!ct_equal(t, buf + FTP_HB_BODY, FTP_TAG_LEN) ||
	    get64(buf + OFF_PAIR) != rx->pair_id)
		return bad(&st->forged, why, "bad tag (wrong key or pair, or forged)");
	fill(buf, hb);
	if (hb->epoch < rx->epoch || (hb->epoch == rx->epoch && hb->seq <= rx->seq))
		return bad(&st->replayed, why, "(epoch, seq) not above the last one (replayed)");
	rx->epoch = hb->epoch;
	rx->seq = hb->seq;
	return 0;
}
