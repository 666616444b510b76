/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A protected VM's pair, as one of its two ftd sees it (docs/channel.md):
 *  pair.c      setting it up and taking it down, the PAIR handshake on
 *              both sides, status;
 *  ship.c      the log: read, shipped in batches and kept until acked
 *              (primary); written to the module and acked (backup); the
 *              lag bound that slows and then stalls the primary;
 *  failover.c  heartbeats, the watch for a lost peer, arbitration, and
 *              what its outcome makes of the VM (live, or stopped).
 */
#ifndef FT_PAIR_H
#define FT_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "arbiter.h"
#include "chan.h"
#include "config.h"
#include "json.h"
#include "vmif.h"

enum pair_state {
	PS_PAIRING,		/* primary: asking the disk, connecting, PAIR sent */
	PS_PRIMARY,		/* paired: recording and shipping */
	PS_BACKUP,		/* paired: replaying */
	PS_ARBITRATING,		/* the peer is lost: asking the disk */
	PS_LIVE,		/* won: runs alone, unprotected */
	PS_HALTED,		/* lost, or an unpaired backup: VM stopped */
	PS_UNPAIRING,		/* primary: winning the generation to run alone */
};

struct ctl_client;

struct pair {
	struct ftd_vm *vm;
	enum pair_state state;
	bool primary;			/* our side, as paired */
	char peer[128];			/* host as given, or the connecting address */
	uint16_t port;
	struct sockaddr_storage hb_addr;
	socklen_t hb_len;
	char peer_name[64];
	uint32_t peer_host_id;
	uint64_t pair_id, session, gen, area;
	char disk[256];
	char why[400];			/* the last reason the state changed */
	struct chan *ch;
	bool resuming;			/* primary: reconnecting after a drop */
	/* Primary: its ftd restarted and took the module's session up again. */
	bool restarted;
	struct timer resume_timer;	/* retries RESUME while a reader is open */
	uint64_t resume_start_ms;

	/* Log positions (record sequence numbers). */
	uint64_t sent, acked;		/* primary */
	uint64_t held, replayed;	/* backup; acked copies of them too */
	bool slowed, stalled;
	uint64_t stalls;		/* times the lag reached lag_stall */

	/* Primary: records read, not yet acked, for a resend after a drop. */
	unsigned char *keep;
	size_t nkeep, capkeep;
	uint64_t keep_first;		/* sequence of the first kept record */
	size_t nship;			/* bytes of keep already queued on ch */
	unsigned char part[KVMFT_REC_MAX_LEN];	/* a record read in part */
	size_t npart;

	/* Backup: records received, not yet taken by the module. */
	unsigned char *pend;
	size_t npend, cappend;
	size_t wdone;			/* bytes of pend the module has */

	/* Heartbeats. */
	struct ftp_hb_rx hbrx;
	uint64_t hb_seq, hb_sent, hb_got;
	uint64_t hb_rx_ms;		/* last good heartbeat */
	uint64_t peer_gen;		/* the generation its heartbeats carry */
	struct timer hb_timer, retry_timer, pump_timer, deadline, arb_retry;

	/* Arbitration. */
	struct arbiter arb;
	uint64_t arb_start_ms, arb_ms;	/* when, and how long the last took */
	uint64_t lost_ms;		/* when the peer was found lost */
	uint32_t arb_tries;
	bool promote_asked;		/* by ftctl promote */
	bool halting;			/* we are stopping the VM ourselves */

	struct ctl_client *waiter;	/* ftctl pair/unpair/promote, waiting */
	struct pair *next;
};

extern struct pair *pairs;
extern struct ftd_conf conf;
extern struct ftp_stats stats_chan, stats_hb;
extern uint64_t ftd_epoch;		/* when this ftd started, ms: rises */
extern bool ftd_exiting;		/* pairs are freed, not ended */

const char *pair_state_name(enum pair_state s);
struct pair *pair_find_id(uint64_t pair_id);
/* Sets the state, says why as an event, answers a waiting ftctl. */
void pair_set_state(struct pair *p, enum pair_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* pairstate.c: pairs kept in state_dir across an ftd restart. */
void pair_save(const struct pair *p);
void pair_unsave(const struct pair *p);
void pair_state_load(void);		/* at start */
void pair_state_vm(struct ftd_vm *vm);	/* a VM the module shows */
/* For pairstate.c: a pair made again, and its backup side going on. */
struct pair *pair_restored(struct ftd_vm *vm, bool primary, uint64_t pair_id);
void pair_resume_backup(struct pair *p);
/* Primary: connect again with PAIR(RESUME) (retried every 200 ms). */
void pair_reconnect(struct pair *p);
void pair_set_hb(struct pair *p, const char *addr, uint32_t port);
/* Answers the ftctl waiting on p, if any. */
void pair_answer(struct pair *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Frees the pair (its VM stays). */
void pair_free(struct pair *p);
/* The frames of a paired channel (both sides). */
extern const struct chan_ops pair_chan_ops;
/* A channel whose peer has not said PAIR yet (server side). */
extern const struct chan_ops server_chan_ops;

/* Control requests (ctlsock.c); each answers c now or later. */
void pair_cmd_pair(struct ctl_client *c, struct ftd_vm *vm, const char *peer);
void pair_cmd_unpair(struct ctl_client *c, struct ftd_vm *vm);
void pair_cmd_promote(struct ctl_client *c, struct ftd_vm *vm);
void pair_cmd_reconnect(struct ctl_client *c, struct ftd_vm *vm);
void pair_status_json(struct json *j, const struct ftd_vm *vm);

/* ship.c */
void ship_init(struct pair *p);		/* at creation */
void ship_start(struct pair *p);	/* once paired (either side) */
void ship_stop(struct pair *p);
void ship_on_log(struct pair *p, const struct ftp_frame *f);
void ship_on_ack(struct pair *p, const struct ftp_frame *f);
/* Primary, its VM gone: ship all its log still holds, then close. */
void ship_flush_close(struct pair *p, const char *why);
/* Primary, after a reconnect: send again from record next. */
void ship_resume(struct pair *p, uint64_t next);
/* Backup: a new connection; drop what the module has not taken. */
void ship_reset_backup(struct pair *p);
uint64_t ship_lag(const struct pair *p);
/* Backup: the record it wants next. */
uint64_t ship_next_rec(const struct pair *p);

/* failover.c */
void failover_init(struct pair *p);	/* at creation */
void hb_start(struct pair *p);
void hb_stop(struct pair *p);
void hb_on_datagram(const unsigned char *buf, size_t len,
		    const struct sockaddr_storage *from);
/* Starts (or retries) arbitration for the next generation. */
void failover_arbitrate(struct pair *p, const char *why);
/* Our VM went away (its VMM exited, or we stopped it). */
void failover_vm_gone(struct pair *p);
/* The peer's side of the pair ended; ours follows. */
void failover_peer_unpaired(struct pair *p);
/* A restarted primary finds that another host won while it was down. */
void failover_overtaken(struct pair *p, const struct arb_view *v);
/* net.c: the TCP listener and the heartbeat socket. */
int net_start(char *err, size_t len);
void net_send_hb(struct pair *p, const unsigned char *d, size_t len);
/* announce.c: gratuitous ARP and RARP for the VM's MAC. */
int announce_mac(const unsigned char mac[6], const char *dev, char *err,
		 size_t len);

#endif
