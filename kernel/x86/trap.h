/* SPDX-License-Identifier: MIT */
/* Exception names and register dumps for kernel and user faults. */
#ifndef KERNEL_X86_TRAP_H
#define KERNEL_X86_TRAP_H

#include "printk.h"
#include "x86/regs.h"

const char *trap_name(uint64_t vector);
void trap_dump(enum log_level lvl, const struct regs *r);

#endif
