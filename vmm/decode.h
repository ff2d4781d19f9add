/* SPDX-License-Identifier: MIT */
/* x86 instruction decoder: lengths to advance RIP, operands to emulate MMIO (Intel SDM vol. 2). */
#ifndef VMM_DECODE_H
#define VMM_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Architectural limit on instruction length (SDM vol. 2, 2.1): longer encodings raise #GP. */
#define DECODE_MAX_LEN 15

/* Errors returned by decode_insn instead of a length. */
enum decode_err {
	DECODE_ERR_TRUNCATED = -1,   /* the instruction continues past the bytes given */
	DECODE_ERR_TOO_LONG = -2,    /* it would be longer than DECODE_MAX_LEN bytes */
	DECODE_ERR_UNSUPPORTED = -3, /* undefined or unknown opcode: the VMM injects #UD */
};

/*
 * Default operand and address size of the code segment: real mode and 16-bit protected mode
 * (CS.D = 0) are DECODE_16, CS.D = 1 is DECODE_32, long mode with CS.L = 1 is DECODE_64.
 */
enum decode_mode { DECODE_16, DECODE_32, DECODE_64 };

/* Segment registers in their encoding order (SDM vol. 2, 3.1.1.3 "Sreg"). */
enum decode_seg {
	DECODE_SEG_ES,
	DECODE_SEG_CS,
	DECODE_SEG_SS,
	DECODE_SEG_DS,
	DECODE_SEG_FS,
	DECODE_SEG_GS
};

/*
 * What the VMM may need to emulate or account for; everything else is DK_OTHER. The data-moving
 * kinds are reported for register forms too (mem tells them apart); DK_ALU_MEM and DK_TEST_MEM
 * only with a memory operand.
 */
enum decode_kind {
	DK_OTHER,
	DK_MOV_STORE, /* 88 89 C6 /0 C7 /0, A2 A3 (moffs), 0F C3 movnti */
	DK_MOV_LOAD,  /* 8A 8B, A0 A1 (moffs) */
	DK_MOVZX,     /* 0F B6 0F B7 */
	DK_MOVSX,     /* 0F BE 0F BF, 63 movsxd (64-bit mode only; ARPL elsewhere) */
	DK_ALU_MEM,   /* add/or/adc/sbb/and/sub/xor/cmp with a memory operand: 00-3B, 80-83 */
	DK_TEST_MEM,  /* test with a memory operand: 84 85, F6 /0 /1, F7 /0 /1 */
	DK_STOS,
	DK_MOVS,
	DK_LODS,
	DK_IN,
	DK_OUT,
	DK_INS,
	DK_OUTS,
	DK_HLT,
	DK_PAUSE, /* F3 90 */
	DK_CPUID,
	DK_RDMSR,
	DK_WRMSR,
	DK_RDTSC,
	DK_RDTSCP,
	DK_RDPMC,
	DK_VMMCALL, /* 0F 01 D9 */
	DK_VMCALL,  /* 0F 01 C1 */
	DK_VMRUN,
	DK_VMLOAD,
	DK_VMSAVE,
	DK_STGI,
	DK_CLGI,
	DK_SKINIT,
	DK_INVLPGA,
	DK_INT3,
	DK_INT1, /* F1 icebp */
	DK_INTO,
	DK_INTN,
	DK_IRET,
	DK_CLI,
	DK_STI,
	DK_PUSHF,
	DK_POPF,
	DK_MOV_CR, /* 0F 20 0F 22 */
	DK_MOV_DR, /* 0F 21 0F 23 */
	DK_CLTS,
	DK_LMSW,
	DK_SMSW,
	DK_INVLPG,
	DK_LGDT,
	DK_LIDT,
	DK_SGDT,
	DK_SIDT,
	DK_INVD,
	DK_WBINVD,
	DK_XSETBV,
	DK_MONITOR,
	DK_MWAIT,
};

/* Register number meaning "no base register" in struct decode_insn.base. */
#define DECODE_NO_REG 0xff

/*
 * One decoded instruction. GPR numbers are the hardware encoding order: 0 rax, 1 rcx, 2 rdx,
 * 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15.
 */
struct decode_insn {
	uint8_t len;	       /* total bytes, prefixes included */
	enum decode_mode mode; /* the mode it was decoded in */
	uint8_t opcode;	       /* primary opcode byte (0x0F for the two- and three-byte maps) */
	bool two_byte;	       /* 0F map: opcode2 holds the second byte */
	uint8_t opcode2;
	bool three_byte; /* 0F 38 or 0F 3A map: opcode3 holds the third byte */
	uint8_t opcode3;

