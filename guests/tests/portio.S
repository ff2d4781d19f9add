/* SPDX-License-Identifier: MIT */
/*
 * portio: IN/OUT of 8, 16 and 32 bits, immediate and DX port forms, against the magic port 0xf4 and
 * the echo port 0xf8; string I/O: `rep outsb` of the banner to 0xe9, `rep insl` from 0xf4 (forward,
 * backward with DF=1, and with 32-bit addressing), `rep outsw` to the echo port, a single `insb`.
 * Runs in real mode. Narrow accesses follow README.md "Access sizes".
 *
 * FAIL codes:
 *   1  SI after rep outsb wrong        2  CX after rep outsb != 0
 *   3  inl 0xf4 != 0x56495245          4  inw 0xf4 != 0x5245            5  inb 0xf4 != 0x45
 *   6  inl (%dx=0xf4) wrong            7  echo 32-bit wrong             8  echo 16-bit wrong
 *   9  echo 8-bit wrong               10  outl then inb (DX forms) wrong
 *  11  rep insl (4 dwords): a dword wrong (CX = how many were left unchecked)
 *  12  DI after rep insl wrong        13  CX after rep insl != 0
 *  14  DF=1 rep insl: dwords wrong    15  DF=1 rep insl wrote below its range
 *  16  DF=1: DI after rep insl wrong
 *  17  16-bit address size: ECX upper half changed (or CX not 0)
 *  18  addr32 rep insl: EDI != 0x10000   19  addr32: ECX != 0   20  addr32: data at 1000:fff8 wrong
 *  21  rep outsw to echo: last word not echoed   22  single insb: byte wrong
 */
	.include "guest.inc"

	.set	BUF, 0x600		/* scratch buffer, 0x80 bytes */

	GUEST_START

	/* rep outsb of the banner to the console port */
	movw	$banner, %si
	movw	$(banner_end - banner), %cx
	movw	$PORT_CONSOLE, %dx
	rep outsb
	CHECK	%si, banner_end, 1
	CHECK	%cx, 0, 2

	/* magic port, all sizes */
	inl	$PORT_MAGIC, %eax
	CHECK	%eax, MAGIC_VIRE, 3
	xorl	%eax, %eax
	inw	$PORT_MAGIC, %ax
	CHECK	%eax, 0x5245, 4
	xorl	%eax, %eax
	inb	$PORT_MAGIC, %al
	CHECK	%eax, 0x45, 5
	movw	$PORT_MAGIC, %dx
	inl	(%dx), %eax
	CHECK	%eax, MAGIC_VIRE, 6

	/* echo port, all sizes */
	movl	$0x13572468, %eax
	outl	%eax, $PORT_ECHO
	inl	$PORT_ECHO, %eax
	CHECK	%eax, 0xeca8db97, 7
	movw	$0xbeef, %ax
	outw	%ax, $PORT_ECHO
	inw	$PORT_ECHO, %ax
	CHECK	%ax, 0x4110, 8
	movb	$0x3c, %al
	outb	%al, $PORT_ECHO
	inb	$PORT_ECHO, %al
	CHECK	%al, 0xc3, 9
	movw	$PORT_ECHO, %dx
	movl	$0x80000001, %eax
	outl	%eax, (%dx)
	inb	(%dx), %al
	CHECK	%al, 0xfe, 10

	/* rep insl, forward: four dwords from the magic port */
	movw	$BUF, %di
	xorl	%eax, %eax
	movw	$(0x80 / 4), %cx
	rep stosl			/* clear the buffer */
	movw	$BUF, %di
	movw	$4, %cx
	movw	$PORT_MAGIC, %dx
	rep insl
	CHECK	%di, BUF + 16, 12
	CHECK	%cx, 0, 13
	movl	$MAGIC_VIRE, %eax
	movw	$BUF, %di
	movw	$4, %cx
	repe scasl			/* all four dwords */
	EXPECT	e, 11

	/* rep insl, backward (DF=1): fills BUF+0x1c, then BUF+0x18 */
	std
	movw	$(BUF + 0x1c), %di
	movw	$2, %cx
	rep insl
	cld
	CHECK	%di, BUF + 0x14, 16
	cmpl	$0, BUF + 0x14
	EXPECT	e, 15
	movw	$(BUF + 0x18), %di
	movw	$2, %cx
	repe scasl
	EXPECT	e, 14

	/* 16-bit address size counts in CX only: the upper half of ECX must survive */
	movw	$(BUF + 0x20), %di
	movl	$0xabcd0002, %ecx
	rep insl
	CHECK	%ecx, 0xabcd0000, 17

	/* 32-bit address size (addr32 prefix): EDI/ECX, and EDI goes past 0xffff without wrapping */
	movw	$0x1000, %bx
	movw	%bx, %es
	movl	$0xfff8, %edi
	movl	$2, %ecx
	addr32 rep insl
	CHECK	%edi, 0x10000, 18
	CHECK	%ecx, 0, 19
	movw	$0xfff8, %di
	movw	$2, %cx
	repe scasl
	EXPECT	e, 20
	movw	%ds, %bx
	movw	%bx, %es

	/* rep outsw to the echo port: the last word written is the one echoed */
	movw	$words, %si
	movw	$2, %cx
	movw	$PORT_ECHO, %dx
	rep outsw
	inw	(%dx), %ax
	CHECK	%ax, 0xdddd, 21

	/* a single insb */
	movw	$(BUF + 0x40), %di
	movw	$PORT_MAGIC, %dx
	insb
	cmpb	$0x45, BUF + 0x40
	EXPECT	e, 22

	PASS

	HELPERS
words:	.word	0x1111, 0x2222
banner:	.ascii	"portio: rep outsb ok\n"
banner_end:
	BOOT_SIGNATURE
