/* SPDX-License-Identifier: MIT */
/* ASID/VPID allocation per CPU with generations (kernel/asid.c, docs/architecture.md#asids). */
#include <criterion/criterion.h>

#include "asid.h"

#define CPUS 2

static struct asid_cpu cpu[CPUS];

static void setup(void)
{
	for (unsigned c = 0; c < CPUS; c++) {
		asid_cpu_init(&cpu[c], c, 15); /* QEMU 7.2 reports 16 ASIDs, 0 being the host's */
	}
}

TestSuite(asid, .init = setup);

/* An entry's use of the allocator (kernel/svm/svm.c run_enter): keep the ASID while it is valid
 * on this CPU, else take a new one. */
static enum asid_flush asid_assign(struct asid_cpu *c, struct asid_tag *tag, uint64_t space_tag)
{
	if (asid_valid(tag, c->gen, space_tag)) {
		return ASID_KEEP;
	}
	return asid_assign_new(c, tag, space_tag);
}

Test(asid, the_first_entry_on_a_cpu_flushes_everything_and_gets_asid_1)
{
	struct asid_tag t = { 0 };
	cr_expect_eq(asid_assign(&cpu[0], &t, 7), ASID_FLUSH_ALL,
		     "a CPU's guest TLB may hold anything before its first generation");
	cr_expect_eq(t.asid, 1);
}

Test(asid, a_vcpu_keeps_its_asid_without_a_flush_while_nothing_changed)
{
	struct asid_tag t = { 0 };
	asid_assign(&cpu[0], &t, 7);
	uint32_t a = t.asid;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(asid_assign(&cpu[0], &t, 7), ASID_KEEP, "entry %d flushed", i);
		cr_assert_eq(t.asid, a);
	}
}

Test(asid, a_flushed_guest_space_gets_a_new_asid_and_no_full_flush)
{
	struct asid_tag t = { 0 };
	asid_assign(&cpu[0], &t, 7);
	uint32_t a = t.asid;
	cr_expect_eq(asid_assign(&cpu[0], &t, 8), ASID_NEW);
	cr_expect_neq(t.asid, a, "the old translations would still be used");
	cr_expect_eq(t.space_tag, 8);
}

Test(asid, moving_to_another_cpu_takes_an_asid_there)
{
	struct asid_tag t = { 0 };
	asid_assign(&cpu[0], &t, 7);
	cr_expect(!asid_valid(&t, cpu[1].gen, 7), "an ASID of CPU 0 is not one of CPU 1");
	cr_expect_eq(asid_assign(&cpu[1], &t, 7), ASID_FLUSH_ALL, "CPU 1's first generation");
	cr_expect_eq(t.gen, cpu[1].gen);
	/* Back on CPU 0: its earlier ASID there may have entries from before the move. */
	uint32_t before = cpu[0].next;
	cr_expect_eq(asid_assign(&cpu[0], &t, 7), ASID_NEW);
	cr_expect_eq(t.asid, before);
}

Test(asid, two_vcpus_on_one_cpu_never_share_an_asid)
{
	struct asid_tag a = { 0 }, b = { 0 };
	asid_assign(&cpu[0], &a, 7);
	asid_assign(&cpu[0], &b, 7);
	cr_expect_neq(a.asid, b.asid);
	cr_expect_eq(asid_assign(&cpu[0], &a, 7), ASID_KEEP);
	cr_expect_eq(asid_assign(&cpu[0], &b, 7), ASID_KEEP);
}

Test(asid, running_out_starts_a_new_generation_with_one_full_flush)
{
	struct asid_tag t[16] = { 0 };
	for (unsigned i = 0; i < 15; i++) {
		enum asid_flush f = asid_assign(&cpu[0], &t[i], 100 + i);
		cr_assert_eq(f, i == 0 ? ASID_FLUSH_ALL : ASID_NEW, "vCPU %u", i);
		cr_assert_eq(t[i].asid, i + 1);
	}
	uint64_t gen = cpu[0].gen;
	cr_expect_eq(asid_assign(&cpu[0], &t[15], 115), ASID_FLUSH_ALL,
		     "ASID 1 is reused: its old entries must go");
	cr_expect_eq(t[15].asid, 1);
	cr_expect_eq(cpu[0].gen, gen + (1u << ASID_GEN_CPU_BITS),
		     "the next generation of the same CPU");
	/* Everyone of the old generation takes a new ASID, without another flush. */
	cr_expect_eq(asid_assign(&cpu[0], &t[0], 100), ASID_NEW);
	cr_expect_eq(t[0].asid, 2);
}

