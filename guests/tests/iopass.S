/* SPDX-License-Identifier: MIT */
/*
 * iopass: ports the VMM passes through (module word "ioport=0x80-0x87", docs/architecture.md
 * #vm-io-space) reach the machine's own device without VM exits, until the VMM revokes them.
 * Port 0x81 is a DMA page register on the PCs QEMU and Bochs emulate: it reads back what was
 * written. The VMM has no device there, so an access that exits reads 0xff. From real mode,
 * counting the VMM's I/O exits at its ioport= range on the counter port 0xec:
 *
 *   1. N times OUT then IN of port 0x81 (values 0..0xfe): each reads back; no exit counted.
 *   2. `rep outsb` of 4 bytes and `rep insb` of 4 bytes at port 0x82 (string I/O passes too).
 *   3. Port 0xea: the VMM revokes the range; M times OUT then IN of port 0x81: each IN reads 0xff
 *      (the VMM's empty bus), and 2 * M exits are counted.
 *
 * FAIL codes:
 *   1  port 0x81 did not read back (not passed through)   2  an access in step 1 or 2 exited
 *   3  rep insb read wrong bytes                           4  after the revoke an IN did not exit
 *   5  after the revoke the exits counted are not 2 * M    6  the VMM did not revoke (port 0xea)
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

/* EAX = the VMM's counter \which (the OUT and IN are exits, but not at the passed ports). */
.macro COUNTER which
	movb	$\which, %al
	outb	%al, $PORT_COUNTER
	inl	$PORT_COUNTER, %eax
.endm

	GUEST_START
	PUTS	msg

	/* 1. N round trips through the device; BL = the value, never 0xff. */
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

	/* 3. Revoked: every access exits, and the VMM has no device at the port. */
	outb	%al, $PORT_IOREVOKE
	inb	$PORT_IOREVOKE, %al
	CHECK	%al, 1, 6
	movw	$M, %cx
3:	movb	$0x5a, %al
	outb	%al, $PORT_PASS
	inb	$PORT_PASS, %al
	CHECK	%al, 0xff, 4
	loop	3b
	COUNTER	COUNT_IOPASS
	CHECK	%eax, (2*M), 5

	PUTS	msg_ok
	PASS

	HELPERS
bytes:	.byte	0x11, 0x22, 0x33, 0x44
msg:	.asciz	"iopass: 1000 round trips through port 0x81\n"
msg_ok:	.asciz	"iopass: revoked: every access exits\n"
	BOOT_SIGNATURE
