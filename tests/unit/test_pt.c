/* SPDX-License-Identifier: MIT */
/* Specification of the page-table walker in the x86 format: mapping, lookup, splitting, memory. */
#include <criterion/criterion.h>
#include <signal.h>

#include "arch.h"
#include "pt.h"
#include "test_pt.h"
#include "x86/pte.h"

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define RW (MAP_R | MAP_W)

static struct pt pt;

static void setup(void)
{
	test_pt_setup();
	cr_assert_eq(pt_init(&pt, PT_FMT_X86, &test_pt_alloc), VIREO_OK);
}

static void teardown(void)
{
	test_pt_teardown();
}

TestSuite(pt, .init = setup, .fini = teardown);

/* pt_lookup wrapper: the translation of va, or ~0 if unmapped. */
static uint64_t xlate(uint64_t va)
{
	paddr_t pa;
	return pt_lookup(&pt, va, &pa, NULL, NULL) ? pa_addr(pa) : ~0ull;
}

static uint64_t page_size_at(uint64_t va)
{
	uint64_t sz = 0;
	cr_assert(pt_lookup(&pt, va, NULL, NULL, &sz), "%#lx unmapped", (unsigned long)va);
	return sz;
}

static unsigned attr_at(uint64_t va)
{
	unsigned attr = 0;
	cr_assert(pt_lookup(&pt, va, NULL, &attr, NULL), "%#lx unmapped", (unsigned long)va);
	return attr;
}

/* ---------------------------------------------------------------- init, map, lookup */

Test(pt, init_gives_an_empty_table)
{
	cr_assert(pa_valid(pt.root));
	cr_assert_eq(test_pt_live(), 1);
	cr_assert_not(pt_lookup(&pt, 0, NULL, NULL, NULL));
	cr_assert_not(pt_lookup(&pt, 0xffffffff80000000ull, NULL, NULL, NULL));
}

Test(pt, init_fails_cleanly_without_memory)
{
	struct pt p;
	test_alloc.fail_after = 0;
	cr_assert_eq(pt_init(&p, PT_FMT_X86, &test_pt_alloc), VIREO_NO_MEM);
	cr_assert_not(pa_valid(p.root));
}

Test(pt, init_rejects_unknown_format)
{
	struct pt p;
	cr_assert_eq(pt_init(&p, (enum pt_format)7, &test_pt_alloc), VIREO_BAD_PAR);
}

