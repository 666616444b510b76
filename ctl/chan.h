/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One logging-channel connection (proto.h over TCP): non-blocking
 * connect or accept, the HELLO handshake with its version checks, then
 * authenticated frames both ways through buffers the event loop drains.
 * A bad frame closes the connection: a stream cannot resynchronise.
 */
#ifndef FT_CHAN_H
#define FT_CHAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"
#include "proto.h"

enum chan_state { CH_CONNECTING, CH_HELLO, CH_UP };

struct chan;

struct chan_ops {
	void (*up)(struct chan *ch);	/* the handshake is done */
	void (*frame)(struct chan *ch, const struct ftp_frame *f);
	/* The connection is gone, why says why; ch is freed after this. */
	void (*closed)(struct chan *ch, const char *why);
};

/* What this host says in its HELLO; set once by ftd. */
struct chan_local {
	const unsigned char *psk;
	const char *host;
	uint32_t host_id;
	uint32_t module_version;
	uint16_t proto_min, proto_max;
	struct ftp_stats *stats;	/* frames thrown away, all connections */
};

extern struct chan_local chan_local;

struct chan {
	int fd;
	bool client;
	bool closing;		/* refused: closes once the ERROR is out */
	bool dead;		/* closed; freed when its callback returns */
	int busy;		/* inside its own callback */
	bool hold_rx;		/* not reading: the receiver is full */
	enum chan_state state;
	struct ftp_dir tx, rx;
	unsigned char mine[FTP_NONCE_LEN], theirs[FTP_NONCE_LEN];
	struct ftp_hello peer;	/* the peer's HELLO or HELLO_ACK */
	uint16_t proto;		/* agreed version */
	char name[80];		/* "address:port" of the peer */
	unsigned char *rbuf;
	size_t rlen;
	unsigned char *wbuf;
	size_t wlen, wcap;
	bool counted;		/* among the connections not yet paired */
	uint64_t last_rx_ms;	/* any good frame */
	uint64_t frames_rx, frames_tx, bytes_rx, bytes_tx;
	struct timer deadline;	/* connect and handshake */
	const struct chan_ops *ops;
	void *owner;
};

/* The connection now belongs to a pair: no longer among the unpaired. */
void chan_adopted(struct chan *ch);
/* Starts connecting to host:port; NULL with err on an immediate failure. */
struct chan *chan_connect(const char *host, uint16_t port,
			  const struct chan_ops *ops, void *owner,
			  char *err, size_t len);
/* Takes an accepted socket. */
struct chan *chan_accept(int fd, const struct sockaddr_storage *sa,
			 const struct chan_ops *ops, void *owner);

/* Queues a frame; -1 (and the channel closes) if the buffer is full. */
int chan_send(struct chan *ch, uint8_t type, const void *payload, uint32_t len);
/*
 * Room for a frame of up to max payload bytes, written in place (no
 * copy): returns where the payload goes, or NULL if the buffer has no
 * room now. chan_commit() then seals it with its real length.
 */
unsigned char *chan_reserve(struct chan *ch, uint32_t max);
void chan_commit(struct chan *ch, uint8_t type, uint32_t len);
/* Stops (true) or restarts reading: the receiver's backpressure. */
void chan_hold_rx(struct chan *ch, bool hold);
/* Bytes waiting to be sent. */
size_t chan_queued(const struct chan *ch);
/* Closes once what is queued is out, or in a second at most. */
void chan_close_soon(struct chan *ch);
/* Sends ERROR(code, text), then closes once it is out (or soon). */
void chan_refuse(struct chan *ch, uint32_t code, const char *text);
/*
 * Closes now: ops->closed(why), then frees (once its own callback, if
 * it is in one, returns). Do not touch ch after this.
 */
void chan_close(struct chan *ch, const char *why);

#endif
