/* SPDX-License-Identifier: MIT */
/* minios process entry: RDI = workload, RSI = argument (abi.h); main's result is the exit status. */
	.section .text.start, "ax"
	.globl _start
_start:
	andq $-16, %rsp
	call work_main
	movq %rax, %rdi
	movq $3, %rax /* MSYS_EXIT */
	syscall
1:	jmp 1b
