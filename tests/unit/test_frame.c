/* SPDX-License-Identifier: MIT */
/* Specification of the buddy page-frame allocator. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"

#define MB (1024ull * 1024)
#define BLOCK(order) (PAGE_SIZE << (order))
#define RAM (16 * MB)

/* Pages the allocator keeps for itself in a range of npages (header + one byte per page). */
static uint64_t meta_pages(uint64_t npages)
{
	return (64 + npages + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void setup_ram(void)
{
	fake_phys_init(RAM);
	frame_init();
}

static void teardown_ram(void)
{
	frame_init();
	fake_phys_fini();
}

TestSuite(frame, .init = setup_ram, .fini = teardown_ram);

static paddr_t pa(uint64_t off)
{
	return pa_init(FAKE_PHYS_BASE + off);
}

static void add_all_ram(void)
{
	frame_add_range(pa(0), RAM);
}

/* How many blocks of this order can be taken right now; gives them all back. */
static uint64_t count_allocatable(unsigned order)
{
	static paddr_t got[RAM / PAGE_SIZE];
	uint64_t n = 0;
	for (paddr_t p = frame_alloc(order); pa_valid(p); p = frame_alloc(order)) {
		got[n++] = p;
	}
	for (uint64_t i = 0; i < n; i++) {
		frame_free(got[i], order);
	}
	return n;
}

static bool inside(paddr_t p, uint64_t size, uint64_t off, uint64_t len)
{
	return pa_addr(p) >= FAKE_PHYS_BASE + off &&
	       pa_addr(p) + size <= FAKE_PHYS_BASE + off + len;
}

/* ------------------------------------------------------------------ basics */

Test(frame, nothing_is_free_before_any_range_is_added)
{
	cr_expect_eq(frame_free_pages(), 0);
	cr_expect_not(pa_valid(frame_alloc(0)));
}

Test(frame, added_range_is_free_except_for_its_metadata)
{
	add_all_ram();
	uint64_t n = RAM / PAGE_SIZE;
	cr_expect_eq(frame_free_pages(), n - meta_pages(n));
}

Test(frame, zero_size_range_adds_nothing)
{
	frame_add_range(pa(0), 0);
	cr_expect_eq(frame_free_pages(), 0);
}

Test(frame, one_page_range_is_used_up_by_metadata)
{
	frame_add_range(pa(0), PAGE_SIZE);
	cr_expect_eq(frame_free_pages(), 0);
	frame_add_range(pa(PAGE_SIZE), 2 * PAGE_SIZE);
	cr_expect_eq(frame_free_pages(), 1);
	paddr_t p = frame_alloc(0);
	cr_expect_eq(pa_addr(p), FAKE_PHYS_BASE + PAGE_SIZE);
}

Test(frame, init_forgets_every_range)
{
	add_all_ram();
	cr_assert(pa_valid(frame_alloc(3)));
	frame_init();
	cr_expect_eq(frame_free_pages(), 0);
	cr_expect_not(pa_valid(frame_alloc(0)));
}

/* frame_alloc_zeroed writes every byte of the block, whatever a former owner left there; a block
 * that is not free is not written. */
Test(frame, alloc_zeroed_writes_the_whole_block)
{
	add_all_ram();
	for (unsigned order = 0; order <= 3; order++) {
		paddr_t p = frame_alloc(order);
		cr_assert(pa_valid(p));
		unsigned char *b = phys_to_virt(p);
		memset(b, 0xa5, BLOCK(order));
		frame_free(p, order);
		paddr_t q = frame_alloc_zeroed(order);
		cr_assert_eq(pa_addr(q), pa_addr(p), "the block just freed comes back first");
		for (uint64_t i = 0; i < BLOCK(order); i++) {
			cr_assert_eq(b[i], 0, "order %u: byte %lu not written", order,
				     (unsigned long)i);
		}
		frame_free(q, order);
	}
	frame_init();
	cr_expect_not(pa_valid(frame_alloc_zeroed(0)), "no memory: nothing to write");
}

Test(frame, alloc_returns_blocks_aligned_to_their_order)
{
	add_all_ram();
	for (unsigned order = 0; order <= FRAME_MAX_ORDER; order++) {
		paddr_t p = frame_alloc(order);
		cr_assert(pa_valid(p), "order %u", order);
		cr_expect(IS_ALIGNED(pa_addr(p), BLOCK(order)), "order %u at %#llx", order,
			  (unsigned long long)pa_addr(p));
		cr_expect(inside(p, BLOCK(order), 0, RAM));
	}
}

Test(frame, alloc_takes_exactly_its_pages_and_free_returns_them)
{
	add_all_ram();
	uint64_t before = frame_free_pages();
	for (unsigned order = 0; order <= FRAME_MAX_ORDER; order++) {
		paddr_t p = frame_alloc(order);
		cr_assert(pa_valid(p));
		cr_expect_eq(frame_free_pages(), before - (1ull << order));
		frame_free(p, order);
		cr_expect_eq(frame_free_pages(), before);
	}
}

Test(frame, order_above_max_returns_invalid)
{
	add_all_ram();
	cr_expect_not(pa_valid(frame_alloc(FRAME_MAX_ORDER + 1)));
	cr_expect_not(pa_valid(frame_alloc(64)));
	cr_expect_not(pa_valid(frame_alloc(~0u)));
}

Test(frame, block_larger_than_any_range_is_not_available)
{
	frame_add_range(pa(0), 2 * MB);
	cr_expect_not(pa_valid(frame_alloc(FRAME_MAX_ORDER)));
	cr_expect(pa_valid(frame_alloc(FRAME_MAX_ORDER - 2)));
}

Test(frame, exhaustion_returns_invalid_and_free_makes_pages_available_again)
{
	add_all_ram();
	uint64_t total = frame_free_pages();
	uint64_t n = 0;
	paddr_t last = PADDR_INVALID;
	for (paddr_t p = frame_alloc(0); pa_valid(p); p = frame_alloc(0)) {
		last = p;
		n++;
	}
	cr_expect_eq(n, total);
	cr_expect_eq(frame_free_pages(), 0);
	for (unsigned order = 0; order <= FRAME_MAX_ORDER; order++) {
		cr_expect_not(pa_valid(frame_alloc(order)));
	}
	frame_free(last, 0);
	cr_expect_eq(pa_addr(frame_alloc(0)), pa_addr(last));
}

Test(frame, freeing_everything_coalesces_back_to_the_same_large_blocks)
{
	add_all_ram();
	uint64_t total = frame_free_pages();
	uint64_t big = count_allocatable(FRAME_MAX_ORDER);
	cr_assert(big >= 2, "%llu", (unsigned long long)big);

	/* Fragment everything into single pages, then free them in a shuffled order. */
	static paddr_t pages[RAM / PAGE_SIZE];
	uint64_t n = 0;
	for (paddr_t p = frame_alloc(0); pa_valid(p); p = frame_alloc(0)) {
		pages[n++] = p;
	}
	srand(42);
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = (uint64_t)rand() % (i + 1);
		paddr_t t = pages[i];
		pages[i] = pages[j];
		pages[j] = t;
	}
	for (uint64_t i = 0; i < n; i++) {
		frame_free(pages[i], 0);
	}
	cr_expect_eq(frame_free_pages(), total);
	cr_expect_eq(count_allocatable(FRAME_MAX_ORDER), big);
}

Test(frame, split_block_is_whole_again_after_free)
{
	frame_add_range(pa(3 * MB), 8 * MB + PAGE_SIZE * 16); /* one aligned 4 MiB block inside */
	uint64_t big = count_allocatable(FRAME_MAX_ORDER);
	paddr_t small = frame_alloc(0);
	cr_assert(pa_valid(small));
	frame_free(small, 0);
	cr_expect_eq(count_allocatable(FRAME_MAX_ORDER), big);
}

/* ------------------------------------------------------------------ odd ranges */

Test(frame, range_not_a_multiple_of_any_block_is_fully_usable)
{
	/* Starts on an odd page and holds an odd number of pages. */
	uint64_t off = 5 * PAGE_SIZE, len = 1 * MB + 37 * PAGE_SIZE;
	frame_add_range(pa(off), len);
	uint64_t n = len / PAGE_SIZE;
	cr_expect_eq(frame_free_pages(), n - meta_pages(n));
	uint64_t count = 0;
	for (paddr_t p = frame_alloc(0); pa_valid(p); p = frame_alloc(0)) {
		cr_assert(inside(p, PAGE_SIZE, off, len));
		count++;
	}
	cr_expect_eq(count, n - meta_pages(n));
}

Test(frame, alloc_never_returns_memory_outside_the_added_ranges)
{
	const uint64_t ranges[][2] = { { 3 * PAGE_SIZE, 100 * PAGE_SIZE },
				       { 2 * MB + PAGE_SIZE, 1 * MB },
				       { 9 * MB, 3 * MB - 7 * PAGE_SIZE } };
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		frame_add_range(pa(ranges[i][0]), ranges[i][1]);
	}
	for (unsigned order = 0; order <= FRAME_MAX_ORDER; order++) {
		for (paddr_t p = frame_alloc(order); pa_valid(p); p = frame_alloc(order)) {
			bool ok = false;
			for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
				ok |= inside(p, BLOCK(order), ranges[i][0], ranges[i][1]);
			}
			cr_assert(ok, "order %u block %#llx outside every range", order,
				  (unsigned long long)pa_addr(p));
		}
	}
	cr_expect_eq(frame_free_pages(), 0);
}

