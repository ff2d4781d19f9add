/* SPDX-License-Identifier: MIT */
/*
 * One guest entry with VMLAUNCH or VMRESUME (Intel SDM vol. 3C 26, 30.3). VM entry and exit switch
 * RSP, RIP, RFLAGS and the state in the VMCS; the other general registers go through the guest
 * register array here. The exit lands at vmx_exit_host (HOST_RIP) with HOST_RSP, which this
 * function sets to its own frame just before the entry.
 *
 * int vmx_enter(uint64_t gpr[16], int launched): 0 after a VM exit, 1 when the instruction failed
 * (VMfailValid or VMfailInvalid; then no guest ran and the VM-instruction error says why).
 */
#define GPR(i) (8 * (i))
#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_enter
	.globl vmx_exit_host
vmx_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rsi                 /* 8(%rsp): launched */
	push %rdi                 /* 0(%rsp): guest registers */

	mov $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe .Lfail_early

	mov %rdi, %rax
	cmpq $0, 8(%rsp)          /* the flags survive the MOVs below */
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
	mov GPR(0)(%rax), %rax
	jne 1f
	vmlaunch
	jmp .Lfail
1:	vmresume
.Lfail:
	/* No guest ran; the registers hold guest values, the callee-saved ones come back below. */
.Lfail_early:
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	mov $1, %eax
	ret

vmx_exit_host:
	push %rax                 /* guest RAX; 8(%rsp) is the register array now */
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
	pop %rcx
	mov %rcx, GPR(0)(%rax)
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	xor %eax, %eax
	ret
