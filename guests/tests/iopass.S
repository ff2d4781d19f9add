/* SPDX-License-Identifier: MIT */
/*
 * iopass: ports the VMM passes through (module word "ioport=0x80-0x87", docs/architecture.md
 * #vm-io-space) reach the machine's own device without VM exits, until the VMM revokes them.
 * Port 0x81 is a DMA page register on the PCs QEMU and Bochs emulate: it reads back what was
 * written. The VMM has no device there, so an access that exits reads 0xff. From real mode,
 * counting the VMM's I/O exits at its ioport= range on the counter port 0xec:
 *
 *   1. N times OUT then IN of port 0x81 (values 0..0xfe): each reads back; no exit counted
 *      (the TSC ticks of steps 1 and 3 are left at 0x508 and 0x50c for the VMM to print).
 *   2. `rep outsb` of 4 bytes and `rep insb` of 4 bytes at port 0x82 (string I/O passes too).
 *   3. Port 0xea: the VMM revokes the range, at once or (VMM word "ioport_async") from its main
 *      thread on another CPU while the guest runs: OUT/IN of port 0x81 until an IN reads 0xff
 *      (the VMM's empty bus: the access exited), then until port 0xea counts the revoke; then
 *      M times OUT then IN of port 0x81: each IN reads 0xff, and 2 * M more exits are counted.
 *
 * FAIL codes:
 *   1  port 0x81 did not read back (not passed through)   2  an access in step 1 or 2 exited
 *   3  rep insb read wrong bytes                           4  after the revoke an IN did not exit
 *   5  after the revoke the exits counted are not 2 * M    6  the VMM did not count a revoke
 *   7  the revoke never took effect (20,000,000 OUT/IN pairs still passed through)
 */
	.include "guest.inc"

	.set	PORT_COUNTER, 0xec
	.set	PORT_IOREVOKE, 0xea
	.set	COUNT_IOPASS, 6
	.set	PORT_PASS, 0x81
	.set	PORT_PASS2, 0x82
	.set	N, 1000
	.set	M, 50
	.set	BUF, 0x600
	.set	POLL_MAX, 20000000
	.set	POLL_LEFT, 0x504	/* ECX when the first access exited (vmm/main.c reads it) */
	.set	TSC_PASS, 0x508		/* TSC ticks of the N passed-through round trips (it too) */
	.set	TSC_EXIT, 0x50c		/* and of the M exiting ones */

/* EAX = the VMM's counter \which (the OUT and IN are exits, but not at the passed ports). */
.macro COUNTER which
	movb	$\which, %al
	outb	%al, $PORT_COUNTER
	inl	$PORT_COUNTER, %eax
.endm

	GUEST_START
	PUTS	msg

	/* 1. N round trips through the device; BL = the value, never 0xff. */
	rdtsc
	movl	%eax, %esi
	movw	$N, %cx
	xorb	%bl, %bl
1:	movb	%bl, %al
	outb	%al, $PORT_PASS
	inb	$PORT_PASS, %al
	cmpb	%bl, %al
	EXPECT	e, 1
	incb	%bl
	cmpb	$0xff, %bl
	jne	2f
	xorb	%bl, %bl
2:	loop	1b
	rdtsc
	subl	%esi, %eax
	movl	%eax, TSC_PASS

	/* 2. String I/O: the last byte written is the one the register holds. */
	movw	$bytes, %si
	movw	$4, %cx
	movw	$PORT_PASS2, %dx
	rep outsb
	movw	$BUF, %di
	movw	$4, %cx
	rep insb
	cmpl	$0x44444444, BUF
	EXPECT	e, 3
	COUNTER	COUNT_IOPASS
	testl	%eax, %eax
	EXPECT	z, 2

	/* 3. The revoke: at once, or (ioport_async) from another CPU while this loop runs. */
	outb	%al, $PORT_IOREVOKE
	movl	$POLL_MAX, %ecx
3:	movb	$0x5a, %al
	outb	%al, $PORT_PASS
	inb	$PORT_PASS, %al
	cmpb	$0xff, %al
	je	4f
	decl	%ecx
	jnz	3b
	FAIL	7
4:	movl	%ecx, POLL_LEFT		/* for the VMM's report: how long the revoke took */
	movl	$POLL_MAX, %ecx		/* the VMM counts the revoke once it returned */
5:	inb	$PORT_IOREVOKE, %al
	cmpb	$1, %al
	je	6f
	decl	%ecx
	jnz	5b
	FAIL	6
	/* Revoked: every access exits, and the VMM has no device at the port. */
6:	COUNTER	COUNT_IOPASS
	movl	%eax, %edi
	rdtsc
	movl	%eax, %esi
	movw	$M, %cx
7:	movb	$0x5a, %al
	outb	%al, $PORT_PASS
	inb	$PORT_PASS, %al
	CHECK	%al, 0xff, 4
	loop	7b
	rdtsc
	subl	%esi, %eax
	movl	%eax, TSC_EXIT
	COUNTER	COUNT_IOPASS
	subl	%edi, %eax
	CHECK	%eax, (2*M), 5

	PUTS	msg_ok
	PASS

	HELPERS
bytes:	.byte	0x11, 0x22, 0x33, 0x44
msg:	.asciz	"iopass: 1000 round trips through port 0x81\n"
msg_ok:	.asciz	"iopass: revoked: every access exits\n"
	BOOT_SIGNATURE
