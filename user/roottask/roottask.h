/* SPDX-License-Identifier: MIT */
/* The roottask's parts: its RAM, selectors, the task loader and the pager. */
#ifndef ROOTTASK_H
#define ROOTTASK_H

#include "taskinfo.h"
#include "vireo.h"

#define PAGE 4096ull

/* RAM from the boot info's regions: whole pages, zeroed, addressed by their window address. */
void mem_init(const struct vireo_bootinfo *bi);
/* 2^order contiguous pages aligned to their size, or 0 when RAM is exhausted. */
uint64_t mem_alloc(unsigned order);
uint64_t mem_free_bytes(void);

/* Selectors in the roottask's own object space, handed out once. */
uint64_t sel_alloc(unsigned count);

/* Start boot module `index` as a task (user/lib/taskinfo.h); returns 0 or -1 with a message. */
int task_start(const struct vireo_bootinfo *bi, unsigned index, unsigned task_id);
/* Boot modules that are not ELF programs are data for the program before them. */
bool module_is_elf(const struct vireo_bootinfo *bi, unsigned index);

/* The pager: a local EC of the roottask that resolves faults in the tasks' demand regions. */
int pager_init(const struct vireo_bootinfo *bi);
/* A page-fault portal for task `task_id`, whose demand region is `size` bytes. */
int pager_portal(unsigned task_id, uint64_t pd_sel, uint64_t size, uint64_t *pt_sel);

int smoke_ipc(struct vireo_utcb *self);

#endif
