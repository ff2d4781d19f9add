/* SPDX-License-Identifier: MIT */
/* Program entry: the kernel passes the boot-info (roottask) or start argument in RDI. */
	.section .text.start, "ax"
	.globl _start
_start:
	xor %ebp, %ebp
	and $-16, %rsp
	call vireo_main_entry
1:	ud2
	jmp 1b
