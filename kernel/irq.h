/* SPDX-License-Identifier: MIT */
/* Interrupt dispatch by vector: local timer, IPIs, device IRQs. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include "types.h"
#include "x86/regs.h"

void irq_dispatch(uint64_t vector);
void irq_nmi(struct regs *r);

#endif
