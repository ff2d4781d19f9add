/* SPDX-License-Identifier: MIT */
/*
 * VMCS field encodings (Intel SDM vol. 3C appendix B), one enum per field width, and the only ways
 * to reach them: typed accessors over VMREAD/VMWRITE (SDM vol. 3C 24.11.2). The other VMX
 * instructions the backend uses (VMXON, VMCLEAR, VMPTRLD, INVEPT; SDM vol. 3C ch. 30) are here
 * too. Host unit tests replace the instructions by a VMCS in memory (tests/fake/fake_vmcs.c).
 */
#ifndef KERNEL_VMX_VMCS_H
#define KERNEL_VMX_VMCS_H

#include "types.h"

/* 16-bit fields (B.1). Guest and host selectors follow the order ES CS SS DS FS GS LDTR TR. */
enum vmcs_field16 {
	VMCS_VPID = 0x0000,
	VMCS_GUEST_ES_SEL = 0x0800, /* + 2 * segment index */
	VMCS_GUEST_TR_SEL = 0x080e,
	VMCS_HOST_ES_SEL = 0x0c00,
	VMCS_HOST_CS_SEL = 0x0c02,
	VMCS_HOST_SS_SEL = 0x0c04,
	VMCS_HOST_DS_SEL = 0x0c06,
	VMCS_HOST_FS_SEL = 0x0c08,
	VMCS_HOST_GS_SEL = 0x0c0a,
	VMCS_HOST_TR_SEL = 0x0c0c,
};

/* 64-bit fields (B.2); the high half of each is encoding + 1, never used here. */
enum vmcs_field64 {
	VMCS_IO_BITMAP_A = 0x2000,
	VMCS_IO_BITMAP_B = 0x2002,
	VMCS_MSR_BITMAP = 0x2004,
	VMCS_EXIT_MSR_STORE_ADDR = 0x2006,
	VMCS_EXIT_MSR_LOAD_ADDR = 0x2008,
	VMCS_ENTRY_MSR_LOAD_ADDR = 0x200a,
	VMCS_TSC_OFFSET = 0x2010,
	VMCS_EPT_POINTER = 0x201a,
	VMCS_GUEST_PHYS_ADDR = 0x2400,
	VMCS_LINK_POINTER = 0x2800,
	VMCS_GUEST_DEBUGCTL = 0x2802,
	VMCS_GUEST_PAT = 0x2804,
	VMCS_GUEST_EFER = 0x2806,
	VMCS_HOST_PAT = 0x2c00,
	VMCS_HOST_EFER = 0x2c02,
};

/* 32-bit fields (B.3). */
enum vmcs_field32 {
	VMCS_PIN_CTLS = 0x4000,
	VMCS_PROC_CTLS = 0x4002,
	VMCS_EXC_BITMAP = 0x4004,
	VMCS_CR3_TARGET_COUNT = 0x400a,
	VMCS_EXIT_CTLS = 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT = 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT = 0x4010,
	VMCS_ENTRY_CTLS = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VMCS_ENTRY_INTR_INFO = 0x4016,
	VMCS_ENTRY_EXC_ERROR = 0x4018,
	VMCS_ENTRY_INSN_LEN = 0x401a,
	VMCS_PROC_CTLS2 = 0x401e,
	VMCS_INSN_ERROR = 0x4400,
	VMCS_EXIT_REASON = 0x4402,
	VMCS_EXIT_INTR_INFO = 0x4404,
	VMCS_EXIT_INTR_ERROR = 0x4406,
	VMCS_IDT_VECTORING_INFO = 0x4408,
	VMCS_IDT_VECTORING_ERROR = 0x440a,
	VMCS_EXIT_INSN_LEN = 0x440c,
	VMCS_GUEST_ES_LIMIT = 0x4800, /* + 2 * segment index */
	VMCS_GUEST_GDTR_LIMIT = 0x4810,
	VMCS_GUEST_IDTR_LIMIT = 0x4812,
	VMCS_GUEST_ES_AR = 0x4814, /* + 2 * segment index */
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY = 0x4826,
	VMCS_GUEST_SYSENTER_CS = 0x482a,
	VMCS_GUEST_PREEMPT_TIMER = 0x482e,
	VMCS_HOST_SYSENTER_CS = 0x4c00,
};

