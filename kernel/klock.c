/* SPDX-License-Identifier: MIT */
/* The kernel lock, with TLB shoot-down requests served while waiting for it (the uncontended
 * acquire and the release are inline in klock.h). */
#include "klock.h"

#include "tlb.h"

spinlock_t klock_lock = SPINLOCK_INIT;
volatile int klock_owner = -1;

/* A ticket lock cannot be polled while queued, so try-and-serve instead. */
void klock_wait_and_take(void)
{
	do {
		tlb_serve();
		cpu_relax();
	} while (!klock_try_take());
}
