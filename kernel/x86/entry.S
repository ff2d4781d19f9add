/* SPDX-License-Identifier: MIT */
/*
 * Multiboot2 entry: GRUB leaves us in 32-bit protected mode without paging (multiboot2 spec,
 * "Machine state"). Build the boot page tables, enter long mode (Intel SDM vol. 3A 9.8.5,
 * AMD APM vol. 2 14.6) and continue in the higher half.
 */
#include "memlayout.h"
#include "x86defs.h"

#define MB2_MAGIC 0xe85250d6
#define MB2_BOOT_MAGIC 0x36d76289
#define MB1_MAGIC 0x1badb002
#define MB1_BOOT_MAGIC 0x2badb002
/* Multiboot 1 flags: modules page-aligned, memory information, load addresses in the header. */
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))
#define PHYS(x) ((x) - KERNEL_VBASE)

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80
#define PTE_PWT 0x8
#define PTE_PCD 0x10

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long 0                                 /* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + (mb2_header_end - mb2_header))
	/* Module alignment tag: modules start on page boundaries, so they can be mapped in place. */
	.balign 8
	.short 6, 0
	.long 8
	/* End tag. */
	.balign 8
	.short 0, 0
	.long 8
mb2_header_end:

	/*
	 * Multiboot (version 1) header, for loaders that speak only that (QEMU's -kernel). The
	 * address fields (Multiboot Specification 0.6.96, 3.1.3) give the load layout, since such a
	 * loader does not read ELF64: the file holds the image from _load_start to _load_end at
	 * offsets linear in the physical addresses (kernel.ld), then zeroed memory up to _kernel_end.
	 */
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header                        /* header_addr (identity-linked: physical) */
	.long _load_start                       /* load_addr */
	.long PHYS(_load_end)                   /* load_end_addr */
	.long PHYS(_kernel_end)                 /* bss_end_addr */
	.long _start                            /* entry_addr */

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov $PHYS(boot_stack_top), %esp
	mov %eax, %edi                          /* multiboot magic: first C argument */
	mov %ebx, %esi                          /* info physical address: second C argument */

	cmp $MB2_BOOT_MAGIC, %eax
	je 2f
	cmp $MB1_BOOT_MAGIC, %eax
	jne no_multiboot
2:

	/* Long mode present? (CPUID 0x80000001 EDX bit 29) */
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	bt $29, %edx
	jnc no_long_mode
	mov %edx, %ebp                          /* keep: bit 20 = NX */

	/* PAE and global pages, then the boot PML4. */
	mov %cr4, %eax
	or $(CR4_PAE | CR4_PGE), %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3

	/* EFER: long mode enable, SYSCALL enable, NX enable when present. */
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_SCE), %eax
	bt $20, %ebp
	jnc 1f
	or $EFER_NXE, %eax
1:	wrmsr

	/* Paging and write-protect in supervisor mode. */
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP), %eax
	mov %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $SEL_KCODE, $long_mode_entry

no_multiboot:
	mov $msg_no_mb, %esi
	jmp early_die
no_long_mode:
	mov $msg_no_lm, %esi
early_die:
	/* Polled output on COM1 so the reason is visible on a serial-only console. */
	mov $0x3f8 + 5, %dx
	in %dx, %al
	test $0x20, %al
	jz early_die
	lodsb
	test %al, %al
	jz 3f
	mov $0x3f8, %dx
	out %al, %dx
	jmp early_die
3:	hlt
	jmp 3b

	.code64
long_mode_entry:
	movabs $higher_half, %rax
	jmp *%rax

	.text
higher_half:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	movabs $boot_stack_top, %rsp
	xor %ebp, %ebp
	/* edi = magic, esi = info physical address: zero-extended by the 32-bit moves above. */
	mov %edi, %edi
	mov %esi, %esi
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .boot.data, "aw"
msg_no_mb:
	.asciz "Vireo: not started by a multiboot loader\r\n"
msg_no_lm:
	.asciz "Vireo: this CPU has no 64-bit long mode\r\n"

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff                /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff                /* 0x10 kernel data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	/*
	 * Boot page tables. PML4[0] and PML4[256] both lead to the same PDPT that maps the first
	 * 4 GiB with 2 MiB pages (identity for the switch, direct map for the kernel); PML4[511]
	 * maps the top 2 GiB onto the first 2 GiB for the kernel image. The 3-4 GiB hole (MMIO) is
	 * uncached.
	 */
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt_phys + (PTE_P | PTE_W)
	.fill 255, 8, 0
	.quad boot_pdpt_phys + (PTE_P | PTE_W)
	.fill 254, 8, 0
	.quad boot_pdpt_high + (PTE_P | PTE_W)
boot_pdpt_phys:
	.quad boot_pd + 0x0000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x1000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x2000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x3000 + (PTE_P | PTE_W)
	.fill 508, 8, 0
boot_pdpt_high:
	.fill 510, 8, 0
	.quad boot_pd + 0x0000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x1000 + (PTE_P | PTE_W)
boot_pd:
	.set addr, 0
	.rept 512 * 3
	.quad addr + (PTE_P | PTE_W | PTE_PS)
	.set addr, addr + 0x200000
	.endr
	.rept 512
	.quad addr + (PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT)
	.set addr, addr + 0x200000
	.endr

	.section .bss
	.balign 4096
	.globl boot_stack_top
boot_stack:
	.skip KSTACK_SIZE
boot_stack_top:
