/* SPDX-License-Identifier: MIT */
/*
 * cpuid: the VMM's CPUID filter, checked from real mode (CPUID works in every mode).
 * Prints the leaf-0 vendor string, the host processor's (e.g. "cpuid: vendor AuthenticAMD").
 *
 * FAIL codes:
 *   1  leaf 0 EBX is "Vire": the vendor is not the processor's   (2, 3 are no longer used)
 *   4  leaf 0 EAX (max basic leaf) < 1
 *   5  leaf 1 ECX bit 31 (hypervisor) clear              6  leaf 1 ECX bit 5 (VMX) set
 *   7  leaf 0x40000000 EAX != 0x40000001
 *   8  leaf 0x40000000 EBX != "Vire"   9  ECX != "oVMM"   10  EDX != 0
 *  11  leaf 0x80000000 EAX (max extended leaf) < 0x80000001
 *  12  leaf 0x80000001 ECX bit 2 (SVM) set
 *  13  leaf 1 ECX bit 21 (x2APIC) set: the VMM has no APIC model
 *  14  leaf 0x40000001 is not all zeros (the VMM defines no hypervisor features)
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	VIRE, 0x65726956	/* "Vire" */
	.set	OVMM, 0x4d4d566f	/* "oVMM" */

	GUEST_START

	xorl	%eax, %eax
	xorl	%ecx, %ecx
	cpuid
	movl	%eax, %edi		/* PUTS clobbers AL */
	movl	%ebx, vendor
	movl	%edx, vendor + 4
	movl	%ecx, vendor + 8
	PUTS	msg			/* "cpuid: vendor " + the 12 vendor bytes + "\n" */
	cmpl	$VIRE, %ebx
	EXPECT	ne, 1
	cmpl	$1, %edi
	EXPECT	ae, 4

	movl	$1, %eax
	xorl	%ecx, %ecx
	cpuid
	testl	$CPUID_1_ECX_HYPERVISOR, %ecx
	EXPECT	nz, 5
	testl	$CPUID_1_ECX_VMX, %ecx
	EXPECT	z, 6
	testl	$CPUID_1_ECX_X2APIC, %ecx
	EXPECT	z, 13

	movl	$0x40000000, %eax
	xorl	%ecx, %ecx
	cpuid
	CHECK	%eax, 0x40000001, 7
	CHECK	%ebx, VIRE, 8
	CHECK	%ecx, OVMM, 9
	CHECK	%edx, 0, 10

	movl	$0x40000001, %eax
	xorl	%ecx, %ecx
	cpuid
	orl	%ebx, %eax
	orl	%ecx, %eax
	orl	%edx, %eax
	CHECK	%eax, 0, 14

	movl	$0x80000000, %eax
	xorl	%ecx, %ecx
	cpuid
	cmpl	$0x80000001, %eax
	EXPECT	ae, 11
	movl	$0x80000001, %eax
	xorl	%ecx, %ecx
	cpuid
	testl	$CPUID_80000001_ECX_SVM, %ecx
	EXPECT	z, 12

	PASS

	HELPERS
msg:	.ascii	"cpuid: vendor "
vendor:	.ascii	"????????????"
	.asciz	"\n"
	BOOT_SIGNATURE
