/* SPDX-License-Identifier: MIT */
/* Kernel object allocator: caches of equal-sized objects in single pages from frame_alloc(0). */
#ifndef KERNEL_SLAB_H
#define KERNEL_SLAB_H

#include "spinlock.h"
#include "types.h"

struct slab; /* page header, private to slab.c */

/*
 * One cache per object type. Public so that caches can be static objects; fields are private to
 * slab.c. Zero-initialised memory is not a usable cache: call slab_cache_init first.
 */
struct slab_cache {
	spinlock_t lock;
	const char *name;
	size_t objsize;	      /* requested size rounded up to align */
	size_t first;	      /* offset of object 0 in a slab page */
	unsigned per_slab;    /* objects per page */
	struct slab *partial; /* slabs with free and used objects */
	struct slab *full;    /* slabs without a free object */
	size_t in_use;	      /* live objects */
	size_t nslabs;	      /* pages held */
};

/*
 * Prepares c for objects of objsize bytes aligned to align (a power of two; 0 means 16). CHECKs
 * that objsize > 0 and that at least one object fits in a page beside the page header: objsize
 * up to PAGE_SIZE / 2 always works, larger ones up to about PAGE_SIZE - 128 too but with one
 * object per page. `name` is kept (not copied) for diagnostics.
 */
void slab_cache_init(struct slab_cache *c, const char *name, size_t objsize, size_t align);

/* A zeroed object, or NULL when the frame allocator is out of pages. */
void *slab_alloc(struct slab_cache *c);

/*
 * Returns obj to c; NULL is ignored. CHECKs that obj is an object of c that is allocated now
 * (catches double frees, frees to the wrong cache and pointers into an object). A page whose
 * objects are all free goes back to the frame allocator at once.
 */
void slab_free(struct slab_cache *c, void *obj);

/* Live objects of c, for leak checks around a test. */
size_t slab_in_use(const struct slab_cache *c);

#endif
