/* SPDX-License-Identifier: MIT */
/* Specification of the instruction decoder's fields: prefixes, ModRM/SIB, immediates, kinds. */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "../../vmm/decode.h"

static struct decode_insn in;

/* Decodes the given bytes (exactly those, so a longer decode would show as TRUNCATED). */
static int dec(enum decode_mode mode, size_t n, ...)
{
	uint8_t b[32];
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)va_arg(ap, int);
	}
	va_end(ap);
	return decode_insn(b, n, mode, &in);
}

#define NARGS(...) (sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))
#define D16(...) dec(DECODE_16, NARGS(__VA_ARGS__), __VA_ARGS__)
#define D32(...) dec(DECODE_32, NARGS(__VA_ARGS__), __VA_ARGS__)
#define D64(...) dec(DECODE_64, NARGS(__VA_ARGS__), __VA_ARGS__)

/* ---------------------------------------------------------------- immediates */

Test(decode, rex_w_mov_imm64_is_10_bytes)
{
	cr_assert_eq(D64(0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 10);
	cr_expect_eq(in.rex, 0x48);
	cr_expect_eq(in.opsize, 8);
	cr_expect(in.has_imm);
	cr_expect_eq(in.imm_size, 8);
	cr_expect_eq(in.imm, 0x1122334455667788ull);
}

Test(decode, mov_imm_without_rex_w_is_imm32_in_64bit_mode)
{
	cr_assert_eq(D64(0xb8, 0x78, 0x56, 0x34, 0x12), 5);
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(in.imm, 0x12345678);
}

Test(decode, rex_w_beats_operand_size_prefix)
{
	cr_assert_eq(D64(0x66, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8), 11);
	cr_expect_eq(in.opsize, 8);
	cr_expect(in.opsize_prefix);
}

Test(decode, operand_size_prefix_makes_iz_16_bits_in_32bit_mode)
{
	cr_assert_eq(D32(0x66, 0x05, 0x34, 0x12), 4);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(in.imm_size, 2);
	cr_expect_eq(in.imm, 0x1234);
}

Test(decode, operand_size_prefix_makes_iz_32_bits_in_16bit_mode)
{
	cr_assert_eq(D16(0x66, 0x05, 0x78, 0x56, 0x34, 0x12), 6);
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(in.imm, 0x12345678);
}

Test(decode, iz_stays_32_bits_with_rex_w)
{
	cr_assert_eq(D64(0x48, 0x05, 0xff, 0xff, 0xff, 0xff), 6);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(in.imm_size, 4);
	cr_expect_eq(in.imm, 0xffffffffull);
}

Test(decode, f6_test_has_an_immediate_but_not_the_rest_of_group_3)
{
	cr_expect_eq(D64(0xf6, 0x00, 0x12), 3); /* test byte [rax], 0x12 */
	cr_expect_eq(in.imm, 0x12);
	cr_expect_eq(D64(0xf6, 0x08, 0x12), 3); /* /1 is TEST too on hardware */
	cr_expect_eq(D64(0xf6, 0x10), 2);	/* not byte [rax] */
	cr_expect_not(in.has_imm);
	cr_expect_eq(D64(0xf6, 0x38), 2); /* idiv byte [rax] */
	cr_expect_eq(D64(0xf7, 0x00, 1, 2, 3, 4), 6);
	cr_expect_eq(D64(0x66, 0xf7, 0x00, 1, 2), 5);
	cr_expect_eq(D64(0xf7, 0x18), 2);	      /* neg dword [rax] */
	cr_expect_eq(D16(0xf7, 0x07, 0x34, 0x12), 4); /* test word [bx], 0x1234 */
}

Test(decode, enter_has_a_word_and_a_byte_immediate)
{
	cr_assert_eq(D32(0xc8, 0x00, 0x01, 0x03), 4);
	cr_expect_eq(in.imm, 0x100);
	cr_expect_eq(in.imm_size, 2);
	cr_expect_eq(in.imm2, 3);
	cr_expect_eq(in.imm2_size, 1);
}

Test(decode, ret_imm16_ignores_operand_size)
{
	cr_expect_eq(D64(0xc2, 0x10, 0x00), 3);
	cr_expect_eq(D32(0x66, 0xca, 0x10, 0x00), 4);
}

Test(decode, far_pointer_is_offset_then_selector)
{
	cr_assert_eq(D32(0xea, 0x78, 0x56, 0x34, 0x12, 0x10, 0x00), 7);
	cr_expect_eq(in.imm, 0x12345678);
	cr_expect_eq(in.imm2, 0x10);
	cr_expect_eq(in.imm2_size, 2);
	cr_expect_eq(D16(0xea, 0xf0, 0xff, 0x00, 0xf0), 5);
	cr_expect_eq(in.imm, 0xfff0);
	cr_expect_eq(in.imm2, 0xf000);
	cr_expect_eq(D16(0x66, 0x9a, 1, 2, 3, 4, 5, 6), 8);
	cr_expect_eq(D32(0x66, 0x9a, 1, 2, 3, 4), 6);
}

Test(decode, far_pointer_forms_do_not_exist_in_64bit_mode)
{
	cr_expect_eq(D64(0xea, 1, 2, 3, 4, 5, 6), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D64(0x9a, 1, 2, 3, 4, 5, 6), DECODE_ERR_UNSUPPORTED);
}

Test(decode, moffs_is_8_bytes_in_64bit_mode)
{
	cr_assert_eq(D64(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 9);
	cr_expect(in.mem);
	cr_expect_not(in.has_modrm);
	cr_expect_eq(in.addrsize, 8);
	cr_expect_eq(in.disp_size, 8);
	cr_expect_eq((uint64_t)in.disp, 0x1122334455667788ull);
	cr_expect_eq(in.base, DECODE_NO_REG);
	cr_expect_eq(in.kind, DK_MOV_LOAD);
	cr_expect_eq(in.reg, 0);
	cr_expect_eq(in.opsize, 4);
}

Test(decode, moffs_follows_the_address_size)
{
	cr_expect_eq(D64(0x67, 0xa2, 1, 2, 3, 4), 6);
	cr_expect_eq(in.kind, DK_MOV_STORE);
	cr_expect_eq(in.opsize, 1);
	cr_expect_eq(D32(0xa3, 1, 2, 3, 4), 5);
	cr_expect_eq(D32(0x67, 0xa3, 1, 2), 4);
	cr_expect_eq(D16(0xa0, 1, 2), 3);
	cr_expect_eq(D16(0x67, 0xa0, 1, 2, 3, 4), 6);
	cr_expect_eq(in.disp, 0x04030201);
}

Test(decode, near_branch_with_66_takes_rel16_in_64bit_mode_as_on_amd)
{
	cr_expect_eq(D64(0xe8, 1, 2, 3, 4), 5);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(D64(0x66, 0xe8, 1, 2), 4);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(D64(0x0f, 0x84, 1, 2, 3, 4), 6);
	cr_expect_eq(D64(0x66, 0x0f, 0x84, 1, 2), 5);
	cr_expect_eq(D16(0xe9, 1, 2), 3);
	cr_expect_eq(D16(0x0f, 0x85, 1, 2), 4);
}

Test(decode, push_and_pop_default_to_64_bits_in_64bit_mode)
{
	cr_expect_eq(D64(0x50), 1);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(D64(0x66, 0x50), 2);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(D64(0x68, 1, 2, 3, 4), 5);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(in.imm_size, 4);
	cr_expect_eq(D64(0x66, 0x68, 1, 2), 4);
	cr_expect_eq(D64(0xff, 0x30), 2); /* push qword [rax] */
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(D64(0xff, 0x00), 2); /* inc dword [rax] */
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(D32(0x50), 1);
	cr_expect_eq(in.opsize, 4);
}

Test(decode, byte_forms_have_operand_size_1_even_with_rex_w)
{
	cr_expect_eq(D64(0x48, 0x88, 0x00), 3);
	cr_expect_eq(in.opsize, 1);
	cr_expect_eq(D64(0x48, 0xc6, 0x00, 0x12), 4);
	cr_expect_eq(in.opsize, 1);
}

/* ---------------------------------------------------------------- prefixes */

Test(decode, legacy_prefixes_repeat_in_any_order)
{
	cr_assert_eq(D32(0x66, 0xf3, 0x66, 0x2e, 0x67, 0x66, 0xf0, 0x90), 8);
	cr_expect(in.opsize_prefix);
	cr_expect(in.addrsize_prefix);
	cr_expect(in.lock);
	cr_expect(in.rep);
	cr_expect_eq(in.seg, DECODE_SEG_CS);
	cr_expect_eq(in.opcode, 0x90);
}

Test(decode, last_rep_prefix_wins)
{
	cr_expect_eq(D32(0xf2, 0xf3, 0xa4), 3);
	cr_expect(in.rep);
	cr_expect_not(in.repne);
	cr_expect_eq(D32(0xf3, 0xf2, 0xa6), 3);
	cr_expect(in.repne);
	cr_expect_not(in.rep);
}

Test(decode, last_segment_prefix_wins)
{
	cr_expect_eq(D32(0x26, 0x64, 0x8b, 0x00), 4);
	cr_expect_eq(in.seg, DECODE_SEG_FS);
	cr_expect_eq(D32(0x65, 0x36, 0x8b, 0x00), 4);
	cr_expect_eq(in.seg, DECODE_SEG_SS);
	cr_expect_eq(D16(0x26, 0x8b, 0x05), 3);
	cr_expect_eq(in.seg, DECODE_SEG_ES);
	cr_expect_eq(D32(0x8b, 0x00), 2);
	cr_expect_eq(in.seg, -1);
}

Test(decode, es_cs_ss_ds_overrides_are_ignored_in_64bit_mode)
{
	cr_expect_eq(D64(0x2e, 0x8b, 0x00), 3);
	cr_expect_eq(in.seg, -1);
	cr_expect_eq(D64(0x64, 0x3e, 0x8b, 0x00), 4);
	cr_expect_eq(in.seg, DECODE_SEG_FS);
	cr_expect_eq(D64(0x65, 0x8b, 0x00), 3);
	cr_expect_eq(in.seg, DECODE_SEG_GS);
}

Test(decode, inc_dec_are_opcodes_outside_64bit_mode)
{
	cr_expect_eq(D32(0x40), 1);
	cr_expect_eq(in.rex, 0);
	cr_expect_eq(in.opcode, 0x40);
	cr_expect_eq(D16(0x4f), 1);
	cr_expect_eq(D64(0x40), DECODE_ERR_TRUNCATED);
}

Test(decode, rex_counts_only_directly_before_the_opcode)
{
	cr_assert_eq(D64(0x48, 0x66, 0xb8, 0x34, 0x12), 5);
	cr_expect_eq(in.rex, 0);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(D64(0x41, 0x48, 0x89, 0xc0), 4);
	cr_expect_eq(in.rex, 0x48);
	cr_expect_eq(in.rm, 0);
}

Test(decode, rex_r_and_rex_b_extend_modrm_fields)
{
	cr_assert_eq(D64(0x45, 0x89, 0xc8), 3); /* mov r8d, r9d */
	cr_expect_eq(in.mod, 3);
	cr_expect_eq(in.reg, 9);
	cr_expect_eq(in.rm, 8);
	cr_expect_not(in.mem);
}

/* ---------------------------------------------------------------- addressing */

Test(decode, sib_base_5_with_mod_0_is_disp32_without_base)
{
	cr_assert_eq(D64(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), 7);
	cr_expect(in.has_sib);
	cr_expect_eq(in.base, DECODE_NO_REG);
	cr_expect_eq(in.index, 4);
	cr_expect_eq(in.disp, 0x12345678);
	cr_expect_eq(in.disp_size, 4);
	cr_expect_not(in.rip_relative);
}

Test(decode, sib_base_5_with_mod_1_is_rbp_plus_disp8)
{
	cr_assert_eq(D64(0x8b, 0x44, 0x25, 0xf8), 4);
	cr_expect_eq(in.base, 5);
	cr_expect_eq(in.disp, -8);
}

Test(decode, sib_base_5_with_rex_b_and_mod_0_is_still_disp32)
{
	cr_assert_eq(D64(0x41, 0x8b, 0x04, 0x25, 1, 0, 0, 0), 8);
	cr_expect_eq(in.base, DECODE_NO_REG);
}

Test(decode, sib_index_4_is_none_unless_rex_x)
{
	cr_assert_eq(D64(0x8b, 0x04, 0xa3), 3); /* [rbx + riz*4] */
	cr_expect_eq(in.index, 4);
	cr_expect_eq(in.scale, 4);
	cr_expect_eq(in.base, 3);
	cr_assert_eq(D64(0x42, 0x8b, 0x04, 0xe3), 4); /* [rbx + r12*8] */
	cr_expect_eq(in.index, 12);
	cr_expect_eq(in.scale, 8);
}

Test(decode, rm_4_with_rex_b_still_brings_a_sib)
{
	cr_assert_eq(D64(0x41, 0x8b, 0x04, 0x24), 4); /* [r12] */
	cr_expect(in.has_sib);
	cr_expect_eq(in.base, 12);
	cr_expect_eq(in.index, 4);
}

Test(decode, rm_5_with_mod_0_is_rip_relative_in_64bit_mode)
{
	cr_assert_eq(D64(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 6);
	cr_expect(in.rip_relative);
	cr_expect_eq(in.base, DECODE_NO_REG);
	cr_expect_eq(in.disp, 0x10);
	cr_assert_eq(D64(0x41, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), 7);
	cr_expect(in.rip_relative);
	cr_expect_eq(in.disp, -16);
	cr_assert_eq(D64(0x67, 0x8b, 0x05, 0, 0, 0, 0), 7);
	cr_expect(in.rip_relative);
	cr_expect_eq(in.addrsize, 4);
}

Test(decode, rm_5_with_mod_0_is_disp32_in_32bit_mode)
{
	cr_assert_eq(D32(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6);
	cr_expect_not(in.rip_relative);
	cr_expect_eq(in.base, DECODE_NO_REG);
	cr_expect_eq(in.disp, 0x12345678);
}

Test(decode, r13_base_needs_a_displacement_byte)
{
	cr_assert_eq(D64(0x41, 0x8b, 0x45, 0x00), 4);
	cr_expect_eq(in.base, 13);
	cr_expect_not(in.rip_relative);
}

Test(decode, mod_2_has_disp32_and_mod_1_disp8)
{
	cr_expect_eq(D32(0x8b, 0x80, 1, 2, 3, 4), 6);
	cr_expect_eq(in.disp_size, 4);
	cr_expect_eq(D32(0x8b, 0x84, 0x88, 1, 2, 3, 4), 7);
	cr_expect_eq(D32(0x8b, 0x40, 0x80), 3);
	cr_expect_eq(in.disp, -128);
}

Test(decode, modrm_rm_6_with_mod_0_is_disp16_in_16bit_addressing)
{
	cr_assert_eq(D16(0x8b, 0x06, 0x34, 0x12), 4);
	cr_expect_eq(in.addrsize, 2);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(in.base, DECODE_NO_REG);
	cr_expect_eq(in.index, 4);
	cr_expect_eq(in.disp, 0x1234);
	cr_expect_not(in.has_sib);
}

Test(decode, sixteen_bit_forms_name_their_base_and_index)
{
	cr_assert_eq(D16(0x8b, 0x00), 2); /* [bx+si] */
	cr_expect_eq(in.base, 3);
	cr_expect_eq(in.index, 6);
	cr_assert_eq(D16(0x8b, 0x03), 2); /* [bp+di] */
	cr_expect_eq(in.base, 5);
	cr_expect_eq(in.index, 7);
	cr_assert_eq(D16(0x8b, 0x46, 0x10), 3); /* [bp+0x10] */
	cr_expect_eq(in.base, 5);
	cr_expect_eq(in.index, 4);
	cr_assert_eq(D16(0x8b, 0x87, 0x00, 0x80), 4); /* [bx-0x8000] */
	cr_expect_eq(in.disp, -0x8000);
	cr_expect_eq(D16(0x8b, 0x04), 2); /* [si]: rm 4 is no SIB here */
	cr_expect_not(in.has_sib);
}

Test(decode, address_size_prefix_switches_16_and_32bit_addressing)
{
	cr_expect_eq(D16(0x67, 0x8b, 0x04, 0x24), 4); /* [esp] with SIB */
	cr_expect_eq(in.addrsize, 4);
	cr_expect(in.has_sib);
	cr_expect_eq(D16(0x67, 0x8b, 0x05, 1, 2, 3, 4), 7);
	cr_expect_eq(D32(0x67, 0x8b, 0x06, 0x34, 0x12), 5);
	cr_expect_eq(in.addrsize, 2);
	cr_expect_eq(D32(0x67, 0x8b, 0x04), 3); /* [si] */
}

/* ---------------------------------------------------------------- maps */

Test(decode, three_byte_maps_have_modrm_and_0f3a_an_imm8)
{
	cr_assert_eq(D64(0x66, 0x0f, 0x38, 0x00, 0xc1), 5); /* pshufb */
	cr_expect(in.three_byte);
	cr_expect_eq(in.opcode3, 0x00);
	cr_assert_eq(D64(0x66, 0x0f, 0x3a, 0x0f, 0x44, 0x24, 0x08, 0x04), 8);
	cr_expect_eq(in.imm, 4);
	cr_expect_eq(D32(0x0f, 0x38, 0xf0, 0x05, 1, 2, 3, 4), 8); /* movbe eax, [abs] */
}

Test(decode, mov_cr_ignores_mod_and_has_no_displacement)
{
	cr_assert_eq(D64(0x0f, 0x20, 0x00), 3);
	cr_expect_eq(in.kind, DK_MOV_CR);
	cr_expect_not(in.mem);
	cr_expect_eq(in.mod, 3);
	cr_expect_eq(in.opsize, 8);
	cr_assert_eq(D64(0x44, 0x0f, 0x22, 0xc0), 4); /* mov cr8, rax */
	cr_expect_eq(in.reg, 8);
	cr_expect_eq(in.rm, 0);
	cr_assert_eq(D32(0x66, 0x0f, 0x22, 0xd8), 4); /* mov cr3, eax */
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(D32(0x0f, 0x23, 0xf8), 3);
	cr_expect_eq(in.kind, DK_MOV_DR);
}

Test(decode, vex_and_evex_are_unsupported_but_les_lds_bound_are_not)
{
	cr_expect_eq(D64(0xc5, 0xf8, 0x77), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D64(0xc4, 0xe2, 0x79, 0x00, 0xc1), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D64(0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D32(0xc5, 0xf8, 0x77), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D32(0xc4, 0x03), 2); /* les eax, [ebx] */
	cr_expect_eq(D32(0xc5, 0x43, 0x10), 3);
	cr_expect_eq(D16(0xc4, 0x07), 2);
	cr_expect_eq(D32(0x62, 0x03), 2); /* bound eax, [ebx] */
}

Test(decode, group_7_register_forms_are_whole_instructions)
{
	cr_expect_eq(D64(0x0f, 0x01, 0xd9), 3);
	cr_expect_eq(in.kind, DK_VMMCALL);
	cr_expect_eq(D32(0x0f, 0x01, 0xc1), 3);
	cr_expect_eq(in.kind, DK_VMCALL);
	cr_expect_eq(D64(0x0f, 0x01, 0xf8), 3); /* swapgs */
	cr_expect_eq(D32(0x0f, 0x01, 0xf8), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D64(0x0f, 0x01, 0xe9), DECODE_ERR_UNSUPPORTED);
	cr_expect_eq(D16(0x0f, 0x01, 0xf0), 3);
	cr_expect_eq(in.kind, DK_LMSW);
}

Test(decode, group_7_memory_forms_are_descriptor_table_and_tlb_ops)
{
	cr_expect_eq(D64(0x0f, 0x01, 0x10), 3);
	cr_expect_eq(in.kind, DK_LGDT);
	cr_expect_eq(D64(0x0f, 0x01, 0x58, 0x08), 4);
	cr_expect_eq(in.kind, DK_LIDT);
	cr_expect_eq(D64(0x0f, 0x01, 0x38), 3);
	cr_expect_eq(in.kind, DK_INVLPG);
	cr_expect_eq(D16(0x0f, 0x01, 0x16, 0x34, 0x12), 5);
	cr_expect_eq(in.kind, DK_LGDT);
	cr_expect_eq(D32(0x0f, 0x01, 0x0d, 1, 2, 3, 4), 7);
	cr_expect_eq(in.kind, DK_SIDT);
}

Test(decode, xbegin_and_xabort_share_group_11)
{
	cr_expect_eq(D64(0xc7, 0xf8, 1, 2, 3, 4), 6);
	cr_expect_eq(in.kind, DK_OTHER);
	cr_expect_eq(D64(0xc6, 0xf8, 0x12), 3);
	cr_expect_eq(in.kind, DK_OTHER);
	cr_expect_eq(D64(0xc7, 0x00, 1, 2, 3, 4), 6);
	cr_expect_eq(in.kind, DK_MOV_STORE);
}

/* ---------------------------------------------------------------- kinds */

struct kind_case {
	enum decode_mode mode;
	uint8_t len;
	uint8_t bytes[8];
	enum decode_kind kind;
};

static const struct kind_case kinds[] = {
	{ DECODE_64, 2, { 0x89, 0x07 }, DK_MOV_STORE },
	{ DECODE_64, 3, { 0xc6, 0x07, 0x01 }, DK_MOV_STORE },
	{ DECODE_64, 3, { 0x0f, 0xc3, 0x07 }, DK_MOV_STORE },
	{ DECODE_64, 2, { 0x8a, 0x07 }, DK_MOV_LOAD },
	{ DECODE_64, 3, { 0x0f, 0xb7, 0x07 }, DK_MOVZX },
	{ DECODE_64, 4, { 0x48, 0x0f, 0xbe, 0x07 }, DK_MOVSX },
	{ DECODE_64, 3, { 0x48, 0x63, 0x07 }, DK_MOVSX },
	{ DECODE_32, 2, { 0x63, 0x07 }, DK_OTHER }, /* arpl */
	{ DECODE_64, 2, { 0x01, 0x07 }, DK_ALU_MEM },
	{ DECODE_64, 2, { 0x3b, 0x07 }, DK_ALU_MEM },
	{ DECODE_64, 3, { 0x83, 0x0f, 0x01 }, DK_ALU_MEM },
	{ DECODE_64, 2, { 0x01, 0xc7 }, DK_OTHER },
	{ DECODE_64, 2, { 0x85, 0x07 }, DK_TEST_MEM },
	{ DECODE_64, 3, { 0xf6, 0x07, 0x01 }, DK_TEST_MEM },
	{ DECODE_64, 2, { 0xf7, 0x17 }, DK_OTHER }, /* not */
	{ DECODE_64, 2, { 0x85, 0xc0 }, DK_OTHER },
	{ DECODE_64, 2, { 0xf3, 0xab }, DK_STOS },
	{ DECODE_64, 2, { 0x48, 0xa5 }, DK_MOVS },
	{ DECODE_64, 1, { 0xac }, DK_LODS },
	{ DECODE_32, 2, { 0xe4, 0x60 }, DK_IN },
	{ DECODE_32, 1, { 0xed }, DK_IN },
	{ DECODE_32, 2, { 0xe6, 0x80 }, DK_OUT },
	{ DECODE_32, 1, { 0xee }, DK_OUT },
	{ DECODE_32, 2, { 0xf3, 0x6d }, DK_INS },
	{ DECODE_32, 1, { 0x6e }, DK_OUTS },
	{ DECODE_16, 1, { 0xf4 }, DK_HLT },
	{ DECODE_16, 2, { 0xf3, 0x90 }, DK_PAUSE },
	{ DECODE_64, 3, { 0xf3, 0x41, 0x90 }, DK_OTHER }, /* xchg r8d, eax */
	{ DECODE_16, 1, { 0x90 }, DK_OTHER },
	{ DECODE_16, 2, { 0x0f, 0xa2 }, DK_CPUID },
	{ DECODE_32, 2, { 0x0f, 0x32 }, DK_RDMSR },
	{ DECODE_32, 2, { 0x0f, 0x30 }, DK_WRMSR },
	{ DECODE_32, 2, { 0x0f, 0x31 }, DK_RDTSC },
	{ DECODE_32, 3, { 0x0f, 0x01, 0xf9 }, DK_RDTSCP },
	{ DECODE_32, 2, { 0x0f, 0x33 }, DK_RDPMC },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xd8 }, DK_VMRUN },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xda }, DK_VMLOAD },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xdb }, DK_VMSAVE },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xdc }, DK_STGI },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xdd }, DK_CLGI },
	{ DECODE_32, 3, { 0x0f, 0x01, 0xde }, DK_SKINIT },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xdf }, DK_INVLPGA },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xd1 }, DK_XSETBV },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xc8 }, DK_MONITOR },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xc9 }, DK_MWAIT },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xd0 }, DK_OTHER }, /* xgetbv */
	{ DECODE_64, 3, { 0x0f, 0x01, 0x20 }, DK_SMSW },
	{ DECODE_64, 3, { 0x0f, 0x01, 0xe0 }, DK_SMSW },
	{ DECODE_64, 3, { 0x0f, 0x01, 0x00 }, DK_SGDT },
	{ DECODE_16, 1, { 0xcc }, DK_INT3 },
	{ DECODE_16, 1, { 0xf1 }, DK_INT1 },
	{ DECODE_16, 1, { 0xce }, DK_INTO },
	{ DECODE_16, 2, { 0xcd, 0x10 }, DK_INTN },
	{ DECODE_64, 2, { 0x48, 0xcf }, DK_IRET },
	{ DECODE_16, 1, { 0xfa }, DK_CLI },
	{ DECODE_16, 1, { 0xfb }, DK_STI },
	{ DECODE_64, 1, { 0x9c }, DK_PUSHF },
	{ DECODE_64, 1, { 0x9d }, DK_POPF },
	{ DECODE_32, 2, { 0x0f, 0x06 }, DK_CLTS },
	{ DECODE_32, 2, { 0x0f, 0x08 }, DK_INVD },
	{ DECODE_32, 2, { 0x0f, 0x09 }, DK_WBINVD },
	{ DECODE_64, 5, { 0x66, 0x0f, 0x38, 0xf6, 0xc1 }, DK_OTHER }, /* adcx */
};

