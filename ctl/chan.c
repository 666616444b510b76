// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>

#include "chan.h"
#include "ftdlog.h"
#include "util.h"

#define RBUF_LEN	ftp_frame_size(FTP_MAX_PAYLOAD)
#define WBUF_MIN	(64 * 1024)
#define WBUF_LEN	(8 * 1024 * 1024)
#define HANDSHAKE_MS	5000
#define MAX_UNPAIRED	32	/* connections not yet a pair's, at once */

struct chan_local chan_local;
static int unpaired;

static void on_io(void *arg, int fd, short revents);
static void parse(struct chan *ch);
static void chan_free(struct chan *ch);

static void addr_name(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		/* An IPv4 peer on a dual-stack socket: show it as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
	}
	snprintf(buf, len, "%s:%u", host, port);
}

static void on_deadline(void *arg)
{
	struct chan *ch = arg;

	chan_close(ch, ch->closing ? "closed" : ch->state == CH_CONNECTING ?
		   "connecting timed out" : "the handshake timed out");
}

static struct chan *chan_new(int fd, bool client, const struct chan_ops *ops,
			     void *owner)
{
	struct chan *ch = calloc(1, sizeof(*ch));
	int one = 1;

	if (!ch)
		return NULL;
	ch->rbuf = malloc(RBUF_LEN);
	ch->wbuf = malloc(WBUF_MIN);
	ch->wcap = WBUF_MIN;
	if (!ch->rbuf || !ch->wbuf || loop_add(fd, POLLIN, on_io, ch) ||
	    getrandom(ch->mine, FTP_NONCE_LEN, 0) != FTP_NONCE_LEN) {
		free(ch->rbuf);
		free(ch->wbuf);
		free(ch);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ch->fd = fd;
	ch->client = client;
	ch->ops = ops;
	ch->owner = owner;
	/* HELLO and its answer are keyed with the pre-shared key alone. */
	ftp_key_hello(chan_local.psk, ch->tx.key);
	ftp_key_hello(chan_local.psk, ch->rx.key);
	ch->tx.seq = ch->rx.seq = 1;
	timer_init(&ch->deadline, on_deadline, ch);
	timer_arm_in(&ch->deadline, HANDSHAKE_MS);
	return ch;
}

static void hello_fill(struct ftp_hello *h, const unsigned char *echo,
		       uint16_t proto)
{
	memset(h, 0, sizeof(*h));
	h->proto_min = chan_local.proto_min;
	h->proto_max = chan_local.proto_max;
	h->proto = proto;
	h->module_version = chan_local.module_version;
	h->host_id = chan_local.host_id;
	if (echo)
		memcpy(h->echo, echo, FTP_NONCE_LEN);
	snprintf(h->host, sizeof(h->host), "%s", chan_local.host);
}

static void send_hello(struct chan *ch)
{
	unsigned char p[FTP_HELLO_LEN];
	struct ftp_hello h;

	hello_fill(&h, ch->client ? NULL : ch->theirs, ch->proto);
	memcpy(h.nonce, ch->mine, FTP_NONCE_LEN);
	chan_send(ch, ch->client ? FTP_HELLO : FTP_HELLO_ACK, p,
		  ftp_hello_encode(&h, !ch->client, p));
}

