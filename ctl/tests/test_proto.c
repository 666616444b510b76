// SPDX-License-Identifier: GPL-2.0
/*
 * The peer protocol's parsers (frame.c, hb.c): what they accept, and
 * that garbage, truncated, replayed, forged, reflected and oversized
 * frames and heartbeats are refused and counted under their reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

static unsigned char psk[FTP_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static unsigned char nc[FTP_NONCE_LEN] = "client nonce 16", ns[FTP_NONCE_LEN] = "server nonce 16";
static unsigned char wire[4 * 1024 * 1024];

/* The two ends of one direction of a connection. */
static void dirs(struct ftp_dir *tx, struct ftp_dir *rx, bool c2s,
		 const unsigned char *n_c, const unsigned char *n_s)
{
	ftp_key_session(psk, c2s, n_c, n_s, tx->key);
	memcpy(rx->key, tx->key, FTP_KEY_LEN);
	tx->seq = rx->seq = 2;
}

static int decode_all(struct ftp_dir *rx, const unsigned char *buf, size_t len,
		      struct ftp_frame *f, struct ftp_stats *st, const char **why)
{
	size_t used, need;

	return ftp_decode(rx, buf, len, f, &used, &need, st, why);
}

static void round_trip(void)
{
	struct ftp_hello h = { .proto_min = 1, .proto_max = 1, .module_version = 1,
			       .host_id = 2, .host = "hostb" }, h2;
	struct ftp_pair p = { .flags = FTP_PAIR_F_RESUME, .host_id = 1, .pair_id = 77,
			      .session = 0x1122334455667788ull, .gen = 9, .next_rec = 5,
			      .area = 1234, .hb_interval_ms = 100, .hb_timeout_ms = 600, .port = 7788,
			      .vm = "3f1c2a9e-0000-4000-8000-000000000001" }, p2;
	unsigned char payload[FTP_PAIR_LEN + 64];
	struct ftp_dir tx, rx;
	struct ftp_stats st = { 0 };
	struct ftp_frame f;
	struct ftp_ack a = { 10, 7 }, a2;
	struct ftp_error e;
	const char *why;
	size_t n, off = 0, used, need;
	int got = 0;

	/* memcmp below stops before the trailing padding, which is the stack's. */
	memset(&p2, 0, sizeof(p2));
	dirs(&tx, &rx, true, nc, ns);
	memcpy(h.nonce, nc, FTP_NONCE_LEN);
	memcpy(h.echo, ns, FTP_NONCE_LEN);
	n = ftp_hello_encode(&h, true, payload);
	off += ftp_encode(&tx, FTP_HELLO_ACK, payload, n, wire + off);
	n = ftp_pair_encode(&p, payload);
	off += ftp_encode(&tx, FTP_PAIR, payload, n, wire + off);
	n = ftp_ack_encode(&a, payload);
	off += ftp_encode(&tx, FTP_ACK, payload, n, wire + off);
	n = ftp_error_encode(FTP_E_BUSY, "VM x is paired with host c", payload);
	off += ftp_encode(&tx, FTP_ERROR, payload, n, wire + off);
	off += ftp_encode(&tx, FTP_PING, NULL, 0, wire + off);

	/* One byte at a time: MORE until each frame is whole. */
	for (size_t have = 0, start = 0; start < off;) {
		have++;
		int r = ftp_decode(&rx, wire + start, have, &f, &used, &need, &st, &why);

		if (r == FTP_BAD)
			break;
		if (r == FTP_MORE)
			continue;
		got++;
		if (f.type == FTP_HELLO_ACK)
			got += !ftp_hello_decode(&f, &h2) && h2.proto == 0 &&
			       !strcmp(h2.host, "hostb") && h2.host_id == 2 &&
			       !memcmp(h2.echo, ns, FTP_NONCE_LEN) ? 0 : 100;
		if (f.type == FTP_PAIR)
			got += !ftp_pair_decode(&f, &p2) &&
			       !memcmp(&p, &p2, offsetof(struct ftp_pair, vm) + sizeof(p.vm)) ?
			       0 : 100;
		if (f.type == FTP_ACK)
			got += !ftp_ack_decode(&f, &a2) && a2.held == 10 && a2.replayed == 7 ? 0 : 100;
		if (f.type == FTP_ERROR)
			got += !ftp_error_decode(&f, &e) && e.code == FTP_E_BUSY &&
			       !strcmp(e.text, "VM x is paired with host c") ? 0 : 100;
		start += used;
		have = 0;
	}
	ok(got == 5 && !memcmp(&st, &(struct ftp_stats){ 0 }, sizeof(st)),
	   "HELLO_ACK, PAIR, ACK, ERROR, PING round-trip, fed a byte at a time (%d)", got);
	ok(rx.seq == 7, "the receiver expects sequence 7 next");
}

