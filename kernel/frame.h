/* SPDX-License-Identifier: MIT */
/* Page-frame allocator: a buddy allocator over the usable RAM ranges. */
#ifndef KERNEL_FRAME_H
#define KERNEL_FRAME_H

#include "types.h"

/* Largest block: 2^10 pages = 4 MiB. Blocks of order k are aligned to 2^k pages physically. */
#define FRAME_MAX_ORDER 10

/* Forgets every range and block (boot, and unit tests between cases). Not concurrent with use. */
void frame_init(void);

/*
 * Hands the usable RAM [base, base + size) to the allocator; base and size must be page-aligned
 * and the range must not overlap an earlier one (CHECK). May be called several times, also with
 * adjacent ranges (blocks never span two ranges). The allocator keeps its metadata inside the
 * range: a header plus one byte per page, taken from the last pages of the range (about 0.03% of
 * it; a one-page range is used up by it), and free blocks hold their free-list links in their
 * first page. So the whole range must already be mapped linearly by phys_to_virt.
 */
void frame_add_range(paddr_t base, uint64_t size);

/*
 * 2^order contiguous pages aligned to 2^order pages, or PADDR_INVALID when no such block is free
 * or order > FRAME_MAX_ORDER. Contents are unspecified: callers zero what they need.
 */
paddr_t frame_alloc(unsigned order);

/*
 * frame_alloc with every byte of the block written (zero), for kernel memory that is then used in
 * part (slab pages, kernel stacks). Besides leaving nothing of a former use behind, this matters
 * under QEMU's TCG: code it translated from a page (the boot loader ran there) stays attached to
 * the page while a byte it came from is unwritten, and every store into that page afterwards
 * takes the emulator's self-modifying-code path (docs/platforms.md#qemu-stale-code).
 */
paddr_t frame_alloc_zeroed(unsigned order);

/*
 * Returns a block from frame_alloc with the same order. CHECKs: order in range, pa aligned to
 * the order, the block inside one range, and it is allocated now with exactly this order (which
 * catches double frees, frees of a part of a block and frees of never-allocated pages).
 */
void frame_free(paddr_t pa, unsigned order);

/* Pages currently free. */
uint64_t frame_free_pages(void);

#endif
