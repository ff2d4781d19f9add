/* SPDX-License-Identifier: MIT */
/* Portals: entry points bound to a local EC. */
#include "portal.h"

#include "ec.h"
#include "obj.h"
#include "pd.h"
#include "slab.h"

static struct slab_cache pt_cache;

status_t portal_create(struct pd *pd, struct ec *handler, uint64_t ip, uint64_t mtd,
		       struct portal **out)
{
	if (!pt_cache.name) {
		slab_cache_init(&pt_cache, "portal", sizeof(struct portal), 32);
	}
	/* A vCPU takes calls as events (docs/ABI.md "Calls to a vCPU"); other global ECs none. */
	if (!handler->local && !handler->vcpu) {
		return VIREO_BAD_CAP;
	}
	struct portal *pt = pd_alloc(pd, &pt_cache);
	if (!pt) {
		return VIREO_NO_MEM;
	}
	pt->obj.type = OBJ_PT;
	pt->charged = pd;
	obj_get(&pd->obj); /* the refund goes there */
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
	struct pd *pd = pt->charged;
	pt->ec = NULL;
	obj_live[OBJ_PT]--;
	pd_free(pd, &pt_cache, pt);
	obj_put(&ec->obj);
	obj_put(&pd->obj);
}
