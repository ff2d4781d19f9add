/* SPDX-License-Identifier: MIT */
/* Exception names and register dumps for kernel and user faults. */
#ifndef KERNEL_X86_TRAP_H
#define KERNEL_X86_TRAP_H

/* trap_name() and trap_dump() are architecture hooks: see arch.h. */
#include "arch.h"

#endif