Test(pt, map_4k_then_lookup_gives_the_exact_address)
{
	uint64_t sz;
	unsigned attr;
	paddr_t pa;

	cr_assert_eq(pt_map(&pt, 0x400000, pa_init(0x12345000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert(pt_lookup(&pt, 0x400abc, &pa, &attr, &sz));
	cr_assert_eq(pa_addr(pa), 0x12345abc);
	cr_assert_eq(sz, PAGE_SIZE);
	cr_assert_eq(attr, MAP_R);
	cr_assert_eq(xlate(0x401000), ~0ull);
	cr_assert_eq(xlate(0x3ff000), ~0ull);
}

Test(pt, lookup_accepts_null_outputs)
{
	cr_assert_eq(pt_map(&pt, 0x400000, pa_init(0x12345000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert(pt_lookup(&pt, 0x400000, NULL, NULL, NULL));
}

Test(pt, map_range_of_4k_pages_translates_every_page)
{
	cr_assert_eq(pt_map(&pt, 0x7000, pa_init(0x100000000), KiB(64), RW, 0), VIREO_OK);
	for (uint64_t off = 0; off < KiB(64); off += PAGE_SIZE) {
		cr_assert_eq(xlate(0x7000 + off + 8), 0x100000000 + off + 8);
		cr_assert_eq(page_size_at(0x7000 + off), PAGE_SIZE);
	}
	cr_assert_eq(xlate(0x6fff), ~0ull);
	cr_assert_eq(xlate(0x7000 + KiB(64)), ~0ull);
}

Test(pt, map_uses_2m_leaf_when_allowed_and_aligned)
{
	cr_assert_eq(pt_map(&pt, MiB(4), pa_init(MiB(64)), MiB(2), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(page_size_at(MiB(4)), MiB(2));
	cr_assert_eq(xlate(MiB(4) + 0x12345), MiB(64) + 0x12345);
	cr_assert(*test_pt_entry(&pt, MiB(4), 1) & PTE_PS);
	/* root, PDPT and PD: no page table below the leaf */
	cr_assert_eq(test_pt_live(), 3);
}

Test(pt, map_without_large_flag_uses_4k_pages)
{
	cr_assert_eq(pt_map(&pt, MiB(4), pa_init(MiB(64)), MiB(2), RW, 0), VIREO_OK);
	cr_assert_eq(page_size_at(MiB(4)), PAGE_SIZE);
	cr_assert_eq(page_size_at(MiB(6) - PAGE_SIZE), PAGE_SIZE);
	cr_assert_eq(xlate(MiB(6) - 1), MiB(66) - 1);
}

Test(pt, map_uses_1g_leaf_with_1g_flag)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(4)), GiB(1), RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(page_size_at(GiB(1)), GiB(1));
	cr_assert_eq(xlate(GiB(2) - 8), GiB(5) - 8);
	cr_assert(*test_pt_entry(&pt, GiB(1), 2) & PTE_PS);
	cr_assert_eq(test_pt_live(), 2);
}

Test(pt, large_flag_alone_gives_2m_not_1g_leaves)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(4)), GiB(1), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(page_size_at(GiB(1)), MiB(2));
	cr_assert_eq(page_size_at(GiB(2) - PAGE_SIZE), MiB(2));
}

Test(pt, 1g_flag_allows_2m_leaves_too)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(2)), MiB(2), RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(page_size_at(MiB(2)), MiB(2));
}

Test(pt, misaligned_physical_address_falls_back_to_4k)
{
	cr_assert_eq(pt_map(&pt, MiB(4), pa_init(MiB(64) + PAGE_SIZE), MiB(2), RW, PT_1G_OK),
		     VIREO_OK);
	cr_assert_eq(page_size_at(MiB(4)), PAGE_SIZE);
	cr_assert_eq(xlate(MiB(5)), MiB(65) + PAGE_SIZE);
}

Test(pt, mixed_range_uses_largest_leaf_at_each_place)
{
	/* 4 KiB head, 2 MiB body, 1 GiB middle, 2 MiB and 4 KiB tail */
	uint64_t va = GiB(1) - MiB(2) - PAGE_SIZE;
	uint64_t size = GiB(1) + MiB(4) + 2 * PAGE_SIZE;

	cr_assert_eq(pt_map(&pt, va, pa_init(va + GiB(8)), size, RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(page_size_at(va), PAGE_SIZE);
	cr_assert_eq(page_size_at(GiB(1) - MiB(2)), MiB(2));
	cr_assert_eq(page_size_at(GiB(1)), GiB(1));
	cr_assert_eq(page_size_at(GiB(2)), MiB(2));
	cr_assert_eq(page_size_at(GiB(2) + MiB(2)), PAGE_SIZE);
	cr_assert_eq(xlate(va + size - 1), va + size - 1 + GiB(8));
	cr_assert_eq(xlate(va + size), ~0ull);
	cr_assert_eq(xlate(va - 1), ~0ull);
}

Test(pt, range_may_cross_top_level_entries)
{
	uint64_t va = GiB(512) - GiB(1);

	cr_assert_eq(pt_map(&pt, va, pa_init(0), GiB(2), RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(xlate(GiB(512) - 1), GiB(1) - 1);
	cr_assert_eq(xlate(GiB(512)), GiB(1));
	cr_assert_eq(xlate(GiB(513) - 1), GiB(2) - 1);
}

Test(pt, physical_address_zero_can_be_mapped)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(xlate(0x1000), 0);
}

Test(pt, upper_half_addresses_map)
{
	uint64_t va = 0xffffffff80000000ull;

	cr_assert_eq(pt_map(&pt, va, pa_init(MiB(2)), MiB(4), RW | MAP_X | MAP_G, PT_LARGE_OK),
		     VIREO_OK);
	cr_assert_eq(xlate(va + MiB(3)), MiB(5));
	cr_assert_eq(pt_map(&pt, 0xffff800000000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(xlate(0xffff800000000000ull), 0);
}

Test(pt, last_page_of_the_address_space_maps)
{
	uint64_t va = 0xfffffffffffff000ull;

	cr_assert_eq(pt_map(&pt, va, pa_init(0x5000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(xlate(~0ull), 0x5fff);
	cr_assert_eq(pt_unmap(&pt, va, PAGE_SIZE), VIREO_OK);
	cr_assert_eq(xlate(~0ull), ~0ull);
}

Test(pt, last_page_of_the_lower_half_maps)
{
	cr_assert_eq(pt_map(&pt, 0x00007ffffffff000ull, pa_init(0x5000), PAGE_SIZE, MAP_R, 0),
		     VIREO_OK);
	cr_assert_eq(xlate(0x00007fffffffffffull), 0x5fff);
}

/* ---------------------------------------------------------------- attributes and raw bits */

Test(pt, attributes_round_trip_through_lookup)
{
	static const unsigned attrs[] = {
		MAP_R,	       MAP_R | MAP_W,	      MAP_R | MAP_X,	     MAP_R | MAP_W | MAP_X,
		MAP_R | MAP_U, MAP_R | MAP_W | MAP_U, MAP_R | MAP_X | MAP_U, MAP_R | MAP_UC,
		MAP_R | MAP_G, MAP_ATTR_ALL,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(attrs); i++) {
		uint64_t va = MiB(2) * (i + 1);
		cr_assert_eq(pt_map(&pt, va, pa_init(va), PAGE_SIZE, attrs[i], 0), VIREO_OK);
		cr_assert_eq(attr_at(va), attrs[i], "attr %#x came back as %#x", attrs[i],
			     attr_at(va));
		cr_assert_eq(
			pt_map(&pt, va + MiB(2) * 16, pa_init(0), MiB(2), attrs[i], PT_LARGE_OK),
			VIREO_OK);
		cr_assert_eq(attr_at(va + MiB(2) * 16), attrs[i]);
	}
}

Test(pt, leaf_bits_follow_the_attributes)
{
	uint64_t e;

	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0xabc000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	e = *test_pt_entry(&pt, 0x1000, 0);
	cr_assert_eq(e, 0xabc000 | PTE_P | PTE_NX);

	cr_assert_eq(pt_map(&pt, 0x2000, pa_init(0xabc000), PAGE_SIZE, MAP_ATTR_ALL, 0), VIREO_OK);
	e = *test_pt_entry(&pt, 0x2000, 0);
	cr_assert_eq(e, 0xabc000 | PTE_P | PTE_RW | PTE_US | PTE_G | PTE_PCD | PTE_PWT);

	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(8)), MiB(2), RW, PT_LARGE_OK), VIREO_OK);
	e = *test_pt_entry(&pt, MiB(2), 1);
	cr_assert_eq(e, MiB(8) | PTE_P | PTE_RW | PTE_NX | PTE_PS);

	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(3)), GiB(1), MAP_R | MAP_X, PT_1G_OK),
		     VIREO_OK);
	e = *test_pt_entry(&pt, GiB(1), 2);
	cr_assert_eq(e, GiB(3) | PTE_P | PTE_PS);
}

Test(pt, non_leaf_entries_grant_present_write_user)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0xabc000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	for (int level = 3; level >= 1; level--) {
		uint64_t e = *test_pt_entry(&pt, 0x1000, level);
		cr_assert_eq(e & ~PTE_ADDR_MASK, PTE_P | PTE_RW | PTE_US, "level %d: %#lx", level,
			     (unsigned long)e);
	}
}

/* ---------------------------------------------------------------- bad arguments */

Test(pt, rejects_unaligned_virtual_address)
{
	cr_assert_eq(pt_map(&pt, 0x1001, pa_init(0x2000), PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0x1800, PAGE_SIZE), VIREO_BAD_PAR);
}

Test(pt, rejects_unaligned_physical_address)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0x2008), PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
}

Test(pt, rejects_unaligned_or_zero_size)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0x2000), 0x800, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0x2000), 0, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0x1000, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0x1000, 0x1800), VIREO_BAD_PAR);
}

