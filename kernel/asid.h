/* SPDX-License-Identifier: MIT */
/*
 * Address-space identifiers for guest TLB entries (SVM ASIDs, VMX VPIDs), handed out per CPU with
 * a generation count, so that a VM's translations are flushed only when its guest space changed
 * (docs/architecture.md#asids).
 */
#ifndef KERNEL_ASID_H
#define KERNEL_ASID_H

#include "types.h"

/*
 * One CPU's allocator. ASIDs 1..max are handed out in order; when they run out the generation
 * moves on and the whole guest TLB of that CPU is flushed, which makes every ASID of the old
 * generation free again. No ASID is ever freed one by one: a VM that dies simply stops using
 * its ASIDs, and they come back at the next wrap (KVM's svm new_asid works the same way).
 * A generation names its CPU too (its low ASID_GEN_CPU_BITS bits), so that one comparison tells
 * "this CPU, this generation", and it is never 0, which is a tag's "none".
 */
#define ASID_GEN_CPU_BITS 8
struct asid_cpu {
	uint64_t gen;
	uint32_t next;
	uint32_t max;
};

/*
 * What a vCPU last ran with: the generation (and so the CPU) and the ASID, and the guest space's
 * flush tag (asid_space_tag) it saw. Zero-initialised means "none yet".
 */
struct asid_tag {
	uint64_t gen;
	uint64_t space_tag;
	uint32_t asid;
};

/* What the entry must do besides running with tag->asid. */
enum asid_flush {
	ASID_KEEP,	/* the ASID's translations are still valid: no flush */
	ASID_NEW,	/* a fresh ASID of this generation: nothing cached for it, no flush */
	ASID_FLUSH_ALL, /* the generation wrapped: flush every guest translation of this CPU */
};

/* CPU `cpu` (below 1 << ASID_GEN_CPU_BITS), whose hardware has ASIDs 1..max (max >= 1; ASID 0
 * is the host's). */
void asid_cpu_init(struct asid_cpu *c, unsigned cpu, uint32_t max);

/*
 * Is the vCPU's ASID still valid on the CPU whose generation is `cpu_gen`, for its guest space
 * whose flush tag is now `space_tag`? Then its entry runs with tag->asid and flushes nothing.
 * Almost every entry: in line, two comparisons (the resume fast path reads cpu_gen through GS).
 */
static inline __attribute__((always_inline)) bool asid_valid(const struct asid_tag *tag,
							     uint64_t cpu_gen, uint64_t space_tag)
{
	return tag->gen == cpu_gen && tag->space_tag == space_tag;
}

/*
 * When asid_valid is false: a new ASID of this CPU (allocator c) for the vCPU, and what the entry
 * must flush (ASID_NEW or ASID_FLUSH_ALL). Called with interrupts off on that CPU (c is per CPU,
 * nothing else touches it).
 */
enum asid_flush asid_assign_new(struct asid_cpu *c, struct asid_tag *tag, uint64_t space_tag);

/* Forget the vCPU's ASID: its next entry takes a new one. For a change the TLB entries of the
 * ASID would not follow, such as the VMM loading another guest CR3 (VMRUN flushes nothing). */
static inline void asid_tag_drop(struct asid_tag *tag)
{
	tag->gen = 0;
}

/*
 * A new flush tag for a guest space whose translations must go (a revoke, or the space is new):
 * unique over the kernel's lifetime, so a tag also tells one guest space from another, even one
 * that reuses the memory of a dead one. Called under the kernel lock.
 */
uint64_t asid_space_tag(void);

#endif
