/* SPDX-License-Identifier: MIT */
/* Helpers shared by the page-table tests: a counting table-page allocator over fake RAM. */
#ifndef TESTS_UNIT_TEST_PT_H
#define TESTS_UNIT_TEST_PT_H

#include "pt.h"

/* Table pages come from the first TEST_PT_PAGES pages of fake RAM. */
#define TEST_PT_PAGES 2048

struct test_alloc {
	unsigned allocs; /* successful alloc_page calls */
	unsigned frees;	 /* free_page calls */
	int fail_after;	 /* successful allocations left before failing; -1: never fail */
	bool used[TEST_PT_PAGES];
};

extern struct test_alloc test_alloc;
extern const struct pt_alloc test_pt_alloc;

/* Fresh fake RAM and allocator state (Criterion .init). */
void test_pt_setup(void);
/* Release fake RAM (Criterion .fini). */
void test_pt_teardown(void);
/* Pages allocated and not yet freed. */
unsigned test_pt_live(void);

/* Raw entry at `level` (3 = top, 0 = 4 KiB) on the walk to va; asserts the tables above exist. */
uint64_t *test_pt_entry(const struct pt *pt, uint64_t va, int level);

#endif
