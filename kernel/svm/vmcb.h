/* SPDX-License-Identifier: MIT */
/* The AMD virtual machine control block (AMD APM vol. 2, Appendix B "Layout of VMCB"). */
#ifndef KERNEL_SVM_VMCB_H
#define KERNEL_SVM_VMCB_H

#include "types.h"

struct vmcb_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
} __packed;

struct vmcb_control {
	uint32_t intercept_cr;	  /* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;	  /* 0x004 */
	uint32_t intercept_exc;	  /* 0x008 */
	uint32_t intercept_misc1; /* 0x00c */
	uint32_t intercept_misc2; /* 0x010 */
	uint8_t reserved1[0x3c - 0x14];
	uint16_t pause_threshold; /* 0x03c */
	uint16_t pause_count;	  /* 0x03e */
	uint64_t iopm_pa;	  /* 0x040 */
	uint64_t msrpm_pa;	  /* 0x048 */
	uint64_t tsc_offset;	  /* 0x050 */
	uint32_t asid;		  /* 0x058 */
	uint8_t tlb_control;	  /* 0x05c */
	uint8_t reserved2[3];
	uint64_t int_ctl; /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, vector */
	uint64_t int_shadow;   /* 0x068 */
	uint64_t exitcode;     /* 0x070 */
	uint64_t exitinfo1;    /* 0x078 */
	uint64_t exitinfo2;    /* 0x080 */
	uint64_t exitintinfo;  /* 0x088 */
	uint64_t np_enable;    /* 0x090 */
	uint64_t reserved3[2]; /* 0x098 */
	uint64_t eventinj;     /* 0x0a8 */
	uint64_t n_cr3;	       /* 0x0b0 */
	uint64_t lbr_virt;     /* 0x0b8 */
	uint32_t clean;	       /* 0x0c0 */
	uint32_t reserved4;
	uint64_t next_rip; /* 0x0c8 */
	uint8_t insn_len;  /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved5[0x400 - 0xe0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 .. 0x49f */
	uint8_t reserved1[0x4cb - 0x4a0];
	uint8_t cpl; /* 0x4cb */
	uint32_t reserved2;
	uint64_t efer; /* 0x4d0 */
	uint8_t reserved3[0x548 - 0x4d8];
	uint64_t cr4;	 /* 0x548 */
	uint64_t cr3;	 /* 0x550 */
	uint64_t cr0;	 /* 0x558 */
	uint64_t dr7;	 /* 0x560 */
	uint64_t dr6;	 /* 0x568 */
	uint64_t rflags; /* 0x570 */
	uint64_t rip;	 /* 0x578 */
	uint8_t reserved4[0x5d8 - 0x580];
	uint64_t rsp; /* 0x5d8 */
	uint8_t reserved5[0x5f8 - 0x5e0];
	uint64_t rax;		 /* 0x5f8 */
	uint64_t star;		 /* 0x600 */
	uint64_t lstar;		 /* 0x608 */
	uint64_t cstar;		 /* 0x610 */
	uint64_t sfmask;	 /* 0x618 */
	uint64_t kernel_gs_base; /* 0x620 */
	uint64_t sysenter_cs;	 /* 0x628 */
	uint64_t sysenter_esp;	 /* 0x630 */
	uint64_t sysenter_eip;	 /* 0x638 */
	uint64_t cr2;		 /* 0x640 */
	uint8_t reserved6[0x668 - 0x648];
	uint64_t g_pat; /* 0x668 */
	uint8_t reserved7[0x1000 - 0x670];
} __packed;

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
} __packed;

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");
_Static_assert(sizeof(struct vmcb) == 0x1000, "the VMCB is one page");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB EFER");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "VMCB CR4");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "VMCB RIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB RSP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "VMCB CR2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB G_PAT");

/* Intercept bits (APM vol. 2 15.9-15.13, table B-1). */
#define MISC1_INTR (1u << 0)
#define MISC1_NMI (1u << 1)
#define MISC1_SMI (1u << 2)
#define MISC1_INIT (1u << 3)
#define MISC1_VINTR (1u << 4)
#define MISC1_RDTSC (1u << 14)
#define MISC1_CPUID (1u << 18)
#define MISC1_INVD (1u << 22)
#define MISC1_PAUSE (1u << 23)
#define MISC1_HLT (1u << 24)
#define MISC1_INVLPG (1u << 25)
#define MISC1_INVLPGA (1u << 26)
#define MISC1_IOIO (1u << 27)
#define MISC1_MSR (1u << 28)
#define MISC1_TASK_SWITCH (1u << 29)
#define MISC1_SHUTDOWN (1u << 31)
#define MISC2_VMRUN (1u << 0)
#define MISC2_VMMCALL (1u << 1)
#define MISC2_VMLOAD (1u << 2)
#define MISC2_VMSAVE (1u << 3)
#define MISC2_STGI (1u << 4)
#define MISC2_CLGI (1u << 5)
#define MISC2_SKINIT (1u << 6)
#define MISC2_RDTSCP (1u << 7)
#define MISC2_WBINVD (1u << 9)
#define MISC2_MONITOR (1u << 10)
#define MISC2_MWAIT (1u << 11)
#define MISC2_XSETBV (1u << 13)

#define INT_CTL_V_IRQ (1ull << 8)
#define INT_CTL_V_IGN_TPR (1ull << 20)
#define INT_CTL_V_INTR_MASKING (1ull << 24)
#define TLB_DO_NOTHING 0
#define TLB_FLUSH_ALL 1

/* EVENTINJ (APM vol. 2 15.20): vector 7:0, type 10:8, error code valid 11, valid 31. */
#define EVENTINJ_TYPE_EXC (3ull << 8)
#define EVENTINJ_ERR_VALID (1ull << 11)
#define EVENTINJ_VALID (1ull << 31)

/* Exit codes (APM vol. 2, Appendix C). */
#define SVM_EXIT_EXC_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_SMI 0x62
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_RDTSC 0x6e
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_INVD 0x76
#define SVM_EXIT_WBINVD 0x89
#define SVM_EXIT_PAUSE 0x77
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPG 0x79
#define SVM_EXIT_IOIO 0x7b
#define SVM_EXIT_MSR 0x7c
#define SVM_EXIT_TASK_SWITCH 0x7d
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_RDTSCP 0x87
#define SVM_EXIT_MONITOR 0x8a
#define SVM_EXIT_MWAIT 0x8b
#define SVM_EXIT_XSETBV 0x8d
#define SVM_EXIT_NPF 0x400
/* QEMU stores an invalid-VMRUN exit as a 32-bit -1 (docs/platforms.md#qemu-svm); real CPUs as 64-bit -1. */
#define SVM_EXIT_INVALID_32 0xffffffffull

#endif
