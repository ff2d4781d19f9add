/* SPDX-License-Identifier: MIT */
/* Portals: entry points bound to a local EC. */
#include "portal.h"

#include "ec.h"
#include "obj.h"
#include "pd.h"
#include "slab.h"

static struct slab_cache pt_cache;

status_t portal_create(struct ec *handler, uint64_t ip, uint64_t mtd, struct portal **out)
{
	if (!pt_cache.name) {
		slab_cache_init(&pt_cache, "portal", sizeof(struct portal), 32);
	}
	if (!handler->local) {
		return VIREO_BAD_CAP;
	}
	if (pd_charge(handler->pd, sizeof(struct portal)) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	struct portal *pt = slab_alloc(&pt_cache);
	if (!pt) {
		pd_refund(handler->pd, sizeof(struct portal));
		return VIREO_NO_MEM;
	}
	pt->obj.type = OBJ_PT;
	pt->ec = handler;
	pt->ip = ip;
	pt->mtd = mtd & MTD_ALL;
	obj_get(&handler->obj);
	obj_live[OBJ_PT]++;
	*out = pt;
	return VIREO_OK;
}

void portal_destroy(struct portal *pt)
{
	struct ec *ec = pt->ec;
	pt->ec = NULL;
	pd_refund(ec->pd, sizeof(struct portal));
	obj_live[OBJ_PT]--;
	slab_free(&pt_cache, pt);
	obj_put(&ec->obj);
}
