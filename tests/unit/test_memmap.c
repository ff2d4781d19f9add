/* SPDX-License-Identifier: MIT */
/* Specification of memmap_usable: what the kernel may treat as free RAM, given a hostile map. */
#include <criterion/criterion.h>

#include "memmap.h"

#define KB 1024ull
#define MB (1024ull * KB)
#define GB (1024ull * MB)

#define R(b, s) ((struct mem_range){ (b), (s) })
#define OUTMAX 16

struct result {
	struct mem_range out[OUTMAX];
	size_t n;
};

static struct result usable(const struct mem_range *a, size_t na, const struct mem_range *r,
			    size_t nr, uint64_t min_addr)
{
	struct result res;
	memset(&res, 0xa5, sizeof(res));
	res.n = memmap_usable(a, na, r, nr, res.out, OUTMAX, min_addr);
	return res;
}

static void expect_range(const struct result *res, size_t i, uint64_t base, uint64_t size)
{
	cr_assert(i < res->n, "only %zu ranges, wanted index %zu", res->n, i);
	cr_expect_eq(res->out[i].base, base, "range %zu base %#llx, want %#llx", i,
		     (unsigned long long)res->out[i].base, (unsigned long long)base);
	cr_expect_eq(res->out[i].size, size, "range %zu size %#llx, want %#llx", i,
		     (unsigned long long)res->out[i].size, (unsigned long long)size);
}

Test(memmap, single_available_range_is_returned_unchanged)
{
	struct mem_range a[] = { R(1 * MB, 127 * MB) };
	struct result res = usable(a, 1, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 127 * MB);
}

Test(memmap, no_available_ranges_give_nothing)
{
	struct mem_range r[] = { R(0, 1 * MB) };
	cr_expect_eq(memmap_usable(NULL, 0, r, 1, NULL, 0, 0), 0);
	cr_expect_eq(memmap_usable(NULL, 0, NULL, 0, NULL, 0, 0), 0);
}

Test(memmap, reserved_range_inside_available_splits_it_in_two)
{
	struct mem_range a[] = { R(1 * MB, 15 * MB) };
	struct mem_range r[] = { R(4 * MB, 1 * MB) };
	struct result res = usable(a, 1, r, 1, 0);
	cr_assert_eq(res.n, 2);
	expect_range(&res, 0, 1 * MB, 3 * MB);
	expect_range(&res, 1, 5 * MB, 11 * MB);
}

Test(memmap, reserved_covering_everything_leaves_nothing)
{
	struct mem_range a[] = { R(1 * MB, 15 * MB), R(32 * MB, 1 * MB) };
	struct mem_range r[] = { R(0, 64 * MB) };
	struct result res = usable(a, 2, r, 1, 0);
	cr_expect_eq(res.n, 0);
}

Test(memmap, reserved_wins_over_overlapping_available)
{
	/* Firmware lists the same bytes as both: they must not be handed out. */
	struct mem_range a[] = { R(0, 8 * MB) };
	struct mem_range r[] = { R(6 * MB, 4 * MB), R(0, 2 * MB) };
	struct result res = usable(a, 1, r, 2, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 2 * MB, 4 * MB);
}

Test(memmap, unsorted_input_gives_sorted_output)
{
	struct mem_range a[] = { R(64 * MB, 1 * MB), R(1 * MB, 1 * MB), R(16 * MB, 2 * MB) };
	struct result res = usable(a, 3, NULL, 0, 0);
	cr_assert_eq(res.n, 3);
	expect_range(&res, 0, 1 * MB, 1 * MB);
	expect_range(&res, 1, 16 * MB, 2 * MB);
	expect_range(&res, 2, 64 * MB, 1 * MB);
}

Test(memmap, overlapping_available_ranges_are_merged)
{
	struct mem_range a[] = { R(3 * MB, 4 * MB), R(1 * MB, 4 * MB), R(2 * MB, 1 * MB) };
	struct result res = usable(a, 3, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 6 * MB);
}

Test(memmap, adjacent_available_ranges_are_merged)
{
	struct mem_range a[] = { R(2 * MB, 1 * MB), R(1 * MB, 1 * MB), R(3 * MB, 1 * MB) };
	struct result res = usable(a, 3, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 3 * MB);
}

Test(memmap, unaligned_adjacent_ranges_keep_the_page_they_share)
{
	/* Neither range holds page 0x2000 alone, together they cover it. */
	struct mem_range a[] = { R(0x1000, 0x1800), R(0x2800, 0x1800) };
	struct result res = usable(a, 2, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 0x1000, 0x3000);
}

