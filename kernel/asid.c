/* SPDX-License-Identifier: MIT */
/* Per-CPU ASID allocation with generations (kernel/asid.h; docs/architecture.md#asids). */
#include "asid.h"

#include "assert.h"

void asid_cpu_init(struct asid_cpu *c, uint32_t max)
{
	CHECK(max >= 1);
	/* next beyond max: the first assignment wraps, which starts generation 1 with a flush
	 * (whatever a firmware or an earlier kernel left in the guest TLB goes). */
	*c = (struct asid_cpu){ .gen = 0, .next = max + 1, .max = max };
}

/* asid_assign when the vCPU's ASID is not valid on this CPU (any more). */
enum asid_flush asid_assign_new(struct asid_cpu *c, uint32_t cpu, struct asid_tag *tag,
				uint64_t space_tag)
{
	enum asid_flush f = ASID_NEW;
	if (c->next > c->max) {
		c->gen++;
		c->next = 1;
		f = ASID_FLUSH_ALL;
	}
	*tag = (struct asid_tag){
		.gen = c->gen, .space_tag = space_tag, .asid = c->next++, .cpu = cpu
	};
	return f;
}

uint64_t asid_space_tag(void)
{
	static uint64_t clock;
	return __atomic_add_fetch(&clock, 1, __ATOMIC_RELAXED);
}
