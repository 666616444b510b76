// SPDX-License-Identifier: GPL-2.0
/*
 * Frames of the logging channel (proto.h): keys, encoding, the checks a
 * frame passes before anything reads its payload, and the payloads.
 * Checks run cheapest first and the tag before the sequence number, so
 * a forged frame is counted as forged, not as a replay.
 */
#include <string.h>

#include "proto.h"

static void derive(const unsigned char psk[FTP_KEY_LEN], const char *label,
		   const void *a, size_t alen, const void *b, size_t blen,
		   unsigned char out[FTP_KEY_LEN])
{
	struct hmac256 h;

	hmac256_init(&h, psk, FTP_KEY_LEN);
	hmac256_update(&h, label, strlen(label) + 1);
	if (alen)
		hmac256_update(&h, a, alen);
	if (blen)
		hmac256_update(&h, b, blen);
	hmac256_final(&h, out);
}

void ftp_key_hello(const unsigned char psk[FTP_KEY_LEN],
		   unsigned char out[FTP_KEY_LEN])
{
	derive(psk, "kvmft channel hello v1", NULL, 0, NULL, 0, out);
}

void ftp_key_session(const unsigned char psk[FTP_KEY_LEN], bool c2s,
		     const unsigned char nc[FTP_NONCE_LEN],
		     const unsigned char ns[FTP_NONCE_LEN],
		     unsigned char out[FTP_KEY_LEN])
{
	derive(psk, c2s ? "kvmft channel c2s v1" : "kvmft channel s2c v1",
	       nc, FTP_NONCE_LEN, ns, FTP_NONCE_LEN, out);
}

void ftp_key_hb(const unsigned char psk[FTP_KEY_LEN], uint64_t pair_id,
		unsigned char out[FTP_KEY_LEN])
{
	unsigned char id[8];

	put64(id, pair_id);
	derive(psk, "kvmft heartbeat v1", id, sizeof(id), NULL, 0, out);
}

static void tag(const unsigned char key[FTP_KEY_LEN], const unsigned char *p,
		size_t n, unsigned char out[FTP_TAG_LEN])
{
	hmac256(key, FTP_KEY_LEN, p, n, out);
}

size_t ftp_encode(struct ftp_dir *d, uint8_t type, const void *payload,
		  uint32_t len, unsigned char *out)
{
	put32(out, FTP_MAGIC);
	out[4] = FTP_FRAME_VERSION;
	out[5] = type;
	put16(out + 6, 0);
	put32(out + 8, len);
	put32(out + 12, 0);
	put64(out + 16, d->seq++);
	if (len)
		memmove(out + FTP_HDR_LEN, payload, len);
	tag(d->key, out, FTP_HDR_LEN + len, out + FTP_HDR_LEN + len);
	return ftp_frame_size(len);
}

static int bad(uint64_t *counter, const char **why, const char *what)
{
	(*counter)++;
	*why = what;
	return FTP_BAD;
}

/* What the header alone can tell. */
static int check_header(const unsigned char *buf, struct ftp_frame *f,
			struct ftp_stats *st, const char **why)
{
	if (get32(buf) != FTP_MAGIC)
		return bad(&st->garbage, why, "not a kvmft frame (bad magic)");
	if (buf[4] != FTP_FRAME_VERSION)
		return bad(&st->bad_version, why, "frame version not spoken here");
	f->type = buf[5];
	f->flags = get16(buf + 6);
	f->len = get32(buf + 8);
	f->seq = get64(buf + 16);
	if (f->len > FTP_MAX_PAYLOAD)
		return bad(&st->oversized, why, "frame longer than the maximum");
	if (!f->type || f->type >= __FTP_TYPE_LAST || f->flags || get32(buf + 12))
		return bad(&st->bad_version, why, "unknown frame type or flags");
	return FTP_OK;
}

int ftp_decode(struct ftp_dir *d, const unsigned char *buf, size_t len,
	       struct ftp_frame *f, size_t *used, size_t *need,
	       struct ftp_stats *st, const char **why)
{
	unsigned char t[FTP_TAG_LEN];
	size_t total;
	int ret;

	*used = 0;
	*need = FTP_HDR_LEN;
	*why = NULL;
	/* Garbage is told apart as soon as it cannot be a frame's start. */
	if (len >= 4 && get32(buf) != FTP_MAGIC)
		return bad(&st->garbage, why, "not a kvmft frame (bad magic)");
	if (len < FTP_HDR_LEN)
		return FTP_MORE;
	ret = check_header(buf, f, st, why);
	if (ret != FTP_OK)
		return ret;
	total = ftp_frame_size(f->len);
	*need = total;
	if (len < total)
		return FTP_MORE;
	tag(d->key, buf, FTP_HDR_LEN + f->len, t);
	if (!ct_equal(t, buf + FTP_HDR_LEN + f->len, FTP_TAG_LEN))
		return bad(&st->forged, why, "bad tag (wrong key, or forged)");
	if (f->seq != d->seq)
		return bad(&st->replayed, why, "sequence number not the next one (replayed)");
	d->seq++;
	f->payload = buf + FTP_HDR_LEN;
	*used = total;
	return FTP_OK;
}

void ftp_stream_end(size_t pending, struct ftp_stats *st)
{
	if (pending)
		st->truncated++;
}

/* Copies a NUL-padded name field; false unless it holds a NUL. */
static bool get_name(char *dst, const unsigned char *src)
{
	if (!memchr(src, 0, FTP_NAME_LEN))
		return false;
	memcpy(dst, src, FTP_NAME_LEN);
	return true;
}

static void put_name(unsigned char *dst, const char *src)
{
	size_t n = strnlen(src, FTP_NAME_LEN - 1);

	memset(dst, 0, FTP_NAME_LEN);
	memcpy(dst, src, n);
}

