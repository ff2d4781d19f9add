/* SPDX-License-Identifier: MIT */
/*
 * softint: INT n, INT3, INT 3 and INTO whose delivery is cut off by an exit, from 32-bit protected
 * mode. Each runs with its stack at the top of a page the VMM gives the VM only at its first
 * access (guests/tests/README.md "demand-paged RAM"), so the first push of the delivery takes a
 * nested page fault: the event is in flight at the exit. Re-delivered right, each handler runs once
 * and returns to the instruction after the one that raised it (not as an external interrupt or an
 * exception, which would return to the instruction itself and run it again).
 *
 * FAIL codes:
 *   1  INT 0x80: handler ran != 1 time           2  INT 0x80: wrong return address
 *   3  INT3 (CC): handler ran != 1 time          4  INT3: wrong return address
 *   5  INT 3 (CD 03): handler ran != 1 time      6  INT 3: wrong return address
 *   7  INTO (CE) with OF=1: handler ran != 1 time 8  INTO: wrong return address
 *   9  an interrupt or exception with no handler of this test
 */
	.include "guest.inc"

	.set	IDT, 0x1000
	.set	IDT_ENTRIES, 0x81
	.set	LAZY, 0x1f0000			/* the first demand-paged RAM page */

/* Zero the count; the stack at the top of demand page \page (untouched so far). */
.macro RAISE page, cnt
	movl	$0, \cnt
	movl	$LAZY + (\page + 1) * 4096, %esp
.endm
/* Right after the raising instruction: the handler ran once and returned here. */
.macro CHECKED cnt, ret, fail_cnt, fail_ret
.Lafter\@:
	movl	$0x7c00, %esp
	cmpl	$1, \cnt
	EXPECT	e, \fail_cnt
	cmpl	$.Lafter\@, \ret
	EXPECT	e, \fail_ret
.endm

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	/* Every gate to `stray`, then the vectors of this test. */
	IDT32_FILL IDT, IDT_ENTRIES, stray
	IDT32_GATE IDT, 0x80, h80
	IDT32_GATE IDT, 3, h3
	IDT32_GATE IDT, 4, h4
	lidtl	idt32_desc

	RAISE	0, cnt80
	int	$0x80
	CHECKED	cnt80, ret80, 1, 2

	RAISE	1, cnt3
	int3
	CHECKED	cnt3, ret3, 3, 4

	RAISE	2, cnt3
	.byte	0xcd, 0x03			/* INT 3, the two-byte form */
	CHECKED	cnt3, ret3, 5, 6

	movb	$0x7f, %al
	addb	$1, %al				/* OF = 1 */
	RAISE	3, cnt4
	into
	CHECKED	cnt4, ret4, 7, 8

	PUTS	msg_ok
	PASS

h80:	incl	cnt80
	movl	(%esp), %eax
	movl	%eax, ret80
	iretl
h3:	incl	cnt3
	movl	(%esp), %eax
	movl	%eax, ret3
	iretl
h4:	incl	cnt4
	movl	(%esp), %eax
	movl	%eax, ret4
	iretl
stray:	FAIL	9

	BOOT_SIGNATURE
	/* The rest follows the boot sector (a flat image; README.md "Image format"). */
	PM32_GUEST_TAIL IDT, IDT_ENTRIES
msg:	.asciz	"softint: software interrupts cut off by exits\n"
msg_ok:	.asciz	"softint: each ran once and returned past its instruction\n"
	.p2align 2
cnt80:	.long	0
ret80:	.long	0
cnt3:	.long	0
ret3:	.long	0
cnt4:	.long	0
ret4:	.long	0
