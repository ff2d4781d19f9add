/* SPDX-License-Identifier: MIT */
/* The direct map of physical memory at PHYSMAP_BASE (set up by the boot page tables in entry.S). */
#include "arch.h"
#include "assert.h"
#include "x86/memlayout.h"

/* Size of physical memory the boot tables map; RAM above it is not handed out. */
#define PHYSMAP_SIZE (4ull << 30)

void *phys_to_virt(paddr_t pa)
{
	assert(pa_addr(pa) < PHYSMAP_SIZE);
	return (void *)(PHYSMAP_BASE + pa_addr(pa));
}

paddr_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;
	if (v >= KERNEL_VBASE) {
		return pa_init(v - KERNEL_VBASE);
	}
	assert(v >= PHYSMAP_BASE && v - PHYSMAP_BASE < PHYSMAP_SIZE);
	return pa_init(v - PHYSMAP_BASE);
}
