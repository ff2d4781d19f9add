/* SPDX-License-Identifier: MIT */
/*
 * hlt_irq: an external interrupt injected by the VMM's test device wakes the guest from HLT.
 * Real mode: every IVT entry points at `bad_vector` except entry 0x20, which points at `irq20`
 * (counts, records whether IF was clear inside the handler, irets).
 *
 *   1. arm the one-shot (out 0xfc, al=0x20); sti; hlt; cli -> the handler ran exactly once.
 *   2. with IF=1 and no HLT, spin a while: the one-shot must not fire again.
 *   3. arm again, spin with IF=0: nothing may be delivered; then sti; hlt -> delivered now.
 *
 * FAIL codes:
 *   1  woke from HLT but the handler had not run (count 0)
 *   2  handler ran more than once for one arming
 *   3  IF was set inside the handler (real-mode interrupt delivery must clear it)
 *   4  IF not restored to 1 by iret after the handler
 *   5  the one-shot fired again without being re-armed
 *   6  an interrupt was delivered while IF=0 (right after arming, or during the IF=0 spin)
 *   7  second arming: woke from HLT without the handler running
 *   8  a vector other than 0x20 was delivered (any IVT entry but 0x20)
 */
	.include "guest.inc"

	.set	VECTOR, 0x20
	.set	SPIN, 0x4000		/* iterations of the wait loops */

	GUEST_START
	PUTS	msg

	/* IVT: 256 entries -> bad_vector, then entry 0x20 -> irq20 (segment 0) */
	IVT_FILL bad_vector
	movw	$irq20, VECTOR * 4
	movw	$0, VECTOR * 4 + 2
	movb	$0, count
	movb	$0, if_in_handler
	lidt	ivt_desc		/* IDTR = 0:0x3ff (a BIOS may have left it anything) */

	/* 1. one interrupt wakes HLT */
	movb	$VECTOR, %al
	outb	%al, $PORT_IRQ
	cmpb	$0, count		/* IF=0 still: nothing may have arrived */
	EXPECT	e, 6
	sti
	hlt
	pushfw				/* FLAGS as iret left them */
	cli
	popw	%dx
	movb	count, %al
	cmpb	$1, %al
	EXPECT	ae, 1
	EXPECT	e, 2
	cmpb	$0, if_in_handler
	EXPECT	e, 3
	testw	$0x200, %dx
	EXPECT	nz, 4

	/* 2. it was a one-shot: IF=1 for a while, nothing more arrives */
	sti
	movl	$SPIN, %ecx
2:	addr32 loop 2b
	cli
	cmpb	$1, count
	EXPECT	e, 5

	/* 3. armed while IF=0: held back until sti; hlt */
	movb	$VECTOR, %al
	outb	%al, $PORT_IRQ
	movl	$SPIN, %ecx
3:	addr32 loop 3b
	cmpb	$1, count
	EXPECT	e, 6
	sti
	hlt
	cli
	cmpb	$2, count
	EXPECT	e, 7

	PUTS	msg_ok
	PASS

irq20:
	pushw	%ax
	pushfw
	popw	%ax
	andb	$0x02, %ah		/* IF is bit 9 = bit 1 of AH */
	orb	%ah, %cs:if_in_handler
	incb	%cs:count
	popw	%ax
	iret

bad_vector:
	movb	$8, %al
	jmp	fail16

	HELPERS
ivt_desc:
	.word	0x3ff
	.long	0
count:	.byte	0
if_in_handler:
	.byte	0
msg:	.asciz	"hlt_irq: waiting for vector 0x20\n"
msg_ok:	.asciz	"hlt_irq: woken twice\n"
	BOOT_SIGNATURE
