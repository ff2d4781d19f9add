/* SPDX-License-Identifier: MIT */
/* Per-PD I/O port permissions through the TSS I/O bitmap (Intel SDM vol. 1 19.5.2; seed 002). */
#ifndef KERNEL_X86_IOBITMAP_H
#define KERNEL_X86_IOBITMAP_H

#include "types.h"

/* Make `bitmap` (8 KiB, 0 = allowed; NULL = no ports) this CPU's I/O permissions. */
void iobitmap_load(const uint8_t *bitmap);
/* A PD's bitmap changed: CPUs that copied it reload it at their next kernel exit (callers then
 * shoot down, so CPUs in user mode on that PD take an IPI and exit through the kernel first). */
void iobitmap_invalidate(const uint8_t *bitmap);

#endif
