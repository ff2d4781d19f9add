/* SPDX-License-Identifier: MIT */
/* A CPU waiting for the kernel lock kicks a holder that runs a guest, once per holding
 * (kernel/klock_kick.h). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "klock_kick.h"

Test(klock_kick, no_holder_or_a_holder_in_the_kernel_gets_no_kick)
{
	struct klock_kick k = { 0 };
	cr_expect_not(klock_kick_due(&k, 7, -1, false));
	cr_expect_not(klock_kick_due(&k, 7, -1, true), "a kick to no CPU");
	cr_expect_not(klock_kick_due(&k, 7, 1, false), "a kick to a holder in the kernel");
	cr_expect_not(k.sent);
}

Test(klock_kick, a_holder_in_a_guest_is_kicked_once_per_holding)
{
	struct klock_kick k = { 0 };
	cr_expect(klock_kick_due(&k, 7, 1, true));
	for (int i = 0; i < 100; i++) {
		cr_expect_not(klock_kick_due(&k, 7, 1, true),
			      "look %d kicked the same holding again", i);
	}
	/* The next holding, by the same CPU, in a guest again: its own kick. */
	cr_expect(klock_kick_due(&k, 8, 1, true));
	cr_expect_not(klock_kick_due(&k, 8, 1, true));
	/* Another CPU's holding. */
	cr_expect_not(klock_kick_due(&k, 9, 0, false));
	cr_expect(klock_kick_due(&k, 9, 0, true), "a holder that entered its guest late");
}

Test(klock_kick, the_ticket_wraps_around)
{
	struct klock_kick k = { 0 };
	cr_expect(klock_kick_due(&k, 0xffff, 2, true));
	cr_expect(klock_kick_due(&k, 0, 2, true));
	cr_expect_not(klock_kick_due(&k, 0, 2, true));
}

/*
 * A random history: holdings of the lock by random CPUs, each entering its guest at a random
 * look of the waiter or not at all, the waiter looking a random number of times per holding.
 * Every holding whose guest the waiter sees gets exactly one kick, and no other holding any.
 */
Test(klock_kick, random_holdings_get_one_kick_each_when_seen_in_a_guest)
{
	srand(20261202);
	for (int round = 0; round < 200; round++) {
		struct klock_kick k = { 0 };
		uint16_t serving = (uint16_t)rand();
		for (int h = 0; h < 300; h++, serving++) {
			int cpu = rand() % 4;
			int looks = rand() % 6;
			int enters = rand() % 8; /* >= looks: the guest is not seen */
			unsigned kicks = 0;
			bool seen = false;
			for (int l = 0; l < looks; l++) {
				bool in_guest = l >= enters;
				seen |= in_guest;
				kicks += klock_kick_due(&k, serving, cpu, in_guest);
			}
			cr_assert_eq(kicks, seen ? 1u : 0u,
				     "round %d holding %d: %u kicks, guest seen %d", round, h,
				     kicks, seen);
		}
	}
}
