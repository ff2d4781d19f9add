/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU one-shot timers (docs/architecture.md#timers): each CPU keeps the timeouts of the ECs
 * that wait on it, sorted by deadline, and programs its local timer for the earliest of them or
 * its next scheduler tick, whichever comes first. Time is the kernel clock in nanoseconds.
 */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include "types.h"

struct ec;

/* Nanoseconds between scheduler ticks (TIMER_HZ). */
#define TIMER_TICK_NS (1000000000ull / TIMER_HZ)
/* The longest the hardware timer is ever programmed for: a longer wait takes several shots. */
#define TIMER_SHOT_MAX_NS (1000000000ull)

/* The kernel clock: nanoseconds since boot, monotonic on each CPU. */
uint64_t timer_now_ns(void);
/* This CPU's timer: first tick one period from now. */
void timer_cpu_init(void);
/* The timer interrupt: every due timeout expires (its EC continues with VIREO_TIMEOUT) and the
 * hardware timer is programmed again. True if a scheduler tick is due (it is then counted). */
bool timer_interrupt(void);
/* `ec` (waiting, on this CPU) times out `timeout_us` microseconds from now. Never called with
 * 0; a timeout past the end of the 64-bit clock waits until then (more than 500 years). */
void timer_add(struct ec *ec, uint64_t timeout_us);
/* Take `ec`'s timeout out of its queue (it was woken or dies). Harmless without one. */
void timer_cancel(struct ec *ec);
/* Deadline of this CPU's earliest timeout, UINT64_MAX if none (tests and statistics). */
uint64_t timer_next_deadline(unsigned cpu);

#endif
