/* SPDX-License-Identifier: MIT */
/* Specification of the page-table walker in the Intel EPT and AMD NPT formats: bits and limits. */
#include <criterion/criterion.h>

#include "arch.h"
#include "pt.h"
#include "test_pt.h"
#include "x86/pte.h"

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define RWX (MAP_R | MAP_W | MAP_X)

static struct pt ept, npt;

static void setup(void)
{
	test_pt_setup();
	cr_assert_eq(pt_init(&ept, PT_FMT_EPT, &test_pt_alloc), VIREO_OK);
	cr_assert_eq(pt_init(&npt, PT_FMT_NPT, &test_pt_alloc), VIREO_OK);
}

static void teardown(void)
{
	test_pt_teardown();
}

TestSuite(pt_ept, .init = setup, .fini = teardown);
TestSuite(pt_npt, .init = setup, .fini = teardown);

static unsigned attr_of(const struct pt *pt, uint64_t va)
{
	unsigned attr = 0;
	cr_assert(pt_lookup(pt, va, NULL, &attr, NULL), "%#lx unmapped", (unsigned long)va);
	return attr;
}

/* ---------------------------------------------------------------- EPT */

Test(pt_ept, leaf_has_rwx_bits_and_write_back_memory_type)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0x77000), PAGE_SIZE, RWX, 0), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, 0x1000, 0),
		     0x77000 | EPT_R | EPT_W | EPT_X | (EPT_MT_WB << EPT_MT_SHIFT));
}

Test(pt_ept, each_permission_bit_is_separate)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0x77000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, 0x1000, 0) & EPT_RWX, EPT_R);
	cr_assert_eq(pt_map(&ept, 0x2000, pa_init(0x77000), PAGE_SIZE, MAP_R | MAP_W, 0), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, 0x2000, 0) & EPT_RWX, EPT_R | EPT_W);
	cr_assert_eq(pt_map(&ept, 0x3000, pa_init(0x77000), PAGE_SIZE, MAP_X, 0), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, 0x3000, 0) & EPT_RWX, EPT_X);
}

Test(pt_ept, uncached_mapping_has_memory_type_uc)
{
	cr_assert_eq(
		pt_map(&ept, 0xfee00000, pa_init(0xfee00000), PAGE_SIZE, MAP_R | MAP_W | MAP_UC, 0),
		VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, 0xfee00000, 0) & EPT_MT_MASK, EPT_MT_UC << EPT_MT_SHIFT);
	cr_assert_eq(attr_of(&ept, 0xfee00000), MAP_R | MAP_W | MAP_UC);
}

Test(pt_ept, large_leaves_set_bit_7)
{
	cr_assert_eq(pt_map(&ept, MiB(2), pa_init(MiB(4)), MiB(2), RWX, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, MiB(2), 1),
		     MiB(4) | EPT_RWX | (EPT_MT_WB << EPT_MT_SHIFT) | EPT_LARGE);
	cr_assert_eq(pt_map(&ept, GiB(1), pa_init(GiB(2)), GiB(1), MAP_R, PT_1G_OK), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, GiB(1), 2),
		     GiB(2) | EPT_R | (EPT_MT_WB << EPT_MT_SHIFT) | EPT_LARGE);
}

Test(pt_ept, non_leaf_entries_allow_rwx_and_nothing_else)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0x77000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	for (int level = 3; level >= 1; level--) {
		uint64_t e = *test_pt_entry(&ept, 0x1000, level);
		cr_assert_eq(e & ~EPT_ADDR_MASK, EPT_RWX, "level %d: %#lx", level,
			     (unsigned long)e);
	}
}

Test(pt_ept, attributes_round_trip)
{
	static const unsigned attrs[] = { MAP_R,	 MAP_R | MAP_W, MAP_X,
					  MAP_R | MAP_X, RWX,		RWX | MAP_UC };
	for (unsigned i = 0; i < ARRAY_SIZE(attrs); i++) {
		uint64_t gpa = (i + 1) * PAGE_SIZE;
		cr_assert_eq(pt_map(&ept, gpa, pa_init(gpa), PAGE_SIZE, attrs[i], 0), VIREO_OK);
		cr_assert_eq(attr_of(&ept, gpa), attrs[i]);
	}
}

Test(pt_ept, ignores_user_and_global)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0x77000), PAGE_SIZE, RWX | MAP_U | MAP_G, 0),
		     VIREO_OK);
	cr_assert_eq(attr_of(&ept, 0x1000), RWX);
	cr_assert_eq(*test_pt_entry(&ept, 0x1000, 0),
		     0x77000 | EPT_RWX | (EPT_MT_WB << EPT_MT_SHIFT));
}

Test(pt_ept, rejects_write_without_read)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0), PAGE_SIZE, MAP_W, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0), PAGE_SIZE, MAP_W | MAP_X, 0), VIREO_BAD_PAR);
}

Test(pt_ept, rejects_mapping_with_no_access)
{
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0), PAGE_SIZE, 0, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&ept, 0x1000, pa_init(0), PAGE_SIZE, MAP_UC, 0), VIREO_BAD_PAR);
}

