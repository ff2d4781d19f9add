/* SPDX-License-Identifier: MIT */
/*
 * posted: interrupts posted by another thread of the VMM on another CPU (SYS_VCPU_POST, docs/ABI.md
 * "Posted interrupts") while this guest runs; none may be lost or doubled. Run with "vmm cpu=1
 * post=R": the VMM's main thread on CPU 0 posts vectors 0x47 .. 0x40 at once, R rounds (each
 * round waits until the guest counted the round), then 20 single posts of 0x47 (their latency
 * from post to handler is a bench line). Guest-physical words, shared with the VMM:
 *   0x500 count of interrupts taken    0x504 "RDY!" from the guest, then "DONE" from the VMM
 *   0x508 TSC at the last handler      0x510 total the VMM posted   0x514 / 0x518 posts of each
 *   of 0x40-0x46 / of 0x47             0x520 + 2 i: interrupts of vector 0x40 + i taken
 * The guest spins with IF=1, in parts without exits and with a port 0x80 exit between them, so
 * posts come while it runs, while the kernel re-enters it and while the VMM handles an exit.
 *
 * FAIL codes:
 *   1  the total taken differs from the total the VMM posted
 *   2  a vector in 0x40-0x46 was taken other than R times
 *   3  vector 0x47 was taken other than R + 20 times
 *   4  a vector that was not posted was delivered
 */
	.include "guest.inc"

	.set	COUNT, 0x500
	.set	STATE, 0x504
	.set	TSC, 0x508
	.set	TOTAL, 0x510
	.set	EACH, 0x514
	.set	EACH47, 0x518
	.set	VCOUNT, 0x520
	.set	READY, 0x21594452	/* "RDY!" */
	.set	DONE, 0x454e4f44	/* "DONE" */

	GUEST_START
	PUTS	msg
	IVT_FILL bad_vector
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	movw	$irq\i, (0x40 + \i) * 4
	movw	$0, (0x40 + \i) * 4 + 2
	.endr
	xorl	%eax, %eax
	movw	$COUNT, %di
	movw	$16, %cx
	rep stosl			/* 0x500 .. 0x53f = 0 */
	lidt	ivt_desc
	movl	$READY, STATE
	sti
1:	movl	$2000, %ecx
2:	addr32 loop 2b			/* no exits: posts come in the guest */
	outb	%al, $0x80		/* an exit: posts come while the VMM handles it */
	cmpl	$DONE, STATE
	jne	1b
	movl	$0x40000, %ecx
3:	addr32 loop 3b			/* a late duplicate would arrive now */
	cli
	movl	COUNT, %eax
	cmpl	TOTAL, %eax
	EXPECT	e, 1
	movw	EACH, %ax
	.irp	i, 0, 1, 2, 3, 4, 5, 6
	cmpw	VCOUNT + 2 * \i, %ax
	EXPECT	e, 2
	.endr
	movw	EACH47, %ax
	cmpw	VCOUNT + 2 * 7, %ax
	EXPECT	e, 3
	PUTS	msg_ok
	PASS

	HELPERS
ivt_desc:
	.word	0x3ff
	.long	0
msg:	.asciz	"posted: counting interrupts posted from CPU 0\n"
msg_ok:	.asciz	"posted: each posted interrupt taken exactly once\n"
	BOOT_SIGNATURE
	/* The image goes on past its first sector (the VMM loads up to 64 KiB). */
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
irq\i:
	incw	%cs:VCOUNT + 2 * \i
	jmp	common
	.endr
common:
	pushl	%eax
	pushl	%edx
	rdtsc
	movl	%eax, %cs:TSC
	movl	%edx, %cs:TSC + 4
	incl	%cs:COUNT		/* after the TSC: the VMM reads the count first */
	popl	%edx
	popl	%eax
	iret

bad_vector:
	movb	$4, %al
	jmp	fail16

