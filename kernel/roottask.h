/* SPDX-License-Identifier: MIT */
/* Loading and starting the roottask from its boot module. */
#ifndef KERNEL_ROOTTASK_H
#define KERNEL_ROOTTASK_H

#include "types.h"

struct vireo_bootinfo;

/*
 * Build a PD from the ELF image, give it most of RAM, all ports and capabilities to itself, map
 * stack and boot info (which this completes), and make its first EC runnable on CPU 0.
 */
status_t roottask_start(const void *img, size_t len, const char *name, struct vireo_bootinfo *bi);

#endif
