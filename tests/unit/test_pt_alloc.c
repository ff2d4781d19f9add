/* SPDX-License-Identifier: MIT */
/* A table-page allocator for the page-table tests that counts, poisons and checks every page. */
#include <criterion/criterion.h>
#include <string.h>

#include "arch.h"
#include "fake_arch.h"
#include "test_pt.h"
#include "x86/pte.h"

struct test_alloc test_alloc;

static paddr_t test_alloc_page(void *ctx)
{
	struct test_alloc *a = ctx;

	if (a->fail_after == 0) {
		return PADDR_INVALID;
	}
	for (unsigned i = 0; i < TEST_PT_PAGES; i++) {
		if (!a->used[i]) {
			paddr_t pa = pa_init(FAKE_PHYS_BASE + (uint64_t)i * PAGE_SIZE);
			a->used[i] = true;
			a->allocs++;
			if (a->fail_after > 0) {
				a->fail_after--;
			}
			/* Garbage: an uncleared table shows up as bogus mappings. */
			memset(phys_to_virt(pa), 0xa5, PAGE_SIZE);
			return pa;
		}
	}
	return PADDR_INVALID;
}

static void test_free_page(void *ctx, paddr_t pa)
{
	struct test_alloc *a = ctx;
	uint64_t i = (pa_addr(pa) - FAKE_PHYS_BASE) / PAGE_SIZE;

	cr_assert(pa_addr(pa) >= FAKE_PHYS_BASE && i < TEST_PT_PAGES, "free of foreign page %#lx",
		  (unsigned long)pa_addr(pa));
	cr_assert(IS_ALIGNED(pa_addr(pa), PAGE_SIZE));
	cr_assert(a->used[i], "double free of %#lx", (unsigned long)pa_addr(pa));
	a->used[i] = false;
	a->frees++;
	memset(phys_to_virt(pa), 0x5a, PAGE_SIZE);
}

const struct pt_alloc test_pt_alloc = { test_alloc_page, test_free_page, &test_alloc };

void test_pt_setup(void)
{
	fake_phys_init(TEST_PT_PAGES * PAGE_SIZE);
	memset(&test_alloc, 0, sizeof(test_alloc));
	test_alloc.fail_after = -1;
}

void test_pt_teardown(void)
{
	fake_phys_fini();
}

unsigned test_pt_live(void)
{
	return test_alloc.allocs - test_alloc.frees;
}

uint64_t *test_pt_entry(const struct pt *pt, uint64_t va, int level)
{
	uint64_t *t = phys_to_virt(pt->root);
	bool ept = pt->fmt == PT_FMT_EPT;

	for (int l = 3; l > level; l--) {
		uint64_t e = t[(va >> (12 + 9 * l)) & 511];
		cr_assert(ept ? (e & EPT_RWX) : (e & PTE_P), "no table at level %d for %#lx", l,
			  (unsigned long)va);
		cr_assert(!(e & PTE_PS), "leaf at level %d for %#lx", l, (unsigned long)va);
		t = phys_to_virt(pa_init(e & PTE_ADDR_MASK));
	}
	return &t[(va >> (12 + 9 * level)) & 511];
}
