/* SPDX-License-Identifier: MIT */
/* The roottask's RAM: a bump allocator over the regions the kernel gave it (tasks keep what they get). */
#include "roottask.h"

static struct vireo_mem_region regions[VIREO_BOOTINFO_MAX_MEM];
static unsigned nregions;
static unsigned cur;
static uint64_t next; /* window address of the next free page in regions[cur] */

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
	while (cur < nregions) {
		struct vireo_mem_region *r = &regions[cur];
		uint64_t va = (next + size - 1) & ~(size - 1);
		if (va + size <= r->va + r->size) {
			next = va + size;
			memset((void *)va, 0, size);
			return va;
		}
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