Test(decode, kinds_name_what_the_vmm_emulates_or_intercepts)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind_case *k = &kinds[i];
		cr_expect_eq(decode_insn(k->bytes, k->len, k->mode, &in), k->len, "case %zu", i);
		cr_expect_eq(in.kind, k->kind, "case %zu: kind %d", i, in.kind);
	}
}

Test(decode, movzx_and_movsx_read_a_narrower_memory_operand)
{
	cr_expect_eq(D64(0x0f, 0xb6, 0x00), 3);
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(in.mem_size, 1);
	cr_expect_eq(D64(0x48, 0x0f, 0xbf, 0x00), 4);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(in.mem_size, 2);
	cr_expect_eq(D64(0x48, 0x63, 0x00), 3);
	cr_expect_eq(in.opsize, 8);
	cr_expect_eq(in.mem_size, 4);
	cr_expect_eq(D64(0x63, 0x00), 2);
	cr_expect_eq(in.mem_size, 4);
	cr_expect_eq(D64(0x89, 0x00), 2);
	cr_expect_eq(in.mem_size, 4);
}

Test(decode, port_io_is_at_most_32_bits_wide)
{
	cr_expect_eq(D64(0x48, 0xe5, 0x60), 3);
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(D64(0x66, 0xef), 2);
	cr_expect_eq(in.opsize, 2);
	cr_expect_eq(D64(0xf3, 0x48, 0x6d), 3);
	cr_expect_eq(in.opsize, 4);
	cr_expect_eq(D16(0xec), 1);
	cr_expect_eq(in.opsize, 1);
}

Test(decode, popcnt_needs_its_f3_prefix)
{
	cr_expect_eq(D64(0xf3, 0x0f, 0xb8, 0xc1), 4);
	cr_expect_eq(D64(0x0f, 0xb8, 0xc1), DECODE_ERR_UNSUPPORTED);
}
