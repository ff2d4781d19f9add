/* SPDX-License-Identifier: MIT */
/* Local APIC: the kernel's clock, IPIs and end-of-interrupt (Intel SDM vol. 3A ch. 11). */
#ifndef KERNEL_X86_LAPIC_H
#define KERNEL_X86_LAPIC_H

#include "arch.h" /* TIMER_HZ */
#include "types.h"

/* Map the LAPIC at `phys` (from ACPI MADT or the APIC base MSR) and enable it on this CPU. */
void lapic_init(uint64_t phys);
/* Per-CPU part: software enable, spurious vector, timer in one-shot mode (timer.c arms it). */
void lapic_cpu_init(void);
/* Nanoseconds since calibration, from the TSC at its measured rate. */
uint64_t lapic_clock_ns(void);
/* Fire this CPU's timer interrupt once, `delta_ns` from now (at most TIMER_SHOT_MAX_NS; 0: at
 * once). */
void lapic_timer_oneshot(uint64_t delta_ns);
uint32_t lapic_id(void);
void lapic_eoi(void);
/*
 * Before the idle HLT: an interrupt request the APIC holds in IRR (with interrupts off in the
 * kernel) is offered to the CPU again. QEMU 7.2 TCG with nested SVM was seen (linux-boot-smp1,
 * about one run in five) halting for good with the timer vector in IRR, ISR empty, PPR 0 and IF
 * set; one lost offer stops the one-shot timer for ever (docs/platforms.md#qemu-lost-timer).
 */
void lapic_repoll(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_all_others(void);
/* Test aid (`nmitest`): an NMI to this CPU while it runs in ring 0 with the user's GS base. */
void lapic_nmi_self_in_swapgs_window(void);
/* INIT-SIPI-SIPI to start an application processor at real-mode page `vector_page`. */
bool lapic_start_ap(uint32_t apic_id, uint8_t vector_page);
/* Busy-wait using the calibrated TSC (works with interrupts off). */
void lapic_udelay(uint64_t us);
uint64_t lapic_tsc_khz(void);
uint32_t lapic_timer_ticks_per_ms(void);

#endif
