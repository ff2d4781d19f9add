/* SPDX-License-Identifier: MIT */
/* Counting semaphores with FIFO waiters and timeouts; interrupts signal them. */
#include "sm.h"

#include <vireo/syscall.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "irq.h"
#include "klock.h"
#include "obj.h"
#include "pd.h"
#include "sched.h"
#include "slab.h"
#include "timer.h"

static struct slab_cache sm_cache;

status_t sm_create(struct pd *pd, uint64_t count, struct sm **out)
{
	if (!sm_cache.name) {
		slab_cache_init(&sm_cache, "sm", sizeof(struct sm), 32);
	}
	struct sm *sm = pd_alloc(pd, &sm_cache);
	if (!sm) {
		return VIREO_NO_MEM;
	}
	sm->obj.type = OBJ_SM;
	/* A link, not a reference: a semaphore granted into the PD that pays for it must not keep
	 * that PD alive (the seed-14 fuzz leak). pd_destroy passes surviving charges to its parent. */
	if (pd) {
		sm_charge(sm, pd);
	}
	sm->count = count;
	sm->gsi = -1;
	obj_live[OBJ_SM]++;
	*out = sm;
	return VIREO_OK;
}

static struct ec *pop_waiter(struct sm *sm)
{
	struct ec *ec = sm->waiters;
	if (ec) {
		sm->waiters = ec->wait_next;
		if (!sm->waiters) {
			sm->waiters_tail = NULL;
		}
		ec->wait_next = NULL;
		ec->wait_sm = NULL;
		timer_cancel(ec);
	}
	return ec;
}

static void wake(struct ec *ec, status_t st)
{
	CHECK(ec->state == EC_WAITING && !ec->wait_sm);
	ec->regs.rax = st;
	ec->state = EC_READY;
	sched_wake(ec);
}

void sm_up(struct sm *sm)
{
	CHECK(klock_held());
	struct ec *ec = pop_waiter(sm);
	if (ec) {
		wake(ec, VIREO_OK);
	} else if (sm->count < UINT64_MAX) {
		sm->count++;
	}
}

status_t sm_down(struct sm *sm, struct ec *ec, uint64_t timeout_us)
{
	CHECK(klock_held());
	CHECK(ec->state == EC_READY && !ec->wait_sm && !ec->wait_next);
	if (sm->count) {
		sm->count--;
		return VIREO_OK;
	}
	if (timeout_us == 0) {
		return VIREO_TIMEOUT;
	}
	ec->state = EC_WAITING;
	ec->wait_sm = sm;
	ec->wait_next = NULL;
	if (sm->waiters_tail) {
		sm->waiters_tail->wait_next = ec;
	} else {
		sm->waiters = ec;
	}
	sm->waiters_tail = ec;
	if (timeout_us != VIREO_TIMEOUT_NEVER) {
		timer_add(ec, timeout_us); /* to the microsecond (docs/ABI.md "Timeouts") */
	}
	ec->cont = ec_ret_syscall;
	sched_block(ec);
}

/* Take `ec` out of its semaphore's queue (timeout or death). */
void sm_forget(struct ec *ec)
{
	struct sm *sm = ec->wait_sm;
	if (!sm) {
		return;
	}
	struct ec **pp = &sm->waiters, *prev = NULL;
	while (*pp && *pp != ec) {
		prev = *pp;
		pp = &(*pp)->wait_next;
	}
	if (*pp) {
		*pp = ec->wait_next;
		if (sm->waiters_tail == ec) {
			sm->waiters_tail = prev;
		}
	}
	ec->wait_next = NULL;
	ec->wait_sm = NULL;
}

void sm_timeout(struct ec *ec)
{
	sm_forget(ec);
	wake(ec, VIREO_TIMEOUT);
}

void sm_charge(struct sm *sm, struct pd *pd)
{
	sm->charged = pd;
	sm->charged_next = pd->charged_sms;
	if (pd->charged_sms) {
		pd->charged_sms->charged_pprev = &sm->charged_next;
	}
	sm->charged_pprev = &pd->charged_sms;
	pd->charged_sms = sm;
}

static void uncharge(struct sm *sm)
{
	*sm->charged_pprev = sm->charged_next;
	if (sm->charged_next) {
		sm->charged_next->charged_pprev = sm->charged_pprev;
	}
	sm->charged = NULL;
	sm->charged_next = NULL;
	sm->charged_pprev = NULL;
}

uint64_t sm_pass_charges(struct pd *pd, struct pd *to)
{
	uint64_t bytes = 0;
	while (pd->charged_sms) {
		struct sm *sm = pd->charged_sms;
		uncharge(sm);
		bytes += sm_cache.objsize;
		if (to) {
			sm_charge(sm, to);
		}
	}
	return bytes;
}

void sm_destroy(struct sm *sm)
{
	while (sm->waiters) {
		wake(pop_waiter(sm), VIREO_ABORTED);
	}
	irq_sm_gone(sm);
	struct pd *pd = sm->charged;
	if (pd) {
		uncharge(sm);
	}
	obj_live[OBJ_SM]--;
	pd_free(pd, &sm_cache, sm);
}
