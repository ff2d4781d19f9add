/* SPDX-License-Identifier: MIT */
/* One CPU's fixed-priority round-robin run queue of SCs: list work only, no locks, no hardware. */
#ifndef KERNEL_RUNQ_H
#define KERNEL_RUNQ_H

#include "sc.h"
#include "types.h"

/* A FIFO of queued SCs per priority, linked through sc->next. A zeroed runq is empty. */
struct runq {
	struct sc *head[SC_PRIOS], *tail[SC_PRIOS];
};

/* Append `sc` at the tail of its priority. False, and nothing changes, if it is already queued. */
bool runq_enqueue(struct runq *q, struct sc *sc);
/* Unlink `sc` from wherever it sits. False, and nothing changes, if it is not queued. */
bool runq_dequeue(struct runq *q, struct sc *sc);
/* The head of the highest non-empty priority, NULL when nothing is queued. */
struct sc *runq_pick(const struct runq *q);
/* Round robin: give `sc` a fresh quantum and, if it heads its priority and has a successor,
 * move it to the back of that priority. */
void runq_rotate(struct runq *q, struct sc *sc);
bool runq_empty(const struct runq *q);

#endif
