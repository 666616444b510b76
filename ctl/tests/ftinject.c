// SPDX-License-Identifier: GPL-2.0
/*
 * Sends bad input to an ftd, for netns_test.sh: the kinds of frame the
 * logging channel must refuse and count, and the kinds of heartbeat.
 *   ftinject chan HOST PORT KEYFILE garbage|truncated|oversized|forged|replayed|version|flood
 *   ftinject hb HOST PORT KEYFILE PAIR_ID garbage|truncated|oversized|forged|replayed
 * Exit 0 once sent and (for the channel) the daemon closed the
 * connection, 1 otherwise.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"
#include "proto.h"

static unsigned char psk[FTP_KEY_LEN];
static unsigned char buf[FTP_HDR_LEN + FTP_MAX_PAYLOAD + FTP_TAG_LEN + 16];

static int dial(const char *host, int port, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("ftinject: connect");
		exit(1);
	}
	return fd;
}

/* Waits up to 3 s for the daemon to close the connection. */
static int chan_frame(const char *host, int port, const char *mode);

static int closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char junk[4096];

	while (poll(&p, 1, 3000) == 1)
		if (read(fd, junk, sizeof(junk)) <= 0)
			return 0;
	fprintf(stderr, "ftinject: the connection stayed open\n");
	return 1;
}

static size_t hello(struct ftp_dir *d, unsigned char *nonce, unsigned char *out)
{
	struct ftp_hello h = { .proto_min = FTP_PROTO_MIN, .proto_max = FTP_PROTO_MAX,
			       .host = "ftinject" };
	unsigned char p[FTP_HELLO_LEN];

	memcpy(h.nonce, nonce, FTP_NONCE_LEN);
	ftp_key_hello(psk, d->key);
	d->seq = 1;
	return ftp_encode(d, FTP_HELLO, p, ftp_hello_encode(&h, false, p), out);
}

/* A full handshake, then the same session frame twice. */
static int replay(int fd)
{
	unsigned char nc[FTP_NONCE_LEN] = "inject nonce...";
	struct ftp_dir tx, rx = { .seq = 1 };
	struct ftp_stats st = { 0 };
	struct ftp_hello h;
	struct ftp_frame f;
	size_t n = hello(&tx, nc, buf), used, need, have = 0;
	const char *why;
	ssize_t r;

	if (write(fd, buf, n) != (ssize_t)n)
		return 1;
	ftp_key_hello(psk, rx.key);
	for (;;) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			return 1;
		have += r;
		if (ftp_decode(&rx, buf, have, &f, &used, &need, &st, &why) == FTP_OK)
			break;
	}
	if (f.type != FTP_HELLO_ACK || ftp_hello_decode(&f, &h))
		return 1;
	ftp_key_session(psk, true, nc, h.nonce, tx.key);
	tx.seq = 2;
	n = ftp_encode(&tx, FTP_PING, NULL, 0, buf);
	memcpy(buf + n, buf, n);	/* the same frame again */
	return write(fd, buf, 2 * n) != (ssize_t)(2 * n);
}

/*
 * 64 idle connections at once: the daemon must close those past its cap
 * on connections still in their handshake, at once.
 */
static int flood(const char *host, int port)
{
	struct pollfd p[64];
	int closed = 0;
	char c;

	for (int i = 0; i < 64; i++)
		p[i] = (struct pollfd){ .fd = dial(host, port, SOCK_STREAM), .events = POLLIN };
	usleep(500 * 1000);
	poll(p, 64, 0);
	for (int i = 0; i < 64; i++) {
		closed += (p[i].revents & POLLIN) && read(p[i].fd, &c, 1) == 0;
		close(p[i].fd);
	}
	fprintf(stderr, "ftinject: %d of 64 connections closed at once\n", closed);
	return closed >= 64 - 32 ? 0 : 1;
}

static int chan(const char *host, int port, const char *mode)
{
	if (!strcmp(mode, "flood"))
		return flood(host, port);
	return chan_frame(host, port, mode);
}

static int chan_frame(const char *host, int port, const char *mode)
{
	unsigned char nc[FTP_NONCE_LEN] = { 1 };
	int fd = dial(host, port, SOCK_STREAM);
	struct ftp_dir d;
	size_t n = hello(&d, nc, buf);

	if (!strcmp(mode, "garbage")) {
		n = snprintf((char *)buf, 64, "GET / HTTP/1.0\r\n\r\n");
	} else if (!strcmp(mode, "truncated")) {
		if (write(fd, buf, n / 2) < 0)
			return 1;
		close(fd);		/* the daemon sees half a frame, then EOF */
		return 0;
	} else if (!strcmp(mode, "oversized")) {
		put32(buf + 8, FTP_MAX_PAYLOAD + 1);
		n = FTP_HDR_LEN;
	} else if (!strcmp(mode, "forged")) {
		buf[n - 1] ^= 1;
	} else if (!strcmp(mode, "version")) {
		buf[4] = FTP_FRAME_VERSION + 1;
	} else if (!strcmp(mode, "replayed")) {
		if (replay(fd))
			return 1;
		return closed_by_peer(fd);
	} else {
		fprintf(stderr, "ftinject: unknown mode %s\n", mode);
		return 1;
	}
	if (write(fd, buf, n) != (ssize_t)n)
		return 1;
	return closed_by_peer(fd);
}

static int hb(const char *host, int port, const char *pair, const char *mode)
{
	struct ftp_hb h = { .host_id = 9, .epoch = 1, .seq = 1 };
	unsigned char key[FTP_KEY_LEN], d[FTP_HB_LEN + 1] = { 0 };
	int fd = dial(host, port, SOCK_DGRAM);
	size_t n = FTP_HB_LEN;

	h.pair_id = strtoull(pair, NULL, 16);
	ftp_key_hb(psk, h.pair_id, key);
	ftp_hb_encode(key, &h, d);
	if (!strcmp(mode, "garbage"))
		memcpy(d, "garbage!", 8);
	else if (!strcmp(mode, "truncated"))
		n--;
	else if (!strcmp(mode, "oversized"))
		n++;
	else if (!strcmp(mode, "forged"))
		d[FTP_HB_LEN - 1] ^= 1;
	else if (strcmp(mode, "replayed"))	/* epoch 1: long past */
		return fprintf(stderr, "ftinject: unknown mode %s\n", mode), 1;
	return send(fd, d, n, 0) != (ssize_t)n;
}

static void load_key(const char *file)
{
	char text[200] = "";
	FILE *f = fopen(file, "r");

	if (!f || !fgets(text, sizeof(text), f) || !conf_parse_key(text, psk)) {
		fprintf(stderr, "ftinject: cannot read the key in %s\n", file);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "chan")) {
		load_key(argv[4]);
		return chan(argv[2], atoi(argv[3]), argv[5]);
	}
	if (argc == 7 && !strcmp(argv[1], "hb")) {
		load_key(argv[4]);
		return hb(argv[2], atoi(argv[3]), argv[5], argv[6]);
	}
	fprintf(stderr, "usage: ftinject chan HOST PORT KEYFILE MODE | hb HOST PORT KEYFILE PAIR_ID MODE\n");
	return 1;
}
