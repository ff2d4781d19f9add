/* SPDX-License-Identifier: MIT */
/*
 * bigmem: a guest with 1 GiB of RAM (the VMM's mem=1024) touches all of it from 32-bit protected
 * mode without paging: a distinct dword at the bottom and at the top of every 2 MiB of
 * guest-physical 2 MiB .. 1 GiB, the last one at 0x3ffffffc, then reads them all back. Every
 * large flexpage and nested page-table leaf that backs the RAM is hit, and an aliased or missing
 * part shows as a wrong value (or as an exit the VMM cannot place).
 *
 * FAIL codes:
 *   1  the dword at the bottom of a 2 MiB chunk did not read back
 *   2  the dword at the top of a 2 MiB chunk did not read back
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	RAM_TOP, 0x40000000
	.set	CHUNK, 0x200000
	.set	PATTERN, 0x5a5aa5a5

	GUEST_START
	PUTS	msg
	ENTER_PM32 pm32

	movl	$CHUNK, %ebx
fill:
	movl	%ebx, %eax
	xorl	$PATTERN, %eax
	movl	%eax, (%ebx)
	notl	%eax
	movl	%eax, CHUNK - 4(%ebx)
	addl	$CHUNK, %ebx
	cmpl	$RAM_TOP, %ebx
	jb	fill

	movl	$CHUNK, %ebx
check:
	movl	%ebx, %eax
	xorl	$PATTERN, %eax
	cmpl	%eax, (%ebx)
	EXPECT	e, 1
	notl	%eax
	cmpl	%eax, CHUNK - 4(%ebx)
	EXPECT	e, 2
	addl	$CHUNK, %ebx
	cmpl	$RAM_TOP, %ebx
	jb	check

	PUTS	msg_ok
	PASS

	HELPERS
	MODE16
	HELPERS
	GDT
msg:	.asciz	"bigmem: touching 1 GiB of guest RAM\n"
msg_ok:	.asciz	"bigmem: 512 chunks up to 0x3ffffffc read back\n"
	BOOT_SIGNATURE
