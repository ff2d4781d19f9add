/* SPDX-License-Identifier: MIT */
/*
 * msrpass: MSRs the VMM passes through (module word "msrpass", docs/ABI.md "Intercept control")
 * are read and written by the guest without VM exits, and the values take effect. From real
 * mode (CPL 0), counting the VMM's RDMSR and WRMSR exits on the counter port 0xec:
 *
 *   1. 100 WRMSRs of FS_BASE: no WRMSR exit; RDMSR reads the last value back, no RDMSR exit.
 *   2. FS_BASE = 0x9000 takes effect: %fs:0 reads the word stored at 0x9000 through DS.
 *   3. LSTAR and SYSENTER_EIP: written and read back without exits.
 *   4. EFER is not passed through: its RDMSR exits (the counter can count).
 *
 * FAIL codes:
 *   1  a WRMSR of FS_BASE exited            2  FS_BASE read back wrong
 *   3  a RDMSR of a passed MSR exited       4  %fs:0 did not use the written FS base
 *   5  LSTAR or SYSENTER_EIP read back wrong, or exited
 *   6  the RDMSR of EFER did not exit (the counter is not counting)
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	PORT_COUNTER, 0xec
	.set	COUNT_RDMSR, 0
	.set	COUNT_WRMSR, 1
	.set	N, 100

/* EAX = the VMM's counter \which (the OUT and IN are port exits, not MSR exits). */
.macro COUNTER which
	movb	$\which, %al
	outb	%al, $PORT_COUNTER
	inl	$PORT_COUNTER, %eax
.endm

	GUEST_START
	PUTS	msg

	/* 1. FS_BASE, N times. */
	COUNTER	COUNT_WRMSR
	movl	%eax, %edi
	movl	$MSR_FS_BASE, %ecx
	movl	$N, %ebp
1:	movl	%ebp, %eax
	shll	$12, %eax
	xorl	%edx, %edx
	wrmsr
	decl	%ebp
	jnz	1b
	COUNTER	COUNT_WRMSR
	cmpl	%eax, %edi
	EXPECT	e, 1
	COUNTER	COUNT_RDMSR
	movl	%eax, %edi
	movl	$MSR_FS_BASE, %ecx
	rdmsr
	CHECK	%eax, 0x1000, 2
	CHECK	%edx, 0, 2
	COUNTER	COUNT_RDMSR
	cmpl	%eax, %edi
	EXPECT	e, 3

	/* 2. The base is the guest's segment base now. */
	movw	$0x5a17, 0x9000
	movl	$MSR_FS_BASE, %ecx
	movl	$0x9000, %eax
	xorl	%edx, %edx
	wrmsr
	movw	%fs:0, %ax
	CHECK	%ax, 0x5a17, 4

	/* 3. A SYSCALL and a SYSENTER MSR. */
	COUNTER	COUNT_WRMSR
	movl	%eax, %edi
	movl	$MSR_LSTAR, %ecx
	movl	$0x81800000, %eax
	movl	$0xffffffff, %edx
	wrmsr
	movl	$MSR_SYSENTER_EIP, %ecx
	movl	$0x12345678, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$MSR_LSTAR, %ecx
	rdmsr
	CHECK	%eax, 0x81800000, 5
	CHECK	%edx, 0xffffffff, 5
	movl	$MSR_SYSENTER_EIP, %ecx
	rdmsr
	CHECK	%eax, 0x12345678, 5
	COUNTER	COUNT_WRMSR
	cmpl	%eax, %edi
	EXPECT	e, 5

	/* 4. EFER exits. */
	COUNTER	COUNT_RDMSR
	movl	%eax, %edi
	movl	$MSR_EFER, %ecx
	rdmsr
	COUNTER	COUNT_RDMSR
	decl	%eax
	cmpl	%eax, %edi
	EXPECT	e, 6

	PUTS	done
	PASS

	HELPERS
msg:	.asciz	"msrpass: FS_BASE, LSTAR, SYSENTER_EIP without exits\n"
done:	.asciz	"msrpass: 100 FS_BASE writes, 0 MSR exits\n"
	BOOT_SIGNATURE
