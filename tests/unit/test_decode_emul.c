/* SPDX-License-Identifier: MIT */
/* Specification of the MMIO helpers: effective addresses, stored values, register write-back. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

#include "../../vmm/decode.h"

static struct decode_insn in;
static uint64_t gpr[16];

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Decodes exactly the given bytes and insists they form one instruction. */
static void dec(enum decode_mode mode, size_t n, ...)
{
	uint8_t b[32];
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)va_arg(ap, int);
	}
	va_end(ap);
	cr_assert_eq(decode_insn(b, n, mode, &in), (int)n);
}

#define NARGS(...) (sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))
#define D16(...) dec(DECODE_16, NARGS(__VA_ARGS__), __VA_ARGS__)
#define D32(...) dec(DECODE_32, NARGS(__VA_ARGS__), __VA_ARGS__)
#define D64(...) dec(DECODE_64, NARGS(__VA_ARGS__), __VA_ARGS__)

/* Distinct values in every register, high bits set, so a wrong register or width shows. */
static void fill_gprs(void)
{
	for (int i = 0; i < 16; i++) {
		gpr[i] = 0xa5a5a5a500000000ull | ((uint64_t)i << 28) | (uint64_t)(i * 0x01010101u);
	}
}

/* ---------------------------------------------------------------- decode_ea */

Test(decode, ea_adds_base_scaled_index_and_displacement, .init = fill_gprs)
{
	D64(0x8b, 0x44, 0x8b, 0x10); /* mov eax, [rbx + rcx*4 + 0x10] */
	gpr[RBX] = 0x1000;
	gpr[RCX] = 0x20;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0x1000 + 0x80 + 0x10);
}

Test(decode, ea_uses_rex_extended_base_and_index, .init = fill_gprs)
{
	D64(0x43, 0x8b, 0x44, 0xe5, 0xf8); /* mov eax, [r13 + r12*8 - 8] */
	gpr[R13] = 0x5000;
	gpr[R12] = 2;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0x5000 + 16 - 8);
}

Test(decode, ea_without_base_is_the_displacement, .init = fill_gprs)
{
	D64(0x8b, 0x04, 0x25, 0x00, 0x00, 0xe0, 0xfe); /* mov eax, [0xfffffffffee00000] */
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0xfffffffffee00000ull);
	D32(0x8b, 0x05, 0x00, 0x00, 0xe0, 0xfe); /* mov eax, [0xfee00000] */
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0xfee00000ull);
}

Test(decode, ea_of_rip_relative_counts_from_the_next_instruction, .init = fill_gprs)
{
	D64(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff); /* mov eax, [rip - 0x10] */
	cr_expect_eq(decode_ea(&in, gpr, 0x401006, 0), 0x400ff6);
	D64(0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00); /* mov eax, [eip + 0x10] */
	cr_expect_eq(decode_ea(&in, gpr, 0x1fffffff8ull, 0), 0x8);
}

Test(decode, ea_wraps_at_16_bits_in_16bit_addressing, .init = fill_gprs)
{
	D16(0x8b, 0x42, 0x10); /* mov ax, [bp + si + 0x10] */
	gpr[RBP] = 0xfff0;
	gpr[RSI] = 0x20;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0x10000), 0x10020);
	D16(0x8b, 0x06, 0x00, 0xb8); /* mov ax, [0xb800] */
	cr_expect_eq(decode_ea(&in, gpr, 0, 0xf0000), 0xfb800);
	D16(0x8b, 0x7f, 0xfe); /* mov di, [bx - 2] */
	gpr[RBX] = 0x0001;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0xffff);
}

Test(decode, ea_wraps_at_32_bits_in_32bit_addressing, .init = fill_gprs)
{
	D64(0x67, 0x8b, 0x00); /* mov eax, [eax] */
	gpr[RAX] = 0x1234567890ull;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0x34567890);
	D32(0x8b, 0x00);
	gpr[RAX] = 0x2000;
	cr_expect_eq(decode_ea(&in, gpr, 0, 0xfffff000), 0x1000);
}

Test(decode, ea_adds_the_segment_base, .init = fill_gprs)
{
	D64(0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0); /* mov rax, fs:[0x28] */
	cr_expect_eq(decode_ea(&in, gpr, 0, 0x7fff00000000ull), 0x7fff00000028ull);
}

Test(decode, ea_of_moffs_is_the_offset, .init = fill_gprs)
{
	D64(0xa3, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0); /* mov [0xfee00000], eax */
	cr_expect_eq(decode_ea(&in, gpr, 0, 0), 0xfee00000ull);
	D16(0xa0, 0x34, 0x12);
	cr_expect_eq(decode_ea(&in, gpr, 0, 0x20000), 0x21234);
}

