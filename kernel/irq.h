/* SPDX-License-Identifier: MIT */
/* Interrupt dispatch by vector: local timer, IPIs, and device interrupts delivered to semaphores. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include "arch.h"
#include "types.h"

struct sm;

void irq_dispatch(uint64_t vector);
void irq_nmi(struct regs *r);
/* Kernel command line `nmitest`: NMIs between the CPUs at every tick, counted and reported. */
void irq_nmi_test(bool on);
/* `nmitest` at boot: an NMI between two SWAPGS in ring 0 must be handled (and GS given back). */
void irq_nmi_selftest(void);
/* Route global system interrupt `gsi` to CPU `cpu`; each interrupt does an up on `sm` (docs/architecture.md#interrupts). */
status_t irq_assign_gsi(struct sm *sm, unsigned gsi, unsigned cpu);
/* A driver waits on its interrupt SM: a level-triggered interrupt is unmasked again. */
void irq_sm_down_hook(struct sm *sm);
/* The SM is destroyed: its interrupt is masked and forgotten. */
void irq_sm_gone(struct sm *sm);

#endif