static void rejected(void)
{
	struct ftp_dir tx, rx, other_tx, other_rx;
	struct ftp_stats st = { 0 };
	struct ftp_frame f;
	const char *why;
	unsigned char frame[256];
	size_t n;

	dirs(&tx, &rx, true, nc, ns);
	n = ftp_encode(&tx, FTP_PING, "hello", 5, frame);
	memcpy(wire, "GET / HTTP/1.0\r\n\r\n", 18);
	ok(decode_all(&rx, wire, 18, &f, &st, &why) == FTP_BAD && st.garbage == 1,
	   "garbage: refused, counted");
	ok(decode_all(&rx, frame, n - 1, &f, &st, &why) == FTP_MORE,
	   "a frame short of one byte waits for more");
	ftp_stream_end(n - 1, &st);
	ok(st.truncated == 1, "... and counts as truncated when the stream ends there");
	frame[FTP_HDR_LEN] ^= 1;
	ok(decode_all(&rx, frame, n, &f, &st, &why) == FTP_BAD && st.forged == 1,
	   "a payload bit flipped: forged");
	frame[FTP_HDR_LEN] ^= 1;
	frame[n - 1] ^= 0x80;
	ok(decode_all(&rx, frame, n, &f, &st, &why) == FTP_BAD && st.forged == 2,
	   "a tag bit flipped: forged");
	frame[n - 1] ^= 0x80;
	ok(decode_all(&rx, frame, n, &f, &st, &why) == FTP_OK, "the intact frame passes");
	ok(decode_all(&rx, frame, n, &f, &st, &why) == FTP_BAD && st.replayed == 1,
	   "the same frame again: replayed");

	/* A frame of another connection (other nonces) fails its tag. */
	dirs(&other_tx, &other_rx, true, ns, nc);
	n = ftp_encode(&other_tx, FTP_PING, NULL, 0, frame);
	ok(decode_all(&rx, frame, n, &f, &st, &why) == FTP_BAD && st.forged == 3,
	   "a frame recorded on another connection: forged");
	/* Reflected: a c2s frame sent back to the client's s2c side. */
	dirs(&other_tx, &other_rx, false, nc, ns);
	other_rx.seq = tx.seq - 1;
	n = ftp_encode(&tx, FTP_PING, NULL, 0, frame);
	ok(decode_all(&other_rx, frame, n, &f, &st, &why) == FTP_BAD && st.forged == 4,
	   "a frame reflected to its sender: forged");
	/* Oversized: refused from the header, before the payload arrives. */
	put32(frame + 8, FTP_MAX_PAYLOAD + 1);
	ok(decode_all(&rx, frame, FTP_HDR_LEN, &f, &st, &why) == FTP_BAD &&
	   st.oversized == 1, "a length above the maximum: oversized, from the header alone");
	put32(frame + 8, 0);
	frame[4] = 2;
	ok(decode_all(&rx, frame, FTP_HDR_LEN, &f, &st, &why) == FTP_BAD &&
	   st.bad_version == 1, "frame version 2: refused as a version");
	frame[4] = 1;
	frame[5] = __FTP_TYPE_LAST;
	ok(decode_all(&rx, frame, FTP_HDR_LEN, &f, &st, &why) == FTP_BAD &&
	   st.bad_version == 2, "an unknown frame type: refused");
	ok(st.garbage == 1 && st.truncated == 1 && st.replayed == 1,
	   "each reason counted once where it happened");
}

static struct ftp_frame frame_of(const void *p, uint32_t len)
{
	return (struct ftp_frame){ .payload = p, .len = len };
}

