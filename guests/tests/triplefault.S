/* SPDX-License-Identifier: MIT */
/*
 * triplefault: IDTR limit 0, then int3. In real mode the vector lies beyond the IDT limit, so the
 * delivery raises #GP, whose delivery raises #GP again -> #DF -> delivering #DF fails -> triple fault
 * -> SHUTDOWN. The guest never reports a result: the VMM must report the shutdown, and the run
 * must end without taking the host (or the task beside it) down.
 *
 * FAIL codes (only if the CPU somehow survives):
 *   1  execution continued after int3        2  ... and after ud2
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	lidt	zero_idt
	int3
	FAIL	1
	ud2
	FAIL	2

	HELPERS
zero_idt:
	.word	0			/* limit 0: no vector fits */
	.long	0
msg:	.asciz	"about to triple fault\n"
	BOOT_SIGNATURE
