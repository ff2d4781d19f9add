/* SPDX-License-Identifier: MIT */
/* common/string.c against a byte-by-byte reference: every length, alignment and overlap. */
#define memcpy vs_memcpy
#define memmove vs_memmove
#define memset vs_memset
#define memcmp vs_memcmp
#define strlen vs_strlen
#define strnlen vs_strnlen
#define strcmp vs_strcmp
#define strncmp vs_strncmp
#define strchr vs_strchr
#include "../../common/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr

#include <criterion/criterion.h>
#include <string.h>

#define BUF 96

static void fill(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		b[i] = (unsigned char)(seed * 31 + i * 7 + 1);
	}
}

Test(string, memcpy_copies_exactly_n_bytes_at_every_alignment)
{
	unsigned char src[BUF], dst[BUF], ref[BUF];
	for (size_t so = 0; so < 8; so++) {
		for (size_t d_o = 0; d_o < 8; d_o++) {
			for (size_t n = 0; n <= BUF - 16; n++) {
				fill(src, BUF, (unsigned)(so + n));
				memset(dst, 0xee, BUF);
				memset(ref, 0xee, BUF);
				for (size_t i = 0; i < n; i++) {
					ref[d_o + i] = src[so + i];
				}
				void *r = vs_memcpy(dst + d_o, src + so, n);
				cr_assert_eq(r, dst + d_o);
				cr_assert_arr_eq(dst, ref, BUF, "so=%zu do=%zu n=%zu", so, d_o, n);
			}
		}
	}
}

Test(string, memset_fills_exactly_n_bytes_with_the_low_byte)
{
	unsigned char b[BUF], ref[BUF];
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= BUF - 8; n++) {
			memset(b, 0x11, BUF);
			memset(ref, 0x11, BUF);
			for (size_t i = 0; i < n; i++) {
				ref[off + i] = 0xa5;
			}
			void *r = vs_memset(b + off, 0x3a5, n); /* only the low byte counts */
			cr_assert_eq(r, b + off);
			cr_assert_arr_eq(b, ref, BUF, "off=%zu n=%zu", off, n);
		}
	}
}

Test(string, memmove_handles_overlap_in_both_directions)
{
	unsigned char b[BUF], ref[BUF];
	for (int shift = -20; shift <= 20; shift++) {
		for (size_t n = 0; n <= 40; n++) {
			size_t s = 30, d = (size_t)(30 + shift);
			fill(b, BUF, (unsigned)n);
			memcpy(ref, b, BUF);
			memmove(ref + d, ref + s, n); /* the host's, as reference */
			void *r = vs_memmove(b + d, b + s, n);
			cr_assert_eq(r, b + d);
			cr_assert_arr_eq(b, ref, BUF, "shift=%d n=%zu", shift, n);
		}
	}
}

Test(string, memcmp_orders_by_first_differing_unsigned_byte)
{
	unsigned char a[16] = { 1, 2, 3, 0x80 }, b[16] = { 1, 2, 3, 0x7f };
	cr_assert_gt(vs_memcmp(a, b, 4), 0);
	cr_assert_lt(vs_memcmp(b, a, 4), 0);
	cr_assert_eq(vs_memcmp(a, b, 3), 0);
	cr_assert_eq(vs_memcmp(a, b, 0), 0);
}
