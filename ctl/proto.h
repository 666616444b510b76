/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol between two ftd: the logging channel (TCP) and the
 * heartbeats (UDP). This header is their contract, as kvmft.h is the
 * module's; docs/channel.md explains it. Everything on the wire is
 * big-endian. Numbers are only ever appended.
 *
 * Logging channel: a stream of frames,
 *   header (FTP_HDR_LEN) | payload (len bytes) | HMAC-SHA256 tag (32)
 * the tag covering header and payload. Each direction numbers its frames
 * from 1, with no gaps: any other sequence number is a replay. HELLO and
 * HELLO_ACK (sequence 1) are keyed with a key derived from the pre-shared
 * key alone; every later frame with a per-connection key derived from
 * both HELLOs' random nonces, one per direction, so a frame recorded on
 * one connection fails on any other, and a frame reflected back to its
 * sender fails too. The server acts on nothing before the client's first
 * frame under the connection key, which proves it is not a replay.
 *
 * Heartbeat: one fixed-size datagram (struct ftp_hb) with its tag, keyed
 * with a key derived from the pre-shared key and the pair's random id;
 * (epoch, seq) must rise, epoch being the sender's restart count.
 */
#ifndef FT_PROTO_H
#define FT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define FTP_MAGIC		0x4b465431u	/* "KFT1" */
#define FTP_FRAME_VERSION	1	/* the frame layout */
#define FTP_PROTO_MIN		1	/* protocol versions this ftd speaks */
#define FTP_PROTO_MAX		1
#define FTP_HDR_LEN		24
#define FTP_TAG_LEN		SHA256_LEN
#define FTP_MAX_PAYLOAD		(256 * 1024)
#define FTP_NONCE_LEN		16
#define FTP_NAME_LEN		64	/* host names, VM identities: NUL-padded */
#define FTP_TEXT_MAX		256	/* ERROR text */
#define FTP_KEY_LEN		32
#define FTP_PORT		7788	/* TCP channel and UDP heartbeats */

enum ftp_type {
	FTP_HELLO = 1,		/* client -> server: who I am, nonce */
	FTP_HELLO_ACK,		/* server -> client: who I am, nonce, echo */
	FTP_ERROR,		/* either: why I refuse; then close */
	FTP_PAIR,		/* client -> server: be the backup of this VM */
	FTP_PAIR_OK,		/* server -> client: I am */
	FTP_LOG,		/* primary -> backup: records */
	FTP_ACK,		/* backup -> primary: what I hold */
	FTP_UNPAIR,		/* either: the pair ends */
	FTP_PING,		/* either: keeps an idle channel observed */
	__FTP_TYPE_LAST
};

/* ERROR codes: the cause, for the peer to name. */
enum ftp_err {
	FTP_E_PROTO = 1,	/* no common protocol version */
	FTP_E_MODULE,		/* kvmft module versions differ or missing */
	FTP_E_IDENTITY,		/* no VM here with that identity */
	FTP_E_BUSY,		/* that VM is already paired (second primary) */
	FTP_E_STATE,		/* not now: wrong role, arbitration lost, ... */
	FTP_E_INTERNAL,
	FTP_E_AUTH,		/* the HELLO failed its tag: keys differ */
	FTP_E_ARB,		/* no arbitration area for the VM, or another */
	__FTP_E_LAST
};

/* Counters of frames and datagrams thrown away, by reason. */
struct ftp_stats {
	uint64_t garbage;	/* bad magic */
	uint64_t bad_version;	/* frame version or type unknown */
	uint64_t truncated;	/* connection ended inside a frame; short datagram */
	uint64_t oversized;	/* length above the maximum */
	uint64_t forged;	/* tag does not match */
	uint64_t replayed;	/* sequence not the next one, or not rising */
	uint64_t malformed;	/* authentic, but the payload does not parse */
};

/* Decoded frame; payload points into the caller's buffer. */
struct ftp_frame {
	uint8_t type;
	uint16_t flags;
	uint64_t seq;
	uint32_t len;
	const unsigned char *payload;
};

/* One direction of a connection: the key and the next sequence. */
struct ftp_dir {
	unsigned char key[FTP_KEY_LEN];
	uint64_t seq;		/* the next frame's */
};

/* frame.c */
void ftp_key_hello(const unsigned char psk[FTP_KEY_LEN],
		   unsigned char out[FTP_KEY_LEN]);
/* c2s: the client's direction. */
void ftp_key_session(const unsigned char psk[FTP_KEY_LEN], bool c2s,
		     const unsigned char nc[FTP_NONCE_LEN],
		     const unsigned char ns[FTP_NONCE_LEN],
		     unsigned char out[FTP_KEY_LEN]);
void ftp_key_hb(const unsigned char psk[FTP_KEY_LEN], uint64_t pair_id,
		unsigned char out[FTP_KEY_LEN]);

/* Bytes a frame of len payload bytes takes on the wire. */
static inline size_t ftp_frame_size(size_t len)
{
	return FTP_HDR_LEN + len + FTP_TAG_LEN;
}

/*
 * Writes a frame into out (ftp_frame_size(len) bytes) and advances
 * d->seq. payload may be NULL with len 0.
 */
size_t ftp_encode(struct ftp_dir *d, uint8_t type, const void *payload,
		  uint32_t len, unsigned char *out);

enum {
	FTP_MORE = 0,		/* a frame is not complete yet */
	FTP_OK = 1,		/* *f is a frame; *used bytes consumed */
	FTP_BAD = -1,		/* the stream is bad: count it, close it */
};

