/* SPDX-License-Identifier: MIT */
/* A CPU that releases the kernel lock keeps out of the way of its waiters until one took it
 * (kernel/klock_hand_over.h). */
#include <criterion/criterion.h>

#include "klock_hand_over.h"

#define MAX_SPINS 64

static spinlock_t released(void)
{
	spinlock_t l = SPINLOCK_INIT;
	cr_assert(spin_trylock(&l));
	spin_unlock(&l);
	return l;
}

Test(klock_hand_over, without_waiters_the_releaser_goes_on_at_once)
{
	spinlock_t l = released();
	struct klock_hand_over h = klock_hand_over_start(&l);
	cr_expect_not(klock_hand_over_wait(&h, &l, 0, MAX_SPINS));
}

Test(klock_hand_over, a_waiter_that_does_not_come_costs_the_bound_and_no_more)
{
	spinlock_t l = released();
	struct klock_hand_over h = klock_hand_over_start(&l);
	unsigned pauses = 0;
	while (klock_hand_over_wait(&h, &l, 1, MAX_SPINS)) {
		cr_assert_lt(++pauses, 1000);
	}
	cr_expect_eq(pauses, MAX_SPINS);
}

Test(klock_hand_over, the_releaser_goes_on_once_a_waiter_took_the_lock)
{
	spinlock_t l = released();
	struct klock_hand_over h = klock_hand_over_start(&l);
	cr_expect(klock_hand_over_wait(&h, &l, 1, MAX_SPINS));
	cr_expect(klock_hand_over_wait(&h, &l, 1, MAX_SPINS));
	cr_assert(spin_trylock(&l)); /* the waiter */
	cr_expect_not(klock_hand_over_wait(&h, &l, 1, MAX_SPINS), "still waiting for a lock taken");
}

Test(klock_hand_over, a_take_and_release_in_between_counts_as_taken)
{
	spinlock_t l = released();
	struct klock_hand_over h = klock_hand_over_start(&l);
	cr_assert(spin_trylock(&l));
	spin_unlock(&l);
	cr_expect_not(klock_hand_over_wait(&h, &l, 1, MAX_SPINS));
}

Test(klock_hand_over, the_ticket_wraps_around)
{
	spinlock_t l = { .next = 0xffff, .owner = 0xffff };
	cr_assert(spin_trylock(&l));
	spin_unlock(&l);
	struct klock_hand_over h = klock_hand_over_start(&l);
	cr_expect_eq(h.next, 0);
	cr_expect(klock_hand_over_wait(&h, &l, 2, MAX_SPINS));
	cr_assert(spin_trylock(&l));
	cr_expect_not(klock_hand_over_wait(&h, &l, 1, MAX_SPINS));
}

/*
 * QEMU's TCG with -icount runs one CPU at a time and hands over at a PAUSE. CPU A holds the lock
 * and takes it again right after each release (a fused resume round kicked out of its guest, the
 * general run loop between two runs); CPU B waits, looking for a free lock each time it runs. B
 * runs only while A PAUSEs, in its hand-over or in its own wait for the lock. `max_spins` 0 is
 * the kernel without the hand-over. Returns how many of A's holdings B waited through.
 */
static unsigned holdings_waited(unsigned max_spins)
{
	spinlock_t l = SPINLOCK_INIT;
	unsigned waiters = 1; /* B */
	bool b_has_it = false;
	cr_assert(spin_trylock(&l)); /* A */
	unsigned holdings = 0;
	for (; holdings < 100 && !b_has_it; holdings++) {
		spin_unlock(&l); /* A */
		struct klock_hand_over h = klock_hand_over_start(&l);
		while (klock_hand_over_wait(&h, &l, waiters, max_spins)) {
			/* A's PAUSE: B runs one look. */
			if (!b_has_it && spin_trylock(&l)) {
				b_has_it = true;
				waiters--;
			}
		}
		/* A asks for the lock again. */
		while (!spin_trylock(&l)) {
			/* A's PAUSE in its wait: B runs, does its work and releases. */
			cr_assert(b_has_it);
			spin_unlock(&l);
		}
	}
	return holdings;
}

Test(klock_hand_over, a_waiter_gets_the_lock_at_the_first_release_under_one_cpu_at_a_time)
{
	cr_expect_eq(holdings_waited(MAX_SPINS), 1);
	/* The same without the hand-over: B never ran while the lock was free. */
	cr_expect_eq(holdings_waited(0), 100);
}
