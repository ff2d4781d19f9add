/* SPDX-License-Identifier: MIT */
/*
 * minios hardware-VM layer: the way into a process (IRETQ, or SYSRETQ after a system call, AMD APM
 * vol. 2 6.1.1) and the ways back (interrupt and exception gates, SYSCALL). Every event saves the
 * process's registers in a trap frame on the trap stack (TSS.RSP0), hands it to hw_trap, and then
 * returns from hw_enter on the kernel stack: the core sees plat_run return with the event.
 */
#define SEL_UCODE 0x2b
#define SEL_UDATA 0x23
#define VEC_SYSCALL 0x100

/* struct uctx offsets (plat.h) */
#define U_RAX 0
#define U_RBX 8
#define U_RCX 16
#define U_RDX 24
#define U_RSI 32
#define U_RDI 40
#define U_RBP 48
#define U_R8 56
#define U_R9 64
#define U_R10 72
#define U_R11 80
#define U_R12 88
#define U_R13 96
#define U_R14 104
#define U_R15 112
#define U_RIP 120
#define U_RSP 128
#define U_RFLAGS 136

	.text
/* void hw_enter(struct uctx *ctx, int sysret) */
	.globl hw_enter
hw_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, hw_kernel_rsp(%rip)
	movq %rdi, %rax
	testl %esi, %esi
	jnz 1f
	pushq $SEL_UDATA
	pushq U_RSP(%rax)
	pushq U_RFLAGS(%rax)
	pushq $SEL_UCODE
	pushq U_RIP(%rax)
	movq U_RCX(%rax), %rcx
	movq U_R11(%rax), %r11
	call load_gprs
	movq U_RAX(%rax), %rax
	iretq
1:	movq U_RIP(%rax), %rcx
	movq U_RFLAGS(%rax), %r11
	call load_gprs
	movq U_RSP(%rax), %rsp
	movq U_RAX(%rax), %rax
	sysretq

/* Everything but RAX, RCX, R11 and RSP from the uctx at RAX. */
load_gprs:
	movq U_RBX(%rax), %rbx
	movq U_RDX(%rax), %rdx
	movq U_RSI(%rax), %rsi
	movq U_RDI(%rax), %rdi
	movq U_RBP(%rax), %rbp
	movq U_R8(%rax), %r8
	movq U_R9(%rax), %r9
	movq U_R10(%rax), %r10
	movq U_R12(%rax), %r12
	movq U_R13(%rax), %r13
	movq U_R14(%rax), %r14
	movq U_R15(%rax), %r15
	ret

/* Back on the kernel stack, as if hw_enter returned. */
hw_leave:
	movq hw_kernel_rsp(%rip), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* Trap frame: GPRs (r15 lowest .. rax), vector, error, then the hardware frame. */
common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call hw_trap
	jmp hw_leave

	.globl hw_syscall_entry
hw_syscall_entry:
	movq %rsp, hw_user_rsp(%rip)
	leaq hw_trap_stack_top(%rip), %rsp
	pushq $SEL_UDATA
	pushq hw_user_rsp(%rip)
	pushq %r11
	pushq $SEL_UCODE
	pushq %rcx
	pushq $0
	pushq $VEC_SYSCALL
	jmp common

.macro vec n, err
	.balign 16
	.if \err == 0
	pushq $0
	.endif
	pushq $\n
	jmp common
.endm

	.balign 16
	.globl hw_vectors
hw_vectors:
	vec 0, 0
	vec 1, 0
	vec 2, 0
	vec 3, 0
	vec 4, 0
	vec 5, 0
	vec 6, 0
	vec 7, 0
	vec 8, 1
	vec 9, 0
	vec 10, 1
	vec 11, 1
	vec 12, 1
	vec 13, 1
	vec 14, 1
	vec 15, 0
	vec 16, 0
	vec 17, 1
	vec 18, 0
	vec 19, 0
	vec 20, 0
	vec 21, 1
	vec 22, 0
	vec 23, 0
	vec 24, 0
	vec 25, 0
	vec 26, 0
	vec 27, 0
	vec 28, 0
	vec 29, 1
	vec 30, 1
	vec 31, 0
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	vec \n, 0
	.endr
