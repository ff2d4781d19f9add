/* SPDX-License-Identifier: MIT */
/* Per-CPU fixed-priority round-robin run queues of SCs, and the dispatcher (continuations). */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "assert.h"
#include "types.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

struct ec;
struct sc;

void sched_enqueue(struct sc *sc);
void sched_dequeue(struct sc *sc);
/* Move an SC to another CPU's run queue (cross-CPU calls and replies) and kick that CPU. */
void sched_migrate(struct sc *sc, unsigned cpu);
/* Scheduler tick on this CPU: quantum accounting (timeouts are timer.c's). */
void sched_tick(void);
/* Block the current EC: it continues at `cont` when woken. Leaves the kernel; never returns. */
__noreturn void sched_block(struct ec *ec);
/* Pick the next thing to run on this CPU and leave the kernel for it. */
__noreturn void sched_schedule(void);
/* Continue `ec` at its continuation, on this CPU's kernel stack reset to empty: the only way any
 * continuation is called (NOVA and seL4 do the same). */
__noreturn void sched_continue(struct ec *ec);
/* With `debug`: CHECK that this CPU's kernel stack is no deeper than any legitimate path runs
 * before it schedules or enters a guest (half of it; a continuation nested on the stack instead
 * of replacing it passes that after a few dozen rounds). In line: the resume fast path passes it
 * at every guest entry. */
static inline void sched_check_stack(void)
{
	DEBUG_CHECK(kstack_depth() < KSTACK_SIZE / 2);
}
/* Is a switch due on this CPU (quantum spent, higher priority woke)? */
bool sched_need_resched(void);
/* This CPU's idle loop. */
__noreturn void sched_idle(void);
/* The EC an SC actually runs: follows the chain of calls it has donated itself into. */
struct ec *sched_runner(struct sc *sc);
/* The SC that leads to `ec`: its own, or that of the first EC of the call chain it serves. */
struct sc *sched_chain_sc(struct ec *ec);
/* Make `ec`'s chain runnable again: the SC that leads to it goes back on its run queue. */
void sched_wake(struct ec *ec);

#endif