Test(frame, blocks_never_span_two_adjacent_ranges)
{
	/* Two ranges meeting at 6 MiB; together they would hold an aligned 4 MiB block at 4 MiB. */
	uint64_t a = 3 * MB, mid = 7 * MB, b = 11 * MB; /* physical 4 MiB .. 8 MiB .. 12 MiB */
	frame_add_range(pa(a), mid - a - 2 * MB);
	frame_add_range(pa(mid - 2 * MB), b - mid + 2 * MB);
	uint64_t boundary = FAKE_PHYS_BASE + mid - 2 * MB;
	for (unsigned order = FRAME_MAX_ORDER; order + 1 > 0; order--) {
		for (paddr_t p = frame_alloc(order); pa_valid(p); p = frame_alloc(order)) {
			bool crosses =
				pa_addr(p) < boundary && pa_addr(p) + BLOCK(order) > boundary;
			cr_assert_not(crosses, "order %u block at %#llx", order,
				      (unsigned long long)pa_addr(p));
		}
	}
}

Test(frame, metadata_pages_are_never_handed_out)
{
	uint64_t len = 2 * MB;
	frame_add_range(pa(0), len);
	uint64_t n = len / PAGE_SIZE;
	uint64_t meta_start = FAKE_PHYS_BASE + (n - meta_pages(n)) * PAGE_SIZE;
	for (paddr_t p = frame_alloc(0); pa_valid(p); p = frame_alloc(0)) {
		cr_assert(pa_addr(p) < meta_start);
		/* Scribbling over allocated pages must not hurt the allocator. */
		memset(phys_to_virt(p), 0xcc, PAGE_SIZE);
	}
}

