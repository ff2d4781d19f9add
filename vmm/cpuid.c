/* SPDX-License-Identifier: MIT */
/*
 * The CPUID the guest sees: the host's processor (vendor, family, model, features) minus what this
 * VMM does not virtualize, plus a hypervisor leaf. Feature bits from Intel SDM vol. 2A "CPUID" and
 * AMD APM vol. 3 appendix E; leaves 0x40000000.. are the range CPUs leave to hypervisors.
 */
#include "vmm.h"

#include "x86defs.h"

#define VIREO_SIG_EBX 0x65726956u /* "Vire" */
#define VIREO_SIG_ECX 0x4d4d566fu /* "oVMM" */

enum { EAX, EBX, ECX, EDX };

/* A feature the VMM hides: the bits `mask` of register `reg` of leaf `leaf` (any subleaf). */
struct hidden {
	uint32_t leaf;
	uint8_t reg;
	uint32_t mask;
};

/*
 * Why each is hidden: virtualization itself (VMX, SMX, SVM, SKINIT) is not nested; there is no
 * local APIC model (APIC, x2APIC, TSC deadline, ExtApicSpace); the MSRs behind machine checks,
 * MTRRs, performance counters, thermal and power control, speculation control and TSC_AUX are
 * not emulated (msr.c), so a guest must not be told they exist; MONITOR/MWAIT and MWAITX would
 * sleep the host CPU; CR4 bits the kernel refuses in a guest (UMIP, LA57, PKE, CET) follow.
 */
static const struct hidden hidden[] = {
	{ 1, ECX,
	  X86_BIT(2) | CPUID_1_ECX_MONITOR | X86_BIT(4) | CPUID_1_ECX_VMX | CPUID_1_ECX_SMX |
		  X86_BIT(7) | X86_BIT(8) | CPUID_1_ECX_PDCM | CPUID_1_ECX_X2APIC |
		  CPUID_1_ECX_TSC_DEADLINE },
	{ 1, EDX,
	  CPUID_1_EDX_MCE | CPUID_1_EDX_APIC | CPUID_1_EDX_MTRR | CPUID_1_EDX_MCA | X86_BIT(21) |
		  X86_BIT(22) | X86_BIT(29) | X86_BIT(31) },
	/* leaf 7 subleaf 0: EBX SGX; ECX UMIP, PKU, OSPKE, CET_SS, LA57, PKS; EDX CET_IBT and the
	 * speculation-control MSRs (IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAPABILITIES, CORE_CAP, SSBD) */
	{ 7, EBX, X86_BIT(2) },
	{ 7, ECX, X86_BIT(2) | X86_BIT(3) | X86_BIT(4) | X86_BIT(7) | X86_BIT(16) | X86_BIT(31) },
	{ 7, EDX,
	  X86_BIT(20) | X86_BIT(26) | X86_BIT(27) | X86_BIT(28) | X86_BIT(29) | X86_BIT(30) |
		  X86_BIT(31) },
	/* 0x80000001: ECX SVM, ExtApicSpace, IBS, SKINIT, WDT, perf counter extensions, MWAITX;
	 * EDX MCE, MTRR, MCA (mirrored by AMD) and RDTSCP (TSC_AUX) */
	{ 0x80000001, ECX,
	  CPUID_80000001_ECX_SVM | X86_BIT(3) | X86_BIT(10) | X86_BIT(12) | X86_BIT(13) |
		  X86_BIT(23) | X86_BIT(24) | X86_BIT(28) | X86_BIT(29) },
	{ 0x80000001, EDX, X86_BIT(7) | X86_BIT(12) | X86_BIT(14) | X86_BIT(27) },
	/* 0x80000008 EBX: AMD's speculation-control MSRs (IBPB, IBRS, STIBP, SSBD, VIRT_SSBD) */
	{ 0x80000008, EBX, X86_BIT(12) | X86_BIT(14) | X86_BIT(15) | X86_BIT(24) | X86_BIT(25) },
};

/* Leaves that describe hidden hardware as a whole: thermal/power (6), performance monitoring
 * (0xa), SVM (0x8000000a). */
static bool leaf_zeroed(uint32_t leaf)
{
	return leaf == 6 || leaf == 0xa || leaf == 0x8000000a ||
	       (leaf > 0x40000000 && leaf <= 0x4fffffff);
}

void cpuid_filter(const struct vireo_vm_state *st, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if (leaf_zeroed(leaf)) {
		r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
		return;
	}
	if (leaf == 0x40000000) {
		r[EAX] = 0x40000001, r[EBX] = VIREO_SIG_EBX, r[ECX] = VIREO_SIG_ECX, r[EDX] = 0;
		return;
	}
	for (unsigned i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		if (hidden[i].leaf == leaf && (leaf != 7 || sub == 0)) {
			r[hidden[i].reg] &= ~hidden[i].mask;
		}
	}
	if (leaf == 0xb || leaf == 0x1f) {
		r[EDX] = 0; /* the one vCPU's x2APIC ID, whatever host CPU the VMM runs on */
	} else if (leaf == 0x8000001e) {
		r[EAX] = 0; /* its extended APIC ID (AMD) */
	}
	if (leaf == 1) {
		/* One vCPU: initial APIC ID 0; OSXSAVE mirrors the guest's own CR4. */
		r[EBX] &= 0x00ffffffu;
		r[ECX] &= ~(uint32_t)CPUID_1_ECX_OSXSAVE;
		if ((st->cr4 & CR4_OSXSAVE) && (r[ECX] & CPUID_1_ECX_XSAVE)) {
			r[ECX] |= (uint32_t)CPUID_1_ECX_OSXSAVE;
		}
		r[ECX] |= (uint32_t)CPUID_1_ECX_HYPERVISOR;
	}
}