struct chan *chan_connect(const char *host, uint16_t port,
			  const struct chan_ops *ops, void *owner,
			  char *err, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char service[8];
	struct chan *ch;
	int fd, ret;

	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &ai);
	if (ret)
		return snprintf(err, len, "%s: %s", host, gai_strerror(ret)), NULL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)) {
		snprintf(err, len, "connect to %s:%u: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	ch = chan_new(fd, true, ops, owner);
	if (ch) {
		addr_name((const struct sockaddr_storage *)ai->ai_addr, ch->name,
			  sizeof(ch->name));
		loop_set_events(fd, POLLOUT);
	} else {
		close(fd);
		snprintf(err, len, "out of memory");
	}
	freeaddrinfo(ai);
	return ch;
}

struct chan *chan_accept(int fd, const struct sockaddr_storage *sa,
			 const struct chan_ops *ops, void *owner)
{
	struct chan *ch;

	/* Handshakes are cheap to start: a flood of them is bounded. */
	if (unpaired >= MAX_UNPAIRED) {
		close(fd);
		return NULL;
	}
	ch = chan_new(fd, false, ops, owner);
	if (!ch) {
		close(fd);
		return NULL;
	}
	addr_name(sa, ch->name, sizeof(ch->name));
	ch->state = CH_HELLO;
	ch->counted = true;
	unpaired++;
	return ch;
}

void chan_adopted(struct chan *ch)
{
	if (ch->counted)
		unpaired--;
	ch->counted = false;
}

size_t chan_queued(const struct chan *ch)
{
	return ch->wlen;
}

static void want_write(struct chan *ch)
{
	if (ch->state != CH_CONNECTING && !ch->dead)
		loop_set_events(ch->fd, (ch->hold_rx || ch->closing ? 0 : POLLIN) |
				(ch->wlen ? POLLOUT : 0));
}

void chan_hold_rx(struct chan *ch, bool hold)
{
	ch->hold_rx = hold;
	want_write(ch);
	if (!hold && ch->rlen && !ch->busy) {
		ch->busy++;	/* frames read while held are still waiting */
		parse(ch);
		ch->busy--;
		if (ch->dead)
			chan_free(ch);
	}
}

unsigned char *chan_reserve(struct chan *ch, uint32_t max)
{
	size_t need = ch->wlen + ftp_frame_size(max), cap = ch->wcap;
	unsigned char *nb;

	if (ch->closing || need > WBUF_LEN)
		return NULL;
	while (cap < need)
		cap *= 2;
	if (cap != ch->wcap) {
		nb = realloc(ch->wbuf, cap);
		if (!nb)
			return NULL;
		ch->wbuf = nb;
		ch->wcap = cap;
	}
	return ch->wbuf + ch->wlen + FTP_HDR_LEN;
}

void chan_commit(struct chan *ch, uint8_t type, uint32_t len)
{
	unsigned char *out = ch->wbuf + ch->wlen;

	ch->wlen += ftp_encode(&ch->tx, type, out + FTP_HDR_LEN, len, out);
	ch->frames_tx++;
	want_write(ch);
}

int chan_send(struct chan *ch, uint8_t type, const void *payload, uint32_t len)
{
	unsigned char *p = chan_reserve(ch, len);

	if (!p) {
		if (!ch->closing)
			chan_close(ch, "send buffer full");
		return -1;
	}
	if (len)
		memcpy(p, payload, len);
	chan_commit(ch, type, len);
	return 0;
}

void chan_close_soon(struct chan *ch)
{
	ch->closing = true;	/* closes once flushed, or at the deadline */
	timer_arm_in(&ch->deadline, 1000);
	shutdown(ch->fd, SHUT_RD);
	if (!ch->wlen)
		chan_close(ch, "closed");
	else
		want_write(ch);
}

void chan_refuse(struct chan *ch, uint32_t code, const char *text)
{
	unsigned char p[4 + FTP_TEXT_MAX];

	flog(LOG_WARNING, "channel %s: refused: %s", ch->name, text);
	chan_send(ch, FTP_ERROR, p, ftp_error_encode(code, text, p));
	chan_close_soon(ch);
}

static void go_up(struct chan *ch)
{
	ftp_key_session(chan_local.psk, ch->client, ch->client ? ch->mine : ch->theirs,
			ch->client ? ch->theirs : ch->mine, ch->tx.key);
	ftp_key_session(chan_local.psk, !ch->client, ch->client ? ch->mine : ch->theirs,
			ch->client ? ch->theirs : ch->mine, ch->rx.key);
	ch->state = CH_UP;
	timer_cancel(&ch->deadline);
	if (ch->ops->up)
		ch->ops->up(ch);
}

/* The versions both sides speak; 0 if none. */
static uint16_t common_proto(const struct ftp_hello *h)
{
	uint16_t hi = h->proto_max < chan_local.proto_max ? h->proto_max : chan_local.proto_max;
	uint16_t lo = h->proto_min > chan_local.proto_min ? h->proto_min : chan_local.proto_min;

	return hi >= lo ? hi : 0;
}

/* Why a HELLO is refused, or NULL. */
static const char *hello_problem(struct chan *ch, char *buf, size_t len,
				 uint32_t *code)
{
	const struct ftp_hello *h = &ch->peer;

	*code = FTP_E_PROTO;
	if (!common_proto(h))
		return snprintf(buf, len, "no common protocol version: host %s speaks %u..%u, host %s speaks %u..%u",
				chan_local.host, chan_local.proto_min, chan_local.proto_max,
				h->host, h->proto_min, h->proto_max), buf;
	*code = FTP_E_MODULE;
	if (h->module_version != chan_local.module_version)
		return snprintf(buf, len, "kvmft module versions differ: host %s has %u, host %s has %u (0: simulated VMs)",
				chan_local.host, chan_local.module_version, h->host,
				h->module_version), buf;
	return NULL;
}

static void on_hello(struct chan *ch, const struct ftp_frame *f)
{
	char why[300];
	uint32_t code;

	if (f->type != FTP_HELLO || ftp_hello_decode(f, &ch->peer)) {
		chan_local.stats->malformed++;
		chan_close(ch, "the first frame is not a good HELLO");
		return;
	}
	memcpy(ch->theirs, ch->peer.nonce, FTP_NONCE_LEN);
	if (hello_problem(ch, why, sizeof(why), &code)) {
		chan_refuse(ch, code, why);
		return;
	}
	ch->proto = common_proto(&ch->peer);
	send_hello(ch);
	go_up(ch);
}

static void on_hello_ack(struct chan *ch, const struct ftp_frame *f)
{
	struct ftp_error e;
	char why[400];
	uint32_t code;

	if (f->type == FTP_ERROR && !ftp_error_decode(f, &e)) {
		snprintf(why, sizeof(why), "refused by the peer (%s): %s",
			 ftp_err_name(e.code), e.text);
		chan_close(ch, why);
		return;
	}
	if (f->type != FTP_HELLO_ACK || ftp_hello_decode(f, &ch->peer) ||
	    memcmp(ch->peer.echo, ch->mine, FTP_NONCE_LEN)) {
		chan_local.stats->malformed++;
		chan_close(ch, "the peer's answer is not a good HELLO_ACK for this connection");
		return;
	}
	memcpy(ch->theirs, ch->peer.nonce, FTP_NONCE_LEN);
	if (hello_problem(ch, why, sizeof(why), &code) || ch->peer.proto != common_proto(&ch->peer)) {
		chan_close(ch, hello_problem(ch, why, sizeof(why), &code) ?: "the peer chose a protocol version we do not speak");
		return;
	}
	ch->proto = ch->peer.proto;
	go_up(ch);
}

/* A frame that fails before the handshake: tell the two key cases apart. */
static void handshake_bad(struct chan *ch, const char *why)
{
	char buf[300];

	if (ch->client && strstr(why, "bad tag")) {
		chan_close(ch, "the peer's answer fails authentication: the two hosts have different keys (key_file)");
		return;
	}
	if (!ch->client && strstr(why, "bad tag")) {
		flog(LOG_WARNING, "channel %s: HELLO fails authentication: a wrong key, or forged", ch->name);
		chan_refuse(ch, FTP_E_AUTH, "authentication failed");
		return;
	}
	snprintf(buf, sizeof(buf), "bad frame during the handshake: %s", why);
	chan_close(ch, buf);
}

/* Handles every whole frame in rbuf, until the channel closes. */
static void parse(struct chan *ch)
{
	struct ftp_frame f;
	size_t used, need, off = 0;
	const char *why;
	char buf[300];
	int r = FTP_MORE;

	while (!ch->dead && !ch->closing && !ch->hold_rx &&
	       (r = ftp_decode(&ch->rx, ch->rbuf + off, ch->rlen - off, &f, &used,
			       &need, chan_local.stats, &why)) == FTP_OK) {
		off += used;
		ch->frames_rx++;
		ch->last_rx_ms = ft_now_ms();
		if (ch->state == CH_HELLO && !ch->client)
			on_hello(ch, &f);
		else if (ch->state == CH_HELLO)
			on_hello_ack(ch, &f);
		else
			ch->ops->frame(ch, &f);
	}
	if (ch->dead || ch->closing)
		return;
	if (ch->hold_rx && r == FTP_OK)
		r = FTP_MORE;
	if (r == FTP_BAD) {
		if (ch->state != CH_UP)
			handshake_bad(ch, why);
		else
			chan_close(ch, (snprintf(buf, sizeof(buf), "bad frame: %s", why), buf));
		return;
	}
	memmove(ch->rbuf, ch->rbuf + off, ch->rlen - off);
	ch->rlen -= off;
}

static void do_read(struct chan *ch)
{
	ssize_t n;

	if (ch->rlen == RBUF_LEN)	/* held with a full buffer: later */
		return;
	n = read(ch->fd, ch->rbuf + ch->rlen, RBUF_LEN - ch->rlen);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ftp_stream_end(ch->rlen, chan_local.stats);
		chan_close(ch, n ? strerror(errno) : ch->rlen ?
			   "the peer closed the connection inside a frame (truncated)" :
			   "the peer closed the connection");
		return;
	}
	ch->rlen += n;
	ch->bytes_rx += n;
	parse(ch);
}

