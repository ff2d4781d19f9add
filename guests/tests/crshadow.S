/* SPDX-License-Identifier: MIT */
/*
 * crshadow: CR4 with a guest/host mask and a read shadow (docs/ABI.md "Intercept control"). The
 * VMM owns CR4.DE (module word "cr4own=8"): DE is set in the real register, and the guest reads
 * its shadow (0 at reset). From real mode, with the VMM's counters on port 0xec:
 *
 *   1. MOV from CR4 reads DE = 0 (the shadow) though the real CR4 has it set.
 *   2. Setting OSFXSR (a bit the guest owns) changes the real CR4; it reads back; the VMM counts
 *      a write of guest-owned bits, none of its own.
 *   3. Setting DE (the VMM's bit) changes the shadow only: CR4 reads DE = 1, the VMM counts one
 *      write of its bit; clearing it again reads DE = 0; the real DE stays set throughout.
 *
 * Which exits there are depends on the backend (docs/ABI.md "Intercept control"), which the CPU
 * vendor tells: VT-x (GenuineIntel) has the masks in hardware, so neither the reads nor the write
 * of a guest-owned bit exit, only the two writes of DE do; SVM intercepts every access to a masked
 * register and the VMM emulates it, so the read and the OSFXSR write exit as well.
 *
 * FAIL codes:
 *   1  the guest read DE = 1 (the real bit, not the shadow), or the real CR4 lacks DE
 *   2  OSFXSR did not read back, or did not reach the real CR4
 *   3  the VMM counted the guest-owned write wrong
 *   4  the shadow did not follow the guest's write of DE
 *   5  the VMM counted the writes of its bit wrong
 *   6  the real DE changed
 *   7  SVM: no CR access exits: the mask was not applied (run with "cr4own=8")
 *   8  VT-x: a read or a write of a guest-owned bit exited, or the DE writes did not
 */
	.include "guest.inc"

	.set	PORT_COUNTER, 0xec
	.set	COUNT_CR_OWNED, 2
	.set	COUNT_CR_VMM, 3
	.set	COUNT_CR4_REAL, 4
	.set	COUNT_CR_EXITS, 5
	.set	CR4_DE, 1 << 3
	.set	CR4_OSFXSR, 1 << 9

.macro COUNTER which
	movb	$\which, %al
	outb	%al, $PORT_COUNTER
	inl	$PORT_COUNTER, %eax
.endm

	GUEST_START
	PUTS	msg

	/* EDI = 1 on VT-x (CPUID 0: EBX "Genu"), where the masks are the hardware's. */
	xorl	%eax, %eax
	cpuid
	xorl	%edi, %edi
	cmpl	$0x756e6547, %ebx
	jne	0f
	incl	%edi
0:

	/* 1. The shadow hides the VMM's bit. */
	movl	%cr4, %eax
	testl	$CR4_DE, %eax
	EXPECT	z, 1
	COUNTER	COUNT_CR_EXITS
	testl	%edi, %edi
	jz	0f
	testl	%eax, %eax
	EXPECT	z, 8
	jmp	1f
0:	testl	%eax, %eax
	EXPECT	nz, 7
1:
	COUNTER	COUNT_CR4_REAL
	testl	$CR4_DE, %eax
	EXPECT	nz, 1

	/* 2. A bit the guest owns. */
	movl	%cr4, %eax
	orl	$CR4_OSFXSR, %eax
	movl	%eax, %cr4
	movl	%cr4, %eax
	CHECK	%eax, CR4_OSFXSR, 2
	COUNTER	COUNT_CR4_REAL
	CHECK	%eax, CR4_OSFXSR | CR4_DE, 2
	COUNTER	COUNT_CR_OWNED
	addl	%edi, %eax /* VT-x: 0 exits, SVM: 1 */
	CHECK	%eax, 1, 3
	COUNTER	COUNT_CR_VMM
	CHECK	%eax, 0, 3

	/* 3. The VMM's bit: the shadow follows, the register does not. */
	movl	$CR4_OSFXSR | CR4_DE, %eax
	movl	%eax, %cr4
	movl	%cr4, %eax
	CHECK	%eax, CR4_OSFXSR | CR4_DE, 4
	movl	$CR4_OSFXSR, %eax
	movl	%eax, %cr4
	movl	%cr4, %eax
	CHECK	%eax, CR4_OSFXSR, 4
	COUNTER	COUNT_CR_VMM
	CHECK	%eax, 2, 5
	COUNTER	COUNT_CR4_REAL
	CHECK	%eax, CR4_OSFXSR | CR4_DE, 6
	testl	%edi, %edi
	jz	0f
	COUNTER	COUNT_CR_EXITS
	CHECK	%eax, 2, 8 /* VT-x: the two writes of DE, nothing else */
0:

	PUTS	done
	PASS

	HELPERS
msg:	.asciz	"crshadow: CR4.DE is the VMM's, OSFXSR the guest's\n"
done:	.asciz	"crshadow: shadow reads, guest-owned and VMM-owned writes as specified\n"
	BOOT_SIGNATURE