/* ------------------------------------------------------------------ randomized */

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct live {
	paddr_t pa;
	unsigned order;
};

/* Fills a block with a pattern naming it, so overlap or allocator writes show on free. */
static void stamp(paddr_t p, unsigned order)
{
	uint64_t *w = phys_to_virt(p);
	for (uint64_t i = 0; i < BLOCK(order) / 8; i += 512) {
		w[i] = pa_addr(p) ^ order;
	}
}

static void check_stamp(paddr_t p, unsigned order)
{
	uint64_t *w = phys_to_virt(p);
	for (uint64_t i = 0; i < BLOCK(order) / 8; i += 512) {
		cr_assert_eq(w[i], pa_addr(p) ^ order, "block %#llx order %u was overwritten",
			     (unsigned long long)pa_addr(p), order);
	}
}

static void shadow_mark(uint8_t *shadow, paddr_t p, unsigned order, bool used)
{
	uint64_t first = (pa_addr(p) - FAKE_PHYS_BASE) / PAGE_SIZE;
	for (uint64_t i = first; i < first + (1ull << order); i++) {
		cr_assert_eq(shadow[i], !used, "page %llu %s twice", (unsigned long long)i,
			     used ? "allocated" : "freed");
		shadow[i] = used;
	}
}

Test(frame, random_alloc_free_never_hands_out_a_page_twice)
{
	static uint8_t shadow[RAM / PAGE_SIZE];
	static struct live live[RAM / PAGE_SIZE];
	size_t nlive = 0;

	/* Two ranges with awkward edges. */
	frame_add_range(pa(PAGE_SIZE), 6 * MB + 3 * PAGE_SIZE);
	frame_add_range(pa(7 * MB), 9 * MB - 5 * PAGE_SIZE);
	uint64_t total = frame_free_pages();
	for (int step = 0; step < 200000; step++) {
		uint64_t r = next_rand();
		if (nlive && (r % 100 < 45 || nlive == ARRAY_SIZE(live))) {
			size_t i = (r >> 8) % nlive;
			check_stamp(live[i].pa, live[i].order);
			shadow_mark(shadow, live[i].pa, live[i].order, false);
			frame_free(live[i].pa, live[i].order);
			live[i] = live[--nlive];
			continue;
		}
		/* Mostly small orders, like a kernel. */
		unsigned order = (unsigned)((r >> 16) % 100 < 80 ? (r >> 24) % 3 : (r >> 24) % 11);
		paddr_t p = frame_alloc(order);
		if (!pa_valid(p)) {
			continue;
		}
		cr_assert(IS_ALIGNED(pa_addr(p), BLOCK(order)));
		shadow_mark(shadow, p, order, true);
		stamp(p, order);
		live[nlive++] = (struct live){ p, order };
	}
	while (nlive) {
		nlive--;
		check_stamp(live[nlive].pa, live[nlive].order);
		frame_free(live[nlive].pa, live[nlive].order);
	}
	cr_expect_eq(frame_free_pages(), total);
}

