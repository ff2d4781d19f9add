/* SPDX-License-Identifier: MIT */
/*
 * The few architecture hooks generic kernel code calls. kernel/x86/ implements them for the
 * machine; tests/fake/ implements them over host memory so kernel logic runs in unit tests.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include "types.h"

/* Kernel pointer to physical memory (through the direct map). */
void *phys_to_virt(paddr_t pa);
/* Inverse of phys_to_virt for pointers into the direct map. */
paddr_t virt_to_phys(const void *va);

#endif
