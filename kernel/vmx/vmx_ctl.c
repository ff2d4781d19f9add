/* SPDX-License-Identifier: MIT */
/*
 * Control fields from the VMX capability MSRs (Intel SDM vol. 3C appendix A.3-A.5, A.7-A.8,
 * A.10): never assumed, always computed, with a clear error when the CPU forbids one the backend
 * needs. With IA32_VMX_BASIC bit 55 the TRUE_* MSRs give the real allowed-0 settings of the
 * default-1 controls (A.2): e.g. CR3-load exiting may then be 0.
 */
#include "vmx/vmx_ctl.h"

#include <vireo/vcpu.h>

#include "kstring.h"

enum vmx_ctl_error vmx_ctl_adjust(uint64_t cap, uint32_t need, uint32_t want, uint32_t avoid,
				  uint32_t *out, uint32_t *bits)
{
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	if (need & ~may1) {
		*bits = need & ~may1;
		return VMX_CTL_FORBIDDEN;
	}
	if (must1 & avoid) {
		*bits = must1 & avoid;
		return VMX_CTL_FORCED;
	}
	*out = must1 | need | (want & may1);
	*bits = 0;
	return VMX_CTL_OK;
}

/* What each field needs, may use, and cannot have. */
#define PIN_NEED (PIN_EXT_INTR | PIN_NMI)
#define PIN_WANT (PIN_VIRTUAL_NMI | PIN_PREEMPT_TIMER)
/* CR8 exiting: without it (and without a TPR shadow) a 64-bit guest's MOV to CR8 would write the
 * host's own task priority (SDM vol. 3C 25.3); the kernel keeps a virtual TPR instead (vmx_exit.c). */
#define PROC_NEED (PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY | PROC_CR8_LOAD | PROC_CR8_STORE)
/* Set per vCPU once it has an MSR bitmap (vmx.c); a CPU forcing it would read page 0 as one. */
#define PROC_AVOID PROC_MSR_BITMAPS
/* Interrupts are taken by the host after the exit, with the kernel's own IDT (docs/architecture.md#vmx). */
#define EXIT_NEED (EXIT_HOST_64 | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER)
#define EXIT_AVOID EXIT_ACK_INTR
#define ENTRY_NEED (ENTRY_LOAD_PAT | ENTRY_LOAD_EFER)
#define ENTRY_AVOID ENTRY_IA32E /* set per entry from the guest's EFER.LMA */
#define PROC2_NEED (PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED | PROC2_WBINVD)
/* Without these, RDTSCP and INVPCID raise #UD in the guest although CPUID reports them (table
 * 24-7): Linux uses INVPCID for its TLB flushes where CPUID says it exists. */
#define PROC2_WANT (PROC2_RDTSCP | PROC2_INVPCID)

static bool step(struct vmx_ctl_result *r, const char *field, uint64_t cap, uint32_t need,
		 uint32_t want, uint32_t avoid, uint32_t *out)
{
	r->error = vmx_ctl_adjust(cap, need, want, avoid, out, &r->bits);
	r->field = field;
	return r->error == VMX_CTL_OK;
}

