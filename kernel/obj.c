/* SPDX-License-Identifier: MIT */
/* Reference counting of kernel objects: the last reference runs the type's destroy. */
#include "obj.h"

#include "assert.h"
#include "ec.h"
#include "pd.h"
#include "portal.h"
#include "sc.h"
#include "sm.h"

unsigned obj_live[OBJ_SM + 1];
static unsigned defer_depth;
static struct kobj *dead;
static struct kobj *orphans; /* PDs without capabilities, each with a reference held */

static void destroy(struct kobj *o)
{
	switch (o->type) {
	case OBJ_PD:
		pd_destroy((struct pd *)o);
		break;
	case OBJ_EC:
		ec_destroy(container_of(o, struct ec, obj));
		break;
	case OBJ_SC:
		sc_destroy((struct sc *)o);
		break;
	case OBJ_PT:
		portal_destroy((struct portal *)o);
		break;
	case OBJ_SM:
		sm_destroy((struct sm *)o);
		break;
	default:
		panic("obj_put: object %p of unknown type %d", (void *)o, o->type);
	}
}

void obj_put_last(struct kobj *o)
{
	CHECK(o->refs > 0);
	if (--o->refs) {
		return;
	}
	if (defer_depth) {
		o->dead_next = dead;
		dead = o;
		return;
	}
	destroy(o);
}

static void drop_orphan(struct kobj *o)
{
	pd_drop_objects((struct pd *)o);
	obj_put(o);
}

void obj_pd_orphaned(struct kobj *o)
{
	obj_get(o);
	if (defer_depth) {
		o->dead_next =
			orphans; /* free while it is here: the reference keeps it off `dead` */
		orphans = o;
		return;
	}
	drop_orphan(o);
}

void obj_defer_begin(void)
{
	defer_depth++;
}

void obj_defer_end(void)
{
	CHECK(defer_depth > 0);
	if (--defer_depth) {
		return;
	}
	while (dead || orphans) {
		struct kobj *o;
		if (orphans) {
			o = orphans;
			orphans = o->dead_next;
			drop_orphan(o);
			continue;
		}
		o = dead;
		dead = o->dead_next;
		destroy(o);
	}
}
