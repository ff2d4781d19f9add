/* SPDX-License-Identifier: MIT */
/* TLB shoot-down: after a mapping is removed, no CPU may keep using it (docs/architecture.md#tlb-shootdown). */
#ifndef KERNEL_TLB_H
#define KERNEL_TLB_H

#include "types.h"

struct pd;

/*
 * Flush the TLB entries of `pd`'s memory space on every CPU that may cache them and wait until
 * they have. Called with the kernel lock held, after page-table entries were cleared.
 */
void tlb_shootdown(struct pd *pd);
/* Serve a pending shoot-down request on this CPU (IPI handler, and while waiting for the lock). */
void tlb_serve(void);
/*
 * Run fn(arg) on CPU `cpu` (not this one) and wait until it has: a request like a shoot-down's,
 * served at the same places, so without the kernel lock, which the caller holds. fn must not
 * take it either, nor wait for another CPU.
 */
void tlb_call_on(unsigned cpu, void (*fn)(void *), void *arg);

#endif
