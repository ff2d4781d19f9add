/* SPDX-License-Identifier: MIT */
/* Portal: an IPC entry point bound to a local EC, with an unforgeable id and an MTD (docs/architecture.md#pt). */
#ifndef KERNEL_PORTAL_H
#define KERNEL_PORTAL_H

#include "kobj.h"
#include "types.h"

struct ec;
struct pd;

struct portal {
	struct kobj obj;
	struct ec *ec;	    /* local handler EC */
	struct pd *charged; /* the PD named at creation, which pays for it (a reference) */
	uint64_t ip;	    /* where the handler starts for each call */
	uint64_t mtd;	    /* exception state transferred on exception IPC */
	uint64_t id;	    /* passed to the handler in RDI; set by whoever holds RIGHT_PT_CTRL */
};

/* A portal to local EC or vCPU `handler`, charged to `pd` (BAD_CAP if handler is another global
 * EC, NO_MEM). */
status_t portal_create(struct pd *pd, struct ec *handler, uint64_t ip, uint64_t mtd,
		       struct portal **out);
void portal_destroy(struct portal *pt);

#endif
