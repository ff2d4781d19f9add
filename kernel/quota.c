/* SPDX-License-Identifier: MIT */
/* Kernel-memory quotas: the one place where kernel memory is charged to a PD and refunded. */
#include "quota.h"

#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "slab.h"

status_t quota_charge(struct quota *q, uint64_t bytes)
{
	if (!q) {
		return VIREO_OK;
	}
	if (q->used + bytes < q->used || q->used + bytes > q->limit) {
		return VIREO_NO_MEM;
	}
	q->used += bytes;
	return VIREO_OK;
}

void quota_refund(struct quota *q, uint64_t bytes)
{
	if (q) {
		CHECK(q->used >= bytes);
		q->used -= bytes;
	}
}

void *quota_alloc(struct quota *q, struct slab_cache *c)
{
	if (quota_charge(q, c->objsize) != VIREO_OK) {
		return NULL;
	}
	void *obj = slab_alloc(c);
	if (!obj) {
		quota_refund(q, c->objsize);
	}
	return obj;
}

void quota_free(struct quota *q, struct slab_cache *c, void *obj)
{
	if (obj) {
		slab_free(c, obj);
		quota_refund(q, c->objsize);
	}
}

paddr_t quota_frames(struct quota *q, unsigned order)
{
	if (quota_charge(q, PAGE_SIZE << order) != VIREO_OK) {
		return PADDR_INVALID;
	}
	paddr_t pa = frame_alloc(order);
	if (!pa_valid(pa)) {
		quota_refund(q, PAGE_SIZE << order);
	}
	return pa;
}

void quota_frames_free(struct quota *q, paddr_t pa, unsigned order)
{
	frame_free(pa, order);
	quota_refund(q, PAGE_SIZE << order);
}
