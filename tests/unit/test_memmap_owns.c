/* SPDX-License-Identifier: MIT */
/* Specification of memmap_owns_pages: which boot modules may be handed out as capabilities. */
#include <criterion/criterion.h>

#include "memmap.h"

#define R(b, s) ((struct mem_range){ (b), (s) })

Test(memmap_owns, page_aligned_module_alone_owns_its_pages)
{
	const struct mem_range m[] = { R(0x200000, 0x1234) };
	cr_expect(memmap_owns_pages(m, 1, 0));
}

Test(memmap_owns, modules_on_separate_pages_each_own_theirs)
{
	/* GRUB's layout: every module starts on a page, the next one after the last page. */
	const struct mem_range m[] = { R(0x200000, 0x1001), R(0x202000, 0x10),
				       R(0x100000, 0x1000) };
	for (size_t i = 0; i < 3; i++) {
		cr_expect(memmap_owns_pages(m, 3, i), "module %zu", i);
	}
}

Test(memmap_owns, unaligned_start_does_not_own)
{
	const struct mem_range m[] = { R(0x200010, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 1, 0));
}

Test(memmap_owns, a_shared_last_page_disowns_both_modules)
{
	/* The second module starts inside the first one's last page. */
	const struct mem_range m[] = { R(0x200000, 0x1800), R(0x201800, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 2, 0));
	cr_expect_not(memmap_owns_pages(m, 2, 1));
}

Test(memmap_owns, overlapping_modules_do_not_own)
{
	const struct mem_range m[] = { R(0x200000, 0x4000), R(0x202000, 0x4000) };
	cr_expect_not(memmap_owns_pages(m, 2, 0));
	cr_expect_not(memmap_owns_pages(m, 2, 1));
}

Test(memmap_owns, a_module_inside_another_does_not_own)
{
	const struct mem_range m[] = { R(0x200000, 0x10000), R(0x204000, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 2, 0));
	cr_expect_not(memmap_owns_pages(m, 2, 1));
}

Test(memmap_owns, empty_modules_own_nothing_and_disturb_nobody)
{
	const struct mem_range m[] = { R(0x200000, 0), R(0x200000, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 2, 0));
	cr_expect(memmap_owns_pages(m, 2, 1));
}

Test(memmap_owns, a_range_that_wraps_or_ends_in_the_last_page_does_not_own)
{
	const struct mem_range m[] = { R(0xfffffffffffff000ull, 0x2000),
				       R(0xfffffffffffff000ull, 0x800), R(0x1000, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 1, 0));
	cr_expect_not(memmap_owns_pages(&m[1], 1, 0));
	cr_expect(memmap_owns_pages(m, 3, 2), "a low module is unaffected");
}

Test(memmap_owns, index_out_of_range_is_refused)
{
	const struct mem_range m[] = { R(0x200000, 0x1000) };
	cr_expect_not(memmap_owns_pages(m, 1, 1));
	cr_expect_not(memmap_owns_pages(NULL, 0, 0));
}
