/* SPDX-License-Identifier: MIT */
/*
 * mmioflood: prints "flooding MMIO", then from 32-bit protected mode with interrupts off writes and
 * reads the MMIO test window in a tight loop, forever: every access is a nested-paging fault the
 * VMM decodes and emulates. The host must go on scheduling the native tasks beside it. Never
 * reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32
	xorl	%ecx, %ecx
flood:
	movl	%ecx, MMIO_BASE + 4
	movl	MMIO_BASE, %eax
	incl	%ecx
	jmp	flood

	MODE16
	PUTS_HELPER
	GDT
msg:	.asciz	"flooding MMIO\n"
	BOOT_SIGNATURE
