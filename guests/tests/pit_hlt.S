/* SPDX-License-Identifier: MIT */
/*
 * pit_hlt: the 8254 at 1 kHz wakes the guest from HLT on time (docs/ABI.md "Timeouts": the VMM
 * sleeps in HLT until the next PIT edge with a microsecond timeout, not until a 10 ms tick).
 * Real mode; the 8259A master at vector base 8 in auto-EOI mode with only IRQ 0 unmasked, so
 * that the handler makes no exit (an emulated exit costs a good part of a millisecond).
 *
 *   1. TSC ticks per 10 ms, from PIT channel 2 in mode 0 (its output in port 0x61 bit 5).
 *   2. Channel 0 in mode 2 at 1193 counts (1 ms); sti; hlt; cli until N = 100 IRQs came, each
 *      HLT woken by at least one. They take at most 3 N ms of TSC (a VMM that wakes only at
 *      10 ms ticks takes 10 N ms: the PIT's edges in between are coalesced).
 *   3. Wake-up latency, guest-visible: M = 10 times hlt, then latch channel 0: 1193 - count is
 *      how long after the edge the guest ran again (plus the latch exit). The mean in
 *      microseconds goes to bench port 0x104 ("bench: hlt_wakeup_latency <n> us").
 *
 * FAIL codes:
 *   1  the calibration measured no TSC ticks
 *   2  an HLT returned without an IRQ 0
 *   3  the N IRQs took longer than 3 N ms
 *   4  a vector other than 8 was delivered
 */
	.include "guest.inc"

	.set	VEC_IRQ0, 0x08
	.set	N, 100
	.set	M, 10
	.set	PIT_1MS, 1193		/* 1.193182 MHz / 1000 */
	.set	PIT_10MS, 11932

	GUEST_START
	PUTS	msg
	IVT_FILL bad_vector
	movw	$irq0, VEC_IRQ0 * 4
	movw	$0, VEC_IRQ0 * 4 + 2
	lidt	ivt_desc

	/* 8259A master: edge, cascade, vectors 8-15, 8086 mode; all but IRQ 0 masked */
	movb	$0x11, %al
	outb	%al, $0x20
	movb	$VEC_IRQ0, %al
	outb	%al, $0x21
	movb	$0x04, %al
	outb	%al, $0x21
	movb	$0x03, %al		/* ICW4: auto-EOI, 8086 */
	outb	%al, $0x21
	movb	$0xfe, %al
	outb	%al, $0x21

	/* 1. calibrate: channel 2, mode 0, 10 ms; gate on, speaker off */
	inb	$0x61, %al
	andb	$0xfc, %al
	orb	$0x01, %al
	outb	%al, $0x61
	movb	$0xb0, %al
	outb	%al, $0x43
	movb	$(PIT_10MS & 0xff), %al
	outb	%al, $0x42
	movb	$(PIT_10MS >> 8), %al
	outb	%al, $0x42
	rdtsc
	movl	%eax, %esi
1:	inb	$0x61, %al
	testb	$0x20, %al
	jz	1b
	rdtsc
	subl	%esi, %eax
	movl	%eax, cal
	testl	%eax, %eax
	EXPECT	nz, 1

	/* 2. channel 0, mode 2, 1 kHz; the first edge only synchronises */
	movb	$0x34, %al
	outb	%al, $0x43
	movb	$(PIT_1MS & 0xff), %al
	outb	%al, $0x40
	movb	$(PIT_1MS >> 8), %al
	outb	%al, $0x40
	sti
	hlt
	cli
	movl	$0, lat_sum
	movl	$0, count
	rdtsc
	movl	%eax, t0_lo
	movl	%edx, t0_hi
2:	movl	count, %ebx
	sti
	hlt
	cli
	cmpl	count, %ebx
	EXPECT	ne, 2
	cmpl	$N, count
	jb	2b
	rdtsc
	subl	t0_lo, %eax
	sbbl	t0_hi, %edx
	movl	%eax, %ebx		/* elapsed TSC, if it fits in 32 bits */
	testl	%edx, %edx
	EXPECT	z, 3
	movl	cal, %eax
	movl	$(3 * N / 10), %edx
	mull	%edx			/* 3 N ms of TSC in EDX:EAX */
	testl	%edx, %edx
	jnz	3f
	cmpl	%eax, %ebx
	EXPECT	be, 3
3:
	/* 3. latency: M times hlt, then latch; the mean in us = sum of counts * 838 ns / 1000 M */
	movl	$M, %ecx
4:	sti
	hlt
	cli
	xorl	%eax, %eax
	outb	%al, $0x43		/* latch channel 0 */
	inb	$0x40, %al
	movb	%al, %dl
	inb	$0x40, %al
	movb	%al, %dh
	movzwl	%dx, %edx
	movl	$PIT_1MS, %eax
	subl	%edx, %eax		/* mode 2 counts 1193 .. 1: counts since the edge */
	addl	%eax, lat_sum
	decl	%ecx
	jnz	4b
	movl	lat_sum, %eax
	movl	$838, %edx
	mull	%edx
	movl	$(1000 * M), %ecx
	divl	%ecx
	movw	$0x104, %dx
	outl	%eax, %dx
	PUTS	msg_ok
	PASS

irq0:
	incl	%cs:count		/* auto-EOI: nothing else to do */
	iret

bad_vector:
	movb	$4, %al
	jmp	fail16

	HELPERS
ivt_desc:
	.word	0x3ff
	.long	0
	.p2align 2
cal:	.long	0
t0_lo:	.long	0
t0_hi:	.long	0
lat_sum: .long	0
count:	.long	0
msg:	.asciz	"pit_hlt: 100 HLTs woken by the PIT at 1 kHz\n"
msg_ok:	.asciz	"pit_hlt: on time\n"
	BOOT_SIGNATURE
