/* SPDX-License-Identifier: MIT */
/* Object lifetime: capabilities and kernel-internal links hold references; the last one destroys. */
#ifndef KERNEL_OBJ_H
#define KERNEL_OBJ_H

#include "kobj.h"

static inline void obj_get(struct kobj *o)
{
	o->refs++;
}

/* obj_put of the last reference (or of none: a bug it panics on). */
void obj_put_last(struct kobj *o);

/* Drop a reference; at zero the object's type-specific destroy runs (kernel lock held). */
static inline void obj_put(struct kobj *o)
{
	if (o->refs > 1) {
		o->refs--; /* the common case, in line */
		return;
	}
	obj_put_last(o);
}

/*
 * Around a mapping-database walk (revoke, destroying a space): objects whose last reference goes
 * during the walk are destroyed after it, because destroying one (a PD) walks other spaces.
 * Nests; the outermost end destroys what was queued.
 */
void obj_defer_begin(void);
void obj_defer_end(void);

/* The last capability to PD `o` went: empty its object space now, or after the current walk. */
void obj_pd_orphaned(struct kobj *o);

/* Live objects by type, for leak checks (SYS_KSTAT). */
extern unsigned obj_live[OBJ_SM + 1];

#endif
