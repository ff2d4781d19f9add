/* SPDX-License-Identifier: MIT */
/* x86 instruction decoder for the VMM: lengths, operands and MMIO data (Intel SDM vol. 2). */
#include "decode.h"

#include "kstring.h"

/*
 * Per-opcode attributes, the information in the SDM's opcode maps (vol. 2, Appendix A.3) that
 * decides the length and the operand size. Superscripts i64, d64 and f64 of A.2.5 become
 * F_NO64 and F_D64.
 */
enum {
	F_MODRM = 1 << 0,  /* a ModRM byte follows the opcode */
	F_BYTE = 1 << 1,   /* byte operand size (the "b" forms) */
	F_I8 = 1 << 2,	   /* Ib or Jb */
	F_IZ = 1 << 3,	   /* Iz or Jz: 16 bits with a 16-bit operand size, else 32 */
	F_IV = 1 << 4,	   /* Iv: the full operand size, imm64 with REX.W (B8+r only) */
	F_IW = 1 << 5,	   /* Iw (ret, enter) */
	F_AP = 1 << 6,	   /* Ap: far pointer, offset of the operand size then a selector */
	F_MOFFS = 1 << 7,  /* Ob/Ov: an offset of the address size, no ModRM */
	F_D64 = 1 << 8,	   /* 64-bit default operand size in 64-bit mode (d64, f64) */
	F_NO64 = 1 << 9,   /* invalid in 64-bit mode (i64) */
	F_MEM = 1 << 10,   /* ModRM must name memory; mod = 3 is undefined or VEX/EVEX */
	F_CTRL = 1 << 11,  /* mov to/from CR/DR: ModRM is a register whatever mod says */
	F_GROUP = 1 << 12, /* ModRM.reg extends the opcode (Table A-6): see groups[] */
	F_BAD = 1 << 13,   /* undefined, reserved, or an ISA extension this decoder leaves out */
};

/* Short names so the maps read as the SDM's 16x16 tables; clang-format would undo the rows. */
/* clang-format off */
#define M F_MODRM
#define MB (F_MODRM | F_BYTE)
#define B F_BYTE
#define IB F_I8
#define IZ F_IZ
#define D F_D64
#define N F_NO64
#define G F_GROUP
#define X F_BAD
#define P 0 /* prefix or escape: consumed before the map is consulted */
#define ALU MB, M, MB, M, B | IB, IZ /* add/or/adc/sbb/and/sub/xor/cmp Eb,Gb ... rAX,Iz */

/*
 * One-byte opcode map, SDM vol. 2 Table A-2. 40-4F are INC/DEC outside 64-bit mode and REX
 * inside it, where the prefix loop takes them. 62, C4 and C5 are BOUND, LES and LDS with a
 * memory operand; with mod = 3 or in 64-bit mode they are EVEX/VEX, which F_MEM | F_NO64 rejects.
 */
static const uint16_t map1[256] = {
	/* 0 */ ALU, N, N, ALU, N, P,
	/* 1 */ ALU, N, N, ALU, N, N,
	/* 2 */ ALU, P, N, ALU, P, N,
	/* 3 */ ALU, P, N, ALU, P, N,
	/* 4 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 5 */ D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
	/* 6 */ N, N, M | F_MEM | N, M, P, P, P, P, IZ | D, M | IZ, IB | D, M | IB, B, 0, B, 0,
	/* 7 */ IB | D, IB | D, IB | D, IB | D, IB | D, IB | D, IB | D, IB | D,
	/*   */ IB | D, IB | D, IB | D, IB | D, IB | D, IB | D, IB | D, IB | D,
	/* 8 */ MB | IB, M | IZ, MB | IB | N, M | IB, MB, M, MB, M,
	/*   */ MB, M, MB, M, M, M | F_MEM, M, M | G | D,
	/* 9 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, F_AP | N, 0, D, D, 0, 0,
	/* A */ F_MOFFS | B, F_MOFFS, F_MOFFS | B, F_MOFFS, B, 0, B, 0,
	/*   */ B | IB, IZ, B, 0, B, 0, B, 0,
	/* B */ B | IB, B | IB, B | IB, B | IB, B | IB, B | IB, B | IB, B | IB,
	/*   */ F_IV, F_IV, F_IV, F_IV, F_IV, F_IV, F_IV, F_IV,
	/* C */ MB | IB, M | IB, F_IW | D, D, M | F_MEM | N, M | F_MEM | N, MB | IB | G, M | IZ | G,
	/*   */ F_IW | IB | D, D, F_IW, 0, 0, IB, N, 0,
	/* D */ MB, M, MB, M, IB | N, IB | N, X, B, M, M, M, M, M, M, M, M,
	/* E */ IB | D, IB | D, IB | D, IB | D, B | IB, IB, B | IB, IB,
	/*   */ IZ | D, IZ | D, F_AP | N, IB | D, B, 0, B, 0,
	/* F */ P, 0, P, P, 0, 0, MB | IB | G, M | IZ | G, 0, 0, 0, 0, 0, 0, MB | G, M | G,
};

