/* SPDX-License-Identifier: MIT */
/*
 * mmio: the MMIO test window at 0xfeb00000 (not RAM: every access exits to the VMM, which decodes the
 * instruction), from 32-bit protected mode without paging, with several access sizes and addressing
 * forms. Offset 0 reads 0x4d4d494f; offset 4 is a register that reads back what was written
 * (same-size read-back only; see README.md "Access sizes"); other offsets read 0.
 *
 * FAIL codes:
 *   1  mov eax, [abs32] (A1 moffs) at offset 0 wrong
 *   2  mov edx, [ebx] (8B /r) at offset 0 wrong
 *   3  mov [ebx+4], ecx (89 /r disp8), then mov esi, [ebx+4] wrong
 *   4  mov byte [ebx+4], imm8 (C6 /0), then mov al, [ebx+4] wrong
 *   5  ... then movzx eax, byte [ebx+4] (0F B6) wrong (upper bits must be 0)
 *   6  mov word [ebx+4], imm16 (66 C7 /0), then movzx eax, word [ebx+4] (0F B7) wrong
 *   7  ... then movsx eax, word [ebx+4] (0F BF) wrong (must sign-extend)
 *   8  mov dword [ebx+4], imm32 (C7 /0), then mov eax, [ebx+ecx*4] (SIB) wrong
 *   9  mov [abs32], eax (A3 moffs), then mov edi, [abs32] (8B /r disp32) wrong
 *  10  mov ax, [ebx+4] (66 8B) after a 16-bit write: wrong, or upper half of EAX clobbered
 *  11  read of offset 8 != 0                12  byte read of offset 0xff0 (disp32) != 0
 *  13  RAM next to the accesses (stack) clobbered
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	pushl	$0x5ca1ab1e			/* a canary in RAM */

	movl	MMIO_BASE, %eax			/* A1 moffs32 */
	CHECK	%eax, MMIO_MAGIC, 1
	movl	$MMIO_BASE, %ebx
	movl	(%ebx), %edx			/* 8B 13 */
	CHECK	%edx, MMIO_MAGIC, 2

	movl	$0x11223344, %ecx
	movl	%ecx, 4(%ebx)			/* 89 4B 04 */
	movl	4(%ebx), %esi			/* 8B 73 04 */
	CHECK	%esi, 0x11223344, 3

	movb	$0x5a, 4(%ebx)			/* C6 43 04 5A */
	movb	4(%ebx), %al			/* 8A 43 04 */
	CHECK	%al, 0x5a, 4
	movl	$0xffffffff, %eax
	movzbl	4(%ebx), %eax			/* 0F B6 43 04 */
	CHECK	%eax, 0x5a, 5

	movw	$0xbeef, 4(%ebx)		/* 66 C7 43 04 EF BE */
	movzwl	4(%ebx), %eax			/* 0F B7 43 04 */
	CHECK	%eax, 0xbeef, 6
	movswl	4(%ebx), %eax			/* 0F BF 43 04 */
	CHECK	%eax, 0xffffbeef, 7
	movl	$0x12340000, %eax
	movw	4(%ebx), %ax			/* 66 8B 43 04: only AX changes */
	CHECK	%eax, 0x1234beef, 10

	movl	$0xcafef00d, 4(%ebx)		/* C7 43 04 imm32 */
	movl	$1, %ecx
	movl	(%ebx, %ecx, 4), %eax		/* 8B 04 8B */
	CHECK	%eax, 0xcafef00d, 8

	movl	$0x0badf00d, %eax
	movl	%eax, MMIO_BASE + 4		/* A3 moffs32 */
	movl	MMIO_BASE + 4, %edi		/* 8B 3D disp32 */
	CHECK	%edi, 0x0badf00d, 9

	movl	$0xffffffff, %eax
	movl	8(%ebx), %eax
	CHECK	%eax, 0, 11
	movb	$0xff, %al
	movb	0xff0(%ebx), %al		/* 8A 83 disp32 */
	CHECK	%al, 0, 12

	popl	%eax
	CHECK	%eax, 0x5ca1ab1e, 13

	PUTS	msg_ok
	PASS

	HELPERS
	MODE16
	PUTS_HELPER
	GDT
msg:	.asciz	"mmio: window at 0xfeb00000\n"
msg_ok:	.asciz	"mmio: ok\n"
	BOOT_SIGNATURE
