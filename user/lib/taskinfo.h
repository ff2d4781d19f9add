/* SPDX-License-Identifier: MIT */
/*
 * What the roottask gives every task it starts from a boot module (a user-level convention, not
 * kernel ABI): the task-info page whose address arrives in RDI, the layout of its address space,
 * and the selectors it finds filled.
 */
#ifndef USER_TASKINFO_H
#define USER_TASKINFO_H

#include <stdint.h>

#define TASKINFO_MAGIC 0x6f666e694b534154ull /* "TASKinfo" */

/* Address-space layout of a task. */
#define TASK_INFO_VA 0x00007fffe0000000ull   /* this page, read-only */
#define TASK_UTCB_VA 0x00007fffd0000000ull   /* UTCB of the first EC */
#define TASK_STACK_TOP 0x00007ffff0000000ull /* 64 KiB stack below */
#define TASK_HEAP_VA                                                                               \
	0x0000100000000000ull /* heap_size bytes of RAM, mapped RWX (it may back guest RAM), delegatable */
#define TASK_DEMAND_VA                                                                             \
	0x0000200000000000ull /* demand_size bytes filled on first touch by the roottask's pager */
#define TASK_FREE_VA 0x0000300000000000ull /* nothing here: free for the task's own mappings */
#define TASK_MODULE_VA                                                                             \
	0x0000500000000000ull /* data modules (non-ELF boot modules after the task), read-only */
#define TASK_MAX_MODULES 4

/* Selectors filled in a task's object space (besides SEL_SELF_PD/EC/SC from <vireo/caps.h>). */
#define SEL_TASK_IRQ_SM 3 /* semaphore bound to the GSI named by irq= on the module command line */
#define SEL_TASK_FIRST_FREE 32
/* Event base of the first EC: the page-fault portal to the roottask's pager is at 64 + 14. */
#define TASK_EVT_BASE 64

struct vireo_taskinfo {
	uint64_t magic;
	uint32_t cpus_online;
	uint32_t task_id;
	uint64_t heap_size;
	uint64_t demand_size;
	uint64_t quota;	       /* kernel memory the task may spend on objects (bytes) */
	uint32_t io_port_base; /* ports delegated by ports=BASE:COUNT (count 0: none) */
	uint32_t io_port_count;
	int32_t irq_gsi;  /* GSI bound to SEL_TASK_IRQ_SM by irq=N, or -1 */
	int32_t irq_gsi2; /* a second GSI on the same semaphore by irq=N,M, or -1 */
	uint32_t tsc_khz; /* the TSC's frequency from the boot info, 0 when unknown */
	char cmdline[200];
	uint32_t nmodules;
	uint32_t reserved2;
	struct {
		uint64_t va;	   /* where the copy is mapped in the task */
		uint64_t size;	   /* bytes */
		char cmdline[200]; /* the whole module command line (a guest kernel's is long) */
	} modules[TASK_MAX_MODULES];
};

_Static_assert(sizeof(struct vireo_taskinfo) <= 4096, "the task-info page is one page");

#endif
