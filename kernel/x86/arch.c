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

uint64_t arch_space_root(void)
{
	return read_cr3();
}

void arch_space_load(uint64_t root)
{
	write_cr3(root);
}

void arch_set_entry_frame(struct regs *r)
{
	/* Interrupts push their frame below TSS.RSP0; the SYSCALL entry stores below regs_top. */
	struct percpu *cpu = this_cpu();
	cpu->regs_top = (uint64_t)(r + 1);
	cpu->tss.rsp[0] = cpu->regs_top;
}

void arch_irq_window(void)
{
	/* STI takes effect after the next instruction: the NOP is the window. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

void arch_idle_wait(void)
{
	/* STI takes effect after HLT starts, so no wake-up is lost between check and halt. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void arch_kick(unsigned cpu)
{
	if (cpu != this_cpu()->id) {
		lapic_send_ipi(percpu_area[cpu].apic_id, VEC_IPI_RESCHED);
	}
}
