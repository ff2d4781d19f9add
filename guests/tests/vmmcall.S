/* SPDX-License-Identifier: MIT */
/*
 * vmmcall: the VMMCALL hypercall (0F 01 D9) from real mode: RAX = function, RBX/RCX/RDX = arguments,
 * result in RAX, RIP advanced past the 3-byte instruction. Real mode sees the low 32 bits of each
 * register; the VMM starts us with all GPRs 0, and the checks hold whether it computes in 32 or 64 bits.
 *
 * FAIL codes:
 *   1  add (fn 1): 0x1000 + 0x200 + 0x30 != 0x1230
 *   2  add changed EBX     3  add changed ECX     4  add changed EDX
 *   5  add changed ESI/EDI/EBP or SP (registers the call does not use)
 *   6  add with carry out of bit 31: 0xffffffff + 1 + 0 -> low 32 bits != 0
 *   7  version (fn 2) != 0x00010000
 *   8  unknown function 0xdead: EAX != 0xffffffff
 *   9  unknown function 0: EAX != 0xffffffff
 *  10  #UD: VMMCALL reached the guest as an invalid instruction (the VMM did not handle it; on
 *      Intel VMX, 0F 01 D9 raises #UD in the guest unless the VMM intercepts #UD and emulates it)
 */
	.include "guest.inc"

.macro VMMCALL
	.byte	0x0f, 0x01, 0xd9
.endm

	GUEST_START
	PUTS	msg
	movw	$ud_handler, 6 * 4	/* IVT entry 6 (#UD) -> 0000:ud_handler */
	movw	$0, 6 * 4 + 2

	movl	$0x51515151, %esi
	movl	$0xd1d1d1d1, %edi
	movl	$0xb0b0b0b0, %ebp
	movl	$1, %eax
	movl	$0x1000, %ebx
	movl	$0x200, %ecx
	movl	$0x30, %edx
	VMMCALL
	CHECK	%eax, 0x1230, 1
	CHECK	%ebx, 0x1000, 2
	CHECK	%ecx, 0x200, 3
	CHECK	%edx, 0x30, 4
	cmpl	$0x51515151, %esi
	EXPECT	e, 5
	cmpl	$0xd1d1d1d1, %edi
	EXPECT	e, 5
	cmpl	$0xb0b0b0b0, %ebp
	EXPECT	e, 5
	cmpw	$0x7c00, %sp
	EXPECT	e, 5

	movl	$1, %eax
	movl	$0xffffffff, %ebx
	movl	$1, %ecx
	xorl	%edx, %edx
	VMMCALL
	CHECK	%eax, 0, 6

	movl	$2, %eax
	VMMCALL
	CHECK	%eax, 0x00010000, 7

	movl	$0xdead, %eax
	VMMCALL
	CHECK	%eax, 0xffffffff, 8

	xorl	%eax, %eax
	VMMCALL
	CHECK	%eax, 0xffffffff, 9

	PASS

ud_handler:
	FAIL	10

	HELPERS
msg:	.asciz	"vmmcall: add, version, unknown\n"
	BOOT_SIGNATURE
