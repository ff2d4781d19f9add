/* SPDX-License-Identifier: MIT */
/*
 * minios para-virtual layer: keep and continue the guest kernel's own context. plat_run saves it
 * before SYS_VCPU_RESUME (which does not return when the process runs); the next event enters the
 * vCPU at its entry point on the entry stack, which continues the saved context, so that
 * plat_run returns with the event.
 */
	.text
/* int pv_save(uint64_t buf[8]): 0 when saved, 1 when continued by pv_continue */
	.globl pv_save
pv_save:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rdx
	movq %rdx, 48(%rdi)
	movq (%rsp), %rdx
	movq %rdx, 56(%rdi)
	xorl %eax, %eax
	ret

/* void pv_continue(const uint64_t buf[8]): pv_save returns 1 */
	.globl pv_continue
pv_continue:
	movq 0(%rdi), %rbx
	movq 8(%rdi), %rbp
	movq 16(%rdi), %r12
	movq 24(%rdi), %r13
	movq 32(%rdi), %r14
	movq 40(%rdi), %r15
	movq 48(%rdi), %rsp
	movl $1, %eax
	jmpq *56(%rdi)
