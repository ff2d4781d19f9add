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
	int gsi; /* bound interrupt, -1 if none */
	/* PD whose quota pays for it: a plain link, not a reference, so that a PD holding the only
	 * capability to a semaphore it pays for is no reference cycle. */
	struct pd *charged;
	struct sm *charged_next; /* in charged->charged_sms */
	struct sm **charged_pprev;
};

/* A semaphore charged to `pd` (NULL: the kernel's), NO_MEM over its quota. */
status_t sm_create(struct pd *pd, uint64_t count, struct sm **out);
void sm_destroy(struct sm *sm);
/* Record that `pd` (already charged) pays for `sm`. */
void sm_charge(struct sm *sm, struct pd *pd);
/* `pd` dies: its semaphores are charged to `to` from now on (NULL: to nobody). Returns the bytes
 * that move, which `to` keeps paying for. */
uint64_t sm_pass_charges(struct pd *pd, struct pd *to);
void sm_up(struct sm *sm);
/* Down: returns OK with a count, TIMEOUT for a zero timeout, otherwise blocks the EC (no return). */
status_t sm_down(struct sm *sm, struct ec *ec, uint64_t timeout_us);
/* A waiter's timeout expired: it continues with VIREO_TIMEOUT. */
void sm_timeout(struct ec *ec);
/* Take an EC out of the queue of the semaphore it waits on (it dies). */
void sm_forget(struct ec *ec);

#endif
