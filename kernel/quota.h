/* SPDX-License-Identifier: MIT */
/* Kernel-memory quotas: every allocation a PD asks for is charged to it and refunded on free. */
#ifndef KERNEL_QUOTA_H
#define KERNEL_QUOTA_H

#include "types.h"

struct slab_cache;

/*
 * The kernel memory one PD may use. Only the allocation helpers below change `used`, so that
 * "charge, allocate, refund on failure" and "free, refund" exist exactly once. A NULL quota is
 * the kernel's own: nothing is counted (boot-time objects, host tests).
 */
struct quota {
	uint64_t limit; /* bytes */
	uint64_t used;	/* bytes charged now */
};

/* Take `bytes` from q; VIREO_NO_MEM if that would exceed its limit. */
status_t quota_charge(struct quota *q, uint64_t bytes);
/* Give back what quota_charge took; CHECKs that no more is refunded than was charged. */
void quota_refund(struct quota *q, uint64_t bytes);

/* A zeroed object of cache c charged to q (its rounded size), or NULL: over quota or no memory. */
void *quota_alloc(struct quota *q, struct slab_cache *c);
/* Free an object quota_alloc gave and refund it to the same q; NULL is ignored. */
void quota_free(struct quota *q, struct slab_cache *c, void *obj);
/* 2^order frames charged to q, or PADDR_INVALID (the memory is not cleared). */
paddr_t quota_frames(struct quota *q, unsigned order);
/* Free frames quota_frames gave and refund them to the same q. */
void quota_frames_free(struct quota *q, paddr_t pa, unsigned order);

#endif
