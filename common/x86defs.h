/* SPDX-License-Identifier: MIT */
/*
 * Architectural x86 constants, defined once for the kernel, the user programs, the VMM, the test
 * guests and the host unit tests: control-register, EFER and RFLAGS bits (Intel SDM vol. 3A,
 * "System Architecture Overview"; AMD APM vol. 2, "System Resources"), MSR numbers (SDM vol. 4,
 * APM vol. 2 appendix A), exception vectors (SDM vol. 3A, "Interrupt and Exception Handling") and
 * CPUID feature bits (SDM vol. 2A, CPUID; APM vol. 3 appendix E). Usable from assembly too
 * (__ASSEMBLY__): no C types, only numbers.
 */
#ifndef COMMON_X86DEFS_H
#define COMMON_X86DEFS_H

#ifdef __ASSEMBLY__
#define X86_BIT(n) (1 << (n))
#else
#define X86_BIT(n) (1ull << (n))
#endif

/* CR0 */
#define CR0_PE X86_BIT(0)
#define CR0_MP X86_BIT(1)
#define CR0_EM X86_BIT(2)
#define CR0_TS X86_BIT(3)
#define CR0_ET X86_BIT(4)
#define CR0_NE X86_BIT(5)
#define CR0_WP X86_BIT(16)
#define CR0_AM X86_BIT(18)
#define CR0_NW X86_BIT(29)
#define CR0_CD X86_BIT(30)
#define CR0_PG X86_BIT(31)

/* CR4 */
#define CR4_VME X86_BIT(0)
#define CR4_PVI X86_BIT(1)
#define CR4_TSD X86_BIT(2)
#define CR4_DE X86_BIT(3)
#define CR4_PSE X86_BIT(4)
#define CR4_PAE X86_BIT(5)
#define CR4_MCE X86_BIT(6)
#define CR4_PGE X86_BIT(7)
#define CR4_PCE X86_BIT(8)
#define CR4_OSFXSR X86_BIT(9)
#define CR4_OSXMMEXCPT X86_BIT(10)
#define CR4_UMIP X86_BIT(11)
#define CR4_LA57 X86_BIT(12)
#define CR4_VMXE X86_BIT(13)
#define CR4_FSGSBASE X86_BIT(16)
#define CR4_PCIDE X86_BIT(17)
#define CR4_OSXSAVE X86_BIT(18)
#define CR4_SMEP X86_BIT(20)
#define CR4_SMAP X86_BIT(21)
#define CR4_PKE X86_BIT(22)
#define CR4_CET X86_BIT(23)
#define CR4_PKS X86_BIT(24)

/* EFER (MSR_EFER) */
#define EFER_SCE X86_BIT(0)
#define EFER_LME X86_BIT(8)
#define EFER_LMA X86_BIT(10)
#define EFER_NXE X86_BIT(11)
#define EFER_SVME X86_BIT(12)

/* XCR0 (XSETBV register 0): the state components XSAVE manages */
#define XCR0_X87 X86_BIT(0)
#define XCR0_SSE X86_BIT(1)
#define XCR0_AVX X86_BIT(2)

/* RFLAGS */
#define RFLAGS_CF X86_BIT(0)
#define RFLAGS_FIXED X86_BIT(1) /* always 1 */
#define RFLAGS_TF X86_BIT(8)
#define RFLAGS_IF X86_BIT(9)
#define RFLAGS_DF X86_BIT(10)
#define RFLAGS_IOPL (3 * X86_BIT(12))
#define RFLAGS_VM X86_BIT(17)
#define RFLAGS_AC X86_BIT(18)

/* MSRs */
#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_VM_CR 0xc0010114	   /* AMD: SVM lock and disable (APM vol. 2 15.30.1) */
#define MSR_VM_HSAVE_PA 0xc0010117 /* AMD: host state save area of VMRUN */

/* Exception vectors */
#define EXC_DE 0
#define EXC_DB 1
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_OF 4
#define EXC_BR 5
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MF 16
#define EXC_AC 17
#define EXC_MC 18
#define EXC_XM 19

/* CPUID leaf 1 ECX and EDX */
#define CPUID_1_ECX_MONITOR X86_BIT(3)
#define CPUID_1_ECX_VMX X86_BIT(5)
#define CPUID_1_ECX_SMX X86_BIT(6)
#define CPUID_1_ECX_PDCM X86_BIT(15)
#define CPUID_1_ECX_X2APIC X86_BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE X86_BIT(24)
#define CPUID_1_ECX_XSAVE X86_BIT(26)
#define CPUID_1_ECX_OSXSAVE X86_BIT(27)
#define CPUID_1_ECX_HYPERVISOR X86_BIT(31)
#define CPUID_1_EDX_MCE X86_BIT(7)
#define CPUID_1_EDX_APIC X86_BIT(9)
#define CPUID_1_EDX_MTRR X86_BIT(12)
#define CPUID_1_EDX_MCA X86_BIT(14)
/* CPUID leaf 0x80000001 ECX */
#define CPUID_80000001_ECX_SVM X86_BIT(2)

#endif
