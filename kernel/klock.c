/* SPDX-License-Identifier: MIT */
/* The kernel lock, with TLB shoot-down requests served while waiting for it. */
#include "klock.h"

#include "assert.h"
#include "spinlock.h"
#include "tlb.h"
#include "arch.h"

static spinlock_t kernel_lock = SPINLOCK_INIT;
volatile int klock_owner = -1; /* CPU id holding it, or -1 */

/* One attempt: take the lock if it is free right now. */
static inline bool try_take(void)
{
	uint16_t next = __atomic_load_n(&kernel_lock.next, __ATOMIC_RELAXED);
	if (__atomic_load_n(&kernel_lock.owner, __ATOMIC_ACQUIRE) != next) {
		return false;
	}
	return __atomic_compare_exchange_n(&kernel_lock.next, &next, (uint16_t)(next + 1), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Contended: a ticket lock cannot be polled while queued, so try-and-serve instead. Out of line
 * so that the uncontended entry (every system call) saves no registers for it. */
static __attribute__((noinline)) void wait_and_take(void)
{
	do {
		tlb_serve();
		cpu_relax();
	} while (!try_take());
}

void klock_acquire(void)
{
	assert(klock_owner != (int)this_cpu()->id);
	if (!try_take()) {
		wait_and_take();
	}
	klock_owner = (int)this_cpu()->id; /* read again: nothing to keep across the slow call */
}

void klock_release(void)
{
	assert(klock_owner == (int)this_cpu()->id);
	klock_owner = -1;
	spin_unlock(&kernel_lock);
}