Test(memmap, identical_duplicate_ranges_count_once)
{
	struct mem_range a[] = { R(1 * MB, 1 * MB), R(1 * MB, 1 * MB), R(1 * MB, 1 * MB) };
	struct result res = usable(a, 3, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 1 * MB);
}

Test(memmap, zero_size_ranges_are_ignored)
{
	struct mem_range a[] = { R(4 * MB, 0), R(1 * MB, 1 * MB), R(0, 0) };
	struct mem_range r[] = { R(1 * MB + 0x1000, 0) };
	struct result res = usable(a, 3, r, 1, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 1 * MB);
}

Test(memmap, available_ranges_shrink_inwards_to_pages)
{
	struct mem_range a[] = { R(0x100001, 0x3000) };
	struct result res = usable(a, 1, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 0x101000, 0x2000);
}

Test(memmap, reserved_bytes_take_their_whole_page)
{
	struct mem_range a[] = { R(0, 0x10000) };
	struct mem_range r[] = { R(0x3ff0, 0x20), R(0x8000, 1) };
	struct result res = usable(a, 1, r, 2, 0);
	cr_assert_eq(res.n, 3);
	expect_range(&res, 0, 0x0, 0x3000);
	expect_range(&res, 1, 0x5000, 0x3000);
	expect_range(&res, 2, 0x9000, 0x7000);
}

Test(memmap, ranges_smaller_than_a_page_are_dropped)
{
	struct mem_range a[] = { R(0x200000, 1), R(0x300000, 0xfff), R(0x400800, 0x1000) };
	struct result res = usable(a, 3, NULL, 0, 0);
	cr_expect_eq(res.n, 0);
}

Test(memmap, one_byte_reserved_range_removes_one_page)
{
	struct mem_range a[] = { R(1 * MB, 1 * MB) };
	struct mem_range r[] = { R(1 * MB + 0x5123, 1) };
	struct result res = usable(a, 1, r, 1, 0);
	cr_assert_eq(res.n, 2);
	expect_range(&res, 0, 1 * MB, 0x5000);
	expect_range(&res, 1, 1 * MB + 0x6000, 1 * MB - 0x6000);
}

Test(memmap, everything_below_min_addr_is_dropped)
{
	struct mem_range a[] = { R(0, 640 * KB), R(0xf0000, 0x20000), R(2 * MB, 1 * MB) };
	struct result res = usable(a, 3, NULL, 0, 1 * MB);
	cr_assert_eq(res.n, 2);
	expect_range(&res, 0, 1 * MB, 0x10000);
	expect_range(&res, 1, 2 * MB, 1 * MB);
}

Test(memmap, unaligned_min_addr_rounds_up_to_a_page)
{
	struct mem_range a[] = { R(0, 1 * MB) };
	struct result res = usable(a, 1, NULL, 0, 0x1001);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 0x2000, 1 * MB - 0x2000);
}

Test(memmap, min_addr_above_all_ram_gives_nothing)
{
	struct mem_range a[] = { R(0, 1 * MB) };
	struct result res = usable(a, 1, NULL, 0, UINT64_MAX);
	cr_expect_eq(res.n, 0);
}

Test(memmap, available_range_wrapping_past_2_64_is_clamped)
{
	uint64_t base = UINT64_MAX - 3 * PAGE_SIZE + 1; /* the last three pages */
	struct mem_range a[] = { R(base, 16 * PAGE_SIZE) };
	struct result res = usable(a, 1, NULL, 0, 0);
	/* The clamp ends at 2^64 - 1, which costs the partial last page. */
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, base, 2 * PAGE_SIZE);
}

Test(memmap, reserved_range_wrapping_past_2_64_still_reserves_the_top)
{
	struct mem_range a[] = { R(1 * MB, UINT64_MAX - 1 * MB) };
	struct mem_range r[] = { R(4 * GB, UINT64_MAX) };
	struct result res = usable(a, 1, r, 1, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 1 * MB, 4 * GB - 1 * MB);
}

Test(memmap, whole_address_space_available_is_one_range)
{
	struct mem_range a[] = { R(0, UINT64_MAX) };
	struct result res = usable(a, 1, NULL, 0, 0);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 0, ALIGN_DOWN(UINT64_MAX, PAGE_SIZE));
}

