/* SPDX-License-Identifier: MIT */
/* Specification of the kernel object allocator. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"
#include "slab.h"

#define RAM (4 * 1024 * 1024ull)

static struct slab_cache cache;

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
}

static void teardown(void)
{
	frame_init();
	fake_phys_fini();
}

TestSuite(slab, .init = setup, .fini = teardown);

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		if (b[i]) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ allocation */

Test(slab, new_cache_has_no_objects_in_use)
{
	slab_cache_init(&cache, "empty", 64, 0);
	cr_expect_eq(slab_in_use(&cache), 0);
	cr_expect_str_eq(cache.name, "empty");
}

Test(slab, alloc_returns_distinct_non_overlapping_objects)
{
	enum { N = 500, SIZE = 40 };
	static unsigned char *obj[N];
	slab_cache_init(&cache, "distinct", SIZE, 8);
	for (int i = 0; i < N; i++) {
		obj[i] = slab_alloc(&cache);
		cr_assert_not_null(obj[i]);
		memset(obj[i], i & 0xff, SIZE);
	}
	for (int i = 0; i < N; i++) {
		for (int b = 0; b < SIZE; b++) {
			cr_assert_eq(obj[i][b], i & 0xff, "object %d was overwritten", i);
		}
	}
}

Test(slab, objects_live_in_frame_allocator_memory)
{
	slab_cache_init(&cache, "where", 100, 0);
	void *o = slab_alloc(&cache);
	cr_assert_not_null(o);
	paddr_t p = virt_to_phys(o); /* aborts unless inside fake RAM */
	cr_expect(pa_addr(p) >= FAKE_PHYS_BASE);
}

Test(slab, alloc_takes_pages_from_the_frame_allocator)
{
	uint64_t before = frame_free_pages();
	slab_cache_init(&cache, "pages", 512, 0);
	void *o = slab_alloc(&cache);
	cr_assert_not_null(o);
	cr_expect_eq(frame_free_pages(), before - 1);
}

Test(slab, objects_are_aligned_as_requested)
{
	static const size_t aligns[] = { 0, 1, 2, 8, 16, 64, 256, 2048 };
	for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
		size_t align = aligns[a] ? aligns[a] : 16;
		slab_cache_init(&cache, "align", 24, aligns[a]);
		for (int i = 0; i < 50; i++) {
			void *o = slab_alloc(&cache);
			cr_assert_not_null(o);
			cr_expect(IS_ALIGNED((uintptr_t)o, align), "%p not aligned to %zu", o,
				  align);
		}
	}
}

Test(slab, alloc_returns_zeroed_objects_also_after_reuse)
{
	slab_cache_init(&cache, "zero", 200, 0);
	void *keep = slab_alloc(&cache); /* keeps the page, so the next objects reuse it */
	for (int round = 0; round < 3; round++) {
		void *o = slab_alloc(&cache);
		cr_assert_not_null(o);
		cr_expect(all_zero(o, 200), "round %d", round);
		memset(o, 0xab, 200);
		slab_free(&cache, o);
	}
	slab_free(&cache, keep);
}

Test(slab, freed_object_is_reused)
{
	slab_cache_init(&cache, "reuse", 64, 0);
	void *a = slab_alloc(&cache);
	void *b = slab_alloc(&cache);
	slab_free(&cache, a);
	cr_expect_eq(slab_alloc(&cache), a);
	slab_free(&cache, b);
}

Test(slab, tiny_objects_work)
{
	slab_cache_init(&cache, "tiny", 1, 1);
	unsigned char *a = slab_alloc(&cache), *b = slab_alloc(&cache);
	cr_assert(a && b && a != b);
	*a = 1;
	*b = 2;
	cr_expect_eq(*a, 1);
}

