/* SPDX-License-Identifier: MIT */
/* The kernel lock, with TLB shoot-down requests served while waiting for it (the uncontended
 * acquire and the release are inline in klock.h). */
#include "klock.h"

#include "arch.h"
#include "klock_hand_over.h"
#include "klock_kick.h"
#include "tlb.h"

spinlock_t klock_lock = SPINLOCK_INIT;
volatile int klock_owner = -1;
volatile unsigned klock_waiters;

/* The holder's flag, or false when `holder` names no CPU. */
static bool holder_in_guest(int holder)
{
	return holder >= 0 && holder < MAX_CPUS && percpu_area[holder].lock_in_guest;
}

/* A ticket lock cannot be polled while queued, so try-and-serve instead. (Queueing with a ticket
 * also hands the lock in turn to CPUs their host may not be running: under QEMU's multi-threaded
 * TCG on a loaded host the fuzz tests took several times as long; klock_hand_over gives the
 * waiters their turn instead.) A holder running a guest (a fused resume round) is kicked out
 * once per holding (klock_kick.h). */
void klock_wait_and_take(void)
{
	struct klock_kick kick = { 0 };
	__atomic_fetch_add(&klock_waiters, 1, __ATOMIC_SEQ_CST);
	do {
		tlb_serve();
		uint16_t serving = __atomic_load_n(&klock_lock.owner, __ATOMIC_ACQUIRE);
		int holder = klock_owner;
		if (klock_kick_due(&kick, serving, holder, holder_in_guest(holder))) {
			arch_kick((unsigned)holder);
		}
		cpu_relax();
	} while (!klock_try_take());
	__atomic_fetch_sub(&klock_waiters, 1, __ATOMIC_RELAXED);
}

/*
 * A waiter only takes a free lock, so a CPU that releases it and asks for it again at once (a
 * fused resume round kicked out of its guest by that very waiter does) or goes on to run a guest
 * can keep it out every time. On real CPUs the waiter loses a race of a few cycles, but it can
 * lose it over and over; under QEMU's TCG with -icount, which runs one CPU at a time, it is not
 * even running then, and it waited for its next time slice, a host tick or more
 * (docs/platforms.md#qemu-lock-handoff). So there (klock_release_to_waiters) the releaser stays
 * out of the way, PAUSE by PAUSE (which under TCG hands over to the next CPU), until a waiter has
 * the lock, for at most KLOCK_HAND_OVER_SPINS: a waiter that does not come (a virtual CPU its
 * host does not run now) costs no more than that. Not at every release: the idle loop's would
 * spin with interrupts off just before its halt, and QEMU then lost the wake-up of a timeout
 * that expired meanwhile (the VMM's 20 us waits ended at the next tick).
 */
#define KLOCK_HAND_OVER_SPINS 64

void klock_hand_over(void)
{
	struct klock_hand_over h = klock_hand_over_start(&klock_lock);
	while (klock_hand_over_wait(&h, &klock_lock, klock_waiters, KLOCK_HAND_OVER_SPINS)) {
		cpu_relax();
	}
}