Test(decode, default_segment_is_ss_for_stack_bases_and_ds_otherwise, .init = fill_gprs)
{
	D32(0x8b, 0x45, 0x08); /* [ebp + 8] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_SS);
	D32(0x8b, 0x04, 0x24); /* [esp] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_SS);
	D32(0x8b, 0x04, 0x2c); /* [esp + ebp]: the base decides */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_SS);
	D32(0x8b, 0x04, 0x2b); /* [ebx + ebp] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_DS);
	D16(0x8b, 0x02); /* [bp + si] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_SS);
	D16(0x8b, 0x06, 0x00, 0x10); /* [0x1000], not [bp] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_DS);
	D32(0x26, 0x8b, 0x45, 0x08); /* es: [ebp + 8] */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_ES);
	D32(0xa4); /* movsb: the source */
	cr_expect_eq(decode_mem_seg(&in), DECODE_SEG_DS);
}

Test(decode, string_addresses_use_rsi_and_rdi_of_the_address_size, .init = fill_gprs)
{
	D16(0xf3, 0xa4); /* rep movsb */
	gpr[RSI] = 0xabcd1234;
	gpr[RDI] = 0xabcd5678;
	cr_expect_eq(decode_str_addr(&in, gpr, 0x10000, true), 0x11234);
	cr_expect_eq(decode_str_addr(&in, gpr, 0x20000, false), 0x25678);
	D64(0x48, 0xab); /* stosq */
	gpr[RDI] = 0x123456789ull;
	cr_expect_eq(decode_str_addr(&in, gpr, 0, false), 0x123456789ull);
	D64(0x67, 0xab); /* stosd with edi */
	cr_expect_eq(decode_str_addr(&in, gpr, 0, false), 0x23456789ull);
}

/* ---------------------------------------------------------------- decode_store_value */

Test(decode, store_value_is_the_source_register_at_the_operand_size, .init = fill_gprs)
{
	uint64_t v;
	gpr[RBX] = 0x1122334455667788ull;
	D64(0x89, 0x18); /* mov [rax], ebx */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x55667788);
	D64(0x48, 0x89, 0x18);
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x1122334455667788ull);
	D64(0x66, 0x89, 0x18);
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x7788);
	D64(0x4c, 0x89, 0x00); /* mov [rax], r8 */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, gpr[R8]);
}

Test(decode, store_value_of_byte_registers_4_to_7_is_ah_ch_dh_bh_without_rex, .init = fill_gprs)
{
	uint64_t v;
	gpr[RAX] = 0x1234;
	gpr[RSP] = 0x99;
	D64(0x88, 0x27); /* mov [rdi], ah */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x12);
	D64(0x40, 0x88, 0x27); /* mov [rdi], spl */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x99);
	gpr[RBX] = 0xbeef;
	D16(0x88, 0x3d); /* mov [di], bh */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0xbe);
}

Test(decode, store_value_of_an_immediate_is_sign_extended_to_the_operand_size, .init = fill_gprs)
{
	uint64_t v;
	D64(0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff); /* mov qword [rax], -2 */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0xfffffffffffffffeull);
	cr_expect_eq(in.mem_size, 8);
	D64(0xc7, 0x00, 0x00, 0x00, 0x00, 0x80); /* mov dword [rax], 0x80000000 */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x80000000ull);
	D32(0x66, 0xc7, 0x00, 0x34, 0x92);
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x9234);
	D16(0xc6, 0x05, 0x80); /* mov byte [di], 0x80 */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x80);
}

Test(decode, store_value_of_moffs_stos_and_out_is_the_accumulator, .init = fill_gprs)
{
	uint64_t v;
	gpr[RAX] = 0x8877665544332211ull;
	D32(0xa3, 0, 0, 0xe0, 0xfe); /* mov [0xfee00000], eax */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x44332211);
	D64(0xf3, 0x66, 0xab); /* rep stosw */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x2211);
	D64(0xee); /* out dx, al */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x11);
	D64(0x0f, 0xc3, 0x00); /* movnti [rax], eax */
	cr_assert(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 0x44332211);
}

Test(decode, store_value_refuses_what_does_not_store, .init = fill_gprs)
{
	uint64_t v = 42;
	D64(0x8b, 0x00);
	cr_expect_not(decode_store_value(&in, gpr, &v));
	D64(0x01, 0x00); /* add [rax], eax: read-modify-write, not a plain store */
	cr_expect_not(decode_store_value(&in, gpr, &v));
	D64(0xc6, 0xf8, 0x01); /* xabort */
	cr_expect_not(decode_store_value(&in, gpr, &v));
	cr_expect_eq(v, 42);
}

/* ---------------------------------------------------------------- decode_load_apply */