/*
 * Two-byte opcode map (0F xx), SDM vol. 2 Table A-3. 38 and 3A escape to the three-byte maps
 * and are handled before this table. Left out: 3DNow! (0F 0E, 0F 0F), UD0 (0F FF).
 */
static const uint16_t map2[256] = {
	/* 0 */ M | G, M | G, M, M, X, 0, 0, 0, 0, 0, X, 0, X, M, X, X,
	/* 1 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 2 */ M | F_CTRL, M | F_CTRL, M | F_CTRL, M | F_CTRL, X, X, X, X, M, M, M, M, M, M, M, M,
	/* 3 */ 0, 0, 0, 0, 0, 0, X, 0, P, X, P, X, X, X, X, X,
	/* 4 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 5 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 6 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 7 */ M | IB, M | IB, M | IB, M | IB, M, M, M, 0, M, M, X, X, M, M, M, M,
	/* 8 */ IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D,
	/*   */ IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D, IZ | D,
	/* 9 */ MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB, MB,
	/* A */ D, D, 0, M, M | IB, M, X, X, D, D, 0, M, M | IB, M, M, M,
	/* B */ MB, M, M | F_MEM, M, M | F_MEM, M | F_MEM, M, M, M, M, M | IB | G, M, M, M, M, M,
	/* C */ MB, M, M | IB, M | F_MEM, M | IB, M | IB, M | IB, M | G, 0, 0, 0, 0, 0, 0, 0, 0,
	/* D */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* E */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* F */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, X,
};

#undef M
#undef MB
#undef B
#undef IB
#undef IZ
#undef D
#undef N
#undef G
#undef X
#undef P
#undef ALU
/* clang-format on */

/* Key of an opcode in groups[]: the byte, plus 0x100 in the 0F map. */
#define OP1(op) (op)
#define OP2(op) (0x100 | (op))

/*
 * Opcode groups, SDM vol. 2 Table A-6. Each mask has bit n set for ModRM.reg = n: the members
 * defined with a memory operand and with a register operand, those that keep the map's
 * immediate (TEST in group 3), those with a 64-bit default operand size (near CALL/JMP and PUSH
 * in group 5), and those the kind table describes (MOV in group 11, TEST in group 3).
 */
struct group {
	uint16_t op;
	uint8_t mem_ok, reg_ok, imm, d64, kind;
};

static const struct group groups[] = {
	{ OP1(0x8f), 0x01, 0x01, 0xff, 0x00, 0xff }, /* 1A: POP Ev; the rest is AMD XOP */
	{ OP1(0xc6), 0x01, 0x01, 0xff, 0x00, 0x01 }, /* 11: MOV Eb,Ib; C6 F8 XABORT apart */
	{ OP1(0xc7), 0x01, 0x01, 0xff, 0x00, 0x01 }, /* 11: MOV Ev,Iz; C7 F8 XBEGIN apart */
	{ OP1(0xf6), 0xff, 0xff, 0x03, 0x00, 0x03 }, /* 3: /1 is TEST as on hardware */
	{ OP1(0xf7), 0xff, 0xff, 0x03, 0x00, 0x03 }, /* 3 */
	{ OP1(0xfe), 0x03, 0x03, 0xff, 0x00, 0xff }, /* 4: INC/DEC Eb */
	{ OP1(0xff), 0x7f, 0x57, 0xff, 0x54, 0xff }, /* 5: far CALL/JMP need memory */
	{ OP2(0x00), 0x3f, 0x3f, 0xff, 0x00, 0xff }, /* 6: SLDT STR LLDT LTR VERR VERW */
	{ OP2(0x01), 0xff, 0x00, 0xff, 0x00, 0xff }, /* 7: register forms in grp7_regs */
	{ OP2(0xba), 0xf0, 0xf0, 0xff, 0x00, 0xff }, /* 8: BT BTS BTR BTC Ev,Ib */
	{ OP2(0xc7), 0xfa, 0xc0, 0xff, 0x00, 0xff }, /* 9: CMPXCHG8B/16B, XSAVE*, VMPTR*, RDRAND */
};

