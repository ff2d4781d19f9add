/* SPDX-License-Identifier: MIT */
/*
 * One guest entry with VMRUN (AMD APM vol. 2 15.5). VMRUN/#VMEXIT switch only part of the state
 * (AMD APM vol. 2 15.5.1, 15.5.2; docs/platforms.md#qemu-svm): FS/GS/TR/LDTR, KernelGSBase and the SYSCALL MSRs go through VMSAVE/VMLOAD,
 * the general registers other than RAX/RSP through the guest register array.
 *
 * void svm_enter(uint64_t vmcb_pa, uint64_t gpr[16], uint64_t host_save_pa)
 * Runs with GIF = 0 around it (the caller's CLGI/STGI): no interrupt may see the guest's GS base.
 */
#define GPR(i) (8 * (i))

	.text
	.globl svm_enter
svm_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdx                 /* 16(%rsp): host save area */
	push %rsi                 /*  8(%rsp): guest registers */
	push %rdi                 /*  0(%rsp): VMCB */

	mov %rdx, %rax
	vmsave

	mov %rsi, %rax
	mov GPR(1)(%rax), %rcx
	mov GPR(2)(%rax), %rdx
	mov GPR(3)(%rax), %rbx
	mov GPR(5)(%rax), %rbp
	mov GPR(6)(%rax), %rsi
	mov GPR(7)(%rax), %rdi
	mov GPR(8)(%rax), %r8
	mov GPR(9)(%rax), %r9
	mov GPR(10)(%rax), %r10
	mov GPR(11)(%rax), %r11
	mov GPR(12)(%rax), %r12
	mov GPR(13)(%rax), %r13
	mov GPR(14)(%rax), %r14
	mov GPR(15)(%rax), %r15

	mov 0(%rsp), %rax
	vmload
	vmrun
	vmsave

	/* RAX holds the VMCB address again (the guest's RAX is in the VMCB). */
	mov 8(%rsp), %rax
	mov %rcx, GPR(1)(%rax)
	mov %rdx, GPR(2)(%rax)
	mov %rbx, GPR(3)(%rax)
	mov %rbp, GPR(5)(%rax)
	mov %rsi, GPR(6)(%rax)
	mov %rdi, GPR(7)(%rax)
	mov %r8, GPR(8)(%rax)
	mov %r9, GPR(9)(%rax)
	mov %r10, GPR(10)(%rax)
	mov %r11, GPR(11)(%rax)
	mov %r12, GPR(12)(%rax)
	mov %r13, GPR(13)(%rax)
	mov %r14, GPR(14)(%rax)
	mov %r15, GPR(15)(%rax)

	mov 16(%rsp), %rax
	vmload
	add $24, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