Test(decode, load_of_32_bits_zero_extends_the_register, .init = fill_gprs)
{
	gpr[RCX] = ~0ull;
	D64(0x8b, 0x08); /* mov ecx, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0xffffffff12345678ull));
	cr_expect_eq(gpr[RCX], 0x12345678);
	D64(0x44, 0x8b, 0x08); /* mov r9d, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x87654321));
	cr_expect_eq(gpr[R9], 0x87654321);
}

Test(decode, load_of_64_bits_replaces_the_register, .init = fill_gprs)
{
	D64(0x48, 0x8b, 0x08);
	cr_assert(decode_load_apply(&in, gpr, 0x1122334455667788ull));
	cr_expect_eq(gpr[RCX], 0x1122334455667788ull);
}

Test(decode, load_of_8_and_16_bits_merges_into_the_register, .init = fill_gprs)
{
	gpr[RCX] = 0x1111111111111111ull;
	D64(0x66, 0x8b, 0x08); /* mov cx, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0xffffabcd));
	cr_expect_eq(gpr[RCX], 0x111111111111abcdull);
	D64(0x8a, 0x08); /* mov cl, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0xee));
	cr_expect_eq(gpr[RCX], 0x111111111111abeeull);
	D64(0x8a, 0x28); /* mov ch, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x77));
	cr_expect_eq(gpr[RCX], 0x11111111111177eeull);
	D64(0x40, 0x8a, 0x28); /* mov bpl, [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x42));
	cr_expect_eq(gpr[RBP] & 0xffff, 0x0542);
	D64(0x44, 0x8a, 0x00); /* mov r8b, [rax] */
	gpr[R8] = 0;
	cr_assert(decode_load_apply(&in, gpr, 0x1ff));
	cr_expect_eq(gpr[R8], 0xff);
}

Test(decode, movzx_zero_extends_from_the_memory_size, .init = fill_gprs)
{
	gpr[RDX] = ~0ull;
	D64(0x0f, 0xb6, 0x10); /* movzx edx, byte [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0xfff0));
	cr_expect_eq(gpr[RDX], 0xf0);
	gpr[RDX] = ~0ull;
	D64(0x66, 0x0f, 0xb6, 0x10); /* movzx dx, byte [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x80));
	cr_expect_eq(gpr[RDX], 0xffffffffffff0080ull);
	D64(0x48, 0x0f, 0xb7, 0x10); /* movzx rdx, word [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0xffff8001));
	cr_expect_eq(gpr[RDX], 0x8001);
}

Test(decode, movsx_sign_extends_from_the_memory_size, .init = fill_gprs)
{
	gpr[RDX] = ~0ull;
	D64(0x0f, 0xbe, 0x10); /* movsx edx, byte [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x80));
	cr_expect_eq(gpr[RDX], 0xffffff80ull);
	D64(0x48, 0x0f, 0xbf, 0x10); /* movsx rdx, word [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x8000));
	cr_expect_eq(gpr[RDX], 0xffffffffffff8000ull);
	D64(0x48, 0x63, 0x10); /* movsxd rdx, dword [rax] */
	cr_assert(decode_load_apply(&in, gpr, 0x80000000));
	cr_expect_eq(gpr[RDX], 0xffffffff80000000ull);
	D64(0x48, 0x63, 0x10);
	cr_assert(decode_load_apply(&in, gpr, 0x7fffffff));
	cr_expect_eq(gpr[RDX], 0x7fffffffull);
	gpr[RDX] = ~0ull;
	D64(0x63, 0x10); /* movsxd edx, dword [rax]: a plain 32-bit load */
	cr_assert(decode_load_apply(&in, gpr, 0x80000000));
	cr_expect_eq(gpr[RDX], 0x80000000ull);
}

Test(decode, moffs_lods_and_in_load_the_accumulator, .init = fill_gprs)
{
	gpr[RAX] = ~0ull;
	D64(0xa0, 0, 0, 0, 0, 0, 0, 0, 0); /* mov al, [moffs] */
	cr_assert(decode_load_apply(&in, gpr, 0x12));
	cr_expect_eq(gpr[RAX], 0xffffffffffffff12ull);
	D64(0xad); /* lodsd */
	cr_assert(decode_load_apply(&in, gpr, 0xdeadbeef));
	cr_expect_eq(gpr[RAX], 0xdeadbeefull);
	D16(0xed); /* in ax, dx */
	cr_assert(decode_load_apply(&in, gpr, 0x1234));
	cr_expect_eq(gpr[RAX], 0xdead1234ull);
}

Test(decode, load_apply_leaves_registers_alone_for_other_kinds, .init = fill_gprs)
{
	uint64_t before[16];
	memcpy(before, gpr, sizeof(before));
	D64(0x89, 0x08); /* a store */
	cr_expect_not(decode_load_apply(&in, gpr, 0));
	D64(0x03, 0x08); /* add ecx, [rax] */
	cr_expect_not(decode_load_apply(&in, gpr, 0));
	cr_expect_eq(memcmp(before, gpr, sizeof(before)), 0);
}