/* ------------------------------------------------------------------ SMP */

#define THREADS 2
#define PER_THREAD_STEPS 20000

static uint8_t smp_shadow[RAM / PAGE_SIZE];

static void *smp_worker(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	struct live mine[64];
	size_t n = 0;
	for (int step = 0; step < PER_THREAD_STEPS; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (n == ARRAY_SIZE(mine) || (n && x % 2)) {
			n--;
			uint64_t first = (pa_addr(mine[n].pa) - FAKE_PHYS_BASE) / PAGE_SIZE;
			for (uint64_t i = first; i < first + (1ull << mine[n].order); i++) {
				if (!__atomic_exchange_n(&smp_shadow[i], 0, __ATOMIC_RELAXED)) {
					abort();
				}
			}
			frame_free(mine[n].pa, mine[n].order);
			continue;
		}
		unsigned order = (unsigned)((x >> 8) % 4);
		paddr_t p = frame_alloc(order);
		if (!pa_valid(p)) {
			continue;
		}
		uint64_t first = (pa_addr(p) - FAKE_PHYS_BASE) / PAGE_SIZE;
		for (uint64_t i = first; i < first + (1ull << order); i++) {
			if (__atomic_exchange_n(&smp_shadow[i], 1, __ATOMIC_RELAXED)) {
				abort(); /* two CPUs own the same page */
			}
		}
		mine[n++] = (struct live){ p, order };
	}
	while (n) {
		n--;
		uint64_t first = (pa_addr(mine[n].pa) - FAKE_PHYS_BASE) / PAGE_SIZE;
		for (uint64_t i = first; i < first + (1ull << mine[n].order); i++) {
			__atomic_store_n(&smp_shadow[i], 0, __ATOMIC_RELAXED);
		}
		frame_free(mine[n].pa, mine[n].order);
	}
	return NULL;
}

