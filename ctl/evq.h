/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ordering of VM events for a listener that subscribed to the events group
 * first and dumped the state second (DRBD's events2 way). Notifications
 * received during the dump wait for it; after it:
 *  - the dump's entries come first, as EXISTS, in VM id order;
 *  - a notification no newer than the dump entry of its VM (or, for a VM
 *    not in the dump, than the oldest entry) is dropped: the dump already
 *    shows its effect;
 *  - the rest come in KVMFT_A_SEQ order; one that arrives after a gap in
 *    the sequence is held up to EVQ_HOLD_MS for the missing ones.
 */
#ifndef FT_EVQ_H
#define FT_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define EVQ_HOLD_MS	100

struct evq_item {
	struct ftvm vm;
	uint64_t arrived_ms;
};

struct evq {
	struct ftvm *dump;
	size_t ndump, dump_cap, dump_next;
	bool dump_done;
	struct evq_item *pend;		/* sorted by seq */
	size_t npend, pend_cap;
	uint64_t last_seq;		/* highest seq delivered */
	uint64_t dropped;		/* notifications the dump made stale */
};

void evq_init(struct evq *q);
void evq_free(struct evq *q);
/* Forgets the dump, for a new one (after lost notifications). */
void evq_restart(struct evq *q);
int evq_add_dump(struct evq *q, const struct ftvm *vm);	/* 0, -ENOMEM */
void evq_dump_done(struct evq *q);
int evq_add_event(struct evq *q, const struct ftvm *vm, uint64_t now_ms);
/*
 * 1 with the next event in *out, or 0 if none is due now; then *wait_ms
 * is how long until a held one is due, or -1 if none is held.
 */
int evq_next(struct evq *q, uint64_t now_ms, struct ftvm *out, int *wait_ms);

#endif
