/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU one-shot timers (docs/architecture.md#timers). The local timer runs in one-shot mode:
 * each CPU programs it for the earlier of its next scheduler tick and the first timeout in its
 * queue, so a semaphore timeout of 100 us expires after about 100 us, not at the next 10 ms
 * tick. All queues are changed under the kernel lock; a queue belongs to the CPU its ECs run on
 * (ECs never move), so only that CPU ever needs to reprogram its timer for a new head.
 */
#include "timer.h"

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "klock.h"
#include "sm.h"
#include "x86/lapic.h"

struct cpu_timer {
	struct ec *queue; /* by deadline, earliest first */
	uint64_t next_tick;
	bool ready;
};

static struct cpu_timer timers[MAX_CPUS];

uint64_t timer_now_ns(void)
{
	return lapic_clock_ns();
}

static void program(struct cpu_timer *t, uint64_t now)
{
	uint64_t at = t->next_tick;
	if (t->queue && t->queue->timeout_at < at) {
		at = t->queue->timeout_at;
	}
	uint64_t delta = at > now ? at - now : 0;
	lapic_timer_oneshot(delta < TIMER_SHOT_MAX_NS ? delta : TIMER_SHOT_MAX_NS);
}

void timer_cpu_init(void)
{
	struct cpu_timer *t = &timers[this_cpu()->id];
	uint64_t now = timer_now_ns();
	t->next_tick = now + TIMER_TICK_NS;
	t->ready = true;
	program(t, now);
}

bool timer_interrupt(void)
{
	CHECK(klock_held());
	struct cpu_timer *t = &timers[this_cpu()->id];
	uint64_t now = timer_now_ns();
	if (!t->ready) {
		t->next_tick = now;
		t->ready = true;
	}
	while (t->queue && t->queue->timeout_at <= now) {
		struct ec *ec = t->queue;
		t->queue = ec->timeout_next;
		ec->timeout_next = NULL;
		ec->timeout_at = 0;
		sm_timeout(ec);
	}
	bool tick = now >= t->next_tick;
	if (tick) {
		/* One tick per interrupt; a CPU that fell far behind (a debugger, a slow
		 * emulator) does not replay the ticks it missed. */
		t->next_tick += TIMER_TICK_NS;
		if (t->next_tick <= now) {
			t->next_tick = now + TIMER_TICK_NS;
		}
	}
	program(t, now);
	return tick;
}

void timer_add(struct ec *ec, uint64_t timeout_us)
{
	CHECK(klock_held() && !ec->timeout_at && timeout_us);
	unsigned cpu = this_cpu()->id;
	struct cpu_timer *t = &timers[cpu];
	uint64_t now = timer_now_ns();
	/* Saturating: a huge finite timeout stays long instead of wrapping into a short one. */
	uint64_t left = UINT64_MAX - 1 - now;
	ec->timeout_at = timeout_us < left / 1000 ? now + timeout_us * 1000 : UINT64_MAX - 1;
	ec->timeout_cpu = cpu;
	struct ec **pp = &t->queue;
	while (*pp && (*pp)->timeout_at <= ec->timeout_at) {
		pp = &(*pp)->timeout_next;
	}
	ec->timeout_next = *pp;
	*pp = ec;
	if (t->queue == ec && t->ready) {
		program(t, now);
	}
}

void timer_cancel(struct ec *ec)
{
	if (!ec->timeout_at) {
		return;
	}
	/* The hardware stays programmed for the old head: it fires early and finds less to do. */
	for (struct ec **pp = &timers[ec->timeout_cpu].queue; *pp; pp = &(*pp)->timeout_next) {
		if (*pp == ec) {
			*pp = ec->timeout_next;
			break;
		}
	}
	ec->timeout_at = 0;
	ec->timeout_next = NULL;
}

uint64_t timer_next_deadline(unsigned cpu)
{
	struct ec *head = cpu < MAX_CPUS ? timers[cpu].queue : NULL;
	return head ? head->timeout_at : UINT64_MAX;
}
