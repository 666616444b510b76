/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftd's control socket, which ftctl talks to: a SOCK_SEQPACKET socket
 * (mode 0600, root) where each request is one message of words,
 * "verb key=value ...", and each answer one message whose first line is
 * "<exit code> <message>" followed by the output. `events` stays open
 * and gets one message per event. ctlclient.c is ftctl's side.
 */
#ifndef FT_CTLSOCK_H
#define FT_CTLSOCK_H

#include <stdbool.h>

#define CTL_MSG_MAX	(256 * 1024)

struct pair;

struct ctl_client {
	int fd;
	bool events;		/* subscribed: gets every event */
	bool json;
	struct pair *pair;	/* waiting on this pair's outcome */
	struct ctl_client *next;
};

int ctl_start(const char *path, char *err, size_t len);
void ctl_stop(void);
/* Answers c and closes it. code is an FT_EXIT_ value. */
void ctl_reply(struct ctl_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_reply_body(struct ctl_client *c, int code, const char *msg,
		    const char *body);

/* ftctl's side (ctlclient.c). */
struct ctl_answer {
	int code;
	char *msg;		/* the first line's message */
	char *body;		/* what follows it */
	char *buf;
};

/* The socket ftctl uses: $FTD_SOCKET, else the default. */
const char *ctl_socket_path(void);
/*
 * Sends req to ftd and waits up to timeout_ms (< 0: forever) for the
 * answer. 0, or -1 after saying why (ftd not running...), with *exit set.
 */
int ctl_call(const char *req, int timeout_ms, struct ctl_answer *a, int *exit);
/* True if an ftd answers on the socket (says nothing otherwise). */
bool ctl_ftd_running(void);
void ctl_answer_free(struct ctl_answer *a);
/* For events: connects and sends req; returns the fd or -1 (said why). */
int ctl_open(const char *req, int *exit);

#endif