/* Bit n: 0F 01 with ModRM C0+n exists (Table A-6 group 7, mod = 11B, and the AMD APM). */
#define BITS(lo, hi) (((~0ull) >> (63 - ((hi)-0xc0))) & ((~0ull) << ((lo)-0xc0)))
static const uint64_t grp7_regs =
	BITS(0xc1, 0xc4)    /* VMCALL VMLAUNCH VMRESUME VMXOFF */
	| BITS(0xc8, 0xcb)  /* MONITOR MWAIT CLAC STAC */
	| BITS(0xcf, 0xd1)  /* ENCLS XGETBV XSETBV */
	| BITS(0xd4, 0xd7)  /* VMFUNC XEND XTEST ENCLU */
	| BITS(0xd8, 0xdf)  /* VMRUN VMMCALL VMLOAD VMSAVE STGI CLGI SKINIT INVLPGA */
	| BITS(0xe0, 0xe8)  /* SMSW reg, SERIALIZE */
	| BITS(0xee, 0xfd); /* RDPKRU WRPKRU LMSW SWAPGS RDTSCP MONITORX MWAITX CLZERO RDPRU */
#undef BITS

/*
 * Kinds of the one-byte map; ALU and TEST count only with a memory operand. Laid out by hand
 * in groups of related opcodes.
 */
#define ALU_KINDS(op)                                                                              \
	[op] = DK_ALU_MEM, [op + 1] = DK_ALU_MEM, [op + 2] = DK_ALU_MEM, [op + 3] = DK_ALU_MEM
/* clang-format off */
static const uint8_t kind1[256] = {
	ALU_KINDS(0x00), ALU_KINDS(0x08), ALU_KINDS(0x10), ALU_KINDS(0x18),
	ALU_KINDS(0x20), ALU_KINDS(0x28), ALU_KINDS(0x30), ALU_KINDS(0x38),
	[0x80] = DK_ALU_MEM, [0x81] = DK_ALU_MEM, [0x82] = DK_ALU_MEM, [0x83] = DK_ALU_MEM,
	[0x84] = DK_TEST_MEM, [0x85] = DK_TEST_MEM, [0xf6] = DK_TEST_MEM, [0xf7] = DK_TEST_MEM,
	[0x88] = DK_MOV_STORE, [0x89] = DK_MOV_STORE, [0xc6] = DK_MOV_STORE, [0xc7] = DK_MOV_STORE,
	[0xa2] = DK_MOV_STORE, [0xa3] = DK_MOV_STORE,
	[0x8a] = DK_MOV_LOAD, [0x8b] = DK_MOV_LOAD, [0xa0] = DK_MOV_LOAD, [0xa1] = DK_MOV_LOAD,
	[0x63] = DK_MOVSX,
	[0xa4] = DK_MOVS, [0xa5] = DK_MOVS, [0xaa] = DK_STOS, [0xab] = DK_STOS,
	[0xac] = DK_LODS, [0xad] = DK_LODS,
	[0xe4] = DK_IN, [0xe5] = DK_IN, [0xec] = DK_IN, [0xed] = DK_IN,
	[0xe6] = DK_OUT, [0xe7] = DK_OUT, [0xee] = DK_OUT, [0xef] = DK_OUT,
	[0x6c] = DK_INS, [0x6d] = DK_INS, [0x6e] = DK_OUTS, [0x6f] = DK_OUTS,
	[0xcc] = DK_INT3, [0xcd] = DK_INTN, [0xce] = DK_INTO, [0xcf] = DK_IRET, [0xf1] = DK_INT1,
	[0x9c] = DK_PUSHF, [0x9d] = DK_POPF, [0xfa] = DK_CLI, [0xfb] = DK_STI, [0xf4] = DK_HLT,
};
/* clang-format on */
#undef ALU_KINDS

/* Kinds of the 0F map but for group 7 (0F 01), which grp7_kind handles. */
/* clang-format off */
static const uint8_t kind2[256] = {
	[0x06] = DK_CLTS, [0x08] = DK_INVD, [0x09] = DK_WBINVD,
	[0x20] = DK_MOV_CR, [0x22] = DK_MOV_CR, [0x21] = DK_MOV_DR, [0x23] = DK_MOV_DR,
	[0x30] = DK_WRMSR, [0x31] = DK_RDTSC, [0x32] = DK_RDMSR, [0x33] = DK_RDPMC,
	[0xa2] = DK_CPUID,
	[0xb6] = DK_MOVZX, [0xb7] = DK_MOVZX, [0xbe] = DK_MOVSX, [0xbf] = DK_MOVSX,
	[0xc3] = DK_MOV_STORE,
};
/* clang-format on */

/* Group 7 memory forms by ModRM.reg. */
static const uint8_t grp7_mem_kind[8] = {
	DK_SGDT, DK_SIDT, DK_LGDT, DK_LIDT, DK_SMSW, DK_OTHER, DK_LMSW, DK_INVLPG,
};

