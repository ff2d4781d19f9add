/* SPDX-License-Identifier: MIT */
/*
 * acloop: an endless alignment-check loop (the CVE-2015-5307 pattern). 32-bit protected mode,
 * CR0.AM, then ring 3 with EFLAGS.AC reading a misaligned dword: #AC, whose handler returns to
 * the faulting instruction, which faults again, forever. On hardware that does not intercept #AC
 * the CPU never leaves this event delivery. Every 65536 #ACs the handler prints "65536 #AC".
 * An emulator that does not implement alignment checking (QEMU's TCG) raises no #AC: the guest
 * then says so once ("no #AC from this CPU") and spins in ring 3 instead. Never reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	xorl	%ebp, %ebp			/* #ACs counted by the handler */
	ENTER_RING3 17, ac_handler, 1 << 18, 0x43002, ring3	/* AC, IOPL 3 (for the console) */

ring3:
	movl	$0x9001, %ebx
	movl	(%ebx), %eax			/* the first one: does this CPU check alignment? */
	testl	%ebp, %ebp
	jnz	misaligned
	movl	$msg_none, %esi
	call	puts32
ring3_spin:
	jmp	ring3_spin
misaligned:
	movl	(%ebx), %eax			/* #AC: CPL 3, CR0.AM, EFLAGS.AC, 4-byte read at 0x9001 */
	jmp	misaligned

ac_handler:
	addl	$4, %esp			/* the error code (0) */
	incl	%ebp
	testl	$0xffff, %ebp
	jnz	1f
	pushl	%eax
	pushl	%esi
	PUTS	msg_ac
	popl	%esi
	popl	%eax
1:	iretl					/* back to the faulting instruction */

	PUTS_HELPER
	MODE16
	PUTS_HELPER
	GDT_RING3
msg:	.asciz	"alignment-check loop\n"
msg_ac:	.asciz	"65536 #AC\n"
msg_none: .asciz "no #AC from this CPU: spinning in ring 3\n"
	BOOT_SIGNATURE
