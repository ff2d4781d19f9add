/* SPDX-License-Identifier: MIT */
/*
 * Application-processor start-up code, copied to AP_TRAMPOLINE_PA and entered by a SIPI in real
 * mode at CS = AP_TRAMPOLINE_PA >> 4, IP = 0 (Intel SDM vol. 3A 8.4.4). Real mode -> 32-bit
 * protected mode -> long mode with the boot page tables, then into the kernel at ap_entry.
 */
#include "memlayout.h"
#include "x86defs.h"

#define T(x) (AP_TRAMPOLINE_PA + ((x) - trampoline_start))

	.section .rodata
	.code16
	.globl trampoline_start, trampoline_end, trampoline_cr3, trampoline_stack, trampoline_efer
	.balign 16
trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (tramp_gdt_ptr - trampoline_start)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $0x18, $T(tramp32)

	.code32
tramp32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $(CR4_PAE | CR4_PGE), %eax
	mov %eax, %cr4
	mov T(trampoline_cr3), %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	mov T(trampoline_efer), %eax
	xor %edx, %edx
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP), %eax
	mov %eax, %cr0
	ljmp $0x08, $T(tramp64)

	.code64
tramp64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov T(trampoline_stack), %rsp
	movabs $ap_entry, %rax
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff                /* 0x08 64-bit code */
	.quad 0x00cf92000000ffff                /* 0x10 data */
	.quad 0x00cf9a000000ffff                /* 0x18 32-bit code */
tramp_gdt_ptr:
	.short tramp_gdt_ptr - tramp_gdt - 1
	.long T(tramp_gdt)
	.balign 8
trampoline_cr3:
	.quad 0
trampoline_stack:
	.quad 0
trampoline_efer:
	.quad 0
trampoline_end:
