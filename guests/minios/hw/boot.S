/* SPDX-License-Identifier: MIT */
/*
 * minios on bare x86_64 (the hardware-VM layer): the boot sector the VMM starts in real mode at
 * 0000:7c00 (guests/tests/README.md "Image format"), which enters long mode through 32-bit
 * protected mode (Intel SDM vol. 3A 9.8.5, AMD APM vol. 2 14.6), with the first 2 MiB identity-
 * mapped by one large page, and calls hw_main. Also the GDT (with the selectors SYSCALL/SYSRET
 * need, AMD APM vol. 2 6.1.1) and the boot page tables.
 */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_CODE32 0x30

	.section .boot, "ax"
	.code16
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp
	lgdtl gdt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $pm32

	.code32
pm32:
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax /* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx /* EFER: LME and SCE */
	rdmsr
	orl $0x101, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010000, %eax /* PG, WP */
	movl %eax, %cr0
	ljmpl $SEL_KCODE, $lm64

	.code64
lm64:
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	leaq hw_kstack_top(%rip), %rsp
	call hw_main
1:	hlt
	jmp 1b

	.balign 8
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .data
	.balign 16
	.globl gdt, hw_gdt_tss
gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff /* 0x10 kernel data */
	.quad 0x00cffa000000ffff /* 0x18 user code, 32-bit (STAR's SYSRET base; unused) */
	.quad 0x00cff2000000ffff /* 0x20 user data (SYSRET: base + 8) */
	.quad 0x00affa000000ffff /* 0x28 user code, 64-bit (SYSRET: base + 16) */
	.quad 0x00cf9a000000ffff /* 0x30 code, 32-bit, for the way into long mode */
hw_gdt_tss:
	.quad 0, 0		 /* 0x38 the TSS, filled by hw_main */
gdt_end:

	.globl hw_gdt_desc64
hw_gdt_desc64:
	.word gdt_end - gdt - 1
	.quad gdt

	/* Boot page tables: 0 .. 2 MiB identity, one supervisor-only 2 MiB page. The PD is also
	 * every process's view of the kernel (hw.c). */
	.balign 4096
	.globl boot_pml4, hw_kernel_pd
boot_pml4:
	.quad boot_pdpt + 0x3
	.fill 511, 8, 0
boot_pdpt:
	.quad hw_kernel_pd + 0x3
	.fill 511, 8, 0
hw_kernel_pd:
	.quad 0x83 /* present, writable, 2 MiB */
	.fill 511, 8, 0

	/* The kernel stack (hw_enter runs on it) and the trap stack (TSS.RSP0 and SYSCALL). */
	.section .bss
	.balign 16
	.globl hw_kstack_top, hw_trap_stack_top
	.space 16384
hw_kstack_top:
	.space 4096
hw_trap_stack_top:
