/* SPDX-License-Identifier: MIT */
/*
 * cpuid_loop: the cost of one CPUID VM exit round trip (guest -> kernel -> VMM exit handler ->
 * SYS_VCPU_RESUME -> kernel -> guest), measured from real mode with RDTSC. The VMM does not intercept
 * RDTSC, and under QEMU `-icount shift=0` the TSC counts executed instructions (`make bench`), so the
 * numbers are instructions, host and guest together.
 *
 * Two loops of N iterations, identical except for one instruction:
 *   exiting:      xor eax,eax; cpuid (leaf 0, intercepted); dec ebp; jnz
 *   not exiting:  xor eax,eax; add ebx,eax;                 dec ebp; jnz
 * Each loop's TSC delta (64-bit) divided by N (two 32-bit DIVs, so a delta >= N * 2^32 cannot
 * overflow; the average then saturates at 0xffffffff) is reported on the bench ports
 * (guests/tests/README.md): `out 0xe0, eax` = average per CPUID iteration, `out 0xe4, eax` = average
 * per non-exiting iteration. Their difference is the round trip minus the `add` it replaces.
 * A third loop writes the echo port instead (a port-I/O exit the VMM emulates): `out 0xe8, eax`
 * = average per iteration. Then PASS.
 *
 * FAIL codes:
 *   1  leaf 0x40000000 did not return the VMM's signature ("Vire" in EBX): CPUID was not
 *      intercepted
 *   2  the CPUID loop took fewer TSC ticks per iteration than the non-exiting loop
 */
	.include "guest.inc"

	.set	PORT_BENCH_EXIT, 0xe0	/* out (32-bit): average TSC ticks per exiting iteration */
	.set	PORT_BENCH_LOOP, 0xe4	/* out (32-bit): average TSC ticks per non-exiting iteration */
	.set	PORT_BENCH_IO, 0xe8	/* out (32-bit): average TSC ticks per port-I/O iteration */
	.set	PORT_ECHO, 0xf8
	.set	N, 1000
	.set	VIRE, 0x65726956	/* "Vire" */

	GUEST_START
	PUTS	msg

	/* Warm up (first exit, first decode of this CPUID) and check that CPUID exits at all. */
	movl	$0x40000000, %eax
	cpuid
	CHECK	%ebx, VIRE, 1
	xorl	%eax, %eax
	cpuid

	/* The exiting loop. RDTSC -> ESI:EDI is untouched by CPUID and the loop. */
	movl	$N, %ebp
	rdtsc
	movl	%eax, %edi
	movl	%edx, %esi
1:	xorl	%eax, %eax
	cpuid
	decl	%ebp
	jnz	1b
	rdtsc
	call	average			/* EAX = (EDX:EAX - ESI:EDI) / N */
	movl	%eax, %ebx		/* kept for the sanity check below */
	outl	%eax, $PORT_BENCH_EXIT

	/* The same loop with a register add in place of CPUID. */
	movl	$N, %ebp
	rdtsc
	movl	%eax, %edi
	movl	%edx, %esi
1:	xorl	%eax, %eax
	addl	%ebx, %eax
	decl	%ebp
	jnz	1b
	rdtsc
	call	average
	outl	%eax, $PORT_BENCH_LOOP

	cmpl	%eax, %ebx
	EXPECT	a, 2

	/* The same loop with a port write the VMM emulates (the echo port) in place of CPUID. */
	movl	$N, %ebp
	rdtsc
	movl	%eax, %edi
	movl	%edx, %esi
1:	xorl	%eax, %eax
	outl	%eax, $PORT_ECHO
	decl	%ebp
	jnz	1b
	rdtsc
	call	average
	outl	%eax, $PORT_BENCH_IO
	PASS

/* EAX = min((EDX:EAX - ESI:EDI) / N, 0xffffffff), 64-bit difference, two 32-bit divisions.
 * Clobbers ECX, EDX. */
average:
	subl	%edi, %eax
	sbbl	%esi, %edx		/* EDX:EAX = 64-bit delta */
	movl	$N, %ecx
	pushl	%eax
	movl	%edx, %eax
	xorl	%edx, %edx
	divl	%ecx			/* EAX = high quotient, EDX = remainder (< N) */
	testl	%eax, %eax
	popl	%eax
	jnz	2f			/* quotient >= 2^32: saturate */
	divl	%ecx			/* EDX:EAX / N, EDX < N so it fits in 32 bits */
	ret
2:	movl	$0xffffffff, %eax
	ret

	HELPERS
msg:	.asciz	"cpuid_loop: 1000 CPUID exits, 1000 non-exiting iterations, 1000 port writes\n"
	BOOT_SIGNATURE
