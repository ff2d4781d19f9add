/* SPDX-License-Identifier: MIT */
/* Page-frame allocator: a buddy allocator whose metadata lives in the RAM it manages. */
#include "frame.h"

#include "arch.h"
#include "assert.h"
#include "kstring.h"
#include "spinlock.h"

/*
 * One state byte per page, so that a buddy's state and a double free are found in O(1) without
 * trusting anything stored in the free pages themselves:
 *   ST_FREE | k   first page of a free block of order k (on free list k)
 *   ST_ALLOC | k  first page of an allocated block of order k
 *   ST_TAIL       any other page of a block, or a metadata page
 */
#define ST_FREE 0x00
#define ST_ALLOC 0x80
#define ST_TAIL 0xff

/* A range's header, at the start of its metadata pages (the last pages of the range). */
struct frame_range {
	struct frame_range *next;
	uint64_t start_pfn;
	uint64_t npages; /* pages covered by state[], metadata pages included */
	uint8_t state[];
};

/* Free-list links, in the first page of each free block. */
struct frame_node {
	struct frame_node *next;
	struct frame_node *prev;
};

static struct {
	spinlock_t lock;
	struct frame_range *ranges;
	struct frame_node free[FRAME_MAX_ORDER + 1]; /* circular lists, the heads are sentinels */
	uint64_t nfree;
} fa;

static uint64_t block_pages(unsigned order)
{
	return 1ull << order;
}

static void *page_of(uint64_t pfn)
{
	return phys_to_virt(pa_init(pfn << PAGE_SHIFT));
}

static struct frame_node *node_of(uint64_t pfn)
{
	return page_of(pfn);
}

static uint64_t pfn_of(struct frame_node *n)
{
	return pa_addr(virt_to_phys(n)) >> PAGE_SHIFT;
}

