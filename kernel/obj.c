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

void obj_put(struct kobj *o)
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
	while (dead) {
		struct kobj *o = dead;
		dead = o->dead_next;
		destroy(o);
	}
}
