/* SPDX-License-Identifier: MIT */
/*
 * Kernel entry and exit: interrupt/exception stubs and the SYSCALL entry (Intel SDM vol. 3A 6.14,
 * AMD APM vol. 2 6.1.1). From user mode the frame is saved into the current EC (TSS.RSP0 and
 * percpu.regs_top point just past it) and C runs on the per-CPU kernel stack; C never returns
 * there, it leaves through ret_user (the continuation model, docs/architecture.md#kernel-stack).
 */
#include "memlayout.h"
#include "percpu.h"
#include "regs.h"

#define MSR_GS_BASE_NR 0xc0000101 /* MSR_GS_BASE of cpu.h, which is C only */

.macro PUSH_GPRS
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro POP_GPRS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
.endm

/*
 * One 16-byte stub per vector; vectors without a CPU error code push a zero so the frame is
 * uniform. `v` is reassigned per stub: GAS uses the value current at each use.
 */
	.text
	.balign 16
	.globl isr_table_start
isr_table_start:
	.set v, 0
	.rept 256
	.balign 16
	.if (v == 8) || ((v >= 10) && (v <= 14)) || (v == 17) || (v == 21) || (v == 29) || (v == 30)
	.else
	push $0
	.endif
	push $v
	.if (v == 2) || (v == 8) || (v == 18)
	jmp isr_paranoid
	.else
	jmp isr_common
	.endif
	.set v, v + 1
	.endr

isr_common:
	/* A task may leave DF set: the C code (rep movs/stos for struct copies) needs it clear. */
	cld
	PUSH_GPRS
	testb $3, REGS_CS(%rsp)
	jz 1f
	/* From user mode: the frame is the EC's; continue on this CPU's kernel stack. */
	swapgs
	mov %rsp, %rdi
	mov %gs:PERCPU_KSTACK_TOP, %rsp
	xor %ebp, %ebp
	call x86_trap_user
	ud2
1:	/* From kernel mode: handle on the current stack and return. */
	mov %rsp, %rdi
	call x86_trap_kernel
	POP_GPRS
	add $16, %rsp
	iretq

/*
 * NMI, #DF, #MC run on IST stacks, so even a user-mode frame is not in the EC: handle and return.
 * They can arrive anywhere, also between SYSCALL and its SWAPGS or between SWAPGS and SYSRET/IRET,
 * where CS is the kernel's but GS is the user's: so the GS base itself decides (compared with this
 * CPU's base, stored above the frame on its IST stack), and the same GS is restored on the way out.
 */
isr_paranoid:
	cld
	PUSH_GPRS
	mov $MSR_GS_BASE_NR, %ecx
	rdmsr
	shl $32, %rdx
	or %rax, %rdx
	xor %ebx, %ebx            /* rbx (callee-saved): 1 if we swapped */
	cmp REGS_SIZE(%rsp), %rdx
	je 1f
	swapgs
	mov $1, %ebx
1:	mov %rsp, %rdi
	call x86_trap_kernel
	test %ebx, %ebx
	jz 2f
	swapgs
2:	POP_GPRS
	add $16, %rsp
	iretq

/*
 * SYSCALL: RCX = user RIP, R11 = user RFLAGS, RSP still the user's (AMD APM vol. 3 "SYSCALL").
 * Build the same frame as an interrupt would, in the EC, with vector = VECTOR_SYSCALL. A VMM's
 * SYS_VCPU_RESUME, the most frequent call there is, goes to its own dispatcher (the same frame).
 */
	.globl syscall_entry
syscall_entry:
	swapgs
	mov %rsp, %gs:PERCPU_USER_RSP
	mov %gs:PERCPU_REGS_TOP, %rsp
	push $SEL_UDATA
	push %gs:PERCPU_USER_RSP
	push %r11
	push $SEL_UCODE
	push %rcx
	push $0
	push $VECTOR_SYSCALL
	PUSH_GPRS
	mov %rsp, %rdi
	mov %gs:PERCPU_KSTACK_TOP, %rsp
	xor %ebp, %ebp
	cmp $SYSCALL_NR_VCPU_RESUME, %rax
	je 1f
	call syscall_dispatch
	ud2
1:	call *syscall_resume_entry(%rip) /* the backend's own, else syscall_resume */
	ud2

/* void ret_user_iret(struct regs *r): restore a full frame and return to user mode. */
	.globl ret_user_iret
ret_user_iret:
	mov %rdi, %rsp
	POP_GPRS
	add $16, %rsp
	swapgs
	iretq

/*
 * void ret_user_sysret(struct regs *r): the fast path back from a syscall. The caller has checked
 * that r->rip is canonical (SYSRET with a non-canonical RCX faults in ring 0 on Intel CPUs).
 */
	.globl ret_user_sysret
ret_user_sysret:
	mov %rdi, %rsp
	POP_GPRS
	mov 16(%rsp), %rcx       /* rip */
	mov 32(%rsp), %r11       /* rflags */
	mov 40(%rsp), %rsp       /* user rsp */
	swapgs
	sysretq

/*
 * void nmi_swapgs_window_probe(volatile uint32_t *icr_lo, uint32_t icr): the `nmitest` self-test.
 * Runs a moment in ring 0 with the user's GS (between two SWAPGS, as between SWAPGS and SYSRET) and
 * sends this CPU an NMI in it (the caller has set ICR high to its own APIC ID). Touches no GS data.
 */
	.globl nmi_swapgs_window_probe
nmi_swapgs_window_probe:
	pushfq
	cli
	swapgs
	movl %esi, (%rdi)
	mov $10000, %ecx
1:	pause
	loop 1b
	swapgs
	popfq
	ret

/* void continue_on_stack(uint64_t stack_top, void (*fn)(void)): switch stacks and never return. */
	.globl continue_on_stack
continue_on_stack:
	mov %rdi, %rsp
	xor %ebp, %ebp
	call *%rsi
	ud2