static void do_write(struct chan *ch)
{
	ssize_t n = write(ch->fd, ch->wbuf, ch->wlen);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		chan_close(ch, strerror(errno));
		return;
	}
	memmove(ch->wbuf, ch->wbuf + n, ch->wlen - n);
	ch->wlen -= n;
	ch->bytes_tx += n;
	if (!ch->wlen && ch->closing)
		chan_close(ch, "refused");
	else
		want_write(ch);
}

static void connected(struct chan *ch)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char why[200];

	getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		chan_close(ch, why);
		return;
	}
	ch->state = CH_HELLO;
	send_hello(ch);
}

static void chan_free(struct chan *ch)
{
	chan_adopted(ch);
	free(ch->rbuf);
	free(ch->wbuf);
	free(ch);
}

static void on_io(void *arg, int fd, short revents)
{
	struct chan *ch = arg;

	(void)fd;
	ch->busy++;
	if (ch->state == CH_CONNECTING && revents)
		connected(ch);
	else if (ch->closing && revents & (POLLHUP | POLLERR))
		chan_close(ch, "closed");
	else if (!ch->closing && revents & (POLLIN | POLLHUP | POLLERR))
		do_read(ch);
	if (!ch->dead && revents & POLLOUT && ch->state != CH_CONNECTING)
		do_write(ch);
	ch->busy--;
	if (ch->dead)
		chan_free(ch);
}

void chan_close(struct chan *ch, const char *why)
{
	if (ch->dead)
		return;
	ch->dead = true;
	timer_cancel(&ch->deadline);
	loop_del(ch->fd);
	close(ch->fd);
	if (ch->ops->closed)
		ch->ops->closed(ch, why);
	if (!ch->busy)
		chan_free(ch);
}
