/* SPDX-License-Identifier: MIT */
/*
 * dbloop: single-steps itself forever. In real mode with an IVT whose #DB (vector 1) handler
 * counts and returns with the flags it was entered with, TF set: every instruction of the spin
 * loop raises #DB, whose handler's IRET sets TF again. Every 65536 #DBs the handler prints
 * "65536 #DB" (one line per 65536). The host must intercept #DB (AMD APM 15.12: a guest may
 * otherwise hold a CPU in endless #DB delivery) and keep scheduling the tasks beside it. Never
 * reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	movw	$db_handler, 4		/* IVT entry 1: offset, segment 0 */
	movw	$0, 6
	xorl	%ebp, %ebp		/* #DBs counted by the handler */
	pushfw
	orw	$0x100, (%esp)		/* TF */
	popfw
spin:
	jmp	spin

db_handler:
	incl	%ebp
	testl	$0xffff, %ebp
	jnz	1f
	pushw	%si
	pushw	%ax
	PUTS	msg_db
	popw	%ax
	popw	%si
1:	iret

	PUTS_HELPER
msg:	.asciz	"single-stepping forever\n"
msg_db:	.asciz	"65536 #DB\n"
	BOOT_SIGNATURE
