// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

void evq_init(struct evq *q)
{
	memset(q, 0, sizeof(*q));
}

void evq_free(struct evq *q)
{
	free(q->dump);
	free(q->pend);
	evq_init(q);
}

void evq_restart(struct evq *q)
{
	q->ndump = 0;
	q->dump_next = 0;
	q->dump_done = false;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *np;

	if (n < *cap)
		return 0;
	np = realloc(*p, c * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

int evq_add_dump(struct evq *q, const struct ftvm *vm)
{
	if (grow((void **)&q->dump, &q->dump_cap, q->ndump, sizeof(*vm)))
		return -ENOMEM;
	q->dump[q->ndump] = *vm;
	q->dump[q->ndump++].event = KVMFT_EVENT_EXISTS;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct ftvm *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void evq_dump_done(struct evq *q)
{
	if (q->ndump)
		qsort(q->dump, q->ndump, sizeof(*q->dump), by_id);
	q->dump_done = true;
}

int evq_add_event(struct evq *q, const struct ftvm *vm, uint64_t now_ms)
{
	size_t i;

	if (grow((void **)&q->pend, &q->pend_cap, q->npend, sizeof(*q->pend)))
		return -ENOMEM;
	/* Stable: equal or missing seqs keep their arrival order. */
	i = q->npend;
	while (i > 0 && vm->has_seq && q->pend[i - 1].vm.has_seq &&
	       q->pend[i - 1].vm.seq > vm->seq)
		i--;
	memmove(&q->pend[i + 1], &q->pend[i], (q->npend - i) * sizeof(*q->pend));
	q->pend[i].vm = *vm;
	q->pend[i].arrived_ms = now_ms;
	q->npend++;
	return 0;
}

/* Notifications up to this seq are already shown by the dump. */
static uint64_t dump_seq_for(const struct evq *q, uint32_t id)
{
	uint64_t min = UINT64_MAX;
	bool any = false;

	for (size_t i = 0; i < q->ndump; i++) {
		if (!q->dump[i].has_seq)
			continue;
		if (q->dump[i].id == id)
			return q->dump[i].seq;
		if (q->dump[i].seq < min)
			min = q->dump[i].seq;
		any = true;
	}
	return any ? min : 0;
}

static void take(struct evq *q, struct ftvm *out)
{
	*out = q->pend[0].vm;
	q->npend--;
	memmove(&q->pend[0], &q->pend[1], q->npend * sizeof(*q->pend));
}

int evq_next(struct evq *q, uint64_t now_ms, struct ftvm *out, int *wait_ms)
{
	const struct evq_item *head;

	if (wait_ms)
		*wait_ms = -1;
	if (!q->dump_done)
		return 0;
	if (q->dump_next < q->ndump) {
		*out = q->dump[q->dump_next++];
		if (out->has_seq && out->seq > q->last_seq)
			q->last_seq = out->seq;
		return 1;
	}
	while (q->npend) {
		head = &q->pend[0];
		if (head->vm.has_seq &&
		    head->vm.seq <= dump_seq_for(q, head->vm.id)) {
			take(q, out);
			q->dropped++;
			continue;
		}
		if (head->vm.has_seq && head->vm.seq > q->last_seq + 1 &&
		    now_ms < head->arrived_ms + EVQ_HOLD_MS) {
			if (wait_ms)
				*wait_ms = head->arrived_ms + EVQ_HOLD_MS -
					   now_ms;
			return 0;
		}
		take(q, out);
		if (out->has_seq && out->seq > q->last_seq)
			q->last_seq = out->seq;
		return 1;
	}
	return 0;
}
