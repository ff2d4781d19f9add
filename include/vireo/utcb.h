/* SPDX-License-Identifier: MIT */
/* The user thread control block: message registers and the exception state of exception IPC. */
#ifndef VIREO_UTCB_H
#define VIREO_UTCB_H

#include <stdint.h>

/* Message transfer descriptor bits: which groups of exception state an IPC carries (docs/architecture.md#exception-ipc). */
#define MTD_GPR_ACDB 0x001   /* rax rbx rcx rdx */
#define MTD_GPR_BSD 0x002    /* rbp rsi rdi */
#define MTD_GPR_R8_R15 0x004 /* r8 - r15 */
#define MTD_RSP 0x008
#define MTD_RIP 0x010
#define MTD_RFLAGS 0x020
#define MTD_QUAL 0x040 /* vector, error code, fault address: read-only */
#define MTD_ALL 0x07f

/* Architectural state in an exception IPC. */
struct vireo_exc_state {
	uint64_t rax, rbx, rcx, rdx;
	uint64_t rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rsp, rip, rflags;
	uint64_t vector, error, fault_addr;
};

#define VIREO_UTCB_WORDS 400

/*
 * One page, mapped in the EC's PD at the address given at creation. A message is `untyped` words
 * from mr[0] up and `typed` two-word items from the end of mr[] down: item i is
 * mr[VIREO_UTCB_WORDS - 2 - 2*i] (a CRD in the sender's space) and the word after it (bit 0:
 * VIREO_DELEGATE_GRANT; bits 12-63: destination base in the receiver's space, which must lie in
 * the receiver's receive window for that space). The kernel clamps the counts before it uses
 * them: untyped to at most VIREO_UTCB_WORDS, then typed to the items that fit in the words left,
 * (VIREO_UTCB_WORDS - untyped) / 2.
 */
struct vireo_utcb {
	uint16_t untyped;
	uint16_t typed;
	uint32_t reserved;
	uint64_t rcv_window[4]; /* indexed by CRD space: where delegated items may land */
	uint64_t mtd; /* exception IPC: groups valid in exc (in), groups to apply (reply) */
	struct vireo_exc_state exc;
	uint64_t mr[VIREO_UTCB_WORDS];
};

_Static_assert(sizeof(struct vireo_utcb) <= 4096, "the UTCB is one page");

#endif
