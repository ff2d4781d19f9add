/* SPDX-License-Identifier: MIT */
/*
 * The kernel lock: one lock serialises all kernel object state (capabilities, the mapping database,
 * IPC, scheduling decisions). The kernel is non-preemptible and short-running, so on a few CPUs
 * this costs little; finer locks can replace it object by object later.
 */
#ifndef KERNEL_KLOCK_H
#define KERNEL_KLOCK_H

#include "types.h"

/* Taken on every kernel entry from user mode and by the idle loop; released on exit. While
 * spinning, a CPU still answers TLB shoot-down requests so a CPU holding the lock can wait for it. */
void klock_acquire(void);
void klock_release(void);
#ifdef HOST_TEST
bool klock_held(void);
#else
#include "x86/percpu.h"
/* Inline: CHECK(klock_held()) guards every IPC and scheduler step. */
extern volatile int klock_owner;
static inline bool klock_held(void)
{
	return klock_owner == (int)this_cpu()->id;
}
#endif

#endif
