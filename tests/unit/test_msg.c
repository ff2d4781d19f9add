/* SPDX-License-Identifier: MIT */
/* Specification of the UTCB message header decode: what the kernel reads of a message, at most. */
#include <criterion/criterion.h>
#include <string.h>

#include "msg.h"

#define W VIREO_UTCB_WORDS

/* Every decoded header lies inside mr[]: the words and the items never overlap or pass its end. */
static void expect_fits(struct msg_hdr h)
{
	cr_assert_leq(h.untyped, W);
	cr_assert_leq(h.untyped + 2 * h.typed, W, "untyped %u + 2 * typed %u passes mr[%d]",
		      h.untyped, h.typed, W);
	if (h.typed) {
		cr_assert_geq(msg_item_crd(h.typed - 1), h.untyped, "last item overlaps the words");
		cr_assert_lt(msg_item_hot(0), W);
	}
}

Test(msg, counts_that_fit_are_kept)
{
	struct msg_hdr h = msg_decode_counts(10, 3);
	cr_expect_eq(h.untyped, 10);
	cr_expect_eq(h.typed, 3);
	h = msg_decode_counts(0, W / 2);
	cr_expect_eq(h.untyped, 0);
	cr_expect_eq(h.typed, W / 2);
	h = msg_decode_counts(W, 0);
	cr_expect_eq(h.untyped, W);
	cr_expect_eq(h.typed, 0);
	h = msg_decode_counts(W - 2, 1);
	cr_expect_eq(h.untyped, W - 2);
	cr_expect_eq(h.typed, 1);
}

Test(msg, untyped_beyond_the_utcb_is_clamped_to_it_and_leaves_no_room_for_items)
{
	/* 500 words with items: the signed computation once made this about 4.29e9 items. */
	for (uint64_t t = 0; t <= 0xffff; t += 0x101) {
		struct msg_hdr h = msg_decode_counts(500, t);
		cr_expect_eq(h.untyped, W);
		cr_expect_eq(h.typed, 0, "500 words and %lu items decoded to %u items",
			     (unsigned long)t, h.typed);
	}
	struct msg_hdr h = msg_decode_counts(402, 1);
	cr_expect_eq(h.untyped, W);
	cr_expect_eq(h.typed, 0);
}

Test(msg, typed_items_are_clamped_to_the_words_left_after_the_untyped_ones)
{
	struct msg_hdr h = msg_decode_counts(300, 100);
	cr_expect_eq(h.untyped, 300);
	cr_expect_eq(h.typed, 50);
	h = msg_decode_counts(301, 100); /* an odd word left over holds no item */
	cr_expect_eq(h.typed, 49);
	h = msg_decode_counts(0, 0xffff);
	cr_expect_eq(h.typed, W / 2);
	h = msg_decode_counts(W - 1, 5);
	cr_expect_eq(h.typed, 0);
}

Test(msg, every_pair_of_16_bit_counts_decodes_inside_the_utcb)
{
	for (uint64_t u = 0; u <= 0xffff; u += (u < 2 * W ? 1 : 97)) {
		for (uint64_t t = 0; t <= 0xffff; t += (t < W ? 1 : 89)) {
			struct msg_hdr h = msg_decode_counts(u, t);
			expect_fits(h);
			/* Clamping only ever shrinks, and keeps what fits. */
			cr_assert_leq(h.untyped, u);
			cr_assert_leq(h.typed, t);
			if (u <= W) {
				cr_assert_eq(h.untyped, u);
			}
			if (u + 2 * t <= W) {
				cr_assert_eq(h.typed, t);
			}
		}
	}
}

Test(msg, huge_counts_do_not_wrap)
{
	struct msg_hdr h = msg_decode_counts(UINT64_MAX, UINT64_MAX);
	cr_expect_eq(h.untyped, W);
	cr_expect_eq(h.typed, 0);
	h = msg_decode_counts(0, UINT64_MAX);
	cr_expect_eq(h.typed, W / 2);
	expect_fits(h);
}

Test(msg, decode_reads_the_counts_of_a_utcb)
{
	static struct vireo_utcb u;
	memset(&u, 0, sizeof(u));
	u.untyped = 500;
	u.typed = 7;
	struct msg_hdr h = msg_decode(&u);
	cr_expect_eq(h.untyped, W);
	cr_expect_eq(h.typed, 0);
	u.untyped = 4;
	u.typed = 0xffff;
	h = msg_decode(&u);
	cr_expect_eq(h.untyped, 4);
	cr_expect_eq(h.typed, (W - 4) / 2);
}

Test(msg, item_words_count_down_from_the_end_of_mr)
{
	cr_expect_eq(msg_item_crd(0), W - 2);
	cr_expect_eq(msg_item_hot(0), W - 1);
	cr_expect_eq(msg_item_crd(1), W - 4);
	cr_expect_eq(msg_item_hot(W / 2 - 1), 1);
	cr_expect_eq(msg_item_crd(W / 2 - 1), 0);
}
