/* SPDX-License-Identifier: MIT */
/* The header every kernel object starts with: its type and how many capabilities name it. */
#ifndef KERNEL_KOBJ_H
#define KERNEL_KOBJ_H

#include <vireo/caps.h>

#include "types.h"

struct kobj {
	enum vireo_obj_type type;
	uint32_t refs;		/* capabilities naming the object plus kernel-internal references */
	struct kobj *dead_next; /* queued for destruction while a mapping-database walk runs */
};

#endif