	/*
	 * Effective operand size in bytes, 1 for byte forms; for MOVZX/MOVSX the destination size.
	 * mem_size is the size of the memory access for the data-moving kinds (the source size of
	 * MOVZX/MOVSX); elsewhere it equals opsize.
	 */
	uint8_t opsize;
	uint8_t mem_size;
	uint8_t addrsize; /* 2, 4 or 8 */

	/*
	 * Legacy prefixes (SDM vol. 2, 2.1.1); of repeated F2/F3 or segment prefixes the last wins.
	 * seg is the segment override (enum decode_seg) or -1; 64-bit mode ignores ES/CS/SS/DS.
	 * rex is the REX byte if it took effect (64-bit mode, right before the opcode), else 0.
	 */
	bool rep, repne, lock, opsize_prefix, addrsize_prefix;
	int seg;
	uint8_t rex;

	/* ModRM (SDM vol. 2, 2.1.5); reg and rm include REX.R and REX.B. */
	bool has_modrm;
	uint8_t modrm, mod, reg, rm;

	/*
	 * Memory operand. mem is set for a ModRM memory form or a moffs (A0-A3); string
	 * instructions address memory implicitly and leave it clear. base, index and scale
	 * describe every addressing form, with or without a SIB byte: base is DECODE_NO_REG for
	 * disp-only and RIP-relative forms, index 4 means none (as in the SIB encoding), scale is
	 * 1, 2, 4 or 8. 16-bit forms use the same fields: [BX+SI] is base 3 index 6, [SI] base 6.
	 */
	bool mem;
	bool has_sib;
	uint8_t sib, scale, index, base;
	bool rip_relative;
	int64_t disp; /* sign-extended displacement, or the zero-extended moffs */
	uint8_t disp_size;

	/*
	 * Immediate as encoded, zero-extended; branch displacements (rel8/16/32) count as
	 * immediates. ENTER's second immediate (ib) and a far pointer's selector go in imm2.
	 */
	bool has_imm;
	uint64_t imm;
	uint8_t imm_size;
	uint16_t imm2;
	uint8_t imm2_size;

	enum decode_kind kind;
};

/*
 * Decodes the instruction at bytes[0..avail) in the given mode. Returns its length (1..15) or a
 * negative enum decode_err; never reads past bytes[avail - 1] nor past 15 bytes, and reports
 * TOO_LONG as soon as the bytes seen imply more than 15. *out is meaningful only after a
 * positive return. Opcodes are checked against the one- and two-byte maps and the opcode
 * groups; SSE mandatory-prefix combinations, x87 register forms and the 0F 38 / 0F 3A maps are
 * decoded for their length without a validity check. VEX, EVEX, XOP and 3DNow! are unsupported.
 */
int decode_insn(const uint8_t *bytes, size_t avail, enum decode_mode mode, struct decode_insn *out);

/*
 * Segment of the memory operand, enum decode_seg: the override, else SS for an rSP or rBP base,
 * else DS. For string instructions it is the source's; the destination is always ES.
 */
int decode_mem_seg(const struct decode_insn *in);

/*
 * Linear address of the memory operand: base + index * scale + disp (or rip_next + disp),
 * wrapped to the address size, plus seg_base; wrapped to 32 bits outside 64-bit mode.
 */
uint64_t decode_ea(const struct decode_insn *in, const uint64_t gpr[16], uint64_t rip_next,
		   uint64_t seg_base);

/* Linear address of a string instruction's source (rSI) or destination (rDI) element. */
uint64_t decode_str_addr(const struct decode_insn *in, const uint64_t gpr[16], uint64_t seg_base,
			 bool source);

/*
 * Value a DK_MOV_STORE, DK_STOS or DK_OUT writes, truncated to mem_size: a register (AH..BH for
 * byte registers 4-7 without REX) or the immediate sign-extended. Returns false for other kinds.
 */
bool decode_store_value(const struct decode_insn *in, const uint64_t gpr[16], uint64_t *value);

/*
 * Puts value, read for a DK_MOV_LOAD, DK_MOVZX, DK_MOVSX, DK_LODS or DK_IN, into the destination
 * register as the CPU would: 32-bit writes zero-extend, 8- and 16-bit writes merge, MOVZX and
 * MOVSX extend from mem_size. Returns false (and changes nothing) for other kinds.
 */
bool decode_load_apply(const struct decode_insn *in, uint64_t gpr[16], uint64_t value);

#endif