struct vmx_ctl_result vmx_ctls_compute(const struct vmx_cap_msrs *m, struct vmx_ctls *out)
{
	struct vmx_ctl_result r = { VMX_CTL_OK, NULL, 0 };
	bool true_ctls = (m->basic & VMX_BASIC_TRUE_CTLS) != 0;
	uint32_t proc_want = PROC_NMI_WINDOW | PROC_INTR_WINDOW | PROC_TSC_OFFSET;
	memset(out, 0, sizeof(*out));
	/* Window exiting is set per entry; here only whether the CPU has it. */
	if (!step(&r, "pin", true_ctls ? m->true_pin : m->pin, PIN_NEED, PIN_WANT, 0, &out->pin) ||
	    !step(&r, "proc", true_ctls ? m->true_proc : m->proc, PROC_NEED | PROC_INTR_WINDOW,
		  proc_want, PROC_AVOID, &out->proc) ||
	    !step(&r, "proc2", m->proc2, PROC2_NEED, PROC2_WANT, 0, &out->proc2) ||
	    !step(&r, "exit", true_ctls ? m->true_exit : m->exit, EXIT_NEED, 0, EXIT_AVOID,
		  &out->exit) ||
	    !step(&r, "entry", true_ctls ? m->true_entry : m->entry, ENTRY_NEED, 0, ENTRY_AVOID,
		  &out->entry)) {
		return r;
	}
	/* The windows are requested per entry, not always on: keep them out of the base value unless
	 * the CPU forces them. */
	uint32_t proc_must1 = (uint32_t)(true_ctls ? m->true_proc : m->proc);
	out->proc_must1 = proc_must1;
	out->proc_may1 = (uint32_t)((true_ctls ? m->true_proc : m->proc) >> 32);
	out->msr_bitmaps = (out->proc_may1 & PROC_MSR_BITMAPS) != 0;
	out->nmi_window = (out->pin & PIN_VIRTUAL_NMI) && (out->proc & PROC_NMI_WINDOW);
	out->proc &= ~((PROC_INTR_WINDOW | PROC_NMI_WINDOW) & ~proc_must1);
	if (!out->nmi_window) {
		out->pin &= ~(PIN_VIRTUAL_NMI & ~(uint32_t)(true_ctls ? m->true_pin : m->pin));
	}
	if ((m->ept_vpid & (EPT_CAP_WALK4 | EPT_CAP_WB)) != (EPT_CAP_WALK4 | EPT_CAP_WB)) {
		return (struct vmx_ctl_result){ VMX_CTL_NO_EPT, "ept", (uint32_t)m->ept_vpid };
	}
	if (!(m->ept_vpid & EPT_CAP_INVEPT) ||
	    !(m->ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		return (struct vmx_ctl_result){ VMX_CTL_NO_INVEPT, "ept", (uint32_t)m->ept_vpid };
	}
	out->revision = VMX_BASIC_REVISION(m->basic);
	out->preempt_shift = m->misc & 0x1f;
	out->ept_vpid = m->ept_vpid;
	out->cr0_fixed0 = m->cr0_fixed0;
	out->cr0_fixed1 = m->cr0_fixed1;
	out->cr4_fixed0 = m->cr4_fixed0;
	out->cr4_fixed1 = m->cr4_fixed1;
	return r;
}

const char *vmx_ctl_error_name(enum vmx_ctl_error e)
{
	static const char *const what[] = {
		[VMX_CTL_OK] = "usable",
		[VMX_CTL_FORBIDDEN] = "controls needed but not allowed",
		[VMX_CTL_FORCED] = "controls forced on that cannot be used",
		[VMX_CTL_NO_EPT] = "EPT without 4-level walks or write-back tables",
		[VMX_CTL_NO_INVEPT] = "EPT without INVEPT",
	};
	return (unsigned)e < ARRAY_SIZE(what) ? what[e] : "?";
}

/* Each option and the exit controls that give it (24.6.2, table 24-6): RDTSCP exits with RDTSC
 * exiting once "enable RDTSCP" is set (25.1.3); MOV to and from CR3 have a control each. CR8 is
 * always intercepted (PROC_NEED): VINT_CR8 only says whether the VMM or the kernel handles it. */
static const struct {
	uint32_t vint, proc;
} vint_proc[] = {
	{ VINT_RDTSC, PROC_RDTSC },
	{ VINT_PAUSE, PROC_PAUSE },
	{ VINT_INVLPG, PROC_INVLPG },
	{ VINT_DR, PROC_MOV_DR },
	{ VINT_CR3, PROC_CR3_LOAD | PROC_CR3_STORE },
	{ VINT_MWAIT, PROC_MWAIT | PROC_MONITOR },
};

bool vmx_ctrl_proc(const struct vmx_ctls *c, uint32_t intercept, uint32_t *set, uint32_t *clear,
		   uint32_t *bad)
{
	*set = *clear = *bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vint_proc); i++) {
		if (!(intercept & vint_proc[i].vint)) {
			continue;
		}
		if (vint_proc[i].proc & ~c->proc_may1) {
			*bad |= vint_proc[i].vint;
		}
		*set |= vint_proc[i].proc;
	}
	if (intercept & VINT_HLT_PASS) {
		if (c->proc_must1 & PROC_HLT) {
			*bad |= VINT_HLT_PASS;
		}
		*clear |= PROC_HLT;
	}
	if (*bad) {
		*set = *clear = 0;
		return false;
	}
	return true;
}
