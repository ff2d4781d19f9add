/* SPDX-License-Identifier: MIT */
/* Scheduling context: priority and time quantum; it runs an EC, or whoever that EC calls (docs/architecture.md#sc). */
#ifndef KERNEL_SC_H
#define KERNEL_SC_H

#include "kobj.h"
#include "types.h"

struct ec;
struct pd;

#define SC_PRIOS 32

struct sc {
	struct kobj obj;
	struct ec *ec;	    /* the EC it belongs to */
	struct pd *charged; /* the PD named at creation: pays for it, bounds prio (a reference) */
	unsigned prio;	    /* 0 lowest .. SC_PRIOS-1 highest */
	unsigned quantum;   /* ticks */
	unsigned left;	    /* ticks left in this round */
	unsigned cpu;	    /* run queue it is on (moves with cross-CPU calls) */
	bool queued;
	struct sc *next;
	uint64_t consumed; /* ticks charged so far */
};

/*
 * An SC for global EC `ec`, charged to `pd`, whose max_prio bounds `prio` (BAD_PAR above it or
 * for quantum 0; BUSY if ec is local, dead or has an SC; NO_MEM over pd's quota).
 */
status_t sc_create(struct pd *pd, struct ec *ec, unsigned prio, uint64_t quantum_us,
		   struct sc **out);
void sc_destroy(struct sc *sc);

#endif
