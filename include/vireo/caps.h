/* SPDX-License-Identifier: MIT */
/* Capabilities: object types, rights, and the capability range descriptor (CRD) used for delegation. */
#ifndef VIREO_CAPS_H
#define VIREO_CAPS_H

#include <stdint.h>

/* Kernel object types a capability can name. */
enum vireo_obj_type {
	OBJ_NULL = 0,
	OBJ_PD = 1, /* protection domain */
	OBJ_EC = 2, /* execution context */
	OBJ_SC = 3, /* scheduling context */
	OBJ_PT = 4, /* portal */
	OBJ_SM = 5, /* semaphore */
};

/*
 * Rights, five bits per capability; their meaning depends on the object type. Delegation can only
 * keep or drop rights, never add them (docs/architecture.md#mapping-database: no rights elevation).
 */
#define RIGHT_PD_CTRL 0x01   /* delegate into/out of this PD, revoke in it */
#define RIGHT_PD_CREATE 0x02 /* create objects charged to this PD (the factory role) */
#define RIGHT_EC_CTRL 0x01   /* recall, query */
#define RIGHT_EC_BIND 0x02   /* bind an SC (global EC) or a portal (local EC) to it */
#define RIGHT_SC_CTRL 0x01   /* query consumed time */
#define RIGHT_PT_CTRL 0x01   /* set the portal id */
#define RIGHT_PT_CALL 0x02   /* call through the portal */
#define RIGHT_SM_UP 0x01
#define RIGHT_SM_DOWN 0x02
#define RIGHTS_ALL 0x1f

/* Memory rights in a memory CRD. */
#define MEM_R 0x01
#define MEM_W 0x02
#define MEM_X 0x04
/* I/O rights in an I/O CRD. In an ordinary PD the ports are allowed in its TSS I/O bitmap; in a
 * VM's I/O space they are passed through to the guest (docs/ABI.md "A VM's I/O space"). */
#define IO_RW 0x01

/*
 * Capability range descriptor: one 64-bit word naming a naturally aligned, power-of-two range in
 * one of a PD's three spaces (a flexpage, docs/architecture.md#mapping-database).
 *   bits 0-1   space: 0 none, 1 memory (base = page number), 2 I/O (base = port), 3 object (base = selector)
 *   bits 2-6   rights (as above for the space / object type)
 *   bits 7-11  order: the range covers 2^order pages, ports or selectors
 *   bits 12-63 base, aligned to 2^order
 */
enum vireo_crd_space { CRD_NULL = 0, CRD_MEM = 1, CRD_IO = 2, CRD_OBJ = 3 };

static inline uint64_t vireo_crd(enum vireo_crd_space sp, uint64_t base, unsigned order,
				 unsigned rights)
{
	return (uint64_t)sp | (uint64_t)(rights & 0x1f) << 2 | (uint64_t)(order & 0x1f) << 7 |
	       base << 12;
}
static inline unsigned vireo_crd_space(uint64_t crd)
{
	return crd & 3;
}
static inline unsigned vireo_crd_rights(uint64_t crd)
{
	return (crd >> 2) & 0x1f;
}
static inline unsigned vireo_crd_order(uint64_t crd)
{
	return (crd >> 7) & 0x1f;
}
static inline uint64_t vireo_crd_base(uint64_t crd)
{
	return crd >> 12;
}

/* Largest selector + 1 in an object space. */
#define VIREO_CAP_SPACE_SIZE 4096

/* Selectors the kernel fills when it starts the roottask (and a PD's creator may use the same). */
#define SEL_SELF_PD 0 /* the PD itself, all rights */
#define SEL_SELF_EC 1 /* the first EC, all rights */
#define SEL_SELF_SC 2 /* its scheduling context */
#define SEL_FIRST_FREE 32
/* Event selectors: exception vector v of an EC goes to the portal at its event base + v. */
#define EVT_PAGE_FAULT 14
#define EVT_RECALL                                                                                 \
	32 /* an EC recalled with SYS_EC_CTRL enters this event at its next kernel exit */
#define EVT_COUNT 33

#endif