/* Group 7 register forms with a kind of their own, by ModRM byte. */
static const struct {
	uint8_t modrm, kind;
} grp7_reg_kind[] = {
	{ 0xc1, DK_VMCALL }, { 0xc8, DK_MONITOR }, { 0xc9, DK_MWAIT },	{ 0xd1, DK_XSETBV },
	{ 0xd8, DK_VMRUN },  { 0xd9, DK_VMMCALL }, { 0xda, DK_VMLOAD }, { 0xdb, DK_VMSAVE },
	{ 0xdc, DK_STGI },   { 0xdd, DK_CLGI },	   { 0xde, DK_SKINIT }, { 0xdf, DK_INVLPGA },
	{ 0xf9, DK_RDTSCP },
};

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1
#define NO_INDEX 4

/* The bytes being decoded; pos never passes avail nor DECODE_MAX_LEN. */
struct cursor {
	const uint8_t *bytes;
	size_t avail;
	size_t pos;
};

/* The 15-byte limit is checked first: no further byte could make such an encoding valid. */
static int check_room(const struct cursor *c, size_t n)
{
	if (c->pos + n > DECODE_MAX_LEN) {
		return DECODE_ERR_TOO_LONG;
	}
	if (c->pos + n > c->avail) {
		return DECODE_ERR_TRUNCATED;
	}
	return 0;
}

/* Reads n bytes as a little-endian number (SDM vol. 2, 2.1.4: displacements and immediates). */
static int fetch(struct cursor *c, size_t n, uint64_t *value)
{
	int err = check_room(c, n);
	if (err) {
		return err;
	}
	*value = 0;
	for (size_t i = 0; i < n; i++) {
		*value |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
	}
	c->pos += n;
	return 0;
}

static int fetch8(struct cursor *c, uint8_t *byte)
{
	uint64_t v = 0;
	int err = fetch(c, 1, &v);
	*byte = (uint8_t)v;
	return err;
}