size_t ftp_hello_encode(const struct ftp_hello *h, bool ack, unsigned char *out)
{
	unsigned char *p = out;

	put16(p, h->proto_min);
	put16(p + 2, h->proto_max);
	put16(p + 4, ack ? h->proto : 0);
	put16(p + 6, 0);
	put32(p + 8, h->module_version);
	put32(p + 12, h->host_id);
	memcpy(p + 16, h->nonce, FTP_NONCE_LEN);
	memset(p + 16 + FTP_NONCE_LEN, 0, FTP_NONCE_LEN);
	if (ack)
		memcpy(p + 16 + FTP_NONCE_LEN, h->echo, FTP_NONCE_LEN);
	put_name(p + 16 + 2 * FTP_NONCE_LEN, h->host);
	return FTP_HELLO_LEN;
}

/* Payloads may grow: a newer peer's longer one is read as far as known. */
int ftp_hello_decode(const struct ftp_frame *f, struct ftp_hello *h)
{
	const unsigned char *p = f->payload;

	if (f->len < FTP_HELLO_LEN || get16(p + 6))
		return -1;
	h->proto_min = get16(p);
	h->proto_max = get16(p + 2);
	h->proto = get16(p + 4);
	h->module_version = get32(p + 8);
	h->host_id = get32(p + 12);
	memcpy(h->nonce, p + 16, FTP_NONCE_LEN);
	memcpy(h->echo, p + 16 + FTP_NONCE_LEN, FTP_NONCE_LEN);
	if (!get_name(h->host, p + 16 + 2 * FTP_NONCE_LEN))
		return -1;
	return h->proto_min <= h->proto_max ? 0 : -1;
}

size_t ftp_pair_encode(const struct ftp_pair *pr, unsigned char *out)
{
	put32(out, pr->flags);
	put32(out + 4, pr->host_id);
	put64(out + 8, pr->pair_id);
	put64(out + 16, pr->session);
	put64(out + 24, pr->gen);
	put64(out + 32, pr->next_rec);
	put64(out + 40, pr->area);
	put32(out + 48, pr->hb_interval_ms);
	put32(out + 52, pr->hb_timeout_ms);
	put32(out + 56, pr->port);
	put_name(out + 60, pr->vm);
	return FTP_PAIR_LEN;
}

int ftp_pair_decode(const struct ftp_frame *f, struct ftp_pair *pr)
{
	const unsigned char *p = f->payload;

	if (f->len < FTP_PAIR_LEN)
		return -1;
	pr->flags = get32(p);
	pr->host_id = get32(p + 4);
	pr->pair_id = get64(p + 8);
	pr->session = get64(p + 16);
	pr->gen = get64(p + 24);
	pr->next_rec = get64(p + 32);
	pr->area = get64(p + 40);
	pr->hb_interval_ms = get32(p + 48);
	pr->hb_timeout_ms = get32(p + 52);
	pr->port = get32(p + 56);
	if (!get_name(pr->vm, p + 60))
		return -1;
	return pr->flags & ~__FTP_PAIR_F_ALL || pr->port > 65535 ? -1 : 0;
}

size_t ftp_ack_encode(const struct ftp_ack *a, unsigned char *out)
{
	put64(out, a->held);
	put64(out + 8, a->replayed);
	return FTP_ACK_LEN;
}

int ftp_ack_decode(const struct ftp_frame *f, struct ftp_ack *a)
{
	if (f->len < FTP_ACK_LEN)
		return -1;
	a->held = get64(f->payload);
	a->replayed = get64(f->payload + 8);
	return 0;
}

size_t ftp_error_encode(uint32_t code, const char *text, unsigned char *out)
{
	size_t n = strnlen(text, FTP_TEXT_MAX);

	put32(out, code);
	memcpy(out + 4, text, n);
	return 4 + n;
}

/* The text is the peer's: kept printable, so logs cannot be forged. */
int ftp_error_decode(const struct ftp_frame *f, struct ftp_error *e)
{
	size_t n;

	if (f->len < 4 || f->len > 4 + FTP_TEXT_MAX)
		return -1;
	e->code = get32(f->payload);
	n = f->len - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = f->payload[4 + i];

		e->text[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	e->text[n] = '\0';
	return 0;
}

int ftp_log_decode(const struct ftp_frame *f, uint64_t *first,
		   const unsigned char **recs, size_t *len)
{
	if (f->len < 8)
		return -1;
	*first = get64(f->payload);
	*recs = f->payload + 8;
	*len = f->len - 8;
	return *first ? 0 : -1;
}

const char *ftp_type_name(unsigned int type)
{
	static const char *const names[] = {
		[FTP_HELLO] = "HELLO", [FTP_HELLO_ACK] = "HELLO_ACK",
		[FTP_ERROR] = "ERROR", [FTP_PAIR] = "PAIR",
		[FTP_PAIR_OK] = "PAIR_OK", [FTP_LOG] = "LOG", [FTP_ACK] = "ACK",
		[FTP_UNPAIR] = "UNPAIR", [FTP_PING] = "PING",
	};

	return type < __FTP_TYPE_LAST && names[type] ? names[type] : "?";
}

const char *ftp_err_name(unsigned int code)
{
	static const char *const names[] = {
		[FTP_E_PROTO] = "protocol version", [FTP_E_MODULE] = "module version",
		[FTP_E_IDENTITY] = "VM identity", [FTP_E_BUSY] = "already paired",
		[FTP_E_STATE] = "wrong state", [FTP_E_INTERNAL] = "internal error",
		[FTP_E_AUTH] = "authentication", [FTP_E_ARB] = "arbitration area",
	};

	return code < __FTP_E_LAST && names[code] ? names[code] : "unknown";
}
