/* SPDX-License-Identifier: MIT */
/* Bodies of test ECs whose exact instructions and registers matter (exceptions, loops, ports). */
#include "kstest_asm.h"

	.text

/* End the calling EC. Exception handlers send an EC here (RIP) to finish it. */
	.globl kt_exit_stub
kt_exit_stub:
	mov $KT_SYS_EC_EXIT, %eax
	syscall
	ud2
	jmp kt_exit_stub

/* Up the semaphore whose selector is in kt_done_sel, then end the EC. */
	.globl kt_signal_exit
kt_signal_exit:
	mov kt_done_sel(%rip), %rdi
	mov $KT_SYS_SM_CTRL, %eax
	xor %esi, %esi
	xor %edx, %edx
	syscall
	jmp kt_exit_stub

/*
 * Load KT_GPR_* into every general-purpose register and execute ud2 (#UD, vector 6). When it is
 * resumed at kt_gprs_resume, store every register, RSP and RFLAGS into kt_exc_out, signal, exit.
 */
	.globl kt_gprs_body, kt_gprs_insn, kt_gprs_resume
kt_gprs_body:
	movabs $KT_GPR_RAX, %rax
	movabs $KT_GPR_RBX, %rbx
	movabs $KT_GPR_RCX, %rcx
	movabs $KT_GPR_RDX, %rdx
	movabs $KT_GPR_RBP, %rbp
	movabs $KT_GPR_RSI, %rsi
	movabs $KT_GPR_RDI, %rdi
	movabs $KT_GPR_R8, %r8
	movabs $KT_GPR_R9, %r9
	movabs $KT_GPR_R10, %r10
	movabs $KT_GPR_R11, %r11
	movabs $KT_GPR_R12, %r12
	movabs $KT_GPR_R13, %r13
	movabs $KT_GPR_R14, %r14
	movabs $KT_GPR_R15, %r15
kt_gprs_insn:
	ud2
kt_gprs_resume:
	mov %rax, kt_exc_out+KT_X_RAX(%rip)
	mov %rbx, kt_exc_out+KT_X_RBX(%rip)
	mov %rcx, kt_exc_out+KT_X_RCX(%rip)
	mov %rdx, kt_exc_out+KT_X_RDX(%rip)
	mov %rbp, kt_exc_out+KT_X_RBP(%rip)
	mov %rsi, kt_exc_out+KT_X_RSI(%rip)
	mov %rdi, kt_exc_out+KT_X_RDI(%rip)
	mov %r8, kt_exc_out+KT_X_R8(%rip)
	mov %r9, kt_exc_out+KT_X_R9(%rip)
	mov %r10, kt_exc_out+KT_X_R10(%rip)
	mov %r11, kt_exc_out+KT_X_R11(%rip)
	mov %r12, kt_exc_out+KT_X_R12(%rip)
	mov %r13, kt_exc_out+KT_X_R13(%rip)
	mov %r14, kt_exc_out+KT_X_R14(%rip)
	mov %r15, kt_exc_out+KT_X_R15(%rip)
	mov %rsp, kt_exc_out+KT_X_RSP(%rip)
	pushfq
	popq kt_exc_out+KT_X_RFLAGS(%rip)
	jmp kt_signal_exit

/* int3 (#BP, vector 3, a trap: RIP is after it) with RAX = KT_INT3_RAX; then store RAX. */
	.globl kt_int3_body, kt_int3_after
kt_int3_body:
	movabs $KT_INT3_RAX, %rax
	int3
kt_int3_after:
	mov %rax, kt_exc_out+KT_X_RAX(%rip)
	jmp kt_signal_exit

/* A callable ud2: a handler that resumes at kt_ud2_ret_after returns to the caller. */
	.globl kt_ud2_ret, kt_ud2_ret_insn, kt_ud2_ret_after
kt_ud2_ret:
kt_ud2_ret_insn:
	ud2
kt_ud2_ret_after:
	ret

/* cli in user mode with IOPL 0: #GP(0), vector 13. */
	.globl kt_cli_body, kt_cli_insn, kt_cli_after
kt_cli_body:
kt_cli_insn:
	cli
kt_cli_after:
	jmp kt_signal_exit

/* Divide by zero: #DE, vector 0. */
	.globl kt_div0_body, kt_div0_insn, kt_div0_after
kt_div0_body:
	xor %ecx, %ecx
	xor %edx, %edx
	mov $1, %eax
kt_div0_insn:
	div %rcx
kt_div0_after:
	jmp kt_signal_exit

/* Load the word at RDI into RAX; store RAX into kt_exc_out.rax. */
	.globl kt_load_body, kt_load_insn, kt_load_after
kt_load_body:
kt_load_insn:
	mov (%rdi), %rax
kt_load_after:
	mov %rax, kt_exc_out+KT_X_RAX(%rip)
	jmp kt_signal_exit

/* Store KT_STORE_VAL at RDI. */
	.globl kt_store_body, kt_store_insn, kt_store_after
kt_store_body:
	movabs $KT_STORE_VAL, %rax
kt_store_insn:
	mov %rax, (%rdi)
kt_store_after:
	jmp kt_signal_exit

/*
 * RDI = struct kt_loop: count up until its stop (or the runner's kt_stop) is set, then end. The EC
 * never enters the kernel on its own, so only interrupts (and recalls) take it there.
 */
	.globl kt_spin_body, kt_spin_end
kt_spin_body:
1:	incq KT_LOOP_COUNT(%rdi)
	cmpq $0, KT_LOOP_STOP(%rdi)
	jne 2f
	cmpq $0, kt_stop(%rip)
	je 1b
2:	jmp kt_exit_stub
kt_spin_end:

/* RDI = struct kt_loop: read the word at addr into last and count, until told to stop. */
	.globl kt_read_body, kt_read_insn
kt_read_body:
	mov KT_LOOP_ADDR(%rdi), %rsi
kt_read_insn:
1:	mov (%rsi), %rax
	mov %rax, KT_LOOP_LAST(%rdi)
	incq KT_LOOP_COUNT(%rdi)
	cmpq $0, KT_LOOP_STOP(%rdi)
	jne 2f
	cmpq $0, kt_stop(%rip)
	je 1b
2:	jmp kt_exit_stub

/* RDI = struct kt_loop: inb from port addr into last and count, until told to stop. */
	.globl kt_in_loop_body, kt_in_loop_insn
kt_in_loop_body:
	mov KT_LOOP_ADDR(%rdi), %rdx
	xor %eax, %eax
kt_in_loop_insn:
1:	inb %dx, %al
	mov %rax, KT_LOOP_LAST(%rdi)
	incq KT_LOOP_COUNT(%rdi)
	cmpq $0, KT_LOOP_STOP(%rdi)
	jne 2f
	cmpq $0, kt_stop(%rip)
	je 1b
2:	jmp kt_exit_stub

/* inb from port RDI (#GP if the PD may not use it); the byte goes to kt_exc_out.rax. */
	.globl kt_inb_body, kt_inb_insn
kt_inb_body:
	mov %edi, %edx
	xor %eax, %eax
kt_inb_insn:
	inb %dx, %al
	mov %rax, kt_exc_out+KT_X_RAX(%rip)
	jmp kt_signal_exit

/* inw from port RDI: touches ports RDI and RDI + 1. */
	.globl kt_inw_body, kt_inw_insn
kt_inw_body:
	mov %edi, %edx
	xor %eax, %eax
kt_inw_insn:
	inw %dx, %ax
	mov %rax, kt_exc_out+KT_X_RAX(%rip)
	jmp kt_signal_exit

	.section .note.GNU-stack, "", @progbits