Test(frame, concurrent_alloc_free_never_hands_out_a_page_twice)
{
	pthread_t t[THREADS];
	frame_add_range(pa(0), 2 * MB); /* small, so that the threads contend for the same pages */
	uint64_t total = frame_free_pages();
	for (uintptr_t i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, smp_worker, (void *)i), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
	}
	cr_expect_eq(frame_free_pages(), total);
}

/* ------------------------------------------------------------------ kernel bugs panic */

Test(frame, double_free_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t p = frame_alloc(0);
	frame_free(p, 0);
	frame_free(p, 0);
}

Test(frame, double_free_after_coalescing_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t a = frame_alloc(0);
	paddr_t b = frame_alloc(0);
	frame_free(a, 0);
	frame_free(b, 0); /* a and b are buddies: they merge, neither is a block head any more */
	frame_free(pa_addr(a) > pa_addr(b) ? a : b, 0);
}

Test(frame, free_with_wrong_order_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t p = frame_alloc(2);
	frame_free(p, 1);
}

Test(frame, free_of_part_of_a_block_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t p = frame_alloc(2);
	frame_free(pa_add(p, 2 * PAGE_SIZE), 1);
}

Test(frame, free_of_never_allocated_page_panics, .signal = SIGABRT)
{
	add_all_ram();
	frame_free(pa(5 * MB), 0);
}

Test(frame, free_misaligned_for_its_order_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t p = frame_alloc(1);
	frame_free(pa_add(p, PAGE_SIZE), 1);
}

Test(frame, free_of_unaligned_address_panics, .signal = SIGABRT)
{
	add_all_ram();
	paddr_t p = frame_alloc(0);
	frame_free(pa_add(p, 8), 0);
}

Test(frame, free_outside_any_range_panics, .signal = SIGABRT)
{
	frame_add_range(pa(0), 1 * MB);
	frame_free(pa(8 * MB), 0);
}

Test(frame, free_of_metadata_page_panics, .signal = SIGABRT)
{
	frame_add_range(pa(0), 1 * MB);
	frame_free(pa(1 * MB - PAGE_SIZE), 0);
}

Test(frame, free_with_order_above_max_panics, .signal = SIGABRT)
{
	add_all_ram();
	frame_free(frame_alloc(FRAME_MAX_ORDER), FRAME_MAX_ORDER + 1);
}

Test(frame, unaligned_range_base_panics, .signal = SIGABRT)
{
	frame_add_range(pa(100), 1 * MB);
}

Test(frame, unaligned_range_size_panics, .signal = SIGABRT)
{
	frame_add_range(pa(0), 1 * MB + 1);
}

Test(frame, range_wrapping_past_2_64_panics, .signal = SIGABRT)
{
	frame_add_range(pa_init(ALIGN_DOWN(UINT64_MAX, PAGE_SIZE)), 2 * PAGE_SIZE);
}

Test(frame, overlapping_range_panics, .signal = SIGABRT)
{
	frame_add_range(pa(0), 4 * MB);
	frame_add_range(pa(4 * MB - PAGE_SIZE), 4 * MB);
}

Test(frame, adding_the_same_range_twice_panics, .signal = SIGABRT)
{
	frame_add_range(pa(0), 4 * MB);
	frame_add_range(pa(0), 4 * MB);
}
