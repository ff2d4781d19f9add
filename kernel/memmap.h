/* SPDX-License-Identifier: MIT */
/* Usable RAM from the firmware map: available minus reserved, page-aligned, sorted, merged. */
#ifndef KERNEL_MEMMAP_H
#define KERNEL_MEMMAP_H

#include "types.h"

/* A byte range [base, base + size) of physical addresses. */
struct mem_range {
	uint64_t base;
	uint64_t size;
};

/*
 * Computes the usable RAM: every page that lies wholly inside the union of `avail`, touches no
 * byte of any `reserved` range (reserved wins on overlap) and lies at or above `min_addr`.
 * Inputs may be unsorted, overlapping, empty or wrap past 2^64 (such a range is clamped to end at
 * 2^64 - 1, so the very last page of the address space is never usable).
 *
 * The result is sorted by address, page-aligned, non-empty, and no two ranges touch (adjacent and
 * overlapping input is merged). Like snprintf, the return value is how many ranges the result
 * has; only the lowest min(result, outmax) of them are written to `out`, so a return value above
 * outmax tells the caller how many ranges (the highest ones) were lost. `out` may be NULL when
 * outmax is 0. Cost is quadratic in navail + nreserved per result range: meant for firmware maps
 * of tens of entries.
 */
size_t memmap_usable(const struct mem_range *avail, size_t navail, const struct mem_range *reserved,
		     size_t nreserved, struct mem_range *out, size_t outmax, uint64_t min_addr);

/*
 * Whether r[i] owns its pages: it is not empty, starts on a page boundary, its last page does not
 * wrap past 2^64, and no other non-empty range of r touches any of its pages. Boot modules that
 * own their pages can be handed out as capabilities (kernel/roottask.c); others cannot, since a
 * shared page would give one module's holder part of another.
 */
bool memmap_owns_pages(const struct mem_range *r, size_t n, size_t i);

/* Exclusive end of r, clamped to UINT64_MAX when base + size wraps past 2^64. */
static inline uint64_t mem_range_end(const struct mem_range *r)
{
	return r->size > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->size;
}

#endif