/* Natural-width fields (B.4). */
enum vmcs_field_nat {
	VMCS_CR0_MASK = 0x6000,
	VMCS_CR4_MASK = 0x6002,
	VMCS_CR0_SHADOW = 0x6004,
	VMCS_CR4_SHADOW = 0x6006,
	VMCS_EXIT_QUAL = 0x6400,
	VMCS_GUEST_LINEAR_ADDR = 0x640a,
	VMCS_GUEST_CR0 = 0x6800,
	VMCS_GUEST_CR3 = 0x6802,
	VMCS_GUEST_CR4 = 0x6804,
	VMCS_GUEST_ES_BASE = 0x6806, /* + 2 * segment index */
	VMCS_GUEST_GDTR_BASE = 0x6816,
	VMCS_GUEST_IDTR_BASE = 0x6818,
	VMCS_GUEST_DR7 = 0x681a,
	VMCS_GUEST_RSP = 0x681c,
	VMCS_GUEST_RIP = 0x681e,
	VMCS_GUEST_RFLAGS = 0x6820,
	VMCS_GUEST_PENDING_DBG = 0x6822,
	VMCS_GUEST_SYSENTER_ESP = 0x6824,
	VMCS_GUEST_SYSENTER_EIP = 0x6826,
	VMCS_HOST_CR0 = 0x6c00,
	VMCS_HOST_CR3 = 0x6c02,
	VMCS_HOST_CR4 = 0x6c04,
	VMCS_HOST_FS_BASE = 0x6c06,
	VMCS_HOST_GS_BASE = 0x6c08,
	VMCS_HOST_TR_BASE = 0x6c0a,
	VMCS_HOST_GDTR_BASE = 0x6c0c,
	VMCS_HOST_IDTR_BASE = 0x6c0e,
	VMCS_HOST_SYSENTER_ESP = 0x6c10,
	VMCS_HOST_SYSENTER_EIP = 0x6c12,
	VMCS_HOST_RSP = 0x6c14,
	VMCS_HOST_RIP = 0x6c16,
};

#ifdef HOST_TEST
/* tests/fake/fake_vmcs.c: the current VMCS is a table in memory; the instructions succeed unless
 * a test says otherwise. */
uint64_t vmcs_raw_read(uint32_t enc);
void vmcs_raw_write(uint32_t enc, uint64_t v);
bool vmx_vmxon(uint64_t pa);
bool vmx_vmclear(uint64_t pa);
bool vmx_vmptrld(uint64_t pa);
bool vmx_invept(uint64_t type, uint64_t eptp);
#else
static inline uint64_t vmcs_raw_read(uint32_t enc)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((uint64_t)enc) : "cc");
	return v;
}

static inline void vmcs_raw_write(uint32_t enc, uint64_t v)
{
	__asm__ volatile("vmwrite %1, %0" ::"r"((uint64_t)enc), "rm"(v) : "cc");
}

/* Each returns false on VMfailInvalid or VMfailValid (CF or ZF set, SDM vol. 3C 30.2). */
#define VMX_INSN_MEM(name, insn)                                                                   \
	static inline bool name(uint64_t pa)                                                       \
	{                                                                                          \
		bool fail;                                                                         \
		__asm__ volatile(insn " %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");   \
		return !fail;                                                                      \
	}
VMX_INSN_MEM(vmx_vmxon, "vmxon")
VMX_INSN_MEM(vmx_vmclear, "vmclear")
VMX_INSN_MEM(vmx_vmptrld, "vmptrld")
#undef VMX_INSN_MEM

static inline bool vmx_invept(uint64_t type, uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = { eptp, 0 };
	bool fail;
	__asm__ volatile("invept %1, %2; setbe %0"
			 : "=qm"(fail)
			 : "m"(desc), "r"(type)
			 : "cc", "memory");
	return !fail;
}
#endif

static inline uint16_t vmread16(enum vmcs_field16 f)
{
	return (uint16_t)vmcs_raw_read(f);
}
static inline uint32_t vmread32(enum vmcs_field32 f)
{
	return (uint32_t)vmcs_raw_read(f);
}
static inline uint64_t vmread64(enum vmcs_field64 f)
{
	return vmcs_raw_read(f);
}
static inline uint64_t vmreadnat(enum vmcs_field_nat f)
{
	return vmcs_raw_read(f);
}
static inline void vmwrite16(enum vmcs_field16 f, uint16_t v)
{
	vmcs_raw_write(f, v);
}
static inline void vmwrite32(enum vmcs_field32 f, uint32_t v)
{
	vmcs_raw_write(f, v);
}
static inline void vmwrite64(enum vmcs_field64 f, uint64_t v)
{
	vmcs_raw_write(f, v);
}
static inline void vmwritenat(enum vmcs_field_nat f, uint64_t v)
{
	vmcs_raw_write(f, v);
}

#endif
