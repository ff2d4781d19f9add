/* SPDX-License-Identifier: MIT */
/* Per-CPU round-robin run queues and the exit path to user mode (continuations: no kernel stack is kept). */
#include "sched.h"

#include "assert.h"
#include "ec.h"
#include "pd.h"
#include "spinlock.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

/* Ticks an EC runs before the next one in its queue gets the CPU. */
#define SLICE_TICKS 5

struct runq {
	spinlock_t lock;
	struct ec *head, *tail;
	unsigned slice_left;
	bool resched;
};

static struct runq runqs[MAX_CPUS];

void sched_enqueue(struct ec *ec)
{
	struct runq *q = &runqs[ec->cpu];
	spin_lock(&q->lock);
	ec->next = NULL;
	if (q->tail) {
		q->tail->next = ec;
	} else {
		q->head = ec;
	}
	q->tail = ec;
	spin_unlock(&q->lock);
}

void sched_dequeue(struct ec *ec)
{
	struct runq *q = &runqs[ec->cpu];
	spin_lock(&q->lock);
	struct ec **pp = &q->head, *prev = NULL;
	while (*pp && *pp != ec) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = ec->next;
		if (q->tail == ec) {
			q->tail = prev;
		}
	}
	ec->next = NULL;
	spin_unlock(&q->lock);
}

void sched_tick(void)
{
	struct runq *q = &runqs[this_cpu()->id];
	if (q->slice_left && --q->slice_left == 0) {
		q->resched = true;
	}
}

/* Rotate: the head goes to the back; returns the new head (NULL when the queue is empty). */
static struct ec *runq_next(struct runq *q, bool rotate)
{
	spin_lock(&q->lock);
	if (rotate && q->head && q->head != q->tail) {
		struct ec *h = q->head;
		q->head = h->next;
		h->next = NULL;
		q->tail->next = h;
		q->tail = h;
	}
	struct ec *ec = q->head;
	spin_unlock(&q->lock);
	return ec;
}

static __noreturn void switch_to(struct ec *ec)
{
	struct percpu *cpu = this_cpu();
	cpu->current = ec;
	cpu->regs_top = (uint64_t)(&ec->regs + 1);
	cpu->tss.rsp[0] = cpu->regs_top;
	pd_activate(ec->pd);
	/* SYSRET is only safe with a canonical RIP; anything odd goes through IRET. */
	if (ec->regs.vector == VECTOR_SYSCALL && ec->regs.rip < USER_END) {
		ret_user_sysret(&ec->regs);
	}
	ret_user_iret(&ec->regs);
}

void sched_return_to_user(void)
{
	struct runq *q = &runqs[this_cpu()->id];
	struct ec *cur = this_cpu()->current;
	bool rotate = q->resched;
	q->resched = false;
	if (cur && cur->state == EC_READY && !rotate) {
		switch_to(cur);
	}
	struct ec *next = runq_next(q, rotate && cur && cur->state == EC_READY);
	if (next) {
		if (next != cur) {
			q->slice_left = SLICE_TICKS;
		}
		if (!q->slice_left) {
			q->slice_left = SLICE_TICKS;
		}
		switch_to(next);
	}
	this_cpu()->current = NULL;
	continue_on_stack(this_cpu()->kstack_top, sched_idle);
}

void sched_idle(void)
{
	struct percpu *cpu = this_cpu();
	struct runq *q = &runqs[cpu->id];
	cpu->current = NULL;
	pd_activate(NULL);
	for (;;) {
		/* STI takes effect after HLT starts, so no wake-up is lost between check and halt. */
		irq_disable();
		if (q->head) {
			q->resched = false;
			sched_return_to_user();
		}
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}
