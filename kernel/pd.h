/* SPDX-License-Identifier: MIT */
/* Protection domain: for now its memory space (host page table); object and I/O spaces follow. */
#ifndef KERNEL_PD_H
#define KERNEL_PD_H

#include "pt.h"
#include "types.h"

#define PD_MAX_ANON 8

/* A range of user memory backed by frames the PD owns (freed with the PD). */
struct pd_anon {
	uint64_t va, size;
};

struct pd {
	struct pt pt; /* memory space: user half private, kernel half shared */
	char name[16];
	unsigned refs; /* ECs living in this PD */
	struct pd_anon anon[PD_MAX_ANON];
	unsigned nanon;
};

/* Create an empty PD whose kernel half is shared with the kernel's own page table. */
struct pd *pd_create(const char *name);
void pd_put(struct pd *pd);
/* Back [va, va+size) with fresh zeroed frames mapped with `attr` (MAP_* | MAP_U implied). */
status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr);
/* Switch this CPU to the PD's memory space. */
void pd_activate(struct pd *pd);

/*
 * Copy between kernel memory and the PD's user half. The kernel never dereferences a user pointer:
 * every page is looked up in the PD's page table and must be user-accessible (and writable for
 * copy_to). Returns VIREO_BAD_PAR for any address outside, unmapped or not permitted.
 */
status_t pd_copy_from_user(struct pd *pd, void *dst, uint64_t uva, size_t len);
status_t pd_copy_to_user(struct pd *pd, uint64_t uva, const void *src, size_t len);

/* The kernel's own page-table root (boot tables) and its allocator for table pages. */
extern struct pt kernel_pt;
extern const struct pt_alloc kernel_pt_alloc;
void pd_init_kernel(paddr_t root);

#endif
