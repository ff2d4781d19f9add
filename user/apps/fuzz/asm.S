/* SPDX-License-Identifier: MIT */
/* Bodies of the fuzzer's faulting ECs: each raises an exception at once and again if resumed. */
	.text

	.globl fz_fault_ud2
fz_fault_ud2:
	ud2
	jmp fz_fault_ud2

	.globl fz_fault_int3
fz_fault_int3:
	int3
	jmp fz_fault_int3

/* A load from an unmapped page: a page fault. */
	.globl fz_fault_load
fz_fault_load:
	movabs $0x0000600000000000, %rax
	mov (%rax), %rax
	jmp fz_fault_load

/* HLT in user mode: #GP. */
	.globl fz_fault_hlt
fz_fault_hlt:
	hlt
	jmp fz_fault_hlt

	.globl fz_fault_div
fz_fault_div:
	xor %ecx, %ecx
	div %rcx
	jmp fz_fault_div
