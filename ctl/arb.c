// SPDX-License-Identifier: GPL-2.0
/*
 * Disk Paxos on one disk (Gafni and Lamport, "Disk Paxos", 2003, with
 * the single disk as the majority): each host writes only its own slot
 * and reads everyone's. Generation g is decided by one instance of it;
 * the value decided is the host that owns g. The safety argument is in
 * docs/arbitration.md; this file follows it step by step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arb.h"
#include "util.h"

/* The newest decision that any slot records. */
static void newest(const struct arb *a, uint64_t *gen, uint32_t *owner)
{
	*gen = 0;
	*owner = 0;
	for (uint32_t h = 1; h <= a->hosts; h++) {
		const struct arb_slot *s = &a->slot[h];

		if (!s->empty && s->committed_gen > *gen) {
			*gen = s->committed_gen;
			*owner = s->committed_owner;
		}
	}
}

static void owner_name(const struct arb *a, uint32_t owner, char *buf)
{
	if (owner >= 1 && owner <= a->hosts && !a->slot[owner].empty)
		memcpy(buf, a->slot[owner].name, ARB_NAME_LEN);
	else
		snprintf(buf, ARB_NAME_LEN, "host %u", owner);
}

static int check_slots(const struct arb *a, struct arb_err *e)
{
	for (uint32_t h = 1; h <= a->hosts; h++)
		if (a->slot[h].bad)
			return arb_fail(e, EBADMSG, "%s: host slot %u is corrupt (both copies fail their checksum): its Paxos state is unknown, so nobody can win safely; reformat the area once no host runs the VM",
					a->path, h);
	return 0;
}

int arb_read(struct arb *a, struct arb_view *v, struct arb_err *e)
{
	if (a->caw)
		return arb_caw_read(a, v, e);
	memset(v, 0, sizeof(*v));
	if (arb_read_slots(a, e) || check_slots(a, e))
		return -1;
	newest(a, &v->gen, &v->owner);
	owner_name(a, v->owner, v->owner_name);
	for (uint32_t h = 1; h <= a->hosts; h++)
		if (!a->slot[h].empty && a->slot[h].gen > v->max_started)
			v->max_started = a->slot[h].gen;
	return 0;
}

/* Our next ballot for generation gen: above every mbal seen for it. */
static uint64_t next_ballot(const struct arb *a, uint64_t gen)
{
	uint64_t max = 0;

	for (uint32_t h = 1; h <= a->hosts; h++)
		if (a->slot[h].gen == gen && a->slot[h].mbal > max)
			max = a->slot[h].mbal;
	/* b mod hosts is ours alone, so no two hosts share a ballot. */
	return (max / a->hosts + 1) * a->hosts + a->host_id % a->hosts;
}

/* True if another host has a ballot above b for generation gen. */
static bool outbid(const struct arb *a, uint64_t gen, uint64_t b)
{
	for (uint32_t h = 1; h <= a->hosts; h++)
		if (h != a->host_id && a->slot[h].gen == gen &&
		    a->slot[h].mbal > b)
			return true;
	return false;
}

/* The value of the highest ballot any host accepted for gen, or ours. */
static uint64_t pick_value(const struct arb *a, uint64_t gen)
{
	uint64_t bal = 0, v = a->host_id;

	for (uint32_t h = 1; h <= a->hosts; h++)
		if (a->slot[h].gen == gen && a->slot[h].bal > bal) {
			bal = a->slot[h].bal;
			v = a->slot[h].inp;
		}
	return v;
}

static void finish(struct arb *a, struct arb_result *r, uint64_t gen,
		   uint32_t owner)
{
	r->gen = gen;
	r->owner = owner;
	r->outcome = owner == a->host_id ? ARB_WON : ARB_LOST;
	owner_name(a, owner, r->owner_name);
}

static bool past_deadline(const struct arb *a)
{
	return ft_now_ms() >= a->deadline_ms;
}

/* Reads the slots; 1 if a decision for gen want or later is already known. */
static int read_and_learn(struct arb *a, uint64_t base, uint64_t want,
			  struct arb_result *r, struct arb_err *e)
{
	uint64_t gen;
	uint32_t owner;

	if (past_deadline(a))
		return arb_fail(e, ETIMEDOUT, "%s: no decision within the timeout (%u ballots)",
				a->path, r->ballots);
	if (arb_read_slots(a, e) || check_slots(a, e))
		return -1;
	newest(a, &gen, &owner);
	if (gen < base)
		return arb_fail(e, ESTALE, "%s is at generation %llu but this host already knows generation %llu: wrong disk, or it was reformatted",
				a->path, (unsigned long long)gen, (unsigned long long)base);
	if (gen >= want) {
		finish(a, r, gen, owner);
		return 1;
	}
	return 0;
}

/* Writes our slot for this step, unless the deadline passed. */
static int write_step(struct arb *a, enum arb_step step, struct arb_err *e)
{
	if (past_deadline(a))
		return arb_fail(e, ETIMEDOUT, "%s: no decision within the timeout",
				a->path);
	return arb_write_slot(a, step, e);
}

#define GO_ON 2

/*
 * Writes our slot for this phase and reads everyone's: GO_ON if nobody
 * is ahead of ballot b, 1 if the generation is decided already (r
 * filled), 0 if outbid, -1 if it failed.
 */
static int phase(struct arb *a, enum arb_step step, uint64_t base,
		 uint64_t want, uint64_t b, struct arb_result *r,
		 struct arb_err *e)
{
	int ret;

	if (write_step(a, step, e))
		return -1;
	ret = read_and_learn(a, base, want, r, e);
	if (ret)
		return ret;
	return outbid(a, want, b) ? 0 : GO_ON;
}

/*
 * One ballot for generation want. 1: decided (r filled); 0: another host
 * had a higher ballot, try again; -1: failed.
 */
static int ballot(struct arb *a, uint64_t base, uint64_t want,
		  struct arb_result *r, struct arb_err *e)
{
	struct arb_slot *me = &a->slot[a->host_id];
	uint64_t b, v, cgen;
	uint32_t cowner;
	int ret;

	r->ballots++;
	newest(a, &cgen, &cowner);
	b = next_ballot(a, want);
	if (me->gen != want) {	/* a new instance: nothing accepted yet */
		me->gen = want;
		me->bal = 0;
		me->inp = 0;
	}
	me->mbal = b;
	me->committed_gen = cgen;
	me->committed_owner = cowner;
	/* Phase 1: announce b, then see whether anyone is ahead. */
	ret = phase(a, ARB_STEP_WRITE_P1, base, want, b, r, e);
	if (ret != GO_ON)
		return ret;
	v = pick_value(a, want);
	/* Phase 2: accept v at b, then check again. */
	me->bal = b;
	me->inp = v;
	ret = phase(a, ARB_STEP_WRITE_P2, base, want, b, r, e);
	if (ret != GO_ON)
		return ret;
	/* v is chosen. Record it, so others learn it without a ballot. */
	me->committed_gen = want;
	me->committed_owner = v;
	if (arb_write_slot(a, ARB_STEP_WRITE_COMMIT, e))
		return -1;
	finish(a, r, want, v);
	return 1;
}

/* A random pause that grows with the attempts, so duels end. */
static void backoff(struct arb *a, unsigned int attempt, unsigned int *seed)
{
	unsigned int cap = attempt < 10 ? 2u << attempt : 1024;
	uint64_t left;
	unsigned int ms = 1 + rand_r(seed) % cap;

	left = past_deadline(a) ? 0 : a->deadline_ms - ft_now_ms();
	if (ms > left)
		ms = left;
	usleep(ms * 1000);
}

int arb_acquire(struct arb *a, uint64_t base, unsigned int timeout_ms,
		struct arb_result *r, struct arb_err *e)
{
	unsigned int seed = getpid() ^ (unsigned int)ft_now_ms() ^ a->host_id;
	uint64_t want = base + 1;
	int ret;

	memset(r, 0, sizeof(*r));
	r->outcome = ARB_FAILED;
	if (!a->host_id)
		return arb_fail(e, EINVAL, "%s was opened to read only", a->path);
	a->deadline_ms = ft_now_ms() + timeout_ms;
	a->ios = 0;
	if (a->caw) {
		ret = arb_caw_acquire(a, base, r, e);
		if (ret)
			r->outcome = ARB_FAILED;
		return ret;
	}
	ret = read_and_learn(a, base, want, r, e);
	for (unsigned int attempt = 0; ret == 0; attempt++) {
		ret = ballot(a, base, want, r, e);
		if (ret == 0)
			backoff(a, attempt, &seed);
	}
	if (ret < 0) {
		r->outcome = ARB_FAILED;
		return -1;
	}
	return 0;
}
