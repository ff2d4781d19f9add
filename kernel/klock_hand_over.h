/* SPDX-License-Identifier: MIT */
/*
 * How long a CPU that just released the kernel lock keeps out of the way of the CPUs waiting for
 * it (kernel/klock.c, klock_hand_over): until one of them took it, none waits any more, or a
 * bound of PAUSEs has passed. Pure, so that the host tests run it
 * (tests/unit/test_klock_hand_over.c).
 */
#ifndef KERNEL_KLOCK_HAND_OVER_H
#define KERNEL_KLOCK_HAND_OVER_H

#include "spinlock.h"
#include "types.h"

struct klock_hand_over {
	uint16_t next;	/* the lock's next ticket when it was released: a take moves it on */
	unsigned spins; /* PAUSEs so far */
};

/* Right after the release. */
static inline struct klock_hand_over klock_hand_over_start(const spinlock_t *l)
{
	return (struct klock_hand_over){ .next = __atomic_load_n(&l->next, __ATOMIC_RELAXED) };
}

/* One look, with `waiters` CPUs waiting for the lock now: true to PAUSE once more, then look
 * again. */
static inline bool klock_hand_over_wait(struct klock_hand_over *h, const spinlock_t *l,
					unsigned waiters, unsigned max_spins)
{
	if (!waiters || h->spins >= max_spins ||
	    __atomic_load_n(&l->next, __ATOMIC_RELAXED) != h->next) {
		return false;
	}
	h->spins++;
	return true;
}

#endif
