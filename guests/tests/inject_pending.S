/* SPDX-License-Identifier: MIT */
/*
 * inject_pending: an event cut off by an exit and a new injection at the same resume are both
 * delivered, the cut-off one first (docs/ABI.md "Events"). From 32-bit protected mode with IF=1:
 * port 0xfd arms vector 0x21 "beside the next pending event", port 0xfc arms vector 0x20; the VMM
 * injects 0x20 at once, but the stack is at the top of a demand-paged page, so its delivery takes
 * a nested page fault: 0x20 is pending at that exit, where the VMM also injects 0x21.
 *
 * FAIL codes:
 *   1  no interrupt arrived            2  only one of the two arrived      3  more than two
 *   4  the first was not 0x20 (the pending one)                        5  the second not 0x21
 *   6  an interrupt or exception with no handler of this test
 *   7  0x21 arrived inside the handler of 0x20, which runs with interrupts off
 */
	.include "guest.inc"

	.set	IDT, 0x1000
	.set	IDT_ENTRIES, 0x30
	.set	PORT_IRQ2, 0xfd
	.set	LAZY_TOP, 0x1f6000		/* top of demand-paged page 0x1f5000 */

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	IDT32_FILL IDT, IDT_ENTRIES, stray
	IDT32_GATE IDT, 0x20, h20
	IDT32_GATE IDT, 0x21, h21
	lidtl	idt32_desc

	sti
	nop
	movb	$0x21, %al
	outb	%al, $PORT_IRQ2
	movl	$LAZY_TOP, %esp			/* untouched until the interrupt pushes */
	movb	$0x20, %al
	outb	%al, $PORT_IRQ
	movl	$100000, %ecx			/* both arrive here (the second at the first window) */
2:	loop	2b
	cli
	movl	$0x7c00, %esp

	movl	seen_n, %eax
	testl	%eax, %eax
	EXPECT	nz, 1
	cmpl	$2, %eax
	EXPECT	ae, 2
	EXPECT	be, 3
	movb	seen, %al
	CHECK	%al, 0x20, 4
	movb	seen + 1, %al
	CHECK	%al, 0x21, 5
	cmpl	$0, nested
	EXPECT	e, 7
	PUTS	msg_ok
	PASS

/* The end of the handler of vector \vec: note it in seen[] (the first four), return. */
.macro RECORD vec
r\vec:	pushl	%eax
	movl	seen_n, %eax
	cmpl	$4, %eax
	jae	.Lfull\@
	movb	$0x\vec, seen(%eax)
.Lfull\@:
	incl	seen_n
	popl	%eax
	iretl
.endm
h20:	movl	$1, in20
	pushl	%ecx
	movl	$20000000, %ecx		/* long enough for host ticks to end guest runs */
3:	loop	3b
	popl	%ecx
	movl	$0, in20
	jmp	r20
h21:	cmpl	$0, in20
	je	r21
	movl	$1, nested
	jmp	r21
	RECORD	20
	RECORD	21
stray:	FAIL	6

	BOOT_SIGNATURE
	PM32_GUEST_TAIL IDT, IDT_ENTRIES
msg:	.asciz	"inject_pending: an injection beside a pending event\n"
msg_ok:	.asciz	"inject_pending: both delivered, pending first\n"
	.p2align 2
seen_n:	.long	0
in20:	.long	0
nested:	.long	0
seen:	.byte	0, 0, 0, 0