static uint64_t size_mask(unsigned bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

static int64_t sign_extend(uint64_t value, unsigned bytes)
{
	uint64_t sign = 1ull << (8 * bytes - 1);
	return (int64_t)(((value & size_mask(bytes)) ^ sign) - sign);
}

/*
 * Legacy prefixes, SDM vol. 2, 2.1.1. In 64-bit mode the ES/CS/SS/DS overrides are ignored
 * (SDM vol. 1, 3.4.2.1; AMD APM vol. 3, 1.2.4). Any legacy prefix cancels an earlier REX, which
 * counts only directly before the opcode (vol. 2, 2.2.1).
 */
static bool legacy_prefix(struct decode_insn *in, uint8_t b)
{
	switch (b) {
	case 0xf0:
		in->lock = true;
		break;
	case 0xf2:
		in->repne = true;
		in->rep = false;
		break;
	case 0xf3:
		in->rep = true;
		in->repne = false;
		break;
	case 0x66:
		in->opsize_prefix = true;
		break;
	case 0x67:
		in->addrsize_prefix = true;
		break;
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
		if (in->mode != DECODE_64) {
			in->seg = (b >> 3) & 3;
		}
		break;
	case 0x64:
	case 0x65:
		in->seg = DECODE_SEG_FS + (b - 0x64);
		break;
	default:
		return false;
	}
	in->rex = 0;
	return true;
}

/* REX, SDM vol. 2, 2.2.1: 40-4F in 64-bit mode only; of several the last counts. */
static bool rex_prefix(struct decode_insn *in, uint8_t b)
{
	if (in->mode != DECODE_64 || (b & 0xf0) != 0x40) {
		return false;
	}
	in->rex = b;
	return true;
}

/* Prefixes may come in any order and repeat; only the 15-byte limit bounds them. */
static int decode_prefixes(struct cursor *c, struct decode_insn *in)
{
	for (;;) {
		int err = check_room(c, 1);
		if (err) {
			return err;
		}
		uint8_t b = c->bytes[c->pos];
		if (!legacy_prefix(in, b) && !rex_prefix(in, b)) {
			return 0;
		}
		c->pos++;
	}
}

/* Address-size attribute, SDM vol. 1 Tables 3-3 and 3-4: 67 toggles it (to 32 bits in 64-bit). */
static uint8_t address_size(const struct decode_insn *in)
{
	static const uint8_t plain[] = { 2, 4, 8 };
	static const uint8_t toggled[] = { 4, 2, 4 };
	return in->addrsize_prefix ? toggled[in->mode] : plain[in->mode];
}

/*
 * Operand-size attribute, SDM vol. 1 Tables 3-3 and 3-4 (REX.W beats 66), vol. 2 A.2.5 (d64,
 * f64) and MOV to/from CR/DR (always the full width). For f64 near branches 66 still selects 16
 * bits, as on AMD processors and in QEMU; Intel processors ignore it there.
 */
static uint8_t operand_size(const struct decode_insn *in, unsigned flags)
{
	if (flags & F_BYTE) {
		return 1;
	}
	if (flags & F_CTRL) {
		return in->mode == DECODE_64 ? 8 : 4;
	}
	if (in->mode == DECODE_64) {
		if (in->rex & REX_W) {
			return 8;
		}
		if (in->opsize_prefix) {
			return 2;
		}
		return (flags & F_D64) ? 8 : 4;
	}
	return ((in->mode == DECODE_32) != in->opsize_prefix) ? 4 : 2;
}

/* Opcode bytes, SDM vol. 2, 2.1.2: one byte, 0F xx, or 0F 38 xx / 0F 3A xx (Tables ). */
static int decode_opcode(struct cursor *c, struct decode_insn *in, unsigned *flags)
{
	int err = fetch8(c, &in->opcode);
	if (err || in->opcode != 0x0f) {
		*flags = map1[in->opcode];
		return err;
	}
	in->two_byte = true;
	err = fetch8(c, &in->opcode2);
	if (err) {
		return err;
	}
	if (in->opcode2 != 0x38 && in->opcode2 != 0x3a) {
		*flags = map2[in->opcode2];
		return 0;
	}
	/* Every three-byte opcode has a ModRM; the 0F 3A ones also an Ib. */
	in->three_byte = true;
	*flags = F_MODRM | (in->opcode2 == 0x3a ? F_I8 : 0);
	return fetch8(c, &in->opcode3);
}

/*
 * Mandatory prefixes that change what a 0F opcode is: POPCNT needs F3 (plain 0F B8 is the
 * Itanium JMPE); 66 or F2 turn VMREAD/VMWRITE into AMD's SSE4a EXTRQ/INSERTQ, left out.
 */
static bool prefixes_fit(const struct decode_insn *in)
{
	if (!in->two_byte || in->three_byte) {
		return true;
	}
	if (in->opcode2 == 0xb8) {
		return in->rep;
	}
	if (in->opcode2 == 0x78 || in->opcode2 == 0x79) {
		return !in->opsize_prefix && !in->repne;
	}
	return true;
}

static bool opcode_valid(const struct decode_insn *in, unsigned flags)
{
	if (flags & F_BAD) {
		return false;
	}
	if ((flags & F_NO64) && in->mode == DECODE_64) {
		return false;
	}
	return prefixes_fit(in);
}

static const struct group *find_group(const struct decode_insn *in)
{
	uint16_t key = in->two_byte ? OP2(in->opcode2) : OP1(in->opcode);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (groups[i].op == key) {
			return &groups[i];
		}
	}
	return NULL;
}

/* Register forms of group 7 are whole instructions named by the ModRM byte. */
static bool grp7_reg_ok(const struct decode_insn *in)
{
	if (in->modrm == 0xf8) {
		return in->mode == DECODE_64; /* SWAPGS */
	}
	return (grp7_regs >> (in->modrm - 0xc0)) & 1;
}

/* Checks the group member and adjusts the immediate and operand size it implies. */
static bool decode_group(struct decode_insn *in, unsigned *flags)
{
	const struct group *g = find_group(in);
	unsigned bit = 1u << ((in->modrm >> 3) & 7);
	bool is_reg = in->mod == 3;

	if (!g) {
		return false;
	}
	if (in->two_byte && in->opcode2 == 0x01 && is_reg) {
		return grp7_reg_ok(in);
	}
	if (!in->two_byte && (in->opcode & 0xfe) == 0xc6 && in->modrm == 0xf8) {
		return true; /* XABORT Ib, XBEGIN Jz: same immediates as MOV */
	}
	if (!((is_reg ? g->reg_ok : g->mem_ok) & bit)) {
		return false;
	}
	if (!(g->imm & bit)) {
		*flags &= ~(unsigned)(F_I8 | F_IZ);
	}
	if (g->d64 & bit) {
		*flags |= F_D64;
	}
	return true;
}

/* Table 2-1: base and index register of each 16-bit form ([BX+SI], ..., [BP], [BX]). */
static const uint8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
static const uint8_t index16[8] = { 6, 7, 6, 7, NO_INDEX, NO_INDEX, NO_INDEX, NO_INDEX };

static int fetch_disp(struct cursor *c, struct decode_insn *in)
{
	uint64_t v = 0;
	int err = fetch(c, in->disp_size, &v);
	in->disp = in->disp_size ? sign_extend(v, in->disp_size) : 0;
	return err;
}

