/* SPDX-License-Identifier: MIT */
/* Per-CPU ASID allocation with generations (kernel/asid.h; docs/architecture.md#asids). */
#include "asid.h"

#include "assert.h"

void asid_cpu_init(struct asid_cpu *c, unsigned cpu, uint32_t max)
{
	CHECK(max >= 1 && cpu < (1u << ASID_GEN_CPU_BITS));
	/* Generation 1 with next beyond max: the first assignment wraps, which starts generation 2
	 * with a flush (whatever a firmware or an earlier kernel left in the guest TLB goes). */
	*c = (struct asid_cpu){ .gen = (1ull << ASID_GEN_CPU_BITS) | cpu,
				.next = max + 1,
				.max = max };
}

enum asid_flush asid_assign_new(struct asid_cpu *c, struct asid_tag *tag, uint64_t space_tag)
{
	enum asid_flush f = ASID_NEW;
	if (c->next > c->max) {
		c->gen += 1ull << ASID_GEN_CPU_BITS; /* the CPU's bits stay */
		c->next = 1;
		f = ASID_FLUSH_ALL;
	}
	*tag = (struct asid_tag){ .gen = c->gen, .space_tag = space_tag, .asid = c->next++ };
	return f;
}

uint64_t asid_space_tag(void)
{
	static uint64_t clock;
	return __atomic_add_fetch(&clock, 1, __ATOMIC_RELAXED);
}
