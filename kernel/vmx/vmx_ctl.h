/* SPDX-License-Identifier: MIT */
/*
 * VMX capability MSRs (Intel SDM vol. 3C appendix A) and the VM-execution, exit and entry
 * controls computed from them: a pure function of the MSR values, so that host unit tests give it
 * any CPU, including ones that forbid a control the backend needs.
 */
#ifndef KERNEL_VMX_VMX_CTL_H
#define KERNEL_VMX_VMX_CTL_H

#include "types.h"

#define MSR_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCK (1u << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1u << 2)
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED 0x481
#define MSR_VMX_PROCBASED 0x482
#define MSR_VMX_EXIT 0x483
#define MSR_VMX_ENTRY 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED 0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e
#define MSR_VMX_TRUE_EXIT 0x48f
#define MSR_VMX_TRUE_ENTRY 0x490

#define VMX_BASIC_TRUE_CTLS (1ull << 55) /* A.1: the TRUE_* MSRs exist */
#define VMX_BASIC_REVISION(b) ((uint32_t)(b)&0x7fffffff)

/* Pin-based controls (SDM vol. 3C 24.6.1). */
#define PIN_EXT_INTR (1u << 0)
#define PIN_NMI (1u << 3)
#define PIN_VIRTUAL_NMI (1u << 5)
#define PIN_PREEMPT_TIMER (1u << 6)
/* Primary processor-based controls (24.6.2, table 24-6). */
#define PROC_INTR_WINDOW (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_INVLPG (1u << 9)
#define PROC_MWAIT (1u << 10)
#define PROC_RDTSC (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR (1u << 23)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_PAUSE (1u << 30)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls (table 24-7). */
#define PROC2_EPT (1u << 1)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VPID (1u << 5)
#define PROC2_WBINVD (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID (1u << 12)
/* VM-exit controls (24.7.1). */
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry controls (24.8.1). */
#define ENTRY_IA32E (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* IA32_VMX_EPT_VPID_CAP (A.10). */
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)

/* The capability MSRs as read (the TRUE_* ones only meaningful with VMX_BASIC_TRUE_CTLS; proc2
 * and ept_vpid only when the primary controls allow PROC_SECONDARY). */
struct vmx_cap_msrs {
	uint64_t basic, pin, proc, exit, entry, true_pin, true_proc, true_exit, true_entry;
	uint64_t misc, proc2, ept_vpid, cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* The controls the backend runs every vCPU with (the windows are added per entry). */
struct vmx_ctls {
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t revision;
	uint64_t ept_vpid;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool nmi_window;	/* virtual NMIs and NMI-window exiting are available */
	unsigned preempt_shift; /* the preemption timer counts every 2^shift TSC ticks (A.6) */
	/* The primary controls' allowed settings (A.3.2; TRUE_PROCBASED where it exists), which the
	 * VMM's optional intercepts are checked against (vmx_ctrl_proc). */
	uint32_t proc_must1, proc_may1;
	bool msr_bitmaps; /* "use MSR bitmaps" may be 1: MSR pass-through is possible */
};

/* Why the controls cannot be computed (VMX_CTL_OK: they can). */
enum vmx_ctl_error {
	VMX_CTL_OK = 0,
	VMX_CTL_FORBIDDEN, /* a control the backend needs is not allowed to be 1 */
	VMX_CTL_FORCED,	   /* a control the backend cannot run with is not allowed to be 0 */
	VMX_CTL_NO_EPT,	   /* EPT lacks a 4-level walk or write-back tables */
	VMX_CTL_NO_INVEPT, /* no INVEPT (single-context or all-context) */
};

struct vmx_ctl_result {
	enum vmx_ctl_error error;
	const char *field; /* for an error: which control field ("pin", "proc", "proc2", ...) */
	uint32_t bits;	   /* for an error: the bits at fault */
};

/*
 * One control field from its capability MSR (A.3-A.5: bits 31:0 allowed-0 settings, a 1 there
 * means the control must be 1; bits 63:32 allowed-1 settings, a 0 there means it must be 0):
 * every `need` bit, the `want` bits the CPU allows, and every bit the CPU forces. Fails when a
 * `need` bit is not allowed (FORBIDDEN) or an `avoid` bit is forced (FORCED); *bits says which.
 */
enum vmx_ctl_error vmx_ctl_adjust(uint64_t cap, uint32_t need, uint32_t want, uint32_t avoid,
				  uint32_t *out, uint32_t *bits);
/* All controls for this backend (EPT, VPID, unrestricted guest, the exits it needs). */
struct vmx_ctl_result vmx_ctls_compute(const struct vmx_cap_msrs *m, struct vmx_ctls *out);
/* What an error means, for the log line that names its field and bits. */
const char *vmx_ctl_error_name(enum vmx_ctl_error e);

/*
 * The VMM's optional intercepts (ctrl.intercept, VINT_*) as primary processor-based controls
 * (SDM vol. 3C 24.6.2, table 24-6): *set are the bits to add to c->proc, *clear the ones to take
 * away (HLT exiting for VINT_HLT_PASS). False, with *bad the VINT_* bits at fault, when the CPU
 * cannot honour an option: an exit control it does not allow to be 1, or HLT exiting it forces.
 */
bool vmx_ctrl_proc(const struct vmx_ctls *c, uint32_t intercept, uint32_t *set, uint32_t *clear,
		   uint32_t *bad);

#endif
