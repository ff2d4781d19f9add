/* SPDX-License-Identifier: MIT */
/* Decoding a UTCB message header: one place decides how much of a message the kernel looks at. */
#include "msg.h"

struct msg_hdr msg_decode_counts(uint64_t untyped, uint64_t typed)
{
	struct msg_hdr h;
	h.untyped = (unsigned)MIN(untyped, (uint64_t)VIREO_UTCB_WORDS);
	h.typed = (unsigned)MIN(typed, (uint64_t)(VIREO_UTCB_WORDS - h.untyped) / 2);
	return h;
}

struct msg_hdr msg_decode(const struct vireo_utcb *u)
{
	/* One read of each count: a second read could see another value. */
	const volatile struct vireo_utcb *vu = u;
	uint16_t untyped = vu->untyped, typed = vu->typed;
	return msg_decode_counts(untyped, typed);
}
