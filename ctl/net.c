// SPDX-License-Identifier: GPL-2.0
/*
 * The sockets ftd listens on, at one port: TCP for the logging channel,
 * UDP for heartbeats. Without a key nothing listens: no key, no pairing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "ftdlog.h"
#include "pair.h"

static int tcp_fd = -1, udp_fd = -1;
static int udp_family;

/* conf.listen as an address; empty means any (IPv6 and IPv4). */
static int bind_addr(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!conf.listen[0] || inet_pton(AF_INET6, conf.listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(conf.port);
		if (!conf.listen[0])
			in6->sin6_addr = in6addr_any;
		*len = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, conf.listen, &in->sin_addr) != 1)
		return -1;
	in->sin_family = AF_INET;
	in->sin_port = htons(conf.port);
	*len = sizeof(*in);
	return 0;
}

static int open_sock(int type, char *err, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (bind_addr(&ss, &sl))
		return snprintf(err, len, "listen = %s is not an address", conf.listen), -1;
	udp_family = ss.ss_family;
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snprintf(err, len, "socket: %s", strerror(errno)), -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) ||
	    (type == SOCK_STREAM && listen(fd, 16))) {
		snprintf(err, len, "%s port %u: %s", type == SOCK_STREAM ? "TCP" : "UDP",
			 conf.port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_accept(void *arg, int fd, short revents)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	int c;

	(void)arg, (void)revents;
	c = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (!chan_accept(c, &sa, &server_chan_ops, NULL))
		flog(LOG_WARNING, "channel: out of memory for a new connection");
}

static void on_datagram(void *arg, int fd, short revents)
{
	unsigned char buf[FTP_HB_LEN + 64];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)arg, (void)revents;
	/* MSG_TRUNC: n is the datagram's real size, even past buf. */
	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl)) >= 0) {
		hb_on_datagram(buf, n, &from);
		fl = sizeof(from);
	}
}

int net_start(char *err, size_t len)
{
	tcp_fd = open_sock(SOCK_STREAM, err, len);
	if (tcp_fd < 0)
		return -1;
	udp_fd = open_sock(SOCK_DGRAM, err, len);
	if (udp_fd < 0) {
		close(tcp_fd);
		return -1;
	}
	loop_add(tcp_fd, POLLIN, on_accept, NULL);
	loop_add(udp_fd, POLLIN, on_datagram, NULL);
	return 0;
}

void net_send_hb(struct pair *p, const unsigned char *d, size_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&p->hb_addr;
	struct sockaddr_in6 m = { .sin6_family = AF_INET6 };

	if (udp_fd < 0 || !p->hb_len)
		return;
	if (udp_family == AF_INET6 && in->sin_family == AF_INET) {
		/* A dual-stack socket sends to IPv4 through a mapped address. */
		m.sin6_port = in->sin_port;
		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		sendto(udp_fd, d, len, MSG_DONTWAIT, (struct sockaddr *)&m, sizeof(m));
		return;
	}
	sendto(udp_fd, d, len, MSG_DONTWAIT, (struct sockaddr *)&p->hb_addr, p->hb_len);
}