Test(pt, rejects_non_canonical_virtual_address)
{
	cr_assert_eq(pt_map(&pt, 0x0000800000000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0xffff7ffffffff000ull, pa_init(0), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1234000000000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0x0000800000000000ull, PAGE_SIZE), VIREO_BAD_PAR);
	cr_assert_not(pt_lookup(&pt, 0x0000800000000000ull, NULL, NULL, NULL));
	cr_assert_eq(test_pt_live(), 1);
}

Test(pt, rejects_range_running_into_the_canonical_hole)
{
	cr_assert_eq(pt_map(&pt, 0x00007ffffffff000ull, pa_init(0), 2 * PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(xlate(0x00007ffffffff000ull), ~0ull);
}

Test(pt, rejects_range_wrapping_around_the_address_space)
{
	cr_assert_eq(pt_map(&pt, 0xfffffffffffff000ull, pa_init(0), 2 * PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0xfffffffffffff000ull, 2 * PAGE_SIZE), VIREO_BAD_PAR);
}

Test(pt, rejects_physical_range_beyond_52_bits)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(1ull << 52), PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(
		pt_map(&pt, 0x1000, pa_init((1ull << 52) - PAGE_SIZE), 2 * PAGE_SIZE, MAP_R, 0),
		VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0xfffffffffffff000ull), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init((1ull << 52) - PAGE_SIZE), PAGE_SIZE, MAP_R, 0),
		     VIREO_OK);
}

