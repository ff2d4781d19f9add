/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU fixed-priority round-robin queues of scheduling contexts. An SC runs its EC, or, while
 * that EC waits in a portal call, the handler it donated itself to (seed 000): sched_runner()
 * follows that chain. Blocked ECs keep no kernel stack, only a continuation.
 */
#include "sched.h"

#include "assert.h"
#include "ec.h"
#include "klock.h"
#include "pd.h"
#include "sc.h"
#include "sm.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/percpu.h"

struct runq {
	struct sc *head[SC_PRIOS], *tail[SC_PRIOS];
	struct sc *current; /* SC whose chain runs now, NULL when idle */
	bool resched;
};

static struct runq runqs[MAX_CPUS];
static uint64_t ticks_cpu0;
static struct ec *timeouts; /* ECs with a deadline, unsorted: few at a time */

struct ec *sched_runner(struct sc *sc)
{
	struct ec *e = sc->ec;
	while (e->state == EC_CALLING && e->callee) {
		e = e->callee;
	}
	return e;
}

static void kick(unsigned cpu)
{
	if (cpu != this_cpu()->id) {
		lapic_send_ipi(percpu_area[cpu].apic_id, VEC_IPI_RESCHED);
	}
}

void sched_enqueue(struct sc *sc)
{
	if (sc->queued) {
		return;
	}
	struct runq *q = &runqs[sc->cpu];
	sc->next = NULL;
	if (q->tail[sc->prio]) {
		q->tail[sc->prio]->next = sc;
	} else {
		q->head[sc->prio] = sc;
	}
	q->tail[sc->prio] = sc;
	sc->queued = true;
	if (!q->current || q->current->prio < sc->prio) {
		q->resched = true;
		kick(sc->cpu);
	}
}

void sched_dequeue(struct sc *sc)
{
	if (!sc->queued) {
		return;
	}
	struct runq *q = &runqs[sc->cpu];
	struct sc **pp = &q->head[sc->prio], *prev = NULL;
	while (*pp != sc) {
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
	if (q->current == sc) {
		q->current = NULL;
	}
}

void sched_migrate(struct sc *sc, unsigned cpu)
{
	bool was = sc->queued;
	sched_dequeue(sc);
	sc->cpu = cpu;
	if (was) {
		sched_enqueue(sc);
	}
}

struct sc *sched_chain_sc(struct ec *ec)
{
	while (ec->caller) {
		ec = ec->caller;
	}
	return ec->sc;
}

void sched_wake(struct ec *ec)
{
	struct sc *sc = sched_chain_sc(ec);
	if (sc && sched_runner(sc)->state == EC_READY) {
		/* The chain may now end on another CPU: the SC must be queued there, never moved while
		 * it sits in a queue. */
		unsigned cpu = sched_runner(sc)->cpu;
		if (sc->cpu != cpu) {
			sched_migrate(sc, cpu);
		}
		sched_enqueue(sc);
	}
}

void sched_block(struct ec *ec)
{
	struct sc *sc = sched_chain_sc(ec);
	if (sc) {
		sched_dequeue(sc);
	}
	sched_schedule();
}

uint64_t sched_now(void)
{
	return __atomic_load_n(&ticks_cpu0, __ATOMIC_RELAXED);
}

void sched_timeout_add(struct ec *ec, uint64_t ticks)
{
	ec->timeout_tick = sched_now() + (ticks ? ticks : 1);
	ec->timeout_next = timeouts;
	timeouts = ec;
}

void sched_timeout_cancel(struct ec *ec)
{
	for (struct ec **pp = &timeouts; *pp; pp = &(*pp)->timeout_next) {
		if (*pp == ec) {
			*pp = ec->timeout_next;
			break;
		}
	}
	ec->timeout_tick = 0;
	ec->timeout_next = NULL;
}

static void expire_timeouts(void)
{
	uint64_t now = sched_now();
	struct ec **pp = &timeouts;
	while (*pp) {
		struct ec *ec = *pp;
		if (ec->timeout_tick && ec->timeout_tick <= now) {
			*pp = ec->timeout_next;
			ec->timeout_tick = 0;
			ec->timeout_next = NULL;
			sm_timeout(ec);
		} else {
			pp = &ec->timeout_next;
		}
	}
}

void sched_tick(void)
{
	struct runq *q = &runqs[this_cpu()->id];
	if (this_cpu()->id == 0) {
		__atomic_add_fetch(&ticks_cpu0, 1, __ATOMIC_RELAXED);
		expire_timeouts();
	}
	struct sc *sc = q->current;
	if (sc) {
		sc->consumed++;
		if (sc->left) {
			sc->left--;
		}
		if (!sc->left) {
			q->resched = true;
		}
	}
}

/* Round robin: a spent SC goes to the back of its priority with a fresh quantum. */
static void rotate(struct runq *q, struct sc *sc)
{
	sc->left = sc->quantum;
	if (q->head[sc->prio] == sc && sc->next) {
		sched_dequeue(sc);
		sched_enqueue(sc);
	}
}

static struct sc *pick(struct runq *q)
{
	for (int p = SC_PRIOS - 1; p >= 0; p--) {
		if (q->head[p]) {
			return q->head[p];
		}
	}
	return NULL;
}

void sched_schedule(void)
{
	struct runq *q = &runqs[this_cpu()->id];
	ec_reap();
	if (q->current && !q->current->left) {
		rotate(q, q->current);
	}
	q->resched = false;
	struct sc *sc = pick(q);
	if (!sc) {
		q->current = NULL;
		continue_on_stack(this_cpu()->kstack_top, sched_idle);
	}
	q->current = sc;
	if (!sc->left) {
		sc->left = sc->quantum;
	}
	struct ec *ec = sched_runner(sc);
	CHECK(ec->state == EC_READY && ec->cont);
	ec->cont(ec);
}

void sched_idle(void)
{
	struct percpu *cpu = this_cpu();
	struct runq *q = &runqs[cpu->id];
	cpu->current = NULL;
	if (!klock_held()) {
		klock_acquire();
	}
	pd_activate(NULL);
	for (;;) {
		if (pick(q)) {
			sched_schedule();
		}
		klock_release();
		/* STI takes effect after HLT starts, so no wake-up is lost between check and halt. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		klock_acquire();
	}
}

bool sched_need_resched(void)
{
	return runqs[this_cpu()->id].resched;
}
