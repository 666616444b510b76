/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The listener behind `ftctl events` and ftd: joined to the events group
 * first (ftnl_join_events), it dumps the VMs, then hands every event to a
 * callback in the order evq.h describes. If notifications are lost (the
 * socket's buffer overran) it says so and dumps again.
 */
#ifndef FT_EVENTS_H
#define FT_EVENTS_H

#include "evq.h"
#include "nl.h"
#include "vm.h"

struct ftev_ops {
	/* Each event in order; a non-zero return ends ftev_run (FTEV_STOP). */
	int (*event)(const struct ftvm *vm, void *arg);
	/* Notifications were lost; EXISTS events from a new dump follow. */
	void (*lost)(void *arg);
};

enum {
	FTEV_STOP = 1,		/* the event callback asked to stop */
	FTEV_SIGNAL,		/* SIGINT or SIGTERM; *signo says which */
	FTEV_TIMEOUT,		/* timeout_ms passed */
	FTEV_GONE,		/* the kvmft family was unregistered */
};

/*
 * The listener itself, for a caller with its own poll loop (ftd):
 * start, then on each POLLIN of ftnl_fd() call ftev_listen_read(), then
 * ftev_listen_deliver(), which says how long until a held event is due.
 * Both return 0, FTEV_STOP, FTEV_GONE or a negative errno.
 */
struct ftev_listener {
	struct ftnl *nl;
	struct evq q;
	uint32_t dump_seq;
	bool dumping;
	bool lost;		/* notifications lost: dump again */
	bool gone;
	int err;
};

int ftev_listen_start(struct ftev_listener *l, struct ftnl *nl);
int ftev_listen_read(struct ftev_listener *l, const struct ftev_ops *ops,
		     void *arg);
int ftev_listen_deliver(struct ftev_listener *l, const struct ftev_ops *ops,
			void *arg, int *wait_ms);
void ftev_listen_free(struct ftev_listener *l);

/*
 * Runs until one of the FTEV_ reasons above, or a negative errno (with
 * nl->ext_msg) if the dump or the socket failed. timeout_ms < 0: none.
 * SIGINT and SIGTERM are blocked while it runs and taken through a
 * signalfd, so they end it cleanly.
 */
int ftev_run(struct ftnl *nl, const struct ftev_ops *ops, void *arg,
	     int timeout_ms, int *signo);

#endif
