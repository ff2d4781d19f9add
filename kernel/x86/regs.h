/* SPDX-License-Identifier: MIT */
/* The saved user register frame of an EC: general registers, then the hardware interrupt frame. */
#ifndef KERNEL_X86_REGS_H
#define KERNEL_X86_REGS_H

#ifndef __ASSEMBLY__
#include "types.h"

/*
 * Layout fixed by the entry code: the CPU pushes ss..rip (Intel SDM vol. 3A 6.14.2), the stubs push
 * error and vector and then the general registers. The frame lives in the EC itself: TSS.RSP0
 * points just past it, so an interrupt from user mode saves straight into the EC (docs/architecture.md#kernel-stack).
 */
struct regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct regs) == 22 * 8, "entry code depends on the frame size");
#endif

#define REGS_RAX 0x70
#define REGS_VECTOR 0x78
#define REGS_CS 0x90
#define REGS_SIZE 0xb0

/* SYS_VCPU_RESUME (include/vireo/syscall.h; kernel/syscall.c checks it): the SYSCALL entry
 * sends it to its own dispatcher, syscall_resume. */
#define SYSCALL_NR_VCPU_RESUME 18

/* The vector number the syscall entry stores, to tell a syscall frame from an exception frame. */
#define VECTOR_SYSCALL 0x100

#endif