Test(asid, asids_of_a_dead_vm_come_back_after_the_wrap)
{
	/* 15 VMs that ran once and died: nothing frees their ASIDs, the next wrap does. */
	for (unsigned vm = 0; vm < 15; vm++) {
		struct asid_tag dead = { 0 };
		asid_assign(&cpu[0], &dead, asid_space_tag());
	}
	struct asid_tag t = { 0 };
	cr_expect_eq(asid_assign(&cpu[0], &t, asid_space_tag()), ASID_FLUSH_ALL);
	cr_expect_eq(t.asid, 1);
}

Test(asid, within_a_generation_no_asid_is_handed_out_twice)
{
	/* Many vCPUs and guest spaces, random order: every ASID assigned in a generation is
	 * distinct, and a full flush comes exactly when the generation changes. */
	struct asid_tag t[40] = { 0 };
	bool used[16] = { false };
	uint64_t gen = 0;
	unsigned seed = 12345;
	for (int step = 0; step < 5000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned v = (seed >> 16) % 40;
		uint64_t tag = 1000 + v + ((seed >> 8) % 7 == 0 ? step * 40 : 0);
		enum asid_flush f = asid_assign(&cpu[0], &t[v], tag);
		if (cpu[0].gen != gen) {
			cr_assert_eq(f, ASID_FLUSH_ALL, "step %d: a new generation without a flush",
				     step);
			gen = cpu[0].gen;
			for (unsigned i = 0; i < 16; i++) {
				used[i] = false;
			}
			used[t[v].asid] = true;
		} else if (f == ASID_NEW) {
			cr_assert(!used[t[v].asid], "step %d: ASID %u given twice", step,
				  t[v].asid);
			used[t[v].asid] = true;
		} else {
			cr_assert_eq(f, ASID_KEEP, "step %d: a flush inside a generation", step);
		}
		cr_assert(t[v].asid >= 1 && t[v].asid <= 15, "ASID %u out of range", t[v].asid);
	}
}

Test(asid, space_tags_are_unique_and_nonzero)
{
	uint64_t a = asid_space_tag(), b = asid_space_tag();
	cr_expect_neq(a, 0);
	cr_expect_gt(b, a);
}

Test(asid, a_cpu_with_a_single_asid_flushes_at_every_change)
{
	struct asid_cpu one;
	asid_cpu_init(&one, 0, 1);
	struct asid_tag t = { 0 };
	cr_expect_eq(asid_assign(&one, &t, 1), ASID_FLUSH_ALL);
	cr_expect_eq(asid_assign(&one, &t, 1), ASID_KEEP);
	cr_expect_eq(asid_assign(&one, &t, 2), ASID_FLUSH_ALL);
	cr_expect_eq(t.asid, 1);
}

Test(asid, a_vcpu_that_never_ran_has_a_valid_asid_nowhere)
{
	/* CPU 0's generation is the one that could meet a zeroed tag's 0. */
	struct asid_tag t = { 0 };
	for (unsigned c = 0; c < CPUS; c++) {
		cr_expect(!asid_valid(&t, cpu[c].gen, 0), "CPU %u", c);
	}
	struct asid_tag dropped = { 0 };
	asid_assign(&cpu[0], &dropped, 5);
	asid_tag_drop(&dropped);
	cr_expect(!asid_valid(&dropped, cpu[0].gen, 5), "a dropped ASID was kept");
}

Test(asid, the_generations_of_two_cpus_never_meet)
{
	/* Many wraps on both CPUs, at different rates: a tag valid on one is never valid on the
	 * other, whatever their generation counts. */
	struct asid_tag t0 = { 0 }, t1 = { 0 };
	for (unsigned step = 0; step < 3000; step++) {
		asid_assign(&cpu[0], &t0, step);
		if (step % 3 == 0) {
			asid_assign(&cpu[1], &t1, step);
		}
		cr_assert_neq(cpu[0].gen, cpu[1].gen, "step %u", step);
		cr_assert_eq(cpu[0].gen & ((1u << ASID_GEN_CPU_BITS) - 1), 0);
		cr_assert_eq(cpu[1].gen & ((1u << ASID_GEN_CPU_BITS) - 1), 1);
		cr_assert(!asid_valid(&t0, cpu[1].gen, t0.space_tag), "step %u", step);
		cr_assert(!asid_valid(&t1, cpu[0].gen, t1.space_tag), "step %u", step);
	}
}
