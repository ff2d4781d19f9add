/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU fixed-priority round-robin queues of scheduling contexts (the list work is runq.c; this
 * file adds what runs now, when to reschedule and whom to kick). An SC runs its EC, or, while
 * that EC waits in a portal call, the handler it donated itself to (docs/architecture.md#portal-ipc): sched_runner()
 * follows that chain. Blocked ECs keep no kernel stack, only a continuation, and every
 * continuation starts on an empty kernel stack (sched_continue): however often an EC is preempted
 * and resumed, nothing piles up below it (docs/architecture.md#kernel-stack).
 */
#include "sched.h"

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "klock.h"
#include "pd.h"
#include "runq.h"
#include "sc.h"

struct cpu_sched {
	struct runq rq;
	struct sc *current; /* SC whose chain runs now, NULL when idle */
	bool resched;
};

static struct cpu_sched scheds[MAX_CPUS];

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
		arch_kick(cpu);
	}
}

void sched_enqueue(struct sc *sc)
{
	CHECK(klock_held());
	struct cpu_sched *q = &scheds[sc->cpu];
	if (!runq_enqueue(&q->rq, sc)) {
		return;
	}
	if (!q->current || q->current->prio < sc->prio) {
		q->resched = true;
		kick(sc->cpu);
	}
}

void sched_dequeue(struct sc *sc)
{
	CHECK(klock_held());
	struct cpu_sched *q = &scheds[sc->cpu];
	if (!runq_dequeue(&q->rq, sc)) {
		return;
	}
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
	CHECK(klock_held());
	struct sc *sc = sched_chain_sc(ec);
	if (sc) {
		sched_dequeue(sc);
	}
	sched_schedule();
}

void sched_tick(void)
{
	struct cpu_sched *q = &scheds[this_cpu()->id];
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

/* Runs on the empty stack: the continuation sched_continue chose. */
static __noreturn void continue_fresh(void)
{
	struct percpu *cpu = this_cpu();
	struct ec *ec = cpu->cont_ec;
	cpu->cont_ec = NULL;
	ec->cont(ec);
}

void sched_continue(struct ec *ec)
{
	sched_check_stack();
	this_cpu()->cont_ec = ec;
	continue_on_stack(this_cpu()->kstack_top, continue_fresh);
}

void sched_schedule(void)
{
	struct cpu_sched *q = &scheds[this_cpu()->id];
	CHECK(klock_held());
	sched_check_stack();
	ec_reap();
	/* Round robin: a spent SC goes to the back of its priority with a fresh quantum. `current`
	 * and `resched` are both rewritten just below, so rotating needs no kick or bookkeeping. */
	if (q->current && !q->current->left) {
		runq_rotate(&q->rq, q->current);
	}
	q->resched = false;
	struct sc *sc = runq_pick(&q->rq);
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
	sched_continue(ec);
}

void sched_idle(void)
{
	struct percpu *cpu = this_cpu();
	struct cpu_sched *q = &scheds[cpu->id];
	cpu->current = NULL;
	if (!klock_held()) {
		klock_acquire();
	}
	pd_activate(NULL);
	for (;;) {
		if (!runq_empty(&q->rq)) {
			sched_schedule();
		}
		klock_release();
		arch_idle_wait(); /* no wake-up is lost between the check and the halt */
		klock_acquire();
	}
}

bool sched_need_resched(void)
{
	return scheds[this_cpu()->id].resched;
}
