/* SPDX-License-Identifier: MIT */
/*
 * loop: prints "spinning forever", then spins with interrupts off and never exits to the VMM again
 * (no I/O, no HLT). Used to show that a guest which never exits does not starve native tasks: the
 * host's timer must still preempt the vCPU. Never reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	cli
spin:
	jmp	spin

	PUTS_HELPER
msg:	.asciz	"spinning forever\n"
	BOOT_SIGNATURE
