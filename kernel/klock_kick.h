/* SPDX-License-Identifier: MIT */
/*
 * Whether a CPU waiting for the kernel lock kicks its holder out of a guest. A fused resume
 * round (docs/architecture.md#resume-fast-path) keeps the lock while its guest runs and marks
 * its CPU (percpu.lock_in_guest); a CPU that waits for the lock sends the holder a host
 * interrupt, which ends the guest run, and the holder releases the lock on its way on. Pure, so
 * that the host tests run it (tests/unit/test_klock_kick.c); klock.c's wait loop calls it.
 */
#ifndef KERNEL_KLOCK_KICK_H
#define KERNEL_KLOCK_KICK_H

#include "types.h"

/* One waiter's memory of the kick it sent. */
struct klock_kick {
	bool sent;	  /* a kick went out during this wait */
	uint16_t serving; /* the lock's now-serving ticket then: it names that holding */
};

/*
 * One look of the wait loop: `serving` (the lock's now-serving ticket) read first, then the
 * holder's CPU id (`holder`, -1 when none) and that CPU's lock_in_guest flag (`in_guest`, false
 * when `holder` is no CPU). True: kick `holder` now. A holding of the lock runs a guest at most
 * once (a round enters once, then returns or goes on without the lock), so one kick per holding
 * is enough; a later holding, even by the same CPU, gets its own. A flag read from a holding that
 * just ended gives at worst a kick too many, which the CPU takes as a no-op interrupt.
 */
static inline bool klock_kick_due(struct klock_kick *k, uint16_t serving, int holder, bool in_guest)
{
	if (holder < 0 || !in_guest || (k->sent && k->serving == serving)) {
		return false;
	}
	k->sent = true;
	k->serving = serving;
	return true;
}

#endif
