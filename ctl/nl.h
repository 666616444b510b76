/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink side of ftctl and ftd, over libnl-genl-3: resolve the
 * "kvmft" family and its events group, send a request and collect its
 * replies, or the errno with the extended-ack message the module attached.
 */
#ifndef FT_NL_H
#define FT_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <linux/kvmft.h>

struct ftnl {
	struct nl_sock *sk;
	int family;		/* genl id of "kvmft" */
	bool kvmft;		/* the family is kvmft (not a test's) */
	int events_grp;		/* multicast group id of "events", or -1 */
	int ctrl_grp;		/* nlctrl "notify" group id, or -1 */
	char ext_msg[256];	/* extended-ack text of the last failure, or "" */
	unsigned char *buf;	/* receive buffer */
};

/*
 * Handler for each message received. Returns 0 to go on, or a negative
 * errno to end the request with that error.
 */
typedef int (*ftnl_cb)(struct nlmsghdr *nlh, void *arg);

/*
 * Opens a socket and resolves the family. Returns 0, -ENOENT when the
 * family is not registered (module not loaded), another -errno otherwise;
 * ext_msg then says what failed.
 */
int ftnl_open(struct ftnl *nl);
/* The same for another family (tests use nlctrl and ethtool). */
int ftnl_open_family(struct ftnl *nl, const char *name);
void ftnl_close(struct ftnl *nl);

/*
 * Joins the "events" group and nlctrl's "notify" group (to see the family
 * go away), and makes the socket non-blocking. Returns 0 or -errno.
 */
int ftnl_join_events(struct ftnl *nl);
int ftnl_fd(const struct ftnl *nl);

/* A new request for cmd; flags are extra NLM_F_ flags (NLM_F_DUMP). */
struct nl_msg *ftnl_msg(struct ftnl *nl, uint8_t cmd, int flags);

/* Sends msg (freeing it); *seq receives its sequence number. 0 or -errno. */
int ftnl_send(struct ftnl *nl, struct nl_msg *msg, uint32_t *seq);

/*
 * Sends msg (freeing it) and calls cb for every reply until the kernel's
 * ack, or NLMSG_DONE for a dump. Returns 0, or -errno with ext_msg set to
 * the extended-ack text ("" if the module sent none).
 */
int ftnl_request(struct ftnl *nl, struct nl_msg *msg, ftnl_cb cb, void *arg);

/*
 * Receives one datagram and calls cb for each message in it, NLMSG_ERROR
 * and NLMSG_DONE included. Returns 1 if a datagram was handled, 0 if there
 * was none (non-blocking socket), -ENOBUFS if notifications were lost,
 * or the first negative value cb returned, or another -errno.
 */
int ftnl_recv(struct ftnl *nl, ftnl_cb cb, void *arg);

/*
 * For NLMSG_ERROR and NLMSG_DONE: returns the errno the message carries as
 * a negative number (0 for an ack) and copies its extended-ack text, if
 * any, to msg: the module's message, or which required attribute was
 * missing (named if nl, which may be NULL, is the kvmft family's).
 */
int ftnl_msg_error(const struct ftnl *nl, const struct nlmsghdr *nlh,
		   char *msg, size_t len);

/* The genl command of a message from the kvmft family, or -1. */
int ftnl_cmd(const struct ftnl *nl, const struct nlmsghdr *nlh);

/*
 * If nlh is nlctrl's notice that the kvmft family was unregistered
 * (module unloaded), returns true.
 */
bool ftnl_family_gone(const struct ftnl *nl, struct nlmsghdr *nlh);

#endif
