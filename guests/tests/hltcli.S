/* SPDX-License-Identifier: MIT */
/*
 * hltcli: prints "halting with interrupts off", then `cli; hlt` forever. On bare hardware only an
 * NMI, SMI or INIT would wake it; in a VM the HLT must exit (the VMM stops the VM) and never hold
 * the host CPU. Never reports a result.
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
halt:
	cli
	hlt
	jmp	halt

	PUTS_HELPER
msg:	.asciz	"halting with interrupts off\n"
	BOOT_SIGNATURE
