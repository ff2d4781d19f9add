/* SPDX-License-Identifier: MIT */
/*
 * The roottask's RAM: a bump allocator over the regions the kernel gave it (tasks keep what they
 * get). Aligning up for a large block leaves a gap below it; the gaps serve later small requests,
 * so that asking for an aligned 1 GiB block wastes nothing.
 */
#include "roottask.h"

static struct vireo_mem_region regions[VIREO_BOOTINFO_MAX_MEM];
static unsigned nregions;
static unsigned cur;
static uint64_t next; /* window address of the next free page in regions[cur] */

/* Gaps left below aligned blocks: [va, end), used bump-wise like a region. */
#define MAX_GAPS 16
static struct {
	uint64_t va, end;
} gaps[MAX_GAPS];

static void gap_add(uint64_t va, uint64_t end)
{
	if (end <= va) {
		return;
	}
	unsigned small = 0;
	for (unsigned i = 0; i < MAX_GAPS; i++) {
		if (gaps[i].end - gaps[i].va < gaps[small].end - gaps[small].va) {
			small = i;
		}
	}
	if (end - va > gaps[small].end - gaps[small].va) {
		gaps[small].va = va; /* the smallest gap is forgotten when all are in use */
		gaps[small].end = end;
	}
}

static uint64_t gap_alloc(uint64_t size)
{
	for (unsigned i = 0; i < MAX_GAPS; i++) {
		uint64_t va = (gaps[i].va + size - 1) & ~(size - 1);
		if (gaps[i].end && va >= gaps[i].va && va + size <= gaps[i].end) {
			uint64_t front = gaps[i].va;
			gaps[i].va = va + size;
			gap_add(front, va); /* usually nothing: small blocks are aligned already */
			return va;
		}
	}
	return 0;
}

/*
 * Zeroes whole pages with plain 8-byte stores, eight to a loop: QEMU's TCG runs REP STOS one
 * element per translated-block pass, several times slower than a loop of stores, and the
 * roottask zeroes every page it hands out (a VMM's guest RAM is hundreds of MiB).
 */
static void zero_pages(uint64_t va, uint64_t size)
{
	volatile uint64_t *p = (volatile uint64_t *)va, *end = (volatile uint64_t *)(va + size);
	for (; p < end; p += 8) {
		p[0] = 0;
		p[1] = 0;
		p[2] = 0;
		p[3] = 0;
		p[4] = 0;
		p[5] = 0;
		p[6] = 0;
		p[7] = 0;
	}
}

void mem_init(const struct vireo_bootinfo *bi)
{
	nregions = bi->nmem;
	for (unsigned i = 0; i < nregions; i++) {
		regions[i] = bi->mem[i];
	}
	cur = 0;
	next = nregions ? regions[0].va : 0;
}

uint64_t mem_alloc(unsigned order)
{
	uint64_t size = PAGE << order;
	uint64_t va = gap_alloc(size);
	if (va) {
		zero_pages(va, size);
		return va;
	}
	while (cur < nregions) {
		struct vireo_mem_region *r = &regions[cur];
		va = (next + size - 1) & ~(size - 1);
		if (va + size <= r->va + r->size) {
			gap_add(next, va);
			next = va + size;
			zero_pages(va, size);
			return va;
		}
		/* A large request that does not fit here may leave the rest of the region behind. */
		gap_add(next, r->va + r->size);
		if (++cur < nregions) {
			next = regions[cur].va;
		}
	}
	return 0;
}

uint64_t mem_free_bytes(void)
{
	uint64_t sum = 0;
	for (unsigned i = cur; i < nregions; i++) {
		sum += regions[i].va + regions[i].size - (i == cur ? next : regions[i].va);
	}
	for (unsigned i = 0; i < MAX_GAPS; i++) {
		sum += gaps[i].end - gaps[i].va;
	}
	return sum;
}

uint64_t sel_alloc(unsigned count)
{
	static uint64_t next_sel =
		128; /* below: self caps, the smoke test, the event portals at 64.. */
	uint64_t s = next_sel;
	next_sel += count;
	return s < VIREO_CAP_SPACE_SIZE - count ? s : 0;
}