static void payloads(void)
{
	unsigned char b[FTP_PAIR_LEN + 32] = { 0 };
	struct ftp_hello h;
	struct ftp_pair p;
	struct ftp_error e;
	struct ftp_ack a;
	struct ftp_frame f;
	const unsigned char *recs;
	uint64_t first;
	size_t len;

	f = frame_of(b, FTP_HELLO_LEN - 1);
	ok(ftp_hello_decode(&f, &h), "HELLO one byte short: malformed");
	memset(b, 'x', sizeof(b));
	put16(b, 1), put16(b + 2, 1), put16(b + 6, 0);
	f = frame_of(b, FTP_HELLO_LEN);
	ok(ftp_hello_decode(&f, &h), "HELLO whose host name has no NUL: malformed");
	memset(b + 16 + 2 * FTP_NONCE_LEN, 0, FTP_NAME_LEN);
	ok(!ftp_hello_decode(&f, &h), "... with the NUL: good");
	put16(b, 3);
	ok(ftp_hello_decode(&f, &h), "HELLO with min version above max: malformed");
	put16(b, 1);
	f = frame_of(b, FTP_HELLO_LEN + 20);
	ok(!ftp_hello_decode(&f, &h), "a longer HELLO (a newer peer's) is read as far as known");
	memset(b, 0, sizeof(b));
	f = frame_of(b, FTP_PAIR_LEN);
	ok(!ftp_pair_decode(&f, &p), "an all-zero PAIR parses");
	put32(b, 0x80);
	ok(ftp_pair_decode(&f, &p), "PAIR with an unknown flag: malformed");
	f = frame_of(b, FTP_ACK_LEN - 1);
	ok(ftp_ack_decode(&f, &a), "ACK one byte short: malformed");
	memcpy(b, "\0\0\0\1bad\nline\033[31m", 17);
	f = frame_of(b, 17);
	ok(!ftp_error_decode(&f, &e) && !strcmp(e.text, "bad?line?[31m"),
	   "ERROR text: control characters replaced (%s)", e.text);
	f = frame_of(b, 4 + FTP_TEXT_MAX + 1);
	ok(ftp_error_decode(&f, &e), "ERROR text longer than %d: malformed", FTP_TEXT_MAX);
	memset(b, 0, 8);
	f = frame_of(b, 8);
	ok(ftp_log_decode(&f, &first, &recs, &len), "LOG starting at record 0: malformed");
	b[7] = 5;
	ok(!ftp_log_decode(&f, &first, &recs, &len) && first == 5 && len == 0,
	   "LOG starting at record 5, no records");
}

static void heartbeats(void)
{
	struct ftp_hb hb = { .host_id = 2, .interval_ms = 100, .pair_id = 42,
			     .epoch = 3, .seq = 10, .sent = 5, .acked = 4, .gen = 7,
			     .echo = 9, .role = 2, .state = 1 }, out;
	struct ftp_hb_rx rx = { .pair_id = 42 };
	struct ftp_stats st = { 0 };
	unsigned char d[FTP_HB_LEN + 8], key[FTP_KEY_LEN];
	uint64_t pair;
	const char *why;

	memset(&out, 0, sizeof(out));
	ftp_key_hb(psk, 42, rx.key);
	ftp_key_hb(psk, 42, key);
	ftp_hb_encode(key, &hb, d);
	ok(ftp_hb_peek(d, FTP_HB_LEN, &pair) && pair == 42, "peek finds the pair id");
	ok(!ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) &&
	   out.host_id == 2 && out.interval_ms == 100 && out.pair_id == 42 &&
	   out.epoch == 3 && out.seq == 10 && out.sent == 5 && out.acked == 4 &&
	   out.gen == 7 && out.echo == 9 && out.role == 2 && out.state == 1,
	   "a heartbeat round-trips");
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.replayed == 1,
	   "the same datagram again: replayed");
	hb.seq = 9;
	ftp_hb_encode(key, &hb, d);
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.replayed == 2,
	   "an older seq: replayed");
	hb.epoch = 4, hb.seq = 1;
	ftp_hb_encode(key, &hb, d);
	ok(!ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why),
	   "a new epoch (the sender restarted) starts again at seq 1");
	hb.epoch = 3, hb.seq = 1000;
	ftp_hb_encode(key, &hb, d);
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.replayed == 3,
	   "an older epoch, whatever its seq: replayed");
	hb.epoch = 4, hb.seq = 2;
	ftp_hb_encode(key, &hb, d);
	d[40] ^= 1;
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.forged == 1,
	   "a bit flipped: forged");
	ftp_key_hb(psk, 43, key);
	ftp_hb_encode(key, &hb, d);
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.forged == 2,
	   "another pair's key: forged");
	ftp_key_hb(psk, 42, key);
	ftp_hb_encode(key, &hb, d);
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN - 1, &out, &st, &why) && st.truncated == 1,
	   "one byte short: truncated");
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN + 1, &out, &st, &why) && st.oversized == 1,
	   "one byte long: oversized");
	d[0] ^= 0xff;
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.garbage == 1,
	   "bad magic: garbage");
	d[0] ^= 0xff;
	d[4] = 9;
	ok(ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && st.bad_version == 1,
	   "version 9: refused as a version");
	d[4] = FTP_HB_VERSION;
	ok(!ftp_hb_decode(&rx, d, FTP_HB_LEN, &out, &st, &why) && out.seq == 2,
	   "after all that, the next good heartbeat passes");
}

int main(void)
{
	tap_plan(40);
	round_trip();
	rejected();
	payloads();
	heartbeats();
	return tap_done();
}