Test(slab, half_page_objects_work)
{
	slab_cache_init(&cache, "half", PAGE_SIZE / 2, 0);
	void *o[8];
	for (int i = 0; i < 8; i++) {
		o[i] = slab_alloc(&cache);
		cr_assert_not_null(o[i]);
		memset(o[i], 0xff, PAGE_SIZE / 2);
	}
	for (int i = 0; i < 8; i++) {
		slab_free(&cache, o[i]);
	}
	cr_expect_eq(slab_in_use(&cache), 0);
}

Test(slab, largest_object_that_fits_beside_the_header_works)
{
	size_t size = PAGE_SIZE - 128;
	slab_cache_init(&cache, "big", size, 0);
	void *o = slab_alloc(&cache);
	cr_assert_not_null(o);
	cr_expect(all_zero(o, size));
	memset(o, 1, size);
	slab_free(&cache, o);
}

Test(slab, out_of_frames_returns_null)
{
	slab_cache_init(&cache, "oom", 1024, 0);
	size_t n = 0;
	while (slab_alloc(&cache)) {
		n++;
	}
	cr_expect_eq(frame_free_pages(), 0);
	cr_expect(n > 0);
	cr_expect_eq(slab_in_use(&cache), n);
	cr_expect_null(slab_alloc(&cache), "stays NULL");
}

/* ------------------------------------------------------------------ accounting */

Test(slab, in_use_counts_live_objects)
{
	void *o[300];
	slab_cache_init(&cache, "count", 48, 0);
	for (int i = 0; i < 300; i++) {
		o[i] = slab_alloc(&cache);
		cr_expect_eq(slab_in_use(&cache), (size_t)i + 1);
	}
	for (int i = 299; i >= 0; i--) {
		slab_free(&cache, o[i]);
		cr_expect_eq(slab_in_use(&cache), (size_t)i);
	}
}

Test(slab, caches_are_independent)
{
	struct slab_cache a, b;
	slab_cache_init(&a, "a", 32, 0);
	slab_cache_init(&b, "b", 32, 0);
	void *x = slab_alloc(&a);
	void *y = slab_alloc(&b);
	cr_expect_eq(slab_in_use(&a), 1);
	cr_expect_eq(slab_in_use(&b), 1);
	cr_expect_neq((uintptr_t)x & ~(uintptr_t)PAGE_MASK, (uintptr_t)y & ~(uintptr_t)PAGE_MASK);
	slab_free(&a, x);
	slab_free(&b, y);
}

Test(slab, empty_pages_go_back_to_the_frame_allocator)
{
	enum { N = 1000 };
	static void *o[N];
	uint64_t before = frame_free_pages();
	slab_cache_init(&cache, "return", 128, 0);
	for (int i = 0; i < N; i++) {
		o[i] = slab_alloc(&cache);
		cr_assert_not_null(o[i]);
	}
	cr_expect(frame_free_pages() < before);
	/* Free every other one first: pages stay while any object on them lives. */
	for (int i = 0; i < N; i += 2) {
		slab_free(&cache, o[i]);
	}
	cr_expect(frame_free_pages() < before);
	for (int i = 1; i < N; i += 2) {
		slab_free(&cache, o[i]);
	}
	cr_expect_eq(frame_free_pages(), before);
	cr_expect_eq(slab_in_use(&cache), 0);
}

Test(slab, free_of_null_is_ignored)
{
	slab_cache_init(&cache, "null", 32, 0);
	slab_free(&cache, NULL);
	cr_expect_eq(slab_in_use(&cache), 0);
}

