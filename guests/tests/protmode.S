/* SPDX-License-Identifier: MIT */
/*
 * protmode: real mode -> 32-bit protected mode (GDT, CR0.PE, far jump; no paging), then use the flat
 * 32-bit data segment above 1 MiB and a segment with a non-zero base; PASS from 32-bit code.
 *
 * FAIL codes (all from 32-bit code):
 *   1  CR0.PE reads back clear                 2  CS is not the 32-bit code selector
 *   3  dword at 0x100000 did not read back     4  write to 0x100000 changed 0x0 (A20 wrap)
 *   5  dword at 0x1ffffc (top of 2 MiB) wrong  6  FS (base 0x100000) write not seen at 0x100010
 *   7  flat write at 0x100020 not seen via FS  8  rep stosl/movsl copy at 0x101000 wrong
 *   9  call/ret on the 32-bit stack wrong
 */
#include "x86defs.h"
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32

	/* CR0.PE and CS */
	movl	%cr0, %eax
	testl	$CR0_PE, %eax
	EXPECT	nz, 1
	movw	%cs, %ax
	CHECK	%ax, SEL_CODE32, 2

	/* RAM above 1 MiB through the flat data segment */
	movl	$0x11111111, 0x0
	movl	$0xa5a55a5a, 0x100000
	cmpl	$0xa5a55a5a, 0x100000
	EXPECT	e, 3
	cmpl	$0x11111111, 0x0
	EXPECT	e, 4
	movl	$0x1ffffc, %ebx
	movl	$0x600dcafe, (%ebx)
	cmpl	$0x600dcafe, (%ebx)
	EXPECT	e, 5

	/* A data segment based at 1 MiB */
	movw	$SEL_DATA_1M, %ax
	movw	%ax, %fs
	movl	$0x01020304, %fs:0x10
	cmpl	$0x01020304, 0x100010
	EXPECT	e, 6
	movl	$0x0a0b0c0d, 0x100020
	cmpl	$0x0a0b0c0d, %fs:0x20
	EXPECT	e, 7

	/* String instructions with 32-bit addresses: fill 256 dwords, copy them, compare. */
	movl	$0x101000, %edi
	movl	$0x5a5aa5a5, %eax
	movl	$256, %ecx
	rep stosl
	movl	$0x101000, %esi
	movl	$0x102000, %edi
	movl	$256, %ecx
	rep movsl
	movl	$0x101000, %esi
	movl	$0x102000, %edi
	movl	$256, %ecx
	repe cmpsl
	EXPECT	e, 8

	/* 32-bit stack */
	pushl	$41
	call	inc_top
	popl	%eax
	CHECK	%eax, 42, 9

	PUTS	msg_pm
	PASS

inc_top:
	incl	4(%esp)
	ret

	HELPERS
	MODE16
	HELPERS
	GDT with_1m=1
msg:	.asciz	"protmode: entering 32-bit protected mode\n"
msg_pm:	.asciz	"protmode: 32-bit ok\n"
	BOOT_SIGNATURE
