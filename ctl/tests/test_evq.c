// SPDX-License-Identifier: GPL-2.0
/* Event ordering after subscribe-then-dump (evq.c). */
#include <string.h>

#include "evq.h"
#include "tap.h"

static void add(struct evq *q, uint32_t id, uint8_t event, uint64_t seq,
		uint64_t now)
{
	struct ftvm v = { .id = id, .event = event, .has_seq = true,
			  .seq = seq };

	evq_add_event(q, &v, now);
}

static void dump(struct evq *q, uint32_t id, uint64_t seq)
{
	struct ftvm v = { .id = id, .has_seq = true, .seq = seq };

	evq_add_dump(q, &v);
}

/* Drains q at time now into "id:event:seq " words. */
static const char *drain(struct evq *q, uint64_t now, int *wait)
{
	static char out[512];
	struct ftvm v;
	size_t n = 0;

	out[0] = '\0';
	while (evq_next(q, now, &v, wait) == 1)
		n += snprintf(out + n, sizeof(out) - n, "%u:%s:%llu ", v.id,
			      ftvm_event_name(v.event),
			      (unsigned long long)v.seq);
	return out;
}

static void check(const char *got, const char *want, const char *name)
{
	if (!ok(!strcmp(got, want), "%s", name))
		tap_diag("got '%s' want '%s'", got, want);
}

int main(void)
{
	struct evq q;
	struct ftvm v;
	int wait;

	tap_plan(12);

	evq_init(&q);
	add(&q, 9, KVMFT_EVENT_CREATE, 5, 0);
	ok(evq_next(&q, 1000, &v, &wait) == 0 && wait == -1,
	   "nothing is delivered before the dump is done");

	/* Dumped at seq 10 (vm 2) and 12 (vm 1), VMs out of id order. */
	dump(&q, 2, 10);
	add(&q, 2, KVMFT_EVENT_CHANGE, 11, 0);
	dump(&q, 1, 12);
	add(&q, 1, KVMFT_EVENT_CHANGE, 12, 0);
	add(&q, 1, KVMFT_EVENT_CHANGE, 13, 0);
	evq_dump_done(&q);
	check(drain(&q, 0, &wait),
	      "1:exists:12 2:exists:10 2:change:11 1:change:13 ",
	      "dump first by id, then newer events; older ones dropped");
	ok(q.dropped == 2, "the create at 5 and the change at 12 were dropped");
	ok(wait == -1, "nothing held");

	add(&q, 3, KVMFT_EVENT_CREATE, 16, 100);
	add(&q, 3, KVMFT_EVENT_DESTROY, 15, 101);
	check(drain(&q, 101, &wait), "", "after a gap (14 missing) events wait");
	ok(wait == EVQ_HOLD_MS, "for the hold time of the oldest held one (%d ms)", wait);
	add(&q, 3, KVMFT_EVENT_CHANGE, 14, 102);
	check(drain(&q, 102, &wait), "3:change:14 3:destroy:15 3:create:16 ",
	      "the missing one arrives: all go, in seq order");

	add(&q, 4, KVMFT_EVENT_CREATE, 20, 200);
	check(drain(&q, 200 + EVQ_HOLD_MS - 1, &wait), "", "a gap that never fills holds...");
	check(drain(&q, 200 + EVQ_HOLD_MS, &wait), "4:create:20 ", "...until the hold time ends");

	add(&q, 4, KVMFT_EVENT_CHANGE, 18, 300);
	check(drain(&q, 300, &wait), "4:change:18 ", "a late straggler goes out at once");

	/* Lost events: the new dump replaces the old one. */
	evq_restart(&q);
	add(&q, 4, KVMFT_EVENT_CHANGE, 30, 400);
	dump(&q, 4, 31);
	add(&q, 4, KVMFT_EVENT_DESTROY, 32, 400);
	evq_dump_done(&q);
	check(drain(&q, 400, &wait), "4:exists:31 4:destroy:32 ",
	      "after a restart the new dump comes first");

	evq_free(&q);
	evq_init(&q);
	add(&q, 7, KVMFT_EVENT_DESTROY, 3, 0);
	evq_dump_done(&q);	/* an empty dump: no seq to compare with */
	check(drain(&q, EVQ_HOLD_MS, &wait), "7:destroy:3 ",
	      "an empty dump drops nothing (it carries no seq)");
	evq_free(&q);
	return tap_done();
}
