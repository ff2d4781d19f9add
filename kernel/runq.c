/* SPDX-License-Identifier: MIT */
/* Fixed-priority round-robin run queue: singly linked FIFOs of SCs, one per priority. */
#include "runq.h"

#include "assert.h"

bool runq_enqueue(struct runq *q, struct sc *sc)
{
	if (sc->queued) {
		return false;
	}
	sc->next = NULL;
	if (q->tail[sc->prio]) {
		q->tail[sc->prio]->next = sc;
	} else {
		q->head[sc->prio] = sc;
	}
	q->tail[sc->prio] = sc;
	sc->queued = true;
	return true;
}

bool runq_dequeue(struct runq *q, struct sc *sc)
{
	if (!sc->queued) {
		return false;
	}
	struct sc **pp = &q->head[sc->prio], *prev = NULL;
	while (*pp != sc) {
		/* A queued SC missing from its own list means the queue is corrupt. */
		CHECK(*pp);
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = sc->next;
	if (q->tail[sc->prio] == sc) {
		q->tail[sc->prio] = prev;
	}
	sc->next = NULL;
	sc->queued = false;
	return true;
}

struct sc *runq_pick(const struct runq *q)
{
	for (int p = SC_PRIOS - 1; p >= 0; p--) {
		if (q->head[p]) {
			return q->head[p];
		}
	}
	return NULL;
}

void runq_rotate(struct runq *q, struct sc *sc)
{
	sc->left = sc->quantum;
	if (q->head[sc->prio] == sc && sc->next) {
		runq_dequeue(q, sc);
		runq_enqueue(q, sc);
	}
}

bool runq_empty(const struct runq *q)
{
	return !runq_pick(q);
}