/*
 * Looks for one frame at the start of buf[0..len). On FTP_MORE, *need
 * says how many bytes the frame needs in all, once known (else the
 * header's). On FTP_BAD, the counter is raised and why names the
 * reason; the connection cannot resynchronise and must be closed.
 */
int ftp_decode(struct ftp_dir *d, const unsigned char *buf, size_t len,
	       struct ftp_frame *f, size_t *used, size_t *need,
	       struct ftp_stats *st, const char **why);

/* The connection ended with pending bytes of a frame: counts it. */
void ftp_stream_end(size_t pending, struct ftp_stats *st);

/* The payloads. Decoders return 0 or -1 (count as malformed). */
struct ftp_hello {
	uint16_t proto_min, proto_max;
	uint16_t proto;		/* HELLO_ACK: the version chosen */
	uint32_t module_version;	/* KVMFT_GENL_VERSION, 0: no module */
	uint32_t host_id;	/* arbitration slot */
	unsigned char nonce[FTP_NONCE_LEN];
	unsigned char echo[FTP_NONCE_LEN];	/* HELLO_ACK: the client's */
	char host[FTP_NAME_LEN];
};

struct ftp_pair {
	uint32_t flags;		/* FTP_PAIR_F_ */
	uint32_t host_id;	/* the primary's arbitration slot */
	uint64_t pair_id;	/* random, names the pair; keys heartbeats */
	uint64_t session;	/* the primary's log session */
	uint64_t gen;		/* arbitration generation the pair runs in */
	uint64_t next_rec;	/* PAIR_OK: the record the backup wants next */
	uint64_t area;		/* the arbitration area's creation stamp */
	uint32_t hb_interval_ms;
	uint32_t hb_timeout_ms;
	uint32_t port;		/* the sender's heartbeat (and channel) port */
	char vm[FTP_NAME_LEN];	/* identity both QEMUs were started with */
};

#define FTP_PAIR_F_RESUME	1u	/* the pair exists: reconnect only */
#define __FTP_PAIR_F_ALL	FTP_PAIR_F_RESUME

struct ftp_ack {
	uint64_t held;		/* highest record sequence written to the module */
	uint64_t replayed;	/* records the backup's vCPU consumed */
};

struct ftp_error {
	uint32_t code;		/* enum ftp_err */
	char text[FTP_TEXT_MAX + 1];
};

size_t ftp_hello_encode(const struct ftp_hello *h, bool ack, unsigned char *out);
int ftp_hello_decode(const struct ftp_frame *f, struct ftp_hello *h);
size_t ftp_pair_encode(const struct ftp_pair *p, unsigned char *out);
int ftp_pair_decode(const struct ftp_frame *f, struct ftp_pair *p);
size_t ftp_ack_encode(const struct ftp_ack *a, unsigned char *out);
int ftp_ack_decode(const struct ftp_frame *f, struct ftp_ack *a);
size_t ftp_error_encode(uint32_t code, const char *text, unsigned char *out);
int ftp_error_decode(const struct ftp_frame *f, struct ftp_error *e);
/* LOG: 8 bytes of the first record's sequence, then whole records. */
int ftp_log_decode(const struct ftp_frame *f, uint64_t *first,
		   const unsigned char **recs, size_t *len);
#define FTP_HELLO_LEN	(2 + 2 + 2 + 2 + 4 + 4 + 2 * FTP_NONCE_LEN + FTP_NAME_LEN)
#define FTP_PAIR_LEN	(4 + 4 + 8 * 5 + 4 + 4 + 4 + FTP_NAME_LEN)
#define FTP_ACK_LEN	16

const char *ftp_type_name(unsigned int type);
const char *ftp_err_name(unsigned int code);

/* Heartbeats (hb.c). */
#define FTP_HB_MAGIC	0x4b465448u	/* "KFTH" */
#define FTP_HB_VERSION	1
#define FTP_HB_BODY	80
#define FTP_HB_LEN	(FTP_HB_BODY + FTP_TAG_LEN)

struct ftp_hb {
	uint32_t host_id;	/* sender's arbitration slot */
	uint32_t interval_ms;	/* sender's interval */
	uint64_t pair_id;
	uint64_t epoch;		/* sender's restart count: rises */
	uint64_t seq;		/* rises within an epoch */
	uint64_t sent;		/* log positions, as the sender sees them */
	uint64_t acked;
	uint64_t gen;		/* arbitration generation */
	uint64_t echo;		/* the highest seq the sender got from us */
	uint8_t role;		/* enum kvmft_role of the sender's VM */
	uint8_t state;		/* sender's pair state */
};

/* Where the last accepted heartbeat of a peer left (epoch, seq). */
struct ftp_hb_rx {
	unsigned char key[FTP_KEY_LEN];
	uint64_t pair_id;
	uint64_t epoch, seq;
};

void ftp_hb_encode(const unsigned char key[FTP_KEY_LEN],
		   const struct ftp_hb *hb, unsigned char out[FTP_HB_LEN]);
/*
 * The pair id of a datagram, so the receiver can find its key; false if
 * it is too short or not a heartbeat (counted later by ftp_hb_decode).
 */
bool ftp_hb_peek(const unsigned char *buf, size_t len, uint64_t *pair_id);
/*
 * Checks one datagram of len bytes (len > FTP_HB_LEN: oversized) against
 * rx: length, magic, version, tag, then that (epoch, seq) rises. 0 with
 * *hb filled and rx advanced, or -1 with the counter raised and *why.
 */
int ftp_hb_decode(struct ftp_hb_rx *rx, const unsigned char *buf, size_t len,
		  struct ftp_hb *hb, struct ftp_stats *st, const char **why);

/* Big-endian helpers, shared by frame.c and hb.c. */
static inline void put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static inline void put64(unsigned char *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static inline uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

#endif
