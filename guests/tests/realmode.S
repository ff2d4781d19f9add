/* SPDX-License-Identifier: MIT */
/*
 * realmode: real-mode arithmetic (16- and 32-bit operand sizes), a stack in its own segment,
 * the magic port 0xf4 and the echo port 0xf8. Stays in real mode.
 *
 * FAIL codes:
 *   1  16-bit add did not wrap to 0          2  adc did not see the carry
 *   3  16-bit mul: wrong DX:AX               4  16-bit div: wrong quotient
 *   5  16-bit div: wrong remainder           6  32-bit add/rol (operand-size prefix) wrong
 *   7  32-bit mul: wrong EDX                 8  32-bit mul: wrong EAX
 *   9  SP after pushes (SS=0x2000) wrong    10  pushed word not at SS:0xfffe (read via ES)
 *  11  pushed dword not at SS:0xfffa        12  popped dword wrong
 *  13  popped word wrong                    14  SP after pops wrong
 *  15  call/ret through the new stack       16  in eax, 0xf4 != 0x56495245
 *  17  echo: in eax, 0xf8 != ~0x12345678    18  echo: in eax, 0xf8 != ~0 after writing 0
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg

	/* 16-bit arithmetic */
	movw	$0xffff, %ax
	xorw	%bx, %bx
	addw	$1, %ax			/* AX = 0, CF = 1 */
	adcw	$0, %bx			/* BX = 1 */
	CHECK	%ax, 0, 1
	CHECK	%bx, 1, 2
	movw	$300, %ax
	movw	$400, %cx
	mulw	%cx			/* DX:AX = 120000 = 0x1d4c0 */
	CHECK	%dx, 1, 3
	addw	$5, %ax			/* DX:AX = 120005 */
	divw	%cx			/* 120005 / 400 = 300 rem 5 */
	CHECK	%ax, 300, 4
	CHECK	%dx, 5, 5

	/* 32-bit arithmetic in real mode (0x66 prefixes) */
	movl	$0x12345678, %eax
	addl	$0x11111111, %eax	/* 0x23456789 */
	roll	$8, %eax		/* 0x45678923 */
	CHECK	%eax, 0x45678923, 6
	movl	$0x10000, %eax
	movl	$0x10001, %ecx
	mull	%ecx			/* EDX:EAX = 0x1_0001_0000 */
	CHECK	%edx, 1, 7
	CHECK	%eax, 0x10000, 8

	/* A stack in its own segment: SS=0x2000, SP=0 (first push wraps to 0xfffe). */
	movw	$0x2000, %ax
	movw	%ax, %ss
	xorw	%sp, %sp
	pushw	$0xbeef
	pushl	$0xcafebabe
	CHECK	%sp, 0xfffa, 9
	movw	%ax, %es
	cmpw	$0xbeef, %es:0xfffe
	EXPECT	e, 10
	cmpl	$0xcafebabe, %es:0xfffa
	EXPECT	e, 11
	popl	%edx
	CHECK	%edx, 0xcafebabe, 12
	popw	%dx
	CHECK	%dx, 0xbeef, 13
	CHECK	%sp, 0, 14
	movw	$7, %ax
	call	triple			/* AX = 21, return address on SS=0x2000 */
	CHECK	%ax, 21, 15
	xorw	%ax, %ax
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp

	/* Magic port */
	inl	$PORT_MAGIC, %eax
	CHECK	%eax, MAGIC_VIRE, 16

	/* Echo port */
	movl	$0x12345678, %eax
	outl	%eax, $PORT_ECHO
	xorl	%eax, %eax
	inl	$PORT_ECHO, %eax
	CHECK	%eax, 0xedcba987, 17
	xorl	%eax, %eax
	outl	%eax, $PORT_ECHO
	inl	$PORT_ECHO, %eax
	CHECK	%eax, 0xffffffff, 18

	PASS

triple:
	movw	%ax, %bx
	addw	%ax, %ax
	addw	%bx, %ax
	ret

	HELPERS
msg:	.asciz	"realmode: arithmetic, stack, ports\n"
	BOOT_SIGNATURE