Test(memmap, reserved_range_straddling_two_available_ones_trims_both)
{
	struct mem_range a[] = { R(1 * MB, 3 * MB), R(8 * MB, 4 * MB) };
	struct mem_range r[] = { R(3 * MB, 6 * MB) };
	struct result res = usable(a, 2, r, 1, 0);
	cr_assert_eq(res.n, 2);
	expect_range(&res, 0, 1 * MB, 2 * MB);
	expect_range(&res, 1, 9 * MB, 3 * MB);
}

Test(memmap, touching_reserved_ranges_leave_no_gap)
{
	struct mem_range a[] = { R(0, 16 * MB) };
	struct mem_range r[] = { R(6 * MB, 2 * MB), R(4 * MB, 2 * MB), R(8 * MB, 2 * MB) };
	struct result res = usable(a, 1, r, 3, 0);
	cr_assert_eq(res.n, 2);
	expect_range(&res, 0, 0, 4 * MB);
	expect_range(&res, 1, 10 * MB, 6 * MB);
}

Test(memmap, output_never_has_touching_or_unaligned_ranges)
{
	/* A messy but deterministic map: check the output invariants rather than exact values. */
	struct mem_range a[40], r[40];
	uint64_t x = 12345;
	for (size_t i = 0; i < 40; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		a[i] = R((x >> 20) % (64 * MB), (x >> 40) % (4 * MB));
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		r[i] = R((x >> 20) % (64 * MB), (x >> 44) % (256 * KB));
	}
	struct mem_range out[128];
	size_t n = memmap_usable(a, 40, r, 40, out, 128, 1 * MB);
	cr_assert(n > 0 && n <= 128);
	for (size_t i = 0; i < n; i++) {
		cr_expect(out[i].size > 0);
		cr_expect(IS_ALIGNED(out[i].base, PAGE_SIZE) && IS_ALIGNED(out[i].size, PAGE_SIZE));
		cr_expect(out[i].base >= 1 * MB);
		if (i) {
			cr_expect(out[i].base > out[i - 1].base + out[i - 1].size,
				  "range %zu touches", i);
		}
		for (size_t j = 0; j < 40; j++) {
			uint64_t rb = ALIGN_DOWN(r[j].base, PAGE_SIZE);
			uint64_t re = ALIGN_UP(r[j].base + r[j].size, PAGE_SIZE);
			bool overlap = out[i].base < re && rb < out[i].base + out[i].size;
			cr_expect(!r[j].size || !overlap, "range %zu overlaps reserved %zu", i, j);
		}
	}
}

Test(memmap, too_small_output_keeps_lowest_ranges_and_counts_all)
{
	struct mem_range a[] = { R(40 * MB, 1 * MB), R(10 * MB, 1 * MB), R(30 * MB, 1 * MB),
				 R(20 * MB, 1 * MB) };
	struct mem_range out[3] = { 0 };
	struct mem_range guard = R(0xdead, 0xbeef);
	struct mem_range *after = &out[2];
	*after = guard;
	size_t n = memmap_usable(a, 4, NULL, 0, out, 2, 0);
	cr_expect_eq(n, 4, "return value counts every range: %zu", n);
	cr_expect_eq(out[0].base, 10 * MB);
	cr_expect_eq(out[1].base, 20 * MB);
	cr_expect_eq(after->base, guard.base, "wrote past outmax");
	cr_expect_eq(after->size, guard.size, "wrote past outmax");
}

Test(memmap, zero_outmax_only_counts)
{
	struct mem_range a[] = { R(1 * MB, 1 * MB), R(4 * MB, 1 * MB) };
	cr_expect_eq(memmap_usable(a, 2, NULL, 0, NULL, 0, 0), 2);
}

Test(memmap, qemu_like_map_with_kernel_reserved)
{
	/* The e820 of a 128 MiB QEMU machine plus the kernel image as the caller would add it. */
	struct mem_range a[] = { R(0, 0x9fc00), R(0x100000, 0x7ee0000) };
	struct mem_range r[] = { R(0x9fc00, 0x400), R(0xf0000, 0x10000), R(0x7fe0000, 0x20000),
				 R(0xfffc0000, 0x40000), R(0x100000, 0x123456) };
	struct result res = usable(a, 2, r, 5, 1 * MB);
	cr_assert_eq(res.n, 1);
	expect_range(&res, 0, 0x224000, 0x7fe0000 - 0x224000);
}
