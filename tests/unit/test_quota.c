/* SPDX-License-Identifier: MIT */
/* Specification of kernel-memory quotas: charge, allocate, refund on failure, free and refund. */
#include <criterion/criterion.h>
#include <signal.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"
#include "quota.h"
#include "slab.h"

#define RAM (1024 * 1024ull)

static struct slab_cache cache;

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
	slab_cache_init(&cache, "test", 100, 0);
}

static void teardown(void)
{
	frame_init();
	fake_phys_fini();
}

TestSuite(quota, .init = setup, .fini = teardown);

Test(quota, alloc_charges_the_rounded_object_size)
{
	struct quota q = { .limit = 4096 };
	void *o = quota_alloc(&q, &cache);
	cr_assert_not_null(o);
	cr_expect_eq(q.used, cache.objsize);
	cr_expect_geq(cache.objsize, 100);
	quota_free(&q, &cache, o);
	cr_expect_eq(q.used, 0);
}

Test(quota, alloc_over_the_limit_is_null_and_charges_nothing)
{
	struct quota q = { .limit = 3 * cache.objsize - 1 };
	void *a = quota_alloc(&q, &cache), *b = quota_alloc(&q, &cache);
	cr_assert(a && b);
	size_t live = slab_in_use(&cache);
	cr_expect_null(quota_alloc(&q, &cache));
	cr_expect_eq(q.used, 2 * cache.objsize);
	cr_expect_eq(slab_in_use(&cache), live, "an object was allocated past the quota");
	quota_free(&q, &cache, a);
	a = quota_alloc(&q, &cache);
	cr_expect_not_null(a, "the refund did not make room");
	quota_free(&q, &cache, a);
	quota_free(&q, &cache, b);
	cr_expect_eq(q.used, 0);
}

Test(quota, out_of_memory_refunds_the_charge)
{
	struct quota q = { .limit = UINT64_MAX / 2 };
	/* Take every frame: the next slab page cannot be had. */
	while (pa_valid(frame_alloc(0))) {
	}
	void *o = NULL;
	for (unsigned i = 0; i < 64 && (o = quota_alloc(&q, &cache)); i++) {
	}
	cr_expect_null(o);
	cr_expect_eq(q.used, slab_in_use(&cache) * cache.objsize,
		     "a failed allocation stayed charged");
}

Test(quota, frames_are_charged_by_order_and_refunded)
{
	struct quota q = { .limit = 8 * PAGE_SIZE };
	paddr_t a = quota_frames(&q, 2);
	cr_assert(pa_valid(a));
	cr_expect_eq(q.used, 4 * PAGE_SIZE);
	paddr_t b = quota_frames(&q, 2);
	cr_assert(pa_valid(b));
	cr_expect_not(pa_valid(quota_frames(&q, 0)), "a frame past the quota");
	cr_expect_eq(q.used, 8 * PAGE_SIZE);
	quota_frames_free(&q, a, 2);
	quota_frames_free(&q, b, 2);
	cr_expect_eq(q.used, 0);
}

Test(quota, no_quota_is_the_kernels_own_and_counts_nothing)
{
	void *o = quota_alloc(NULL, &cache);
	cr_assert_not_null(o);
	quota_free(NULL, &cache, o);
	cr_expect_eq(quota_charge(NULL, UINT64_MAX), VIREO_OK);
}

Test(quota, charge_that_overflows_is_no_mem)
{
	struct quota q = { .limit = UINT64_MAX, .used = UINT64_MAX - 10 };
	cr_expect_eq(quota_charge(&q, 11), VIREO_NO_MEM);
	cr_expect_eq(quota_charge(&q, 10), VIREO_OK);
	cr_expect_eq(q.used, UINT64_MAX);
}

Test(quota, refund_of_more_than_was_charged_is_a_kernel_bug, .signal = SIGABRT)
{
	struct quota q = { .limit = 100, .used = 10 };
	quota_refund(&q, 11);
}
