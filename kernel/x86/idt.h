/* SPDX-License-Identifier: MIT */
/* The interrupt descriptor table and the vector assignment. */
#ifndef KERNEL_X86_IDT_H
#define KERNEL_X86_IDT_H

#include "arch.h"
#include "x86/regs.h"

/* Vectors 0-31 are CPU exceptions; IRQs from the IOAPIC start at VEC_IRQ_BASE. */
#define VEC_IRQ_BASE 0x20
#define VEC_IRQ_COUNT 24
#define VEC_TIMER 0xf0
#define VEC_IPI_RESCHED 0xf1
#define VEC_IPI_TLB 0xf2
#define VEC_IPI_HALT 0xf3
#define VEC_SPURIOUS 0xff

void idt_init(void);
/* Load the (shared) IDT on this CPU. */
void idt_load(void);

/* C entry points called by entry64.S. */
__noreturn void x86_trap_user(struct regs *r);
void x86_trap_kernel(struct regs *r);
/* syscall_dispatch, ret_user_iret, ret_user_sysret and continue_on_stack (entry64.S) are
 * declared in arch.h: generic code calls them. */

#endif
