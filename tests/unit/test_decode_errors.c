/* SPDX-License-Identifier: MIT */
/* Specification of the decoder's errors and of its bounds on random input (run under ASan). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/decode.h"

static struct decode_insn in;

/* Copies n bytes to the very end of a heap block of exactly n bytes, so ASan sees any over-read. */
static int decode_tight(const uint8_t *bytes, size_t n, enum decode_mode mode)
{
	uint8_t *buf = malloc(n ? n : 1);
	cr_assert_not_null(buf);
	memcpy(buf, bytes, n);
	int r = decode_insn(buf, n, mode, &in);
	free(buf);
	return r;
}

Test(decode, nothing_to_read_is_truncated)
{
	cr_expect_eq(decode_insn(NULL, 0, DECODE_64, &in), DECODE_ERR_TRUNCATED);
}

Test(decode, an_unknown_mode_is_unsupported)
{
	uint8_t nop = 0x90;
	cr_expect_eq(decode_insn(&nop, 1, (enum decode_mode)3, &in), DECODE_ERR_UNSUPPORTED);
}

Test(decode, fourteen_prefixes_and_an_opcode_make_the_longest_instruction)
{
	uint8_t b[DECODE_MAX_LEN];
	memset(b, 0x66, 14);
	b[14] = 0x90;
	cr_expect_eq(decode_tight(b, 15, DECODE_32), 15);
}

Test(decode, fifteen_prefixes_are_too_long)
{
	uint8_t b[20];
	memset(b, 0x2e, sizeof(b));
	b[15] = 0x90;
	cr_expect_eq(decode_tight(b, 16, DECODE_32), DECODE_ERR_TOO_LONG);
	cr_expect_eq(decode_tight(b, 15, DECODE_32), DECODE_ERR_TOO_LONG);
	cr_expect_eq(decode_tight(b, sizeof(b), DECODE_64), DECODE_ERR_TOO_LONG);
	cr_expect_eq(decode_tight(b, 14, DECODE_32), DECODE_ERR_TRUNCATED);
}

Test(decode, repeated_rex_prefixes_count_toward_the_limit)
{
	uint8_t b[16];
	memset(b, 0x48, 15);
	b[15] = 0x90;
	cr_expect_eq(decode_tight(b, 16, DECODE_64), DECODE_ERR_TOO_LONG);
}

Test(decode, operands_past_byte_15_are_too_long_not_truncated)
{
	uint8_t b[DECODE_MAX_LEN] = { 0 };
	memset(b, 0xf0, 8);
	b[8] = 0x48;
	b[9] = 0x81; /* add qword [rax+disp32], imm32: 19 bytes */
	b[10] = 0x80;
	cr_expect_eq(decode_tight(b, 11, DECODE_64), DECODE_ERR_TOO_LONG);
	cr_expect_eq(decode_tight(b, 15, DECODE_64), DECODE_ERR_TOO_LONG);
	b[10] = 0x00; /* add qword [rax], imm32: 15 bytes */
	cr_expect_eq(decode_tight(b, 13, DECODE_64), DECODE_ERR_TRUNCATED);
	cr_expect_eq(decode_tight(b, 15, DECODE_64), 15);
}

Test(decode, every_prefix_of_a_long_instruction_is_truncated)
{
	static const uint8_t b[] = { 0x64, 0x67, 0x48, 0xc7, 0x84, 0x88, 0x78,
				     0x56, 0x34, 0x12, 0x01, 0x02, 0x03, 0x04 };
	for (size_t n = 0; n < sizeof(b); n++) {
		cr_expect_eq(decode_tight(b, n, DECODE_64), DECODE_ERR_TRUNCATED, "cut at %zu", n);
	}
	cr_expect_eq(decode_tight(b, sizeof(b), DECODE_64), (int)sizeof(b));
}

struct bad {
	uint8_t len;
	uint8_t bytes[4];
};

