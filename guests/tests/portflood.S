/* SPDX-License-Identifier: MIT */
/*
 * portflood: prints "flooding ports", then with interrupts off writes and reads ports with no
 * device behind them in a tight loop, forever: every access exits to the VMM. The host must go on
 * scheduling the native tasks beside it. Never reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	cli
	xorl	%eax, %eax
flood:
	outb	%al, $0x80
	inb	$0x81, %al
	movw	$0x1234, %dx
	outl	%eax, %dx
	incl	%eax
	jmp	flood

	PUTS_HELPER
msg:	.asciz	"flooding ports\n"
	BOOT_SIGNATURE
