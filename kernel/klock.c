/* SPDX-License-Identifier: MIT */
/* The kernel lock, with TLB shoot-down requests served while waiting for it (the uncontended
 * acquire and the release are inline in klock.h). */
#include "klock.h"

#include "arch.h"
#include "klock_kick.h"
#include "tlb.h"

spinlock_t klock_lock = SPINLOCK_INIT;
volatile int klock_owner = -1;

/* The holder's flag, or false when `holder` names no CPU. */
static bool holder_in_guest(int holder)
{
	return holder >= 0 && holder < MAX_CPUS && percpu_area[holder].lock_in_guest;
}

/* A ticket lock cannot be polled while queued, so try-and-serve instead. A holder running a
 * guest (a fused resume round) is kicked out once per holding (klock_kick.h). */
void klock_wait_and_take(void)
{
	struct klock_kick kick = { 0 };
	do {
		tlb_serve();
		uint16_t serving = __atomic_load_n(&klock_lock.owner, __ATOMIC_ACQUIRE);
		int holder = klock_owner;
		if (klock_kick_due(&kick, serving, holder, holder_in_guest(holder))) {
			arch_kick((unsigned)holder);
		}
		cpu_relax();
	} while (!klock_try_take());
}
