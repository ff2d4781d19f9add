/* SPDX-License-Identifier: MIT */
/*
 * recall: a recall of the vCPU that comes while the VMM handles an exit (not while the guest runs)
 * is kept, and the next resume returns VM_EXIT_RECALL. `out 0xfe` makes the VMM recall its own
 * vCPU from its exit handler; `in 0xfe` returns how many recall exits the VMM has seen.
 *
 * FAIL codes:
 *   1  no recall exit after the recall (it was lost)     2  more than one recall exit
 *   3  a second recall was lost                         4  the count changed without a recall
 */
	.include "guest.inc"

	.set	PORT_RECALL, 0xfe

	GUEST_START
	PUTS	msg
	inl	$PORT_RECALL, %eax
	movl	%eax, %ebx			/* recall exits so far (0) */
	outb	%al, $PORT_RECALL		/* the VMM recalls its vCPU while handling this exit */
	inl	$PORT_RECALL, %eax
	subl	%ebx, %eax
	EXPECT	nz, 1
	CHECK	%eax, 1, 2
	outb	%al, $PORT_RECALL		/* again: each recall is one exit */
	inl	$PORT_RECALL, %eax
	subl	%ebx, %eax
	CHECK	%eax, 2, 3
	movl	$0x1234, %eax			/* unrelated exits do not count */
	outl	%eax, $PORT_ECHO
	inl	$PORT_RECALL, %eax
	subl	%ebx, %eax
	CHECK	%eax, 2, 4
	PUTS	msg_ok
	PASS

	HELPERS
msg:	.asciz	"recall: recalls while the VMM runs\n"
msg_ok:	.asciz	"recall: each kept for the next resume\n"
	BOOT_SIGNATURE
