/* SPDX-License-Identifier: MIT */
/* SYSCALL/SYSRET set-up (AMD APM vol. 2 6.1.1, Intel SDM vol. 3A 5.8.8). */
#include "x86/cpu.h"
#include "x86/memlayout.h"

void syscall_entry(void);
void syscall_msr_init(void);

void syscall_msr_init(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/*
	 * STAR[47:32] = kernel CS (SS = +8); STAR[63:48] = base for SYSRET: CS = base+16, SS = base+8,
	 * so base = 0x10 gives user CS 0x20 and user SS 0x18 (the GDT in gdt.c).
	 */
	wrmsr(MSR_STAR, ((uint64_t)(SEL_KDATA | 3) << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Enter with interrupts off, DF clear, no single-step, no alignment checks, NT clear (an IRETQ
	 * with NT set faults: a task could otherwise crash the kernel with popf + syscall). */
	wrmsr(MSR_SFMASK,
	      RFLAGS_IF | (1u << 10) | (1u << 8) | (1u << 18) | (1u << 14) | RFLAGS_IOPL);
}
