/* SPDX-License-Identifier: MIT */
/* Kernel object allocator: caches of equal-sized objects in single pages from frame_alloc(0). */
#include "slab.h"

#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "kstring.h"

#define SLAB_MAGIC 0x534c4142u /* "SLAB" */
#define SLAB_MIN_OBJ 16u       /* bounds the objects per page, hence the bitmap below */
#define SLAB_MAX_OBJS (PAGE_SIZE / SLAB_MIN_OBJ)
#define SLAB_DEFAULT_ALIGN 16u

/*
 * Header at the start of every slab page. Free objects are tracked in a bitmap here, never in
 * the objects themselves, so a write after free cannot corrupt the allocator and a double free
 * is a single bit test.
 */
struct slab {
	uint32_t magic;
	uint32_t nfree;
	struct slab_cache *cache;
	struct slab *next;
	struct slab *prev;
	uint64_t free_map[SLAB_MAX_OBJS / 64]; /* bit set: object free */
};

void slab_cache_init(struct slab_cache *c, const char *name, size_t objsize, size_t align)
{
	if (align == 0) {
		align = SLAB_DEFAULT_ALIGN;
	}
	CHECK((align & (align - 1)) == 0 && align <= PAGE_SIZE / 2);
	CHECK(objsize > 0 && objsize <= PAGE_SIZE);
	size_t size = ALIGN_UP(MAX(objsize, (size_t)SLAB_MIN_OBJ), align);
	size_t first = ALIGN_UP(sizeof(struct slab), align);
	CHECK(first + size <= PAGE_SIZE);

	*c = (struct slab_cache){
		.lock = SPINLOCK_INIT,
		.name = name,
		.objsize = size,
		.first = first,
		.per_slab = (unsigned)((PAGE_SIZE - first) / size),
	};
}

/* Written under the lock, read without it by slab_in_use. */
static void count_in_use(struct slab_cache *c, int delta)
{
	__atomic_store_n(&c->in_use, c->in_use + (size_t)delta, __ATOMIC_RELAXED);
}

static void slab_list_add(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head) {
		(*head)->prev = s;
	}
	*head = s;
}

static void slab_list_del(struct slab **head, struct slab *s)
{
	if (s->prev) {
		s->prev->next = s->next;
	} else {
		*head = s->next;
	}
	if (s->next) {
		s->next->prev = s->prev;
	}
}

/* A fresh page with every object free, or NULL when there are no frames. */
static struct slab *slab_grow(struct slab_cache *c)
{
	paddr_t pa = frame_alloc_zeroed(0);
	if (!pa_valid(pa)) {
		return NULL;
	}
	struct slab *s = phys_to_virt(pa);
	*s = (struct slab){ .magic = SLAB_MAGIC, .nfree = c->per_slab, .cache = c };
	for (unsigned i = 0; i < c->per_slab; i++) {
		s->free_map[i / 64] |= 1ull << (i % 64);
	}
	c->nslabs++;
	return s;
}

static void slab_release(struct slab_cache *c, struct slab *s)
{
	s->magic = 0; /* a stale pointer into the old page must not pass the owner check */
	c->nslabs--;
	frame_free(virt_to_phys(s), 0);
}

static unsigned take_free_index(struct slab *s)
{
	for (unsigned w = 0;; w++) {
		if (s->free_map[w]) {
			unsigned bit = (unsigned)__builtin_ctzll(s->free_map[w]);
			s->free_map[w] &= ~(1ull << bit);
			return w * 64 + bit;
		}
	}
}

void *slab_alloc(struct slab_cache *c)
{
	spin_lock(&c->lock);
	struct slab *s = c->partial;
	if (!s) {
		s = slab_grow(c);
		if (!s) {
			spin_unlock(&c->lock);
			return NULL;
		}
		slab_list_add(&c->partial, s);
	}
	unsigned i = take_free_index(s);
	if (--s->nfree == 0) {
		slab_list_del(&c->partial, s);
		slab_list_add(&c->full, s);
	}
	count_in_use(c, 1);
	spin_unlock(&c->lock);

	void *obj = (char *)s + c->first + i * c->objsize;
	memset(obj, 0, c->objsize);
	return obj;
}

/* The object index of obj in c, after CHECKing that obj is an object of c. */
static unsigned object_index(const struct slab_cache *c, const struct slab *s, const void *obj)
{
	CHECK(s->magic == SLAB_MAGIC && s->cache == c);
	size_t off = (size_t)((const char *)obj - (const char *)s);
	CHECK(off >= c->first && (off - c->first) % c->objsize == 0);
	size_t i = (off - c->first) / c->objsize;
	CHECK(i < c->per_slab);
	return (unsigned)i;
}

void slab_free(struct slab_cache *c, void *obj)
{
	if (!obj) {
		return;
	}
	struct slab *s = (struct slab *)ALIGN_DOWN((uintptr_t)obj, PAGE_SIZE);

	spin_lock(&c->lock);
	unsigned i = object_index(c, s, obj);
	uint64_t bit = 1ull << (i % 64);
	CHECK(!(s->free_map[i / 64] & bit)); /* double free */
	s->free_map[i / 64] |= bit;
	count_in_use(c, -1);
	if (s->nfree++ == 0) {
		slab_list_del(&c->full, s);
		slab_list_add(&c->partial, s);
	}
	if (s->nfree == c->per_slab) {
		slab_list_del(&c->partial, s);
		slab_release(c, s);
	}
	spin_unlock(&c->lock);
}

size_t slab_in_use(const struct slab_cache *c)
{
	return __atomic_load_n(&c->in_use, __ATOMIC_RELAXED);
}
