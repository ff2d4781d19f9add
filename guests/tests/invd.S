/* SPDX-License-Identifier: MIT */
/*
 * invd: executes INVD twice, the second time with a prefix the VMM's decoder must step over, then
 * WBINVD, and checks that execution goes on after each with memory intact. The kernel intercepts
 * both (a guest must not drop the host's dirty cache lines nor stall the machine); the VMM skips
 * them. The test checks the VMM's count of those exits ("invd/wbinvd 3" in its summary line).
 *
 * FAIL codes:
 *   1  a value written just before the first INVD is gone after it
 *   2  the same after the second INVD        3  the same after WBINVD
 */
	.include "guest.inc"

	GUEST_START
	PUTS	msg
	movl	$0x1234abcd, 0x9000
	invd
	cmpl	$0x1234abcd, 0x9000
	EXPECT	e, 1
	movl	$0x5678ef01, 0x9000
	.byte	0x2e			/* CS segment prefix (ignored by INVD) */
	invd
	cmpl	$0x5678ef01, 0x9000
	EXPECT	e, 2
	wbinvd
	cmpl	$0x5678ef01, 0x9000
	EXPECT	e, 3
	PASS

	HELPERS
msg:	.asciz	"INVD twice, WBINVD\n"
	BOOT_SIGNATURE