Test(pt_ept, guest_physical_addresses_stop_at_2_pow_48)
{
	uint64_t top = (1ull << 48) - PAGE_SIZE;

	cr_assert_eq(pt_map(&ept, top, pa_init(0x5000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert(pt_lookup(&ept, top, NULL, NULL, NULL));
	cr_assert_eq(pt_map(&ept, 1ull << 48, pa_init(0x5000), PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&ept, top, pa_init(0x5000), 2 * PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&ept, 0xffffffff80000000ull, pa_init(0), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
	cr_assert_not(pt_lookup(&ept, 0xffffffff80000000ull, NULL, NULL, NULL));
}

Test(pt_ept, split_keeps_permissions_and_memory_type)
{
	paddr_t pa;

	cr_assert_eq(
		pt_map(&ept, GiB(1), pa_init(GiB(3)), GiB(1), MAP_R | MAP_X | MAP_UC, PT_1G_OK),
		VIREO_OK);
	cr_assert_eq(pt_unmap(&ept, GiB(1) + MiB(2), PAGE_SIZE), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&ept, GiB(1) + MiB(2) + PAGE_SIZE, 0),
		     (GiB(3) + MiB(2) + PAGE_SIZE) | EPT_R | EPT_X | (EPT_MT_UC << EPT_MT_SHIFT));
	cr_assert_eq(*test_pt_entry(&ept, GiB(1), 1), GiB(3) | EPT_R | EPT_X | EPT_LARGE);
	cr_assert(pt_lookup(&ept, GiB(2) - 1, &pa, NULL, NULL));
	cr_assert_eq(pa_addr(pa), GiB(4) - 1);
	cr_assert_not(pt_lookup(&ept, GiB(1) + MiB(2), NULL, NULL, NULL));
}

Test(pt_ept, out_of_memory_leaves_no_partial_mapping)
{
	test_alloc.fail_after = 2;
	cr_assert_eq(pt_map(&ept, GiB(5), pa_init(0), MiB(4), RWX, 0), VIREO_NO_MEM);
	cr_assert_not(pt_lookup(&ept, GiB(5), NULL, NULL, NULL));
	cr_assert_eq(test_pt_live(), 2);
}

Test(pt_ept, destroy_frees_every_table_page)
{
	cr_assert_eq(pt_map(&ept, 0, pa_init(0), GiB(4), RWX, PT_LARGE_OK), VIREO_OK);
	cr_assert_eq(pt_map(&ept, 0xa0000, pa_init(0), MiB(1) - 0xa0000, MAP_R, 0), VIREO_OK);
	pt_destroy(&ept);
	pt_destroy(&npt);
	cr_assert_eq(test_pt_live(), 0);
}

/* ---------------------------------------------------------------- NPT */

Test(pt_npt, every_leaf_is_user_accessible)
{
	cr_assert_eq(pt_map(&npt, 0x1000, pa_init(0x77000), PAGE_SIZE, MAP_R | MAP_W, 0), VIREO_OK);
	cr_assert_eq(*test_pt_entry(&npt, 0x1000, 0), 0x77000 | PTE_P | PTE_RW | PTE_US | PTE_NX);
	cr_assert_eq(pt_map(&npt, MiB(2), pa_init(MiB(2)), MiB(2), MAP_R | MAP_X, PT_LARGE_OK),
		     VIREO_OK);
	cr_assert_eq(*test_pt_entry(&npt, MiB(2), 1), MiB(2) | PTE_P | PTE_US | PTE_PS);
	cr_assert_eq(attr_of(&npt, MiB(2)), MAP_R | MAP_X | MAP_U);
}

Test(pt_npt, non_leaf_entries_are_present_writable_user)
{
	cr_assert_eq(pt_map(&npt, 0x1000, pa_init(0x77000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	for (int level = 3; level >= 1; level--) {
		uint64_t e = *test_pt_entry(&npt, 0x1000, level);
		cr_assert_eq(e & ~PTE_ADDR_MASK, PTE_P | PTE_RW | PTE_US);
	}
}

/* Guest-physical addresses are not virtual addresses: no canonical hole, but only 48 bits. */
Test(pt_npt, accepts_guest_physical_addresses_up_to_2_pow_48)
{
	paddr_t pa;

	cr_assert_eq(pt_map(&npt, 1ull << 47, pa_init(0x5000), PAGE_SIZE, MAP_R, 0), VIREO_OK);
	cr_assert(pt_lookup(&npt, (1ull << 47) + 4, &pa, NULL, NULL));
	cr_assert_eq(pa_addr(pa), 0x5004);
	cr_assert_eq(pt_map(&npt, 1ull << 48, pa_init(0x5000), PAGE_SIZE, MAP_R, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&npt, 0xfffffffffffff000ull, pa_init(0x5000), PAGE_SIZE, MAP_R, 0),
		     VIREO_BAD_PAR);
}

Test(pt_npt, needs_read_like_host_tables)
{
	cr_assert_eq(pt_map(&npt, 0x1000, pa_init(0), PAGE_SIZE, MAP_W, 0), VIREO_BAD_PAR);
	cr_assert_eq(pt_map(&npt, 0x1000, pa_init(0), PAGE_SIZE, MAP_X, 0), VIREO_BAD_PAR);
}