/* 16-bit addressing, SDM vol. 2 Table 2-1: mod 0 rm 6 is a bare disp16, no SIB. */
static void decode_mem16(struct decode_insn *in)
{
	unsigned rm = in->modrm & 7;
	in->base = base16[rm];
	in->index = index16[rm];
	if (in->mod == 0 && rm == 6) {
		in->base = DECODE_NO_REG;
	}
	in->disp_size = in->mod == 1 ? 1 : 2;
	if (in->mod == 0 && in->base != DECODE_NO_REG) {
		in->disp_size = 0;
	}
}

/*
 * SIB byte, SDM vol. 2 Table 2-3 and 2.2.1.2: index 100b without REX.X means none, base 101b
 * with mod 0 means disp32 and no base. The special cases test the bits before REX extends them.
 */
static int decode_sib(struct cursor *c, struct decode_insn *in)
{
	int err = fetch8(c, &in->sib);
	if (err) {
		return err;
	}
	in->has_sib = true;
	in->scale = (uint8_t)(1u << (in->sib >> 6));
	in->index = ((in->sib >> 3) & 7) | ((in->rex & REX_X) ? 8 : 0);
	in->base = (in->sib & 7) | ((in->rex & REX_B) ? 8 : 0);
	if ((in->sib & 7) == 5 && in->mod == 0) {
		in->base = DECODE_NO_REG;
	}
	return 0;
}

/*
 * 32- and 64-bit addressing, SDM vol. 2 Table 2-2: rm 100b brings a SIB; mod 0 rm 101b is
 * disp32, RIP-relative in 64-bit mode whatever the address size (2.2.1.6).
 */
static int decode_mem32(struct cursor *c, struct decode_insn *in)
{
	unsigned rm = in->modrm & 7;
	in->base = in->rm;
	if (rm == 4) {
		int err = decode_sib(c, in);
		if (err) {
			return err;
		}
	} else if (rm == 5 && in->mod == 0) {
		in->base = DECODE_NO_REG;
		in->rip_relative = in->mode == DECODE_64;
	}
	in->disp_size = in->mod == 1 ? 1 : 4;
	if (in->mod == 0 && in->base != DECODE_NO_REG) {
		in->disp_size = 0;
	}
	return 0;
}

/* ModRM, SDM vol. 2, 2.1.5; REX.R and REX.B extend reg and rm (2.2.1.2). */
static int decode_modrm(struct cursor *c, struct decode_insn *in, unsigned *flags)
{
	if (!(*flags & F_MODRM)) {
		return 0;
	}
	int err = fetch8(c, &in->modrm);
	if (err) {
		return err;
	}
	in->has_modrm = true;
	in->mod = in->modrm >> 6;
	in->reg = ((in->modrm >> 3) & 7) | ((in->rex & REX_R) ? 8 : 0);
	in->rm = (in->modrm & 7) | ((in->rex & REX_B) ? 8 : 0);
	if (*flags & F_CTRL) {
		in->mod = 3; /* MOV CR/DR ignore mod (vol. 2, MOV-Move to/from Control Registers) */
		return 0;
	}
	if ((*flags & F_MEM) && in->mod == 3) {
		return DECODE_ERR_UNSUPPORTED;
	}
	if ((*flags & F_GROUP) && !decode_group(in, flags)) {
		return DECODE_ERR_UNSUPPORTED;
	}
	if (in->mod == 3) {
		return 0;
	}
	in->mem = true;
	if (in->addrsize == 2) {
		decode_mem16(in);
		return 0;
	}
	return decode_mem32(c, in);
}

/* A0-A3: a bare offset of the address size, 8 bytes in 64-bit mode (vol. 2, MOV, moffs). */
static int fetch_moffs(struct cursor *c, struct decode_insn *in)
{
	uint64_t v = 0;
	int err = fetch(c, in->disp_size, &v);
	in->disp = (int64_t)v;
	return err;
}

static void decode_moffs(struct decode_insn *in)
{
	in->mem = true;
	in->base = DECODE_NO_REG;
	in->disp_size = in->addrsize;
}

/* Size of the first immediate, SDM vol. 2 A.2.2 operand-type codes b, w, z, v, p. */
static unsigned imm_size(const struct decode_insn *in, unsigned flags)
{
	if (flags & F_IW) {
		return 2;
	}
	if (flags & F_I8) {
		return 1;
	}
	if (flags & (F_IZ | F_AP)) {
		return in->opsize == 2 ? 2 : 4;
	}
	if (flags & F_IV) {
		return in->opsize;
	}
	return 0;
}