static void list_push(unsigned order, uint64_t pfn)
{
	struct frame_node *head = &fa.free[order];
	struct frame_node *n = node_of(pfn);
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static void list_unlink(struct frame_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static struct frame_range *range_of(uint64_t pfn)
{
	for (struct frame_range *r = fa.ranges; r; r = r->next) {
		if (pfn >= r->start_pfn && pfn - r->start_pfn < r->npages) {
			return r;
		}
	}
	return NULL;
}

static uint8_t *state_of(struct frame_range *r, uint64_t pfn)
{
	return &r->state[pfn - r->start_pfn];
}

/* Whether the block of 2^order pages at pfn lies wholly inside r. */
static bool block_in_range(const struct frame_range *r, uint64_t pfn, unsigned order)
{
	return pfn >= r->start_pfn && pfn - r->start_pfn + block_pages(order) <= r->npages;
}

static void add_free_block(struct frame_range *r, uint64_t pfn, unsigned order)
{
	*state_of(r, pfn) = (uint8_t)(ST_FREE | order);
	list_push(order, pfn);
}

void frame_init(void)
{
	fa.lock = SPINLOCK_INIT;
	fa.ranges = NULL;
	fa.nfree = 0;
	for (unsigned k = 0; k <= FRAME_MAX_ORDER; k++) {
		fa.free[k].next = fa.free[k].prev = &fa.free[k];
	}
}

/* The largest naturally aligned block that starts at pfn and ends at or before end. */
static unsigned largest_block(uint64_t pfn, uint64_t end)
{
	unsigned order = 0;
	while (order < FRAME_MAX_ORDER && IS_ALIGNED(pfn, block_pages(order + 1)) &&
	       end - pfn >= block_pages(order + 1)) {
		order++;
	}
	return order;
}

static bool overlaps_known_range(uint64_t start_pfn, uint64_t npages)
{
	for (struct frame_range *r = fa.ranges; r; r = r->next) {
		if (start_pfn < r->start_pfn + r->npages && r->start_pfn < start_pfn + npages) {
			return true;
		}
	}
	return false;
}

/* Carves the usable pages [pfn, end) into the largest aligned blocks, all free. */
static void free_pages_of(struct frame_range *r, uint64_t pfn, uint64_t end)
{
	while (pfn < end) {
		unsigned order = largest_block(pfn, end);
		add_free_block(r, pfn, order);
		fa.nfree += block_pages(order);
		pfn += block_pages(order);
	}
}

void frame_add_range(paddr_t base, uint64_t size)
{
	uint64_t b = pa_addr(base);
	CHECK(IS_ALIGNED(b, PAGE_SIZE) && IS_ALIGNED(size, PAGE_SIZE));
	CHECK(size <= UINT64_MAX - b);
	if (size == 0) {
		return;
	}
	uint64_t npages = size >> PAGE_SHIFT;
	uint64_t meta_pages =
		ALIGN_UP(sizeof(struct frame_range) + npages, PAGE_SIZE) >> PAGE_SHIFT;
	if (meta_pages >= npages) {
		return; /* nothing would be left after the metadata */
	}
	uint64_t start_pfn = b >> PAGE_SHIFT;
	uint64_t usable = npages - meta_pages;
	struct frame_range *r = page_of(start_pfn + usable);

	spin_lock(&fa.lock);
	CHECK(!overlaps_known_range(start_pfn, npages));
	r->start_pfn = start_pfn;
	r->npages = npages;
	memset(r->state, ST_TAIL, npages);
	free_pages_of(r, start_pfn, start_pfn + usable);
	r->next = fa.ranges;
	fa.ranges = r;
	spin_unlock(&fa.lock);
}

/* Takes the first free block of exactly this order off its list, or returns false. */
static bool take_block(unsigned order, uint64_t *pfn, struct frame_range **range)
{
	struct frame_node *n = fa.free[order].next;
	if (n == &fa.free[order]) {
		return false;
	}
	*pfn = pfn_of(n);
	*range = range_of(*pfn);
	/* A mismatch means the free list was overwritten: someone used a page after freeing it. */
	CHECK(*range && *state_of(*range, *pfn) == (ST_FREE | order));
	list_unlink(n);
	return true;
}

paddr_t frame_alloc(unsigned order)
{
	struct frame_range *r;
	uint64_t pfn;
	unsigned k;

	if (order > FRAME_MAX_ORDER) {
		return PADDR_INVALID;
	}
	spin_lock(&fa.lock);
	for (k = order; k <= FRAME_MAX_ORDER; k++) {
		if (take_block(k, &pfn, &r)) {
			break;
		}
	}
	if (k > FRAME_MAX_ORDER) {
		spin_unlock(&fa.lock);
		return PADDR_INVALID;
	}
	/* Split: keep the lower half, free the upper half, until the block has the wanted order. */
	while (k > order) {
		k--;
		add_free_block(r, pfn + block_pages(k), k);
	}
	*state_of(r, pfn) = (uint8_t)(ST_ALLOC | order);
	fa.nfree -= block_pages(order);
	spin_unlock(&fa.lock);
	return pa_init(pfn << PAGE_SHIFT);
}

paddr_t frame_alloc_zeroed(unsigned order)
{
	paddr_t pa = frame_alloc(order);
	if (pa_valid(pa)) {
		memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
	}
	return pa;
}

/* Merges the free block at pfn with free buddies as far as possible, then lists it. */
static void coalesce(struct frame_range *r, uint64_t pfn, unsigned order)
{
	while (order < FRAME_MAX_ORDER) {
		uint64_t buddy = pfn ^ block_pages(order);
		if (!block_in_range(r, buddy, order) || *state_of(r, buddy) != (ST_FREE | order)) {
			break;
		}
		list_unlink(node_of(buddy));
		*state_of(r, buddy) = ST_TAIL;
		*state_of(r, pfn) = ST_TAIL;
		pfn = MIN(pfn, buddy);
		order++;
	}
	add_free_block(r, pfn, order);
}

void frame_free(paddr_t pa, unsigned order)
{
	uint64_t a = pa_addr(pa);
	CHECK(order <= FRAME_MAX_ORDER);
	CHECK(IS_ALIGNED(a, PAGE_SIZE << order));
	uint64_t pfn = a >> PAGE_SHIFT;

	spin_lock(&fa.lock);
	struct frame_range *r = range_of(pfn);
	CHECK(r && block_in_range(r, pfn, order));
	/* Catches double frees, wrong orders and pages that were never handed out. */
	CHECK(*state_of(r, pfn) == (ST_ALLOC | order));
	fa.nfree += block_pages(order);
	coalesce(r, pfn, order);
	spin_unlock(&fa.lock);
}

uint64_t frame_free_pages(void)
{
	spin_lock(&fa.lock);
	uint64_t n = fa.nfree;
	spin_unlock(&fa.lock);
	return n;
}
