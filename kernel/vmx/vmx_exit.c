/* SPDX-License-Identifier: MIT */
/*
 * VMX event injection and exit translation (Intel SDM vol. 3C 24.8.3 VM-entry event injection,
 * 27.2 exit information, 26.6 event injection, appendix C exit reasons), on the current VMCS
 * through the accessors of vmcs.h, so host unit tests run it on a fake VMCS. The VM-entry
 * interruption-information and IDT-vectoring formats share the VEVENT_* layout (vector 7:0, type
 * 10:8, error code valid 11, valid 31); VMX types 5 and 6 (privileged and other software
 * exceptions: INT1, INT3, INTO) become VEVENT_TYPE_SOFT with their length, which VMX reports.
 */
#include "vmx/vmx.h"

#include "arch.h"
#include "fpu.h"
#include "kstring.h"
#include "pd.h"
#include "pt.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "x86/cpu.h"

#define TYPE_SW_EXC (6u << 8)
#define TYPE_PRIV_SW_EXC (5u << 8)

static bool is_soft_type(uint32_t type)
{
	return type == VEVENT_TYPE_SOFT || type == TYPE_SW_EXC || type == TYPE_PRIV_SW_EXC;
}

static uint32_t blocking(void)
{
	return vmread32(VMCS_GUEST_INTERRUPTIBILITY);
}