Test(slab, random_alloc_free_keeps_objects_intact)
{
	enum { SLOTS = 2000, SIZE = 72 };
	static unsigned char *slot[SLOTS];
	uint64_t x = 7;
	uint64_t before = frame_free_pages();
	size_t live = 0;
	slab_cache_init(&cache, "random", SIZE, 8);
	for (int step = 0; step < 100000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t i = x % SLOTS;
		if (slot[i]) {
			for (int b = 0; b < SIZE; b++) {
				cr_assert_eq(slot[i][b], (unsigned char)i, "slot %zu corrupted", i);
			}
			slab_free(&cache, slot[i]);
			slot[i] = NULL;
			live--;
		} else {
			slot[i] = slab_alloc(&cache);
			cr_assert_not_null(slot[i]);
			cr_assert(all_zero(slot[i], SIZE));
			memset(slot[i], (unsigned char)i, SIZE);
			live++;
		}
		cr_assert_eq(slab_in_use(&cache), live);
	}
	for (size_t i = 0; i < SLOTS; i++) {
		slab_free(&cache, slot[i]);
	}
	cr_expect_eq(frame_free_pages(), before);
}

/* ------------------------------------------------------------------ SMP */

#define THREADS 2

static void *smp_worker(void *arg)
{
	unsigned char tag = (unsigned char)(uintptr_t)arg;
	unsigned char *mine[32];
	for (int round = 0; round < 2000; round++) {
		for (int i = 0; i < 32; i++) {
			mine[i] = slab_alloc(&cache);
			if (!mine[i] || !all_zero(mine[i], 64)) {
				abort();
			}
			memset(mine[i], tag, 64);
		}
		for (int i = 0; i < 32; i++) {
			for (int b = 0; b < 64; b++) {
				if (mine[i][b] != tag) {
					abort(); /* another CPU got the same object */
				}
			}
			slab_free(&cache, mine[i]);
		}
	}
	return NULL;
}

Test(slab, concurrent_alloc_free_never_shares_an_object)
{
	pthread_t t[THREADS];
	uint64_t before = frame_free_pages();
	slab_cache_init(&cache, "smp", 64, 0);
	for (uintptr_t i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, smp_worker, (void *)(i + 1)), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
	}
	cr_expect_eq(slab_in_use(&cache), 0);
	cr_expect_eq(frame_free_pages(), before);
}

/* ------------------------------------------------------------------ kernel bugs panic */

Test(slab, double_free_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "double", 32, 0);
	void *keep = slab_alloc(&cache); /* so the page stays a slab */
	void *o = slab_alloc(&cache);
	slab_free(&cache, o);
	slab_free(&cache, o);
	slab_free(&cache, keep);
}

Test(slab, free_to_the_wrong_cache_panics, .signal = SIGABRT)
{
	struct slab_cache other;
	slab_cache_init(&cache, "right", 32, 0);
	slab_cache_init(&other, "wrong", 32, 0);
	slab_alloc(&other);
	void *o = slab_alloc(&cache);
	slab_free(&other, o);
}

Test(slab, free_of_pointer_into_an_object_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "inner", 64, 0);
	char *o = slab_alloc(&cache);
	slab_free(&cache, o + 8);
}

Test(slab, free_of_pointer_into_the_page_header_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "header", 64, 0);
	char *o = slab_alloc(&cache);
	slab_free(&cache, (void *)ALIGN_DOWN((uintptr_t)o, PAGE_SIZE));
}

Test(slab, free_of_non_slab_page_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "foreign", 64, 0);
	void *page = phys_to_virt(frame_alloc(0));
	memset(page, 0, PAGE_SIZE);
	slab_free(&cache, (char *)page + 128);
}

Test(slab, free_after_the_page_went_back_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "stale", 64, 0);
	void *o = slab_alloc(&cache);
	slab_free(&cache, o); /* last object: the page goes back to the frame allocator */
	slab_free(&cache, o);
}

Test(slab, zero_object_size_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "zero", 0, 0);
}

Test(slab, object_larger_than_a_page_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "huge", PAGE_SIZE + 1, 0);
}

Test(slab, object_that_does_not_fit_beside_the_header_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "page", PAGE_SIZE, 0);
}

Test(slab, alignment_not_a_power_of_two_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "align", 32, 24);
}

Test(slab, alignment_above_half_a_page_panics, .signal = SIGABRT)
{
	slab_cache_init(&cache, "align", 32, PAGE_SIZE);
}
