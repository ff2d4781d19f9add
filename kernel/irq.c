/* SPDX-License-Identifier: MIT */
/* Interrupt dispatch by vector: the local timer drives scheduling, IPIs, and device IRQs. */
#include "irq.h"

#include "ec.h"
#include "printk.h"
#include "sched.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/percpu.h"
#include "x86/power.h"

static volatile bool halting;

void irq_dispatch(uint64_t vector)
{
	switch (vector) {
	case VEC_TIMER:
		this_cpu()->ticks++;
		sched_tick();
		if (this_cpu()->id == 0) {
			power_idle_tick(ec_count());
		}
		break;
	case VEC_IPI_RESCHED:
		break;
	case VEC_SPURIOUS:
		return; /* no EOI for spurious interrupts (Intel SDM vol. 3A 11.9) */
	default:
		pr_warn("irq: unexpected vector %lu on CPU %u\n", vector, this_cpu()->id);
		break;
	}
	lapic_eoi();
}

/* NMIs are only sent by a panicking CPU: stop here. */
void irq_nmi(struct regs *r)
{
	(void)r;
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void panic_halt_others(void)
{
	if (!halting) {
		halting = true;
		lapic_send_nmi_all_others();
	}
}