/* Undefined in every mode, or left out (3DNow!, UD0, SSE4a EXTRQ/INSERTQ, MOV TRn, AMD XOP). */
static const struct bad undefined[] = {
	{ 2, { 0x0f, 0x04 } },
	{ 2, { 0x0f, 0x0a } },
	{ 2, { 0x0f, 0x0c } },
	{ 2, { 0x0f, 0x0e } },
	{ 2, { 0x0f, 0x0f } },
	{ 2, { 0x0f, 0x24 } },
	{ 2, { 0x0f, 0x26 } },
	{ 2, { 0x0f, 0x36 } },
	{ 2, { 0x0f, 0x39 } },
	{ 2, { 0x0f, 0x3b } },
	{ 2, { 0x0f, 0x3f } },
	{ 2, { 0x0f, 0x7a } },
	{ 2, { 0x0f, 0x7b } },
	{ 2, { 0x0f, 0xa6 } },
	{ 2, { 0x0f, 0xa7 } },
	{ 2, { 0x0f, 0xff } },
	{ 1, { 0xd6 } },
	{ 2, { 0x8f, 0xc8 } },
	{ 2, { 0x8f, 0x08 } },
	{ 2, { 0xfe, 0x10 } },
	{ 2, { 0xff, 0x38 } },
	{ 2, { 0xff, 0xf8 } },
	{ 2, { 0xc6, 0x08 } },
	{ 2, { 0xc7, 0xc8 } },
	{ 2, { 0xc6, 0xf9 } },
	{ 3, { 0x0f, 0x00, 0x30 } },
	{ 3, { 0x0f, 0x01, 0xc0 } },
	{ 3, { 0x0f, 0xba, 0x00 } },
	{ 3, { 0x0f, 0xc7, 0x00 } },
	{ 3, { 0x0f, 0xb8, 0xc0 } },
	{ 4, { 0x66, 0x0f, 0x78, 0xc0 } },
	{ 4, { 0xf2, 0x0f, 0x79, 0xc0 } },
};

/* Register operands where only memory is defined (or, for C4/C5/62, what VEX/EVEX would be). */
static const struct bad register_forms[] = {
	{ 2, { 0x8d, 0xc0 } },	     { 2, { 0xff, 0xd8 } },	  { 2, { 0xff, 0xe8 } },
	{ 3, { 0x0f, 0xb2, 0xc0 } }, { 3, { 0x0f, 0xb4, 0xc0 } }, { 3, { 0x0f, 0xb5, 0xc0 } },
	{ 3, { 0x0f, 0xc3, 0xc0 } }, { 3, { 0x0f, 0xc7, 0xc8 } },
};

/* Opcodes of the 16/32-bit modes that 64-bit mode dropped (Table A-2 superscript i64). */
static const uint8_t not_in_64[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27,
				     0x2f, 0x37, 0x3f, 0x60, 0x61, 0x62, 0x82, 0x9a,
				     0xc4, 0xc5, 0xce, 0xd4, 0xd5, 0xea };

static void expect_unsupported(const struct bad *b, size_t count, enum decode_mode mode)
{
	for (size_t i = 0; i < count; i++) {
		cr_expect_eq(decode_tight(b[i].bytes, b[i].len, mode), DECODE_ERR_UNSUPPORTED,
			     "case %zu mode %d", i, mode);
	}
}

Test(decode, undefined_opcodes_are_unsupported_in_every_mode)
{
	for (int mode = DECODE_16; mode <= DECODE_64; mode++) {
		expect_unsupported(undefined, sizeof(undefined) / sizeof(undefined[0]), mode);
	}
}

