/* SPDX-License-Identifier: MIT */
/* Per-CPU run queues; the dispatcher that leaves the kernel for the chosen EC. */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "types.h"

struct ec;

void sched_enqueue(struct ec *ec);
void sched_dequeue(struct ec *ec);
/* Timer tick on this CPU: rotate the run queue at the end of the time slice. */
void sched_tick(void);
/* Leave the kernel: to the current EC if it may run on, otherwise to the next one or idle. */
__noreturn void sched_return_to_user(void);
/* This CPU's idle loop, entered when nothing is runnable. */
__noreturn void sched_idle(void);

#endif