/* The second immediate: ENTER's nesting level (Iw, Ib) or a far pointer's selector. */
static unsigned imm2_size(unsigned flags)
{
	if (flags & F_AP) {
		return 2;
	}
	return ((flags & F_IW) && (flags & F_I8)) ? 1 : 0;
}

static int decode_imm(struct cursor *c, struct decode_insn *in)
{
	uint64_t v = 0;
	int err = 0;

	if (in->imm_size) {
		err = fetch(c, in->imm_size, &in->imm);
		in->has_imm = true;
	}
	if (!err && in->imm2_size) {
		err = fetch(c, in->imm2_size, &v);
		in->imm2 = (uint16_t)v;
	}
	return err;
}

static enum decode_kind grp7_kind(const struct decode_insn *in)
{
	unsigned reg = (in->modrm >> 3) & 7;
	if (in->mem) {
		return grp7_mem_kind[reg];
	}
	if (reg == 4 || reg == 6) {
		return reg == 4 ? DK_SMSW : DK_LMSW;
	}
	for (size_t i = 0; i < sizeof(grp7_reg_kind) / sizeof(grp7_reg_kind[0]); i++) {
		if (grp7_reg_kind[i].modrm == in->modrm) {
			return grp7_reg_kind[i].kind;
		}
	}
	return DK_OTHER;
}

/* F3 90 is PAUSE, but F3 41 90 is XCHG r8d, eax with a stray F3. */
static enum decode_kind kind_one_byte(const struct decode_insn *in)
{
	if (in->opcode == 0x90) {
		return (in->rep && !(in->rex & REX_B)) ? DK_PAUSE : DK_OTHER;
	}
	if (in->opcode == 0x63 && in->mode != DECODE_64) {
		return DK_OTHER; /* ARPL */
	}
	return kind1[in->opcode];
}

static enum decode_kind classify(const struct decode_insn *in)
{
	if (in->three_byte) {
		return DK_OTHER;
	}
	if (in->two_byte && in->opcode2 == 0x01) {
		return grp7_kind(in);
	}
	enum decode_kind kind = in->two_byte ? kind2[in->opcode2] : kind_one_byte(in);
	const struct group *g = in->has_modrm ? find_group(in) : NULL;
	if (g && !(g->kind & (1u << ((in->modrm >> 3) & 7)))) {
		return DK_OTHER;
	}
	if ((kind == DK_ALU_MEM || kind == DK_TEST_MEM) && !in->mem) {
		return DK_OTHER;
	}
	return kind;
}

/* Memory access size: MOVZX/MOVSX read a byte or word, MOVSXD a dword (or a word with 66). */
static uint8_t memory_size(const struct decode_insn *in)
{
	if (in->kind != DK_MOVZX && in->kind != DK_MOVSX) {
		return in->opsize;
	}
	if (in->two_byte) {
		return (in->opcode2 & 1) ? 2 : 1;
	}
	return in->opsize == 8 ? 4 : in->opsize;
}

/* Port I/O moves at most 32 bits: REX.W does not widen IN/OUT/INS/OUTS. */
static void finish_sizes(struct decode_insn *in)
{
	bool io = in->kind == DK_IN || in->kind == DK_OUT || in->kind == DK_INS ||
		  in->kind == DK_OUTS;
	if (io && in->opsize == 8) {
		in->opsize = 4;
	}
	in->mem_size = memory_size(in);
}

/*
 * Displacement (or moffs) and immediates, SDM vol. 2, 2.1.4. Their sizes are known once the
 * ModRM and SIB are read, so an encoding past 15 bytes is TOO_LONG however few bytes are given.
 */
static int decode_tail(struct cursor *c, struct decode_insn *in, unsigned flags)
{
	in->imm_size = (uint8_t)imm_size(in, flags);
	in->imm2_size = (uint8_t)imm2_size(flags);
	int err = check_room(c, (size_t)in->disp_size + in->imm_size + in->imm2_size);
	if (err) {
		return err;
	}
	err = (flags & F_MOFFS) ? fetch_moffs(c, in) : fetch_disp(c, in);
	return err ? err : decode_imm(c, in);
}

/* Everything after the prefixes, in encoding order (SDM vol. 2, Figure 2-1). */
static int decode_body(struct cursor *c, struct decode_insn *in)
{
	unsigned flags;
	int err = decode_opcode(c, in, &flags);
	if (err) {
		return err;
	}
	if (!opcode_valid(in, flags)) {
		return DECODE_ERR_UNSUPPORTED;
	}
	err = decode_modrm(c, in, &flags);
	if (err) {
		return err;
	}
	in->opsize = operand_size(in, flags);
	if (flags & F_MOFFS) {
		decode_moffs(in);
	}
	return decode_tail(c, in, flags);
}

