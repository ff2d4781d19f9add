/* SPDX-License-Identifier: MIT */
/*
 * msr: the VMM's MSR policy, checked from real mode. Every IVT entry points at `bad_vector`
 * except 13 (#GP), whose handler counts and steps over the 2-byte RDMSR/WRMSR that faulted.
 *
 *   1. rdmsr of IA32_APIC_BASE (the VMM has no APIC) and wrmsr of an MSR that does not exist:
 *      #GP each, RIP at the instruction, EDX:EAX unchanged by the rdmsr.
 *   2. STAR and SYSENTER_CS, emulated: what is written reads back, no #GP.
 *   3. values hardware refuses: EFER.SVME (SVM is hidden), a PAT entry of reserved type 2: #GP.
 *   4. the TSC reads without #GP.
 *
 * FAIL codes:
 *   1  rdmsr of APIC_BASE did not raise #GP        2  ... and changed EAX or EDX
 *   3  wrmsr of MSR 0x4b564d99 (none) did not raise #GP
 *   4  STAR read back wrong                        5  STAR or SYSENTER_CS raised #GP
 *   6  SYSENTER_CS read back wrong
 *   7  wrmsr EFER with SVME did not raise #GP      8  wrmsr PAT with type 2 did not raise #GP
 *   9  rdmsr TSC raised #GP
 *  10  an interrupt or exception other than #GP arrived (any IVT entry but 13)
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	MSR_NONE, 0x4b564d99	/* in the range no CPU defines */

	GUEST_START
	PUTS	msg

	IVT_FILL bad_vector
	movw	$gp_handler, EXC_GP * 4
	movw	$0, EXC_GP * 4 + 2
	lidt	ivt_desc

	/* 1. unknown MSRs */
	movl	$MSR_APIC_BASE, %ecx
	movl	$0x5a5a5a5a, %eax
	movl	%eax, %edx
	rdmsr
	cmpb	$1, gp_count
	EXPECT	e, 1
	cmpl	$0x5a5a5a5a, %eax
	EXPECT	e, 2
	cmpl	$0x5a5a5a5a, %edx
	EXPECT	e, 2
	movl	$MSR_NONE, %ecx
	wrmsr
	cmpb	$2, gp_count
	EXPECT	e, 3

	/* 2. emulated MSRs keep what the guest writes */
	movl	$MSR_STAR, %ecx
	movl	$0x00230010, %edx
	xorl	%eax, %eax
	wrmsr
	xorl	%edx, %edx
	rdmsr
	CHECK	%edx, 0x00230010, 4
	movl	$MSR_SYSENTER_CS, %ecx
	xorl	%edx, %edx
	movl	$0x10, %eax
	wrmsr
	xorl	%eax, %eax
	rdmsr
	CHECK	%eax, 0x10, 6
	cmpb	$2, gp_count
	EXPECT	e, 5

	/* 3. refused values */
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_SVME, %eax
	wrmsr
	cmpb	$3, gp_count
	EXPECT	e, 7
	movl	$MSR_PAT, %ecx
	rdmsr
	andl	$0xffffff00, %eax
	orl	$2, %eax
	wrmsr
	cmpb	$4, gp_count
	EXPECT	e, 8

	/* 4. the TSC */
	movl	$MSR_TSC, %ecx
	rdmsr
	cmpb	$4, gp_count
	EXPECT	e, 9

	PUTS	msg_ok
	PASS

/* #GP: count, step over the faulting RDMSR/WRMSR (0F 32 / 0F 30) and return. */
gp_handler:
	pushw	%bp
	movw	%sp, %bp
	addw	$2, 2(%bp)		/* the return IP */
	popw	%bp
	incb	%cs:gp_count
	iret

bad_vector:
	movb	$10, %al
	jmp	fail16

	HELPERS
ivt_desc:
	.word	0x3ff
	.long	0
gp_count:
	.byte	0
msg:	.asciz	"msr: unknown MSRs and refused values raise #GP\n"
msg_ok:	.asciz	"msr: 4 #GP, emulated MSRs read back\n"
	BOOT_SIGNATURE