Test(pt, x86_rejects_mappings_without_read)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_W, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_X, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, 0, 0), VIREO_BAD_PAR);
}

Test(pt, rejects_unknown_attribute_and_flag_bits)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_R | 0x40, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_R, 0x4), VIREO_BAD_PAR);
	cr_assert_eq(test_pt_live(), 1);
}

/* ---------------------------------------------------------------- replacing and splitting */

Test(pt, map_replaces_an_existing_mapping)
{
	cr_assert_eq(pt_map(&pt, 0x10000, pa_init(0x20000), KiB(16), RW, 0), VIREO_OK);
	cr_assert_eq(pt_map(&pt, 0x11000, pa_init(0x90000), PAGE_SIZE, MAP_R | MAP_X, 0), VIREO_OK);
	cr_assert_eq(xlate(0x10000), 0x20000);
	cr_assert_eq(xlate(0x11000), 0x90000);
	cr_assert_eq(attr_at(0x11000), MAP_R | MAP_X);
	cr_assert_eq(xlate(0x12000), 0x22000);
}

Test(pt, map_4k_inside_2m_page_splits_it)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(10)), MiB(2), RW | MAP_U, PT_LARGE_OK),
		     VIREO_OK);
	cr_assert_eq(pt_map(&pt, MiB(3), pa_init(0x7000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(xlate(MiB(3) + 5), 0x7005);
	cr_assert_eq(attr_at(MiB(3)), MAP_R);
	/* the rest still translates as the large page did, with its attributes */
	cr_assert_eq(xlate(MiB(2)), MiB(10));
	cr_assert_eq(xlate(MiB(3) + PAGE_SIZE), MiB(11) + PAGE_SIZE);
	cr_assert_eq(xlate(MiB(4) - 1), MiB(12) - 1);
	cr_assert_eq(attr_at(MiB(2)), RW | MAP_U);
	cr_assert_eq(page_size_at(MiB(2)), PAGE_SIZE);
}

Test(pt, map_2m_inside_1g_page_splits_it_into_2m_pages)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(2)), GiB(1), RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(pt_map(&pt, GiB(1) + MiB(4), pa_init(MiB(2)), MiB(2), MAP_R, PT_1G_OK),
		     VIREO_OK);
	cr_assert_eq(page_size_at(GiB(1)), MiB(2));
	cr_assert_eq(page_size_at(GiB(2) - 1), MiB(2));
	cr_assert_eq(xlate(GiB(1) + MiB(4) + 3), MiB(2) + 3);
	cr_assert_eq(xlate(GiB(1) + MiB(6)), GiB(2) + MiB(6));
}

Test(pt, large_mapping_over_4k_tables_frees_them)
{
	cr_assert_eq(pt_map(&pt, 0, pa_init(0), MiB(4), RW, 0), VIREO_OK);
	cr_assert_eq(test_pt_live(), 5); /* root, PDPT, PD, two PTs */
	cr_assert_eq(pt_map(&pt, 0, pa_init(GiB(1)), MiB(4), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(test_pt_live(), 3);
	cr_assert_eq(page_size_at(MiB(3)), MiB(2));
	cr_assert_eq(xlate(MiB(3)), GiB(1) + MiB(3));
}

Test(pt, 1g_mapping_over_a_whole_subtree_frees_it)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(0), MiB(6), RW, 0), VIREO_OK);
	cr_assert_eq(test_pt_live(), 6);
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(0), GiB(1), RW, PT_1G_OK), VIREO_OK);
	cr_assert_eq(test_pt_live(), 2);
}

