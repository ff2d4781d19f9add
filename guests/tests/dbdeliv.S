/* SPDX-License-Identifier: MIT */
/*
 * dbdeliv: #DB raised by the delivery of #DB (the CVE-2015-8104 pattern). 32-bit protected mode,
 * ring 3 with TF set, and a data breakpoint (DR0/DR7, 4-byte write) on the slot of the ring-0
 * stack where every delivery from ring 3 pushes SS: each single-step #DB's delivery triggers the
 * breakpoint, whose #DB hits the handler before its first instruction. The handler counts and
 * returns (to ring 3 with TF again, in the end). On hardware that does not intercept #DB, a
 * guest can keep a CPU in such deliveries. Every 65536 #DBs the handler prints "65536 #DB".
 * Never reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	xorl	%ebp, %ebp			/* #DBs counted by the handler */
	movl	$RING3_ESP0 - 4, %eax
	movl	%eax, %dr0
	movl	$0x000d0703, %eax		/* L0 G0 LE GE, R/W0 = write, LEN0 = 4 bytes */
	movl	%eax, %dr7
	ENTER_RING3 1, db_handler, 0, 0x102, ring3

ring3:
	incl	%eax
	jmp	ring3

db_handler:
	incl	%ebp
	testl	$0xffff, %ebp
	jnz	1f
	pushl	%eax
	pushl	%esi
	PUTS	msg_db
	popl	%esi
	popl	%eax
1:	iretl

	PUTS_HELPER
	MODE16
	PUTS_HELPER
	GDT_RING3
msg:	.asciz	"#DB on #DB delivery\n"
msg_db:	.asciz	"65536 #DB\n"
	BOOT_SIGNATURE
