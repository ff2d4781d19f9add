/* SPDX-License-Identifier: MIT */
/* A 4-level radix page-table walker shared by host page tables, AMD NPT and Intel EPT. */
#ifndef KERNEL_PT_H
#define KERNEL_PT_H

#include "types.h"

enum pt_format {
	PT_FMT_X86, /* host page tables: 48-bit canonical virtual addresses */
	PT_FMT_EPT, /* Intel EPT: guest-physical addresses below 2^48 */
	PT_FMT_NPT, /* AMD NPT: the x86 format over guest-physical addresses; every leaf gets U */
};

/* Mapping attributes. x86 cannot express write-only or execute-only: x86 mappings need MAP_R. */
#define MAP_R 0x1
#define MAP_W 0x2
#define MAP_X 0x4
#define MAP_U 0x8   /* user accessible (x86 only; NPT sets it on every leaf; ignored by EPT) */
#define MAP_UC 0x10 /* uncached: PCD|PWT on x86, memory type UC instead of WB in EPT */
#define MAP_G 0x20  /* global (x86 only; ignored by EPT) */
#define MAP_ATTR_ALL (MAP_R | MAP_W | MAP_X | MAP_U | MAP_UC | MAP_G)

/* pt_map flags. Where 1 GiB pages are OK, 2 MiB pages are too, so PT_1G_OK implies PT_LARGE_OK. */
#define PT_LARGE_OK 0x1 /* may use 2 MiB leaves where va, pa and size allow */
#define PT_1G_OK 0x2	/* may use 1 GiB leaves too (the CPU or EPT supports them) */

#define PT_LEVELS 4

/* Where table pages come from. alloc_page returns PADDR_INVALID when out of memory. */
struct pt_alloc {
	paddr_t (*alloc_page)(void *ctx);
	void (*free_page)(void *ctx, paddr_t pa);
	void *ctx;
};

struct pt {
	paddr_t root; /* the top-level table: CR3, nCR3 or the EPTP address */
	enum pt_format fmt;
	const struct pt_alloc *alloc;
};

/* Allocate an empty top-level table. NO_MEM if the allocator fails, BAD_PAR for a bad format. */
status_t pt_init(struct pt *pt, enum pt_format fmt, const struct pt_alloc *alloc);

/* Free every table page pt_init/pt_map/pt_unmap allocated; never leaf frames or shared subtrees. */
void pt_destroy(struct pt *pt);

/*
 * Map [va, va + size) to [pa, pa + size), replacing whatever was mapped there (large pages only
 * partly covered are split). va, pa and size must be page aligned and size non-zero; x86 va must be
 * canonical, EPT/NPT va (guest-physical) below 2^48, pa below 2^52; ranges shared by pt_share_top
 * belong to the source table and are refused. All table pages are allocated before any entry
 * changes: on NO_MEM the table is exactly as before. The caller flushes TLBs afterwards, and must
 * not let freed table pages be reused before that flush.
 */
status_t pt_map(struct pt *pt, uint64_t va, paddr_t pa, uint64_t size, unsigned attr,
		unsigned flags);

/* Unmap [va, va + size). Splitting a partly covered large page needs memory: on NO_MEM the table
 * is unchanged. Tables that become empty are freed, except the top level's direct children. */
status_t pt_unmap(struct pt *pt, uint64_t va, uint64_t size);

/* Translate va. Returns false if unmapped; otherwise fills the non-NULL outputs with the exact
 * physical address of va, the MAP_* attributes and the size of the page that maps it. */
bool pt_lookup(const struct pt *pt, uint64_t va, paddr_t *pa, unsigned *attr, uint64_t *page_size);

/* Copy src's top-level entries [first, last) into dst (the kernel half every address space shares).
 * Only present entries are shared; dst's entries there must be empty or shared already. */
void pt_share_top(struct pt *dst, const struct pt *src, unsigned first, unsigned last);

#endif