Test(pt, split_moves_the_pat_bit_to_its_4k_position)
{
	uint64_t *e;

	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(2)), MiB(2), MAP_R, PT_LARGE_OK), VIREO_OK);
	e = test_pt_entry(&pt, MiB(2), 1);
	*e |= PTE_PAT_LARGE;
	cr_assert_eq(pt_unmap(&pt, MiB(2), PAGE_SIZE), VIREO_OK);
	/* an even page, so address bit 12 cannot hide a stale large-page PAT bit */
	e = test_pt_entry(&pt, MiB(2) + 2 * PAGE_SIZE, 0);
	cr_assert_eq(*e, (MiB(2) + 2 * PAGE_SIZE) | PTE_P | PTE_NX | PTE_PAT);
	cr_assert_eq(xlate(MiB(4) - 1), MiB(4) - 1);
}

/* ---------------------------------------------------------------- unmap */

Test(pt, unmap_removes_exactly_the_range)
{
	cr_assert_eq(pt_map(&pt, 0x10000, pa_init(0x20000), KiB(16), RW, 0), VIREO_OK);
	cr_assert_eq(pt_unmap(&pt, 0x11000, KiB(8)), VIREO_OK);
	cr_assert_eq(xlate(0x10000), 0x20000);
	cr_assert_eq(xlate(0x11000), ~0ull);
	cr_assert_eq(xlate(0x12000), ~0ull);
	cr_assert_eq(xlate(0x13000), 0x23000);
}

Test(pt, unmap_inside_2m_page_splits_it)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(10)), MiB(2), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(pt_unmap(&pt, MiB(3), PAGE_SIZE), VIREO_OK);
	cr_assert_eq(xlate(MiB(3)), ~0ull);
	cr_assert_eq(xlate(MiB(3) - 1), MiB(11) - 1);
	cr_assert_eq(xlate(MiB(3) + PAGE_SIZE), MiB(11) + PAGE_SIZE);
	cr_assert_eq(attr_at(MiB(2)), RW);
	cr_assert_eq(page_size_at(MiB(2)), PAGE_SIZE);
}

Test(pt, unmap_inside_1g_page_splits_down_to_4k)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(7)), GiB(1), MAP_R | MAP_X, PT_1G_OK),
		     VIREO_OK);
	cr_assert_eq(pt_unmap(&pt, GiB(1) + MiB(2) + PAGE_SIZE, PAGE_SIZE), VIREO_OK);
	cr_assert_eq(xlate(GiB(1) + MiB(2) + PAGE_SIZE), ~0ull);
	cr_assert_eq(page_size_at(GiB(1)), MiB(2));
	cr_assert_eq(page_size_at(GiB(1) + MiB(2)), PAGE_SIZE);
	cr_assert_eq(page_size_at(GiB(1) + MiB(4)), MiB(2));
	cr_assert_eq(xlate(GiB(1) + MiB(2) + 2 * PAGE_SIZE), GiB(7) + MiB(2) + 2 * PAGE_SIZE);
	cr_assert_eq(xlate(GiB(2) - 1), GiB(8) - 1);
	cr_assert_eq(attr_at(GiB(1) + MiB(2)), MAP_R | MAP_X);
}

Test(pt, unmap_of_a_whole_large_page_needs_no_memory)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(10)), MiB(4), RW, PT_LARGE_OK), VIREO_OK);
	test_alloc.fail_after = 0;
	cr_assert_eq(pt_unmap(&pt, MiB(2), MiB(2)), VIREO_OK);
	cr_assert_eq(xlate(MiB(2)), ~0ull);
	cr_assert_eq(xlate(MiB(4)), MiB(12));
}

Test(pt, unmap_of_nothing_succeeds_and_allocates_nothing)
{
	cr_assert_eq(pt_unmap(&pt, GiB(3), GiB(1)), VIREO_OK);
	cr_assert_eq(test_alloc.allocs, 1);
}

Test(pt, unmap_frees_tables_that_become_empty)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(pt_map(&pt, MiB(4), pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(test_pt_live(), 5);
	cr_assert_eq(pt_unmap(&pt, 0x1000, PAGE_SIZE), VIREO_OK);
	cr_assert_eq(test_pt_live(), 4);
	/* the top level keeps its PDPT: other tables may share the entry */
	cr_assert_eq(pt_unmap(&pt, 0, GiB(1)), VIREO_OK);
	cr_assert_eq(test_pt_live(), 2);
	cr_assert_eq(xlate(MiB(4)), ~0ull);
}

Test(pt, unmap_then_map_again_works)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(10)), MiB(2), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(pt_unmap(&pt, MiB(2), MiB(2)), VIREO_OK);
	cr_assert_eq(pt_map(&pt, MiB(2) + PAGE_SIZE, pa_init(0x3000), PAGE_SIZE, MAP_R, 0),
		     VIREO_OK);
	cr_assert_eq(xlate(MiB(2) + PAGE_SIZE), 0x3000);
}

