/* SPDX-License-Identifier: MIT */
/*
 * rep_large: REP string I/O with counts far above what the VMM moves in one exit (1024 elements):
 * the guest re-executes the instruction until the count is used up, and sees one instruction that
 * did all the work, in either direction.
 *
 *   1. rep outsb, CX = 0xffff from DS:0 to port 0x80 (nothing there).
 *   2. rep insw with DF = 1, CX = 3000 from the magic port down from ES:DI = 0x2000:0xfffe.
 *
 * FAIL codes:
 *   1  outsb: CX not 0 after the REP            2  outsb: SI not 0xffff
 *   3  insw: CX not 0 after the REP             4  insw: DI not 0xfffe - 6000
 *   5  insw: the first word is not 0x5245       6  insw: the last word is not 0x5245
 *   7  insw: the word below the last one was written
 */
	.include "guest.inc"

	.set	COUNT_IN, 3000
	.set	TOP, 0xfffe

	GUEST_START
	PUTS	msg

	xorw	%si, %si
	movw	$0xffff, %cx
	movw	$0x80, %dx
	rep outsb
	CHECK	%cx, 0, 1
	CHECK	%si, 0xffff, 2

	movw	$0x2000, %ax
	movw	%ax, %es
	movw	$TOP, %di
	movw	$COUNT_IN, %cx
	movw	$PORT_MAGIC, %dx
	std
	rep insw
	cld
	CHECK	%cx, 0, 3
	CHECK	%di, (TOP-2*COUNT_IN), 4
	cmpw	$0x5245, %es:TOP
	EXPECT	e, 5
	cmpw	$0x5245, %es:TOP - 2 * (COUNT_IN - 1)
	EXPECT	e, 6
	cmpw	$0, %es:TOP - 2 * COUNT_IN
	EXPECT	e, 7

	PUTS	msg_ok
	PASS

	HELPERS
msg:	.asciz	"rep_large: 65535 + 3000 elements of string I/O\n"
msg_ok:	.asciz	"rep_large: both REPs complete\n"
	BOOT_SIGNATURE
