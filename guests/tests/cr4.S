/* SPDX-License-Identifier: MIT */
/*
 * cr4: a guest sets the CR4 bits it owns that this CPU has (CPUID leaf 1 ECX.XSAVE -> OSXSAVE;
 * leaf 7 EBX.FSGSBASE, SMEP, SMAP; ECX.UMIP, PKU -> PKE), then exits several times (port I/O,
 * CPUID): every resume must still enter the guest, with CR4 unchanged. Real mode (MOV CR4 works at
 * CPL 0; none of these bits needs paging to be set).
 *
 * FAIL codes:
 *   1  the CPU has none of these bits: nothing to test (run with the manifest's -cpu flags)
 *   2  CR4 read back after the exits differs from what was written
 *   3  the echo port after the CR4 write returned a wrong value
 */
	.include "guest.inc"

	.set	CR4_UMIP, 1 << 11
	.set	CR4_FSGSBASE, 1 << 16
	.set	CR4_OSXSAVE, 1 << 18
	.set	CR4_SMEP, 1 << 20
	.set	CR4_SMAP, 1 << 21
	.set	CR4_PKE, 1 << 22

/* If bit \bit of \reg is set, add \cr4 to EDI. */
.macro WANT reg, bit, cr4
	btl	$\bit, \reg
	jnc	.Lno\@
	orl	$\cr4, %edi
.Lno\@:
.endm

	GUEST_START
	PUTS	msg
	xorl	%edi, %edi
	movl	$1, %eax
	cpuid
	WANT	%ecx, 26, CR4_OSXSAVE
	xorl	%eax, %eax
	cpuid
	cmpl	$7, %eax
	jb	1f
	movl	$7, %eax
	xorl	%ecx, %ecx
	cpuid
	WANT	%ebx, 0, CR4_FSGSBASE
	WANT	%ebx, 7, CR4_SMEP
	WANT	%ebx, 20, CR4_SMAP
	WANT	%ecx, 2, CR4_UMIP
	WANT	%ecx, 3, CR4_PKE
1:	testl	%edi, %edi
	EXPECT	nz, 1
	movl	%cr4, %eax
	orl	%edi, %eax
	movl	%eax, %esi			/* what CR4 must stay */
	movl	%eax, %cr4
	/* Exits, each followed by a resume with the guest's CR4. */
	movl	$0x1234, %eax
	outl	%eax, $PORT_ECHO
	inl	$PORT_ECHO, %eax
	CHECK	%eax, 0xffffedcb, 3
	xorl	%eax, %eax
	cpuid
	movl	%cr4, %eax
	cmpl	%esi, %eax
	EXPECT	e, 2
	PUTS	msg_ok
	PASS

	HELPERS
msg:	.asciz	"cr4: setting the guest-owned bits the CPU has\n"
msg_ok:	.asciz	"cr4: set, and kept across exits\n"
	BOOT_SIGNATURE
