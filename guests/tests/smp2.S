/* SPDX-License-Identifier: MIT */
/*
 * smp2: two vCPUs of one VM on two CPUs, in one guest space (the VMM's vcpus=2). The first runs
 * from 0x7c00, the second from 0x8000 (real mode, as a SIPI with vector 8 starts an AP; the VMM
 * starts it at once). The first opens a gate in memory; both add 1 to one counter 10000 times
 * with LOCK INC; the second writes a marker, a done flag and halts; the first waits for the flag
 * and checks the counter and the marker. A vCPU that ran in another guest space, or a lost
 * increment, shows as a wrong value.
 *
 * FAIL codes:
 *   1  the second vCPU did not finish (no done flag after a long wait)
 *   2  the counter is not 20000: an increment was lost or a vCPU saw other memory
 *   3  the second vCPU's marker is missing
 */
#include "x86defs.h"
	.include "guest.inc"

	.set	GATE, 0x9000
	.set	COUNTER, 0x9004
	.set	DONE, 0x9008
	.set	MARKER, 0x900c
	.set	AP_MAGIC, 0x0a11ce
	.set	ROUNDS, 10000

	GUEST_START
	PUTS	msg
	movw	$1, GATE
	movl	$ROUNDS, %ecx
1:	lock incl COUNTER
	loop	1b

	movl	$0x40000000, %ecx
2:	cmpw	$1, DONE
	je	3f
	pause
	addr32 loop 2b
	FAIL	1
3:	cmpl	$2 * ROUNDS, COUNTER
	EXPECT	e, 2
	cmpl	$AP_MAGIC, MARKER
	EXPECT	e, 3
	PUTS	msg_ok
	PASS

	HELPERS
msg:	.asciz	"smp2: vCPU 0 opens the gate\n"
msg_ok:	.asciz	"smp2: 20000 increments from two vCPUs\n"
	BOOT_SIGNATURE

	/* The second vCPU, at guest-physical 0x8000. */
	.org	0x8000 - 0x7c00
ap:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
4:	cmpw	$1, GATE
	je	5f
	pause
	jmp	4b
5:	movl	$ROUNDS, %ecx
6:	lock incl COUNTER
	loop	6b
	movl	$AP_MAGIC, MARKER
	movw	$1, DONE
	hlt
	jmp	ap