static bool intr_window_open(void)
{
	return (vmreadnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(blocking() & (VMX_INTR_STI | VMX_INTR_MOVSS));
}

static bool nmi_window_open(void)
{
	return !(blocking() & (VMX_INTR_STI | VMX_INTR_MOVSS | VMX_INTR_NMI));
}

/* The entry form of a vendor-neutral event: INT3/INTO as software exceptions (26.6.1.3); no error
 * code in real mode, where the CPU pushes none (26.2.1.3). */
static uint32_t entry_form(uint32_t ev)
{
	unsigned v = VEVENT_VECTOR(ev);
	if (VEVENT_TYPE(ev) == VEVENT_TYPE_SOFT && (v == EXC_BP || v == EXC_OF)) {
		ev = (ev & ~0x700u) | TYPE_SW_EXC;
	}
	if (!(vmreadnat(VMCS_GUEST_CR0) & CR0_PE)) {
		ev &= ~VEVENT_ERR_VALID;
	}
	return ev;
}

/* The slot for this entry: the cut-off event first, then the VMM's inject when it can go in. */
static void take_event(struct vireo_vm_state *st, struct vcpu_injected *inj, uint32_t *info,
		       uint32_t *err, unsigned *len)
{
	*info = *err = 0;
	*len = 0;
	if (st->pending & VEVENT_VALID) {
		uint32_t ev = st->pending;
		bool soft = VEVENT_TYPE(ev) == VEVENT_TYPE_SOFT;
		if (!soft || st->pending_len) {
			*info = ev;
			*err = st->pending_err;
			*len = soft ? st->pending_len : 0;
			inj->deferred |= (st->inject & VEVENT_VALID) != 0;
		}
		/* A SOFT event of unknown length: the guest executes the instruction again. */
		st->pending = st->pending_err = 0;
		st->pending_len = 0;
		if (*info) {
			return;
		}
	}
	if (!(st->inject & VEVENT_VALID)) {
		return;
	}
	/* VM entry refuses an external interrupt the guest cannot take (26.3.1.5): it waits for the
	 * interrupt window, an NMI for the NMI window. */
	uint32_t type = VEVENT_TYPE(st->inject);
	if ((type == VEVENT_TYPE_INTR && !intr_window_open()) ||
	    (type == VEVENT_TYPE_NMI && vmx_ctls.nmi_window && !nmi_window_open())) {
		return;
	}
	*info = st->inject;
	*err = st->inject_err;
	*len = type == VEVENT_TYPE_SOFT ? st->inject_len : 0;
	st->inject = st->inject_err = 0;
	st->inject_len = 0;
	inj->deferred = false;
}

void vmx_run_enter(struct vcpu *v, paddr_t gpt_root)
{
	struct vireo_vm_state *st = &v->st;
	struct vcpu_injected *inj = &v->injected;
	/* 4-level walk (bits 5:3 = 3), write-back paging structures (bits 2:0 = 6): 24.6.11. */
	vmwrite64(VMCS_EPT_POINTER, pa_addr(gpt_root) | (3u << 3) | 6u);
	/* A tag per VM; two VMs that share one are still apart, since EPT tags the translations
	 * with the EPTP as well (28.3.1). 0 is the host's. */
	vmwrite16(VMCS_VPID, (uint16_t)(1 + (pa_addr(gpt_root) >> 12) % 0xfffe));
	uint32_t info, err;
	unsigned len;
	take_event(st, inj, &info, &err, &len);
	if (info) {
		info = entry_form(info);
	}
	vmwrite32(VMCS_ENTRY_INTR_INFO, info);
	vmwrite32(VMCS_ENTRY_EXC_ERROR, err);
	vmwrite32(VMCS_ENTRY_INSN_LEN, len);
	inj->event = info | (uint64_t)err << 32;
	inj->len = len;
	struct vmx_vcpu *x = v->hw;
	uint32_t proc = (vmx_ctls.proc & ~x->proc_clear) | x->proc_set; /* the VMM's (load_ctrl) */
	uint32_t waiting = st->inject & VEVENT_VALID ? VEVENT_TYPE(st->inject) : ~0u;
	/* An inject still waiting (behind a cut-off event, or for the guest's window) gets the next
	 * window; an NMI its own where the CPU has NMI-window exiting. */
	if (waiting == VEVENT_TYPE_NMI && vmx_ctls.nmi_window) {
		proc |= PROC_NMI_WINDOW;
	} else if (st->intr_window || waiting != ~0u || inj->more) {
		proc |= PROC_INTR_WINDOW;
	}
	if (st->intr_window) {
		proc |= PROC_INTR_WINDOW;
	}
	vmwrite32(VMCS_PROC_CTLS, proc);
	if (vmx_ctls.pin & PIN_PREEMPT_TIMER) {
		vmwrite32(VMCS_GUEST_PREEMPT_TIMER, vmx_preempt_ticks);
	}
}

/* The event cut off by the exit (27.2.4): re-delivered at the next entry unless the VMM clears it. */
static void event_exit(struct vireo_vm_state *st)
{
	uint32_t idt = vmread32(VMCS_IDT_VECTORING_INFO);
	st->pending = st->pending_err = 0;
	st->pending_len = 0;
	if (!(idt & VEVENT_VALID)) {
		return;
	}
	uint32_t type = VEVENT_TYPE(idt);
	if (is_soft_type(type)) {
		st->pending = (idt & ~(0x700u | VEVENT_ERR_VALID)) | VEVENT_TYPE_SOFT;
		st->pending_len = (uint8_t)vmread32(VMCS_EXIT_INSN_LEN);
		return;
	}
	st->pending = idt & (VEVENT_VALID | 0x700u | VEVENT_ERR_VALID | 0xffu);
	st->pending_err = idt & VEVENT_ERR_VALID ? vmread32(VMCS_IDT_VECTORING_ERROR) : 0;
}

/* The event the failed entry did not deliver goes back to pending, as it was. */
static void event_back(struct vireo_vm_state *st, const struct vcpu_injected *inj)
{
	uint32_t ev = (uint32_t)inj->event;
	st->pending = st->pending_err = 0;
	st->pending_len = 0;
	if (!(ev & VEVENT_VALID)) {
		return;
	}
	if (is_soft_type(VEVENT_TYPE(ev))) {
		ev = (ev & ~0x700u) | VEVENT_TYPE_SOFT;
		st->pending_len = (uint8_t)inj->len;
	}
	st->pending = ev;
	st->pending_err = (uint32_t)(inj->event >> 32);
}

/* Deliver the intercepted #AC or #DB to the guest (the reason is kernel/svm/svm.c's EXC_ALWAYS:
 * a guest must not loop on their delivery inside the CPU). A cut-off event goes in first. */
static void reflect_exception(struct vireo_vm_state *st, unsigned vector)
{
	if (st->pending & VEVENT_VALID) {
		return;
	}
	st->pending =
		VEVENT_VALID | VEVENT_TYPE_EXC | vector | (vector == EXC_AC ? VEVENT_ERR_VALID : 0);
	st->pending_err = 0;
	st->pending_len = 0;
}

/* Bytes of guest-physical memory within one page, through the VM's EPT. The tables and frames
 * stay while this CPU has interrupts off: a revoke waits for its TLB shoot-down (kernel/tlb.h). */
static bool guest_read(struct vcpu *v, uint64_t gpa, void *buf, size_t n)
{
	paddr_t hpa;
	unsigned attr;
	if (!v->vm || (gpa & 0xfff) + n > 0x1000 ||
	    !pt_lookup(&v->vm->pt, gpa, &hpa, &attr, NULL) || !(attr & MAP_R)) {
		return false;
	}
	memcpy(buf, phys_to_virt(hpa), n);
	return true;
}

/* A guest-linear address without paging, or with 4-level paging (SDM vol. 3A 4.5). */
static bool linear_to_gpa(struct vcpu *v, uint64_t la, uint64_t *gpa)
{
	const uint64_t addr = 0x000ffffffffff000ull;
	if (!(vmreadnat(VMCS_CR0_SHADOW) & CR0_PG)) {
		*gpa = la & 0xffffffffull;
		return true;
	}
	if (!(vmread64(VMCS_GUEST_EFER) & EFER_LMA)) {
		return false; /* 32-bit paging: not walked here */
	}
	uint64_t table = vmreadnat(VMCS_GUEST_CR3) & addr;
	for (int level = 3; level >= 0; level--) {
		uint64_t e, shift = 12 + 9 * (unsigned)level;
		if (!guest_read(v, table + ((la >> shift) & 511) * 8, &e, 8) || !(e & 1)) {
			return false;
		}
		if (level > 0 && level < 3 && (e & 0x80)) {
			uint64_t page = 1ull << shift;
			*gpa = (e & addr & ~(page - 1)) | (la & (page - 1));
			return true;
		}
		table = e & addr;
	}
	*gpa = table | (la & 0xfff);
	return true;
}

/* AMD's VMMCALL (0F 01 D9) raises #UD on Intel: the guests and the VMM use it as the hypercall on
 * both vendors (docs/architecture.md#vmx), so it is reported as VMCALL. */
static bool is_vmmcall(struct vcpu *v)
{
	uint64_t la = vmreadnat(VMCS_GUEST_ES_BASE + 2) + vmreadnat(VMCS_GUEST_RIP), gpa;
	uint8_t insn[3];
	return linear_to_gpa(v, la, &gpa) && guest_read(v, gpa, insn, sizeof(insn)) &&
	       insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xd9;
}

static void skip_insn(void)
{
	vmwritenat(VMCS_GUEST_RIP, vmreadnat(VMCS_GUEST_RIP) + vmread32(VMCS_EXIT_INSN_LEN));
	vmwrite32(VMCS_GUEST_INTERRUPTIBILITY, blocking() & ~(VMX_INTR_STI | VMX_INTR_MOVSS));
}

/* MOV to CR0 with a kernel-owned bit different from the shadow (25.1.3): what the CPU would do,
 * including IA-32e mode activation (SDM vol. 3A 9.8.5), with the VMM's bits (`vmm`, equal to
 * their shadow in `val`, else the exit is the VMM's) kept as they are. Invalid values go to the VMM. */
static bool emulate_cr0(uint64_t val, uint64_t vmm)
{
	uint64_t old = vmreadnat(VMCS_GUEST_CR0);
	uint64_t real = (val & ~vmm) | (old & vmm);
	uint64_t efer = vmread64(VMCS_GUEST_EFER);
	uint32_t entry = vmread32(VMCS_ENTRY_CTLS);
	bool paging_on = (real & CR0_PG) && !(old & CR0_PG);
	if ((val >> 32) || ((real & CR0_PG) && !(real & CR0_PE)) ||
	    ((real & CR0_NW) && !(real & CR0_CD))) {
		return false; /* #GP: the VMM decides */
	}
	if (paging_on && !(efer & EFER_LME) && (vmreadnat(VMCS_GUEST_CR4) & CR4_PAE)) {
		return false; /* PAE paging loads the PDPTEs: not emulated here */
	}
	if (paging_on && (efer & EFER_LME)) {
		if (!(vmreadnat(VMCS_GUEST_CR4) & CR4_PAE)) {
			return false;
		}
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E;
	} else if (!(real & CR0_PG)) {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E;
	}
	vmwritenat(VMCS_CR0_SHADOW, val);
	vmwritenat(VMCS_GUEST_CR0, real | vmx_cr0_forced());
	vmwrite64(VMCS_GUEST_EFER, efer);
	vmwrite32(VMCS_ENTRY_CTLS, entry);
	return true;
}

static void emulate_cr4(uint64_t val, uint64_t vmm)
{
	uint64_t real = (val & ~vmm) | (vmreadnat(VMCS_GUEST_CR4) & vmm);
	vmwritenat(VMCS_CR4_SHADOW, val);
	vmwritenat(VMCS_GUEST_CR4, real | vmx_cr4_forced());
}

/* A CR access exit is the VMM's when it asked for it (docs/ABI.md "Intercept control"): MOV
 * to/from CR3 or CR8 with VINT_CR3/VINT_CR8, a write that gives a bit of its CR0/CR4 mask another
 * value than its shadow, CLTS and LMSW (which exit only for the VMM's bits: the kernel owns none
 * of TS, PE, MP, EM). The others are the kernel's: the bits VMX forces, CR3 exiting the CPU
 * forces, CR8 (a virtual task priority, never the host's). */
static bool cr_is_vmms(struct vcpu *v, unsigned cr, unsigned type, uint64_t val)
{
	struct vmx_vcpu *x = v->hw;
	if (type >= 2) {
		return true;
	}
	if (cr == 3 || cr == 8) {
		return (v->ctrl.intercept & (cr == 3 ? VINT_CR3 : VINT_CR8)) != 0;
	}
	uint64_t vmm = cr == 0 ? x->cr0_vmm : x->cr4_vmm;
	uint64_t shadow = vmreadnat(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW);
	return type == 0 && ((val ^ shadow) & vmm) != 0;
}

static bool cr_access(struct vcpu *v)
{
	struct vmx_vcpu *x = v->hw;
	uint64_t q = vmreadnat(VMCS_EXIT_QUAL);
	unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
	uint64_t val = reg == 4 ? vmreadnat(VMCS_GUEST_RSP) : v->st.gpr[reg];
	/* Outside 64-bit code the operand is 32 bits wide. */
	bool wide = (vmread64(VMCS_GUEST_EFER) & EFER_LMA) &&
		    (vmread32(VMCS_GUEST_ES_AR + 2) & (1u << 13)); /* CS.L */
	if (!wide) {
		val = (uint32_t)val;
	}
	x->cr_vmm = cr_is_vmms(v, cr, type, val);
	if (x->cr_vmm) {
		return false;
	}
	if (type == 0 && cr == 0) {
		if (!emulate_cr0(val, x->cr0_vmm)) {
			return false;
		}
	} else if (type == 0 && cr == 4) {
		emulate_cr4(val, x->cr4_vmm);
	} else if (type == 0 && cr == 3) {
		vmwritenat(VMCS_GUEST_CR3, val & ~(1ull << 63));
	} else if (type == 0 && cr == 8) {
		x->cr8 = val & 0xf;
	} else if (type == 1 && (cr == 3 || cr == 8)) {
		uint64_t out = cr == 3 ? vmreadnat(VMCS_GUEST_CR3) : x->cr8;
		if (reg == 4) {
			vmwritenat(VMCS_GUEST_RSP, out);
		} else {
			v->st.gpr[reg] = out;
		}
	} else {
		return false;
	}
	if (type == 0 && cr != 8) {
		/* The CPU would have flushed the guest's translations for this write (a new CR3, or
		 * paging bits of CR0/CR4); emulated, it did not: the next entry flushes the EPT's
		 * combined mappings (vmx.c flush_guest_tlb). */
		x->flushed_tag = 0;
	}
	skip_insn();
	return true;
}

/* XSETBV always exits under VMX (25.1.2). XCR0 is guest state the kernel switches at each entry:
 * a value the host's XCR0 covers, with x87, and AVX only with SSE (SDM vol. 1 13.3), goes in;
 * anything else is the #GP the CPU would raise. */
static bool xsetbv(struct vcpu *v)
{
	uint64_t *g = v->st.gpr;
	uint64_t val = (g[2] & 0xffffffffull) << 32 | (g[0] & 0xffffffffull);
	uint64_t host = fpu_xcr0();
	bool ok = (uint32_t)g[1] == 0 && (val & XCR0_X87) && host && !(val & ~host) &&
		  (!(val & XCR0_AVX) || (val & XCR0_SSE));
	if (!ok) {
		if (!(v->st.pending & VEVENT_VALID)) {
			v->st.pending = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | EXC_GP;
			v->st.pending_err = 0;
			v->st.pending_len = 0;
		}
		return true;
	}
	v->st.xcr0 = val;
	v->guest_xcr0 = val;
	skip_insn();
	return true;
}

bool vmx_run_exit(struct vcpu *v, bool failed)
{
	struct vmx_vcpu *x = v->hw;
	x->host_nmi = false;
	x->vmmcall = false;
	x->cr_vmm = false;
	x->insn_error = 0;
	if (failed) {
		x->reason = VMX_EXIT_INSN_FAILED;
		x->insn_error = vmread32(VMCS_INSN_ERROR);
		event_back(&v->st, &v->injected);
		return false;
	}
	x->reason = vmread32(VMCS_EXIT_REASON);
	if (x->reason & VMX_EXIT_ENTRY_FAILED) {
		event_back(&v->st, &v->injected);
		return false;
	}
	event_exit(&v->st);
	switch (x->reason & 0xffff) {
	case VMX_EXIT_EXT_INTR:
		return true; /* the host takes it after this; the guest goes on afterwards */
	case VMX_EXIT_EXC_NMI: {
		uint32_t info = vmread32(VMCS_EXIT_INTR_INFO);
		unsigned vector = VEVENT_VECTOR(info);
		if (VEVENT_TYPE(info) == VEVENT_TYPE_NMI) {
			x->host_nmi = true;
			this_cpu()->nmi_exits++;
			return true;
		}
		if (VEVENT_TYPE(info) == VEVENT_TYPE_EXC && vector == EXC_UD) {
			if (is_vmmcall(v)) {
				x->reason = VMX_EXIT_VMCALL;
				x->vmmcall = true;
				return false;
			}
			reflect_exception(&v->st, vector);
			return true;
		}
		if (VEVENT_TYPE(info) == VEVENT_TYPE_EXC &&
		    (vector == EXC_DB || vector == EXC_AC)) {
			reflect_exception(&v->st, vector);
			return true;
		}
		return false;
	}
	case VMX_EXIT_INTR_WINDOW:
		/* Opened for an inject that waited for it, not for the VMM. */
		return !v->st.intr_window;
	case VMX_EXIT_NMI_WINDOW:
	case VMX_EXIT_PREEMPT_TIMER:
		return true;
	case VMX_EXIT_CR_ACCESS:
		return cr_access(v);
	case VMX_EXIT_XSETBV:
		return xsetbv(v);
	default:
		return false;
	}
}

/* Exit qualification of I/O instructions (27.2.1, table 27-5). */
static void store_io(struct vireo_vm_state *st, uint64_t q)
{
	st->io = (struct vireo_vm_io){
		.port = (uint16_t)(q >> 16),
		.size = (uint8_t)((q & 7) + 1),
		.in = (q >> 3) & 1,
		.string = (q >> 4) & 1,
		.rep = (q >> 5) & 1,
	};
	st->next_rip = vmreadnat(VMCS_GUEST_RIP) + st->insn_len;
}

/* EPT violation qualification (27.2.1, table 27-7) as a page-fault error code, like SVM's NPF:
 * P = the page allowed some access, W = a write, I = a fetch; bit 32: the final translation. */
static uint64_t ept_error(uint64_t q)
{
	uint64_t e = (q & 1 ? VNPF_READ : 0) | (q & 2 ? VNPF_WRITE : 0) | (q & 4 ? VNPF_EXEC : 0) |
		     (q & 0x38 ? VNPF_PRESENT : 0);
	if (q & (1u << 7)) { /* the guest-linear address is valid; bit 8: the final translation */
		e |= VNPF_LINEAR_VALID | (q & (1u << 8) ? 0 : VNPF_PAGE_WALK);
	}
	return e;
}

/* Control-register access qualification (27.2.1, table 27-3): CR number 3:0, access type 5:4
 * (0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW), GPR 11:8 for MOV; as VCR_QUAL_*. */
static uint64_t cr_qual(uint64_t q)
{
	unsigned type = (q >> 4) & 3;
	uint64_t n = (q & 0xf) | (type != 1 ? VCR_QUAL_WRITE : 0);
	return type < 2 ? n | VCR_QUAL_GPR_VALID | (q & 0xf00) : n;
}

/* MOV DR qualification (table 27-4): DR number 2:0, direction 4 (1: MOV from DR), GPR 11:8. */
static uint64_t dr_qual(uint64_t q)
{
	return (q & 7) | (q & 0x10 ? 0 : VDR_QUAL_WRITE) | VCR_QUAL_GPR_VALID | (q & 0xf00);
}

/* The exits of the VMM's optional intercepts (docs/ABI.md "Intercept control"). */
static bool store_intercept(const struct vmx_vcpu *x, struct vireo_vm_state *st, uint32_t reason,
			    uint64_t q)
{
	static const uint32_t simple[][3] = {
		{ VMX_EXIT_RDTSC, VM_EXIT_RDTSC, 0 },	{ VMX_EXIT_RDTSCP, VM_EXIT_RDTSC, 1 },
		{ VMX_EXIT_PAUSE, VM_EXIT_PAUSE, 0 },	{ VMX_EXIT_MWAIT, VM_EXIT_MWAIT, 0 },
		{ VMX_EXIT_MONITOR, VM_EXIT_MWAIT, 1 }, { VMX_EXIT_INVPCID, VM_EXIT_INVLPG, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
		if (simple[i][0] == reason) {
			st->exit = simple[i][1];
			st->qual = simple[i][2];
			return true;
		}
	}
	if (reason == VMX_EXIT_INVLPG) {
		st->exit = VM_EXIT_INVLPG;
		st->qual = q; /* the linear-address operand (27.2.1) */
	} else if (reason == VMX_EXIT_DR_ACCESS) {
		st->exit = VM_EXIT_DR_ACCESS;
		st->qual = dr_qual(q);
	} else if (reason == VMX_EXIT_CR_ACCESS && x->cr_vmm) {
		st->exit = VM_EXIT_CR_ACCESS;
		st->qual = cr_qual(q);
	} else {
		return false;
	}
	return true;
}

void vmx_store_exit(struct vcpu *v, struct vireo_vm_state *st)
{
	struct vmx_vcpu *x = v->hw;
	uint32_t reason = x->reason;
	st->qual = 0;
	st->gpa = st->gla = 0;
	st->next_rip = 0;
	st->insn_len = 0;
	if (reason == VMX_EXIT_INSN_FAILED || (reason & VMX_EXIT_ENTRY_FAILED)) {
		st->exit = VM_EXIT_INVALID;
		st->qual = VM_INVALID_HARDWARE;
		st->gpa = reason | (uint64_t)x->insn_error << 32; /* docs/ABI.md "vCPUs" */
		return;
	}
	static const uint32_t map[][2] = {
		{ VMX_EXIT_CPUID, VM_EXIT_CPUID },   { VMX_EXIT_HLT, VM_EXIT_HLT },
		{ VMX_EXIT_VMCALL, VM_EXIT_VMCALL }, { VMX_EXIT_INVD, VM_EXIT_CACHE },
		{ VMX_EXIT_WBINVD, VM_EXIT_CACHE },  { VMX_EXIT_RDMSR, VM_EXIT_RDMSR },
		{ VMX_EXIT_WRMSR, VM_EXIT_WRMSR },   { VMX_EXIT_TRIPLE_FAULT, VM_EXIT_SHUTDOWN },
		{ VMX_EXIT_IO, VM_EXIT_IO },
	};
	st->exit = VM_EXIT_OTHER;
	st->qual = reason;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i][0] == reason) {
			st->exit = map[i][1];
			st->qual = 0;
			st->insn_len =
				reason == VMX_EXIT_TRIPLE_FAULT ? 0 : vmread32(VMCS_EXIT_INSN_LEN);
		}
	}
	if (x->vmmcall) {
		st->insn_len = 3; /* a #UD exit has no instruction length */
	}
	uint64_t q = vmreadnat(VMCS_EXIT_QUAL);
	if (reason == VMX_EXIT_IO) {
		store_io(st, q);
	} else if (reason == VMX_EXIT_EPT_VIOLATION) {
		st->exit = VM_EXIT_MMIO;
		st->qual = ept_error(q);
		st->gpa = vmread64(VMCS_GUEST_PHYS_ADDR);
		st->gla = q & (1u << 7) ? vmreadnat(VMCS_GUEST_LINEAR_ADDR) : 0;
	} else if (reason == VMX_EXIT_INTR_WINDOW) {
		st->exit = VM_EXIT_INTR_WINDOW;
		st->qual = 0;
		st->intr_window = 0;
	} else if (store_intercept(x, st, reason, q)) {
		st->insn_len = vmread32(VMCS_EXIT_INSN_LEN);
	} else if (reason == VMX_EXIT_EXC_NMI) {
		uint32_t info = vmread32(VMCS_EXIT_INTR_INFO);
		st->exit = VM_EXIT_EXCEPTION;
		st->qual = VEVENT_VECTOR(info);
		st->gpa = info & VEVENT_ERR_VALID ? vmread32(VMCS_EXIT_INTR_ERROR) : 0;
		if (st->qual == 14) {
			st->gla = vmreadnat(VMCS_EXIT_QUAL); /* the #PF address (27.2.1) */
		}
	}
}
