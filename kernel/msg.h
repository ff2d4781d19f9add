/* SPDX-License-Identifier: MIT */
/*
 * The header of a UTCB message, decoded once and clamped before the kernel acts on it. The UTCB
 * is user memory that other threads of the PD may rewrite at any time, so IPC reads the counts
 * exactly once, here, and uses only the result (docs/ABI.md, "IPC and the UTCB").
 */
#ifndef KERNEL_MSG_H
#define KERNEL_MSG_H

#include <vireo/utcb.h>

#include "types.h"

/* A message that fits: untyped <= VIREO_UTCB_WORDS and untyped + 2 * typed <= VIREO_UTCB_WORDS. */
struct msg_hdr {
	unsigned untyped; /* words mr[0 .. untyped) */
	unsigned typed;	  /* two-word items from the end of mr[] down */
};

/* The clamping rule: untyped words first (at most the whole of mr[]), then as many typed items
 * as fit in the words left over. Pure: no memory is read. */
struct msg_hdr msg_decode_counts(uint64_t untyped, uint64_t typed);
/* Read `u`'s counts once and decode them. */
struct msg_hdr msg_decode(const struct vireo_utcb *u);
/* Word indices of typed item `i` (i < typed of a decoded header): its CRD and its flags word. */
static inline unsigned msg_item_crd(unsigned i)
{
	return VIREO_UTCB_WORDS - 2 - 2 * i;
}
static inline unsigned msg_item_hot(unsigned i)
{
	return VIREO_UTCB_WORDS - 1 - 2 * i;
}

#endif