/* ---------------------------------------------------------------- out of memory */

/* Every prefix of the allocations a mapping needs fails without a trace. */
Test(pt, out_of_memory_midway_leaves_no_partial_mapping)
{
	uint64_t va = GiB(512) - MiB(4);
	uint64_t size = MiB(8);

	for (int n = 0; n < 6; n++) {
		unsigned live = test_pt_live();
		test_alloc.fail_after = n;
		cr_assert_eq(pt_map(&pt, va, pa_init(GiB(1)), size, RW, 0), VIREO_NO_MEM, "n=%d",
			     n);
		cr_assert_eq(test_pt_live(), live, "n=%d leaked pages", n);
		for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
			cr_assert_eq(xlate(va + off), ~0ull, "n=%d: %#lx mapped", n,
				     (unsigned long)(va + off));
		}
	}
	test_alloc.fail_after = -1;
	cr_assert_eq(pt_map(&pt, va, pa_init(GiB(1)), size, RW, 0), VIREO_OK);
	cr_assert_eq(xlate(va + size - 1), GiB(1) + size - 1);
}

Test(pt, out_of_memory_keeps_the_previous_mapping)
{
	cr_assert_eq(pt_map(&pt, MiB(2), pa_init(MiB(10)), MiB(4), MAP_R, PT_LARGE_OK), VIREO_OK);
	test_alloc.fail_after = 1;
	/* needs two page tables: one per large page it splits */
	cr_assert_eq(pt_map(&pt, MiB(3), pa_init(0), MiB(2), RW, 0), VIREO_NO_MEM);
	cr_assert_eq(page_size_at(MiB(2)), MiB(2));
	cr_assert_eq(page_size_at(MiB(4)), MiB(2));
	cr_assert_eq(xlate(MiB(3)), MiB(11));
	cr_assert_eq(attr_at(MiB(4)), MAP_R);
	cr_assert_eq(test_pt_live(), 3);
}

Test(pt, unmap_out_of_memory_keeps_the_large_page)
{
	cr_assert_eq(pt_map(&pt, GiB(1), pa_init(GiB(7)), GiB(1), MAP_R, PT_1G_OK), VIREO_OK);
	test_alloc.fail_after = 1;
	/* splitting down to 4 KiB needs a PD and a PT */
	cr_assert_eq(pt_unmap(&pt, GiB(1) + PAGE_SIZE, PAGE_SIZE), VIREO_NO_MEM);
	cr_assert_eq(page_size_at(GiB(1)), GiB(1));
	cr_assert_eq(xlate(GiB(1) + PAGE_SIZE), GiB(7) + PAGE_SIZE);
	cr_assert_eq(test_pt_live(), 2);
}

Test(pt, allocates_exactly_the_tables_it_uses)
{
	/* 6 MiB at 1 GiB - 2 MiB: PDs for two 1 GiB regions, three PTs */
	cr_assert_eq(pt_map(&pt, GiB(1) - MiB(2), pa_init(0), MiB(6), RW, 0), VIREO_OK);
	cr_assert_eq(test_alloc.allocs, 1 + 1 + 2 + 3);
	cr_assert_eq(test_alloc.frees, 0);
}

/* ---------------------------------------------------------------- destroy and sharing */

