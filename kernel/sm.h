/* SPDX-License-Identifier: MIT */
/* Counting semaphore; hardware interrupts signal it (docs/architecture.md#interrupts). */
#ifndef KERNEL_SM_H
#define KERNEL_SM_H

#include "kobj.h"
#include "types.h"

struct ec;
struct pd;

struct sm {
	struct kobj obj;
	uint64_t count;
	struct ec *waiters; /* FIFO */
	struct ec *waiters_tail;
	int gsi;	    /* bound interrupt, -1 if none */
	struct pd *charged; /* PD whose quota pays for it */
};

/* A semaphore charged to `pd` (NULL: the kernel's), NO_MEM over its quota. */
status_t sm_create(struct pd *pd, uint64_t count, struct sm **out);
void sm_destroy(struct sm *sm);
void sm_up(struct sm *sm);
/* Down: returns OK with a count, TIMEOUT for a zero timeout, otherwise blocks the EC (no return). */
status_t sm_down(struct sm *sm, struct ec *ec, uint64_t timeout_us);
/* A waiter's timeout expired: it continues with VIREO_TIMEOUT. */
void sm_timeout(struct ec *ec);
/* Take an EC out of the queue of the semaphore it waits on (it dies). */
void sm_forget(struct ec *ec);

#endif