Test(decode, memory_only_opcodes_reject_register_operands)
{
	for (int mode = DECODE_16; mode <= DECODE_64; mode++) {
		expect_unsupported(register_forms,
				   sizeof(register_forms) / sizeof(register_forms[0]), mode);
	}
	cr_expect_eq(decode_tight((const uint8_t[]){ 0xc4, 0xc0 }, 2, DECODE_32),
		     DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(decode_tight((const uint8_t[]){ 0x62, 0xc0 }, 2, DECODE_16),
		     DECODE_ERR_UNSUPPORTED);
}

Test(decode, invalid_64bit_opcodes_are_unsupported_only_in_64bit_mode)
{
	/* Followed by a memory ModRM, so the 16/32-bit forms that take one decode too. */
	for (size_t i = 0; i < sizeof(not_in_64); i++) {
		uint8_t b[DECODE_MAX_LEN] = { not_in_64[i], 0x00 };
		cr_expect_eq(decode_tight(b, sizeof(b), DECODE_64), DECODE_ERR_UNSUPPORTED, "%02x",
			     not_in_64[i]);
		cr_expect_gt(decode_tight(b, sizeof(b), DECODE_32), 0, "%02x", not_in_64[i]);
	}
}

Test(decode, unsupported_is_reported_before_asking_for_more_bytes)
{
	cr_expect_eq(decode_tight((const uint8_t[]){ 0x0f, 0x0f }, 2, DECODE_64),
		     DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(decode_tight((const uint8_t[]){ 0xd6 }, 1, DECODE_32), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(decode_tight((const uint8_t[]){ 0xc4 }, 1, DECODE_32), DECODE_ERR_TRUNCATED);
}

/* xorshift64: a fixed seed keeps the run reproducible. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random bytes, a quarter of them prefixes, some 0F escapes, so decoding goes deep. */
static uint8_t random_byte(uint64_t *s)
{
	static const uint8_t prefixes[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e,
					    0x36, 0x3e, 0x26, 0x64, 0x65, 0x48 };
	uint64_t r = rng_next(s);
	if ((r & 3) == 0) {
		return prefixes[(r >> 8) % sizeof(prefixes)];
	}
	if ((r & 0xf) == 1) {
		return 0x0f;
	}
	return (uint8_t)(r >> 16);
}

/* A decoded length depends on no byte past it: shorter inputs are TRUNCATED, exact ones agree. */
static void expect_prefix_closed(const uint8_t *b, int len, enum decode_mode mode)
{
	for (int n = 0; n < len; n++) {
		cr_assert_eq(decode_tight(b, (size_t)n, mode), DECODE_ERR_TRUNCATED);
	}
	cr_assert_eq(decode_tight(b, (size_t)len, mode), len);
}

Test(decode, random_bytes_never_read_past_avail_and_give_a_length_or_an_error)
{
	uint64_t seed = 0x5eed5eed12345678ull;
	int counts[4] = { 0 };

	for (int i = 0; i < 100000; i++) {
		uint8_t b[DECODE_MAX_LEN];
		size_t avail = rng_next(&seed) % (DECODE_MAX_LEN + 1);
		enum decode_mode mode = (enum decode_mode)(rng_next(&seed) % 3);
		/* One input in eight opens with a long run of prefixes, to reach TOO_LONG. */
		size_t run = (rng_next(&seed) % 8 == 0) ? 8 + rng_next(&seed) % 8 : 0;
		for (size_t j = 0; j < avail; j++) {
			b[j] = j < run ? 0x66 : random_byte(&seed);
		}
		int r = decode_tight(b, avail, mode);
		if (r > 0) {
			cr_assert_leq(r, (int)avail);
			cr_assert_eq(in.len, r);
			cr_assert_eq(in.mode, mode);
			expect_prefix_closed(b, r, mode);
			counts[0]++;
		} else {
			cr_assert(r == DECODE_ERR_TRUNCATED || r == DECODE_ERR_TOO_LONG ||
					  r == DECODE_ERR_UNSUPPORTED,
				  "result %d", r);
			counts[-r]++;
		}
	}
	/* Each outcome must actually occur, or the input distribution tests nothing. */
	for (int k = 0; k < 4; k++) {
		cr_expect_gt(counts[k], 100, "outcome %d seen %d times", -k, counts[k]);
	}
}
