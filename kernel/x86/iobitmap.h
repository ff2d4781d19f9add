/* SPDX-License-Identifier: MIT */
/* Per-PD I/O port permissions through the TSS I/O bitmap (Intel SDM vol. 1 19.5.2; docs/architecture.md#io-space). */
#ifndef KERNEL_X86_IOBITMAP_H
#define KERNEL_X86_IOBITMAP_H

/* iobitmap_load() and iobitmap_invalidate() are declared in arch.h: generic code calls them. */
#include "arch.h"

#endif