int decode_insn(const uint8_t *bytes, size_t avail, enum decode_mode mode, struct decode_insn *out)
{
	struct cursor c = { .bytes = bytes, .avail = avail, .pos = 0 };

	memset(out, 0, sizeof(*out));
	if (mode != DECODE_16 && mode != DECODE_32 && mode != DECODE_64) {
		return DECODE_ERR_UNSUPPORTED;
	}
	out->mode = mode;
	out->seg = -1;
	out->base = DECODE_NO_REG;
	out->index = NO_INDEX;
	out->scale = 1;

	int err = decode_prefixes(&c, out);
	if (err) {
		return err;
	}
	out->addrsize = address_size(out);
	err = decode_body(&c, out);
	if (err) {
		return err;
	}
	out->kind = classify(out);
	finish_sizes(out);
	out->len = (uint8_t)c.pos;
	return out->len;
}

/* Default segments, SDM vol. 1 Table 3-5: SS when the base is rSP or rBP, else DS. */
int decode_mem_seg(const struct decode_insn *in)
{
	if (in->seg >= 0) {
		return in->seg;
	}
	if (in->mem && (in->base == 4 || in->base == 5)) {
		return DECODE_SEG_SS;
	}
	return DECODE_SEG_DS;
}

/* Outside 64-bit mode linear addresses wrap at 4 GiB. */
static uint64_t linear(const struct decode_insn *in, uint64_t addr)
{
	return in->mode == DECODE_64 ? addr : (addr & 0xffffffffull);
}

uint64_t decode_ea(const struct decode_insn *in, const uint64_t gpr[16], uint64_t rip_next,
		   uint64_t seg_base)
{
	uint64_t ea = (uint64_t)in->disp;
	if (in->rip_relative) {
		ea += rip_next;
	} else if (in->base != DECODE_NO_REG) {
		ea += gpr[in->base];
	}
	if (in->index != NO_INDEX) {
		ea += gpr[in->index] * in->scale;
	}
	return linear(in, seg_base + (ea & size_mask(in->addrsize)));
}

uint64_t decode_str_addr(const struct decode_insn *in, const uint64_t gpr[16], uint64_t seg_base,
			 bool source)
{
	uint64_t offset = gpr[source ? 6 : 7] & size_mask(in->addrsize);
	return linear(in, seg_base + offset);
}

/* Byte registers 4-7 are AH, CH, DH, BH unless a REX prefix is present (2.2.1.2, Table 3-1). */
static bool high_byte_reg(const struct decode_insn *in, unsigned size, unsigned reg)
{
	return size == 1 && !in->rex && reg >= 4 && reg < 8;
}

static uint64_t reg_read(const struct decode_insn *in, const uint64_t gpr[16], unsigned size,
			 unsigned reg)
{
	if (high_byte_reg(in, size, reg)) {
		return gpr[reg - 4] >> 8;
	}
	return gpr[reg];
}

/* 32-bit results zero-extend to 64 bits; 8- and 16-bit results keep the rest (vol. 1, 3.4.1.1). */
static void reg_write(const struct decode_insn *in, uint64_t gpr[16], unsigned size, unsigned reg,
		      uint64_t value)
{
	if (high_byte_reg(in, size, reg)) {
		gpr[reg - 4] = (gpr[reg - 4] & ~0xff00ull) | ((value & 0xff) << 8);
	} else if (size == 4) {
		gpr[reg] = value & 0xffffffffull;
	} else {
		uint64_t mask = size_mask(size);
		gpr[reg] = (gpr[reg] & ~mask) | (value & mask);
	}
}

bool decode_store_value(const struct decode_insn *in, const uint64_t gpr[16], uint64_t *value)
{
	uint64_t v;
	if (in->kind == DK_MOV_STORE && in->has_imm) {
		v = (uint64_t)sign_extend(in->imm, in->imm_size);
	} else if (in->kind == DK_MOV_STORE) {
		v = reg_read(in, gpr, in->opsize, in->reg);
	} else if (in->kind == DK_STOS || in->kind == DK_OUT) {
		v = gpr[0];
	} else {
		return false;
	}
	*value = v & size_mask(in->mem_size);
	return true;
}

bool decode_load_apply(const struct decode_insn *in, uint64_t gpr[16], uint64_t value)
{
	uint64_t v = value & size_mask(in->mem_size);
	switch (in->kind) {
	case DK_MOVSX:
		v = (uint64_t)sign_extend(v, in->mem_size);
		break;
	case DK_MOV_LOAD:
	case DK_MOVZX:
	case DK_LODS:
	case DK_IN:
		break;
	default:
		return false;
	}
	reg_write(in, gpr, in->opsize, in->reg, v);
	return true;
}
