/* SPDX-License-Identifier: MIT */
/* The x86 side of the small arch.h hooks generic code calls (CR2, CR3, IPIs, idle). */
#include "arch.h"

#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"

uint64_t arch_fault_addr(void)
{
	return read_cr2();
}

void arch_idle_wait(void)
{
	lapic_repoll();
	/* STI takes effect after HLT starts, so no wake-up is lost between check and halt. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void arch_kick(unsigned cpu)
{
	if (cpu != this_cpu()->id) {
		lapic_send_ipi(percpu_area[cpu].apic_id, VEC_IPI_RESCHED);
	}
}
