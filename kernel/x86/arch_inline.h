/* SPDX-License-Identifier: MIT */
/*
 * The arch.h hooks that every return to user mode (CR3, the entry frame) or guest exit runs,
 * inline for the kernel build; host unit tests link the fake arch layer's versions instead.
 */
#ifndef KERNEL_X86_ARCH_INLINE_H
#define KERNEL_X86_ARCH_INLINE_H

#include "types.h"
#include "x86/percpu.h"
#include "x86/regs.h"

static inline __attribute__((always_inline)) void arch_irq_window(void)
{
	/* STI takes effect after the next instruction: the NOP is the window. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

static inline uint64_t arch_space_root(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void arch_space_load(uint64_t root)
{
	__asm__ volatile("mov %0, %%cr3" ::"r"(root) : "memory");
}

static inline void arch_set_entry_frame(struct regs *r)
{
	/* Interrupts push their frame below TSS.RSP0; the SYSCALL entry stores below regs_top. */
	struct percpu *cpu = this_cpu();
	cpu->regs_top = (uint64_t)(r + 1);
	cpu->tss.rsp[0] = cpu->regs_top;
}

#endif