Test(pt, destroy_frees_every_table_page)
{
	cr_assert_eq(pt_map(&pt, 0x1000, pa_init(0), MiB(5), RW, 0), VIREO_OK);
	cr_assert_eq(pt_map(&pt, GiB(3), pa_init(0), GiB(2), RW, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(pt_map(&pt, 0xffffffff80000000ull, pa_init(0), MiB(3), RW, PT_LARGE_OK),
		     VIREO_OK);
	cr_assert_eq(pt_unmap(&pt, GiB(3) + PAGE_SIZE, PAGE_SIZE), VIREO_OK);
	cr_assert_gt(test_alloc.allocs, 10);
	pt_destroy(&pt);
	cr_assert_eq(test_pt_live(), 0);
	cr_assert_eq(test_alloc.frees, test_alloc.allocs);
}

Test(pt, destroy_of_an_empty_table_frees_the_root)
{
	pt_destroy(&pt);
	cr_assert_eq(test_pt_live(), 0);
}

static void make_kernel(struct pt *k)
{
	cr_assert_eq(pt_init(k, PT_FMT_X86, &test_pt_alloc), VIREO_OK);
	cr_assert_eq(pt_map(k, 0xffff800000000000ull, pa_init(0), GiB(2), RW | MAP_G, PT_1G_OK),
		     VIREO_OK);
	cr_assert_eq(
		pt_map(k, 0xffffffff80000000ull, pa_init(MiB(2)), MiB(4), RW | MAP_X, PT_LARGE_OK),
		VIREO_OK);
}

Test(pt, share_top_makes_kernel_half_visible)
{
	struct pt k;
	paddr_t pa;

	make_kernel(&k);
	pt_share_top(&pt, &k, 256, 512);
	cr_assert(pt_lookup(&pt, 0xffffffff80001000ull, &pa, NULL, NULL));
	cr_assert_eq(pa_addr(pa), MiB(2) + PAGE_SIZE);
	/* later kernel mappings below a shared entry appear in every table */
	cr_assert_eq(pt_map(&k, 0xffffffff90000000ull, pa_init(0x9000), PAGE_SIZE, MAP_R, 0),
		     VIREO_OK);
	cr_assert(pt_lookup(&pt, 0xffffffff90000000ull, &pa, NULL, NULL));
	cr_assert_eq(pa_addr(pa), 0x9000);
	cr_assert_not(pt_lookup(&pt, 0xffffc00000000000ull, NULL, NULL, NULL));
}

Test(pt, destroy_does_not_free_shared_subtrees)
{
	struct pt k;
	unsigned kernel_pages;

	make_kernel(&k);
	kernel_pages = test_pt_live() - 1;
	pt_share_top(&pt, &k, 256, 512);
	cr_assert_eq(pt_map(&pt, 0x400000, pa_init(0), MiB(1), RW | MAP_U, 0), VIREO_OK);
	pt_destroy(&pt);
	cr_assert_eq(test_pt_live(), kernel_pages);
	cr_assert(pt_lookup(&k, 0xffffffff80000000ull, NULL, NULL, NULL));
	pt_destroy(&k);
	cr_assert_eq(test_pt_live(), 0);
}

Test(pt, map_and_unmap_inside_a_shared_entry_are_refused)
{
	struct pt k;

	make_kernel(&k);
	pt_share_top(&pt, &k, 256, 512);
	cr_assert_eq(pt_map(&pt, 0xffffffff80000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_eq(pt_unmap(&pt, 0xffffffff80000000ull, PAGE_SIZE), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&pt, 0x00007ffffffff000ull, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert(pt_lookup(&k, 0xffffffff80000000ull, NULL, NULL, NULL));
}

Test(pt, share_top_copies_only_the_given_entries)
{
	struct pt k;

	make_kernel(&k);
	pt_share_top(&pt, &k, 511, 512);
	cr_assert(pt_lookup(&pt, 0xffffffff80000000ull, NULL, NULL, NULL));
	cr_assert_not(pt_lookup(&pt, 0xffff800000000000ull, NULL, NULL, NULL));
	/* an entry empty in the source stays dst's own */
	cr_assert_eq(pt_map(&pt, 0xffff800000000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
}

Test(pt, share_top_again_refreshes_shared_entries)
{
	struct pt k;

	make_kernel(&k);
	pt_share_top(&pt, &k, 256, 512);
	pt_share_top(&pt, &k, 256, 512);
	cr_assert(pt_lookup(&pt, 0xffffffff80000000ull, NULL, NULL, NULL));
}

Test(pt, share_top_over_own_mappings_panics, .signal = SIGABRT)
{
	struct pt k;

	make_kernel(&k);
	cr_assert_eq(pt_map(&pt, 0xffffffff80000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	pt_share_top(&pt, &k, 256, 512);
}

Test(pt, share_top_with_bad_bounds_panics, .signal = SIGABRT)
{
	struct pt k;

	make_kernel(&k);
	pt_share_top(&pt, &k, 256, 513);
}
