/* SPDX-License-Identifier: MIT */
/*
 * longmode: real mode -> 32-bit protected mode -> PAE paging (first 2 MiB identity-mapped by one
 * 2 MiB page), EFER.LME, CR0.PG -> far jump to 64-bit code; 64-bit operations; PASS from 64-bit mode.
 *
 * Page tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000 (PD[0] = 2 MiB page at 0, P|RW|PS).
 *
 * FAIL codes:
 *   1  (64-bit) EFER.LMA clear                   2  imm64 / r8-r15 arithmetic wrong
 *   3  64-bit mul: wrong RDX                     4  64-bit mul: wrong RAX
 *   5  qword at 0x100000 did not read back       6  RIP-relative load wrong
 *   7  call/ret / push imm on the 64-bit stack wrong
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	PML4, 0x1000
	.set	PDPT, 0x2000
	.set	PD, 0x3000

	GUEST_START
	ENTER_PM32 pm32
	PUTS	msg

	/* Page tables (zero them first: a BIOS, unlike the VMM, leaves RAM dirty). */
	movl	$PML4, %edi
	xorl	%eax, %eax
	movl	$(3 * 4096 / 4), %ecx
	rep stosl
	movl	$(PDPT | 3), PML4
	movl	$(PD | 3), PDPT
	movl	$0x83, PD		/* 2 MiB page at 0: P | RW | PS */

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$PML4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax		/* now in compatibility mode */
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $lm64

	PUTS_HELPER

	MODE64
lm64:
	movl	$0x7c00, %esp

	movl	$MSR_EFER, %ecx
	rdmsr
	testl	$EFER_LMA, %eax
	EXPECT	nz, 1

	/* imm64 and r8-r15 (REX prefixes would decode as inc/dec outside 64-bit mode) */
	movabsq	$0x0123456789abcdef, %r8	/* A */
	leaq	(%r8, %r8, 2), %r9		/* 3A */
	movq	%r9, %r10
	subq	%r8, %r10			/* 2A */
	movq	%r10, %r11
	shrq	$1, %r11			/* A */
	movq	%r11, %r12
	xorq	%r8, %r12			/* 0 */
	leaq	1(%r12), %r13			/* 1 */
	movq	%r9, %r14
	imulq	%r13, %r14			/* 3A */
	movq	%r14, %r15
	subq	%r9, %r15			/* 0 */
	movabsq	$0x0369d0369d0369cd, %rax	/* 3A */
	subq	%rax, %r14
	orq	%r14, %r15
	orq	%r12, %r15
	EXPECT	z, 2

	/* 64-bit multiply: 0x1_0000_0001 * 0x1_0000_0001 = 0x1_0000_0002_0000_0001 */
	movabsq	$0x100000001, %rax
	mulq	%rax
	CHECK	%rdx, 1, 3
	shrq	$32, %rax
	CHECK	%rax, 2, 4

	/* Memory above 1 MiB through the identity map, and RIP-relative addressing */
	movl	$0x100000, %ebx
	movq	qword(%rip), %rax
	movq	%rax, (%rbx)
	movabsq	$0x8877665544332211, %rcx
	cmpq	(%rbx), %rcx
	EXPECT	e, 5
	cmpq	%rcx, %rax
	EXPECT	e, 6

	/* 64-bit stack */
	pushq	$-2			/* sign-extended: 0xffff_ffff_ffff_fffe */
	call	inc_top
	popq	%rax
	CHECK	%rax, -1, 7

	PUTS	msg_lm
	PASS

inc_top:
	incq	8(%rsp)
	ret

	HELPERS
	.p2align 3
qword:	.quad	0x8877665544332211
	GDT
msg:	.asciz	"longmode: start\n"
msg_lm:	.asciz	"longmode: 64-bit\n"
	BOOT_SIGNATURE
