// SPDX-License-Identifier: GPL-2.0
/*
 * Failure detection and what follows it. Both sides send a heartbeat
 * every hb_interval_ms; a peer from which neither a heartbeat nor a
 * channel frame came for hb_timeout_ms is lost. Then, and whenever a
 * side would go on without the other (unpair, ftctl promote, a peer
 * that reports a newer generation), it asks the disk for the next
 * generation first: the winner goes live, the loser stops its VM. A disk
 * that cannot be reached decides nothing: nobody goes live, the log says
 * why, and it is asked again every second.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "ctlsock.h"
#include "ftdlog.h"
#include "pair.h"
#include "util.h"

#define ARB_RETRY_MS	1000

static void retry(void *arg);

/* --- Heartbeats. --- */

static void hb_send(struct pair *p)
{
	unsigned char d[FTP_HB_LEN];
	struct ftp_hb hb = {
		.host_id = conf.host_id,
		.interval_ms = conf.hb_interval_ms,
		.pair_id = p->pair_id,
		.epoch = ftd_epoch,
		.seq = ++p->hb_seq,
		.sent = p->primary ? p->sent : p->held,
		.acked = p->primary ? p->acked : p->replayed,
		.gen = p->gen,
		.echo = p->hbrx.seq,
		.role = p->vm->role,
		.state = p->state,
	};

	ftp_hb_encode(p->hbrx.key, &hb, d);
	net_send_hb(p, d, sizeof(d));
	p->hb_sent++;
}

static void hb_tick(void *arg)
{
	struct pair *p = arg;
	uint64_t now = ft_now_ms(), last = p->hb_rx_ms;

	if (p->state != PS_PRIMARY && p->state != PS_BACKUP &&
	    p->state != PS_ARBITRATING && p->state != PS_UNPAIRING)
		return;
	hb_send(p);
	timer_arm_in(&p->hb_timer, conf.hb_interval_ms);
	if (p->ch && p->ch->state == CH_UP && p->ch->last_rx_ms > last)
		last = p->ch->last_rx_ms;
	if ((p->state == PS_PRIMARY || p->state == PS_BACKUP) &&
	    now - last > conf.hb_timeout_ms) {
		char why[200];

		p->lost_ms = now;
		ft_fmt(why, sizeof(why), "no heartbeat or log traffic from %s for %llu ms",
		       p->peer_name, (unsigned long long)(now - last));
		failover_arbitrate(p, why);
	}
}

void failover_init(struct pair *p)
{
	timer_init(&p->hb_timer, hb_tick, p);
	timer_init(&p->arb_retry, retry, p);
}

void hb_start(struct pair *p)
{
	timer_arm_in(&p->hb_timer, 0);
}

void hb_stop(struct pair *p)
{
	timer_cancel(&p->hb_timer);
}

/* Refusals are counted always, logged at most once a second. */
static void refused(const struct sockaddr_storage *from, const char *why)
{
	static uint64_t last;
	uint64_t now = ft_now_ms();
	char name[80];

	if (now - last < 1000)
		return;
	last = now;
	(void)from;
	ft_fmt(name, sizeof(name), "a datagram");
	flog(LOG_WARNING, "heartbeat port: %s refused: %s (counted)", name, why);
}

void hb_on_datagram(const unsigned char *buf, size_t len,
		    const struct sockaddr_storage *from)
{
	struct ftp_hb_rx any = { 0 };
	struct pair *p = NULL;
	struct ftp_hb hb;
	const char *why;
	uint64_t id;

	if (ftp_hb_peek(buf, len, &id))
		p = pair_find_id(id);
	if (!p && getrandom(any.key, sizeof(any.key), 0) < 0)
		return;
	if (ftp_hb_decode(p ? &p->hbrx : &any, buf, len, &hb, &stats_hb, &why)) {
		refused(from, why);
		return;
	}
	p->hb_rx_ms = ft_now_ms();
	p->hb_got++;
	p->peer_gen = hb.gen;
	if (hb.gen > p->gen && (p->state == PS_PRIMARY || p->state == PS_BACKUP)) {
		char msg[160];

		ft_fmt(msg, sizeof(msg), "%s reports generation %llu, above ours (%llu)",
		       p->peer_name, (unsigned long long)hb.gen, (unsigned long long)p->gen);
		failover_arbitrate(p, msg);
	}
}

/* --- Arbitration and its outcome. --- */

static void drop_channel(struct pair *p, bool tell)
{
	if (!p->ch)
		return;
	if (tell && p->ch->state == CH_UP)
		chan_send(p->ch, FTP_UNPAIR, NULL, 0);
	p->ch->owner = NULL;
	if (tell && p->ch->state == CH_UP && chan_queued(p->ch))
		chan_close_soon(p->ch);	/* once the UNPAIR is out */
	else
		chan_close(p->ch, "the pair ended");
	p->ch = NULL;
}

/* Stops our VM; the pair says why itself. */
static void halt(struct pair *p)
{
	p->halting = true;
	if (!p->vm->gone)
		p->vm->ops->halt(p->vm);
}

static void won(struct pair *p, const struct arb_result *r)
{
	char err[300], ann[300] = "";
	bool unpair = p->state == PS_UNPAIRING;

	p->gen = r->gen;
	hb_stop(p);
	ship_stop(p);
	drop_channel(p, true);	/* a live peer learns it lost at once */
	if (p->primary) {
		p->vm->ops->log_close(p->vm);
		pair_set_state(p, PS_LIVE, unpair ?
			       "unpaired at generation %llu (arbitration took %llu ms): the VM runs alone, unprotected" :
			       "won generation %llu in %llu ms: the backup is gone; the VM runs alone, unprotected",
			       (unsigned long long)p->gen, (unsigned long long)p->arb_ms);
		pair_answer(p, FT_EXIT_OK, "%s", p->why);
		if (unpair)
			pair_free(p);
		return;
	}
	if (p->vm->ops->promote(p->vm, err, sizeof(err))) {
		pair_set_state(p, PS_HALTED, "won generation %llu but could not go live: %s", (unsigned long long)p->gen, err);
		pair_answer(p, FT_EXIT_KERNEL, "%s", p->why);
		return;
	}
	if (p->vm->has_mac && conf.announce_dev[0] &&
	    announce_mac(p->vm->mac, conf.announce_dev, err, sizeof(err)))
		ft_fmt(ann, sizeof(ann), "; announcing its MAC failed: %s", err);
	else if (p->vm->has_mac && conf.announce_dev[0])
		ft_fmt(ann, sizeof(ann), "; announced its MAC on %s", conf.announce_dev);
	else
		ft_fmt(ann, sizeof(ann), "; MAC not announced (%s)",
		       p->vm->has_mac ? "no announce_dev configured" : "its MAC is unknown");
	pair_set_state(p, PS_LIVE, "won generation %llu in %llu ms; took the %llu records it held and went live%s",
		       (unsigned long long)p->gen, (unsigned long long)p->arb_ms,
		       (unsigned long long)p->held, ann);
	pair_answer(p, FT_EXIT_OK, "%s", p->why);
}

static void lost(struct pair *p, const struct arb_result *r)
{
	p->gen = r->gen;
	hb_stop(p);
	ship_stop(p);
	drop_channel(p, false);
	halt(p);
	pair_set_state(p, PS_HALTED, "host %s (id %u) won generation %llu: this host's VM is stopped and must not run",
		       r->owner_name, r->owner, (unsigned long long)r->gen);
	pair_answer(p, FT_EXIT_LOST, "%s", p->why);
}

void failover_overtaken(struct pair *p, const struct arb_view *v)
{
	struct arb_result r = { .outcome = ARB_LOST, .gen = v->gen, .owner = v->owner };

	snprintf(r.owner_name, sizeof(r.owner_name), "%s", v->owner_name);
	lost(p, &r);
}

static void retry(void *arg)
{
	failover_arbitrate(arg, "asking again");
}

static void failed(struct pair *p, const struct arbiter_ans *a)
{
	fevent(p->vm->id, "arbitration-failed", "%s: nobody goes live; asking again in %d ms",
	       a->err, ARB_RETRY_MS);
	if (p->promote_asked && p->ch) {
		/* The primary is still there: stay its backup. */
		p->promote_asked = false;
		pair_set_state(p, PS_BACKUP, "promotion failed: %s", a->err);
		pair_answer(p, FT_EXIT_ENV, "promote: %s", a->err);
		return;
	}
	pair_answer(p, FT_EXIT_ENV, "%s: still asking in the background", a->err);
	timer_arm_in(&p->arb_retry, ARB_RETRY_MS);
}

static void on_answer(void *arg, const struct arbiter_ans *a)
{
	struct pair *p = arg;

	p->arb_ms = ft_now_ms() - p->arb_start_ms;
	if (a->ret)
		failed(p, a);
	else if (a->res.outcome == ARB_WON)
		won(p, &a->res);
	else
		lost(p, &a->res);
}

void failover_arbitrate(struct pair *p, const char *why)
{
	struct arbiter_req r = { .acquire = true, .ndisks = 1 };
	struct arbiter_ans e;

	if (p->state != PS_PRIMARY && p->state != PS_BACKUP &&
	    p->state != PS_ARBITRATING && p->state != PS_UNPAIRING)
		return;
	if (arbiter_busy(&p->arb)) {
		timer_arm_in(&p->arb_retry, 100);
		return;
	}
	if (p->state == PS_PRIMARY || p->state == PS_BACKUP)
		pair_set_state(p, PS_ARBITRATING, "%s: asking %s for generation %llu",
			       why, p->disk, (unsigned long long)(p->gen + 1));
	if (!p->promote_asked) {
		/* Nothing more crosses: the primary's VM waits, outputs stay held. */
		drop_channel(p, false);
		ship_stop(p);
	}
	snprintf(r.disks[0], sizeof(r.disks[0]), "%s", p->disk);
	r.host_id = conf.host_id;
	snprintf(r.host, sizeof(r.host), "%s", conf.host_name);
	snprintf(r.vm, sizeof(r.vm), "%s", p->vm->ident);
	r.base = p->gen;
	r.timeout_ms = conf.arb_timeout_ms;
	p->arb_start_ms = ft_now_ms();
	p->arb_tries++;
	if (arbiter_start(&p->arb, &r, on_answer, p, &e))
		failed(p, &e);
}

void failover_peer_unpaired(struct pair *p)
{
	/* Both sides are asking the disk: its answer decides, not this. */
	if (p->state == PS_ARBITRATING)
		return;
	drop_channel(p, false);
	if (!p->primary) {
		hb_stop(p);
		ship_stop(p);
		halt(p);
		pair_set_state(p, PS_HALTED, "the primary (%s) ended the pair: this backup's VM is stopped; a backup never runs on its own",
			       p->peer_name);
		return;
	}
	failover_arbitrate(p, "the backup left the pair");
}

void failover_vm_gone(struct pair *p)
{
	if (p->halting || p->state == PS_HALTED || p->state == PS_LIVE)
		return;
	hb_stop(p);
	if (p->primary && p->state == PS_PRIMARY)
		ship_flush_close(p, "the VM has gone");
	ship_stop(p);
	drop_channel(p, false);
	/* Silence is how the peer learns: it arbitrates and takes over. */
	pair_set_state(p, PS_HALTED, "the VM has gone (its VMM exited)");
	pair_answer(p, FT_EXIT_ENV, "%s", p->why);
}

void pair_cmd_unpair(struct ctl_client *c, struct ftd_vm *vm)
{
	struct pair *p = vm->pair;

	if (!p) {
		ctl_reply(c, FT_EXIT_REFUSED, "unpair: VM %u is not in a pair", vm->id);
		return;
	}
	if (p->waiter || p->state == PS_ARBITRATING || p->state == PS_UNPAIRING) {
		ctl_reply(c, FT_EXIT_REFUSED, "unpair: VM %u is busy (%s)", vm->id,
			  pair_state_name(p->state));
		return;
	}
	if (p->state == PS_PRIMARY) {
		/* Going on alone needs the next generation, as after a loss. */
		drop_channel(p, true);
		ship_stop(p);
		p->waiter = c;
		c->pair = p;
		pair_set_state(p, PS_UNPAIRING, "unpairing: asking %s for generation %llu",
			       p->disk, (unsigned long long)(p->gen + 1));
		failover_arbitrate(p, "unpair");
		return;
	}
	if (p->state == PS_BACKUP || p->state == PS_PAIRING) {
		drop_channel(p, true);
		halt(p);
		fevent(vm->id, "unpaired", "this backup's VM is stopped: a backup never runs on its own");
	}
	ctl_reply(c, FT_EXIT_OK, "VM %u unpaired (was %s)", vm->id, pair_state_name(p->state));
	pair_free(p);
}

void pair_cmd_promote(struct ctl_client *c, struct ftd_vm *vm)
{
	struct pair *p = vm->pair;

	if (!p || p->primary) {
		ctl_reply(c, FT_EXIT_REFUSED, "promote: VM %u is not a backup in a pair", vm->id);
		return;
	}
	if (p->state == PS_LIVE) {
		ctl_reply(c, FT_EXIT_OK, "VM %u is already live (generation %llu)", vm->id,
			  (unsigned long long)p->gen);
		return;
	}
	if (p->waiter || (p->state != PS_BACKUP && p->state != PS_ARBITRATING)) {
		ctl_reply(c, FT_EXIT_REFUSED, "promote: VM %u is %s", vm->id,
			  pair_state_name(p->state));
		return;
	}
	p->waiter = c;
	c->pair = p;
	p->promote_asked = p->state == PS_BACKUP;
	failover_arbitrate(p, "ftctl promote");
}
