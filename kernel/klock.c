/* SPDX-License-Identifier: MIT */
/* The kernel lock, with TLB shoot-down requests served while waiting for it. */
#include "klock.h"

#include "assert.h"
#include "spinlock.h"
#include "tlb.h"
#include "arch.h"

static spinlock_t kernel_lock = SPINLOCK_INIT;
static volatile int owner = -1;

void klock_acquire(void)
{
	unsigned me = this_cpu()->id;
	assert(owner != (int)me);
	/* A ticket lock cannot be polled while queued, so try-and-serve instead. */
	for (;;) {
		uint16_t next = __atomic_load_n(&kernel_lock.next, __ATOMIC_RELAXED);
		if (__atomic_load_n(&kernel_lock.owner, __ATOMIC_ACQUIRE) == next) {
			uint16_t want = next;
			if (__atomic_compare_exchange_n(&kernel_lock.next, &want,
							(uint16_t)(next + 1), false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				break;
			}
		}
		tlb_serve();
		cpu_relax();
	}
	owner = (int)me;
}

void klock_release(void)
{
	assert(owner == (int)this_cpu()->id);
	owner = -1;
	spin_unlock(&kernel_lock);
}

bool klock_held(void)
{
	return owner == (int)this_cpu()->id;
}
