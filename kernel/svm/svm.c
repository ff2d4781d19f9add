/* SPDX-License-Identifier: MIT */
/*
 * AMD SVM backend (AMD APM vol. 2 ch. 15): VMCB set-up, nested paging, one VMRUN per run(),
 * and the translation between the VMCB and the vendor-neutral state. Host interrupts exit the
 * guest (INTR intercept with V_INTR_MASKING) and are handled by the kernel, never the VMM.
 */
#include "svm/svm.h"
#include "arch.h"
#include "asid.h"
#include "assert.h"
#include "fpu.h"
#include "frame.h"
#include "kstring.h"
#include "pd.h"
#include "printk.h"
#include "quota.h"
#include "sched.h"
#include "svm/svm_event.h"
#include "svm/vmcb.h"
#include "syscall_entry.h"
#include "vcpu.h"
#include "vcpu_check.h"
#include "vcpu_round.h"
#include "virt.h"
#include "x86/cpu.h"
#include "x86/percpu.h"

#define VM_CR_SVMDIS (1u << 4)
#define IOPM_ORDER 2  /* 12 KiB used */
#define MSRPM_ORDER 1 /* 8 KiB */
/*
 * Exceptions intercepted whatever the VMM wants: a guest can make the delivery of #AC or #DB raise
 * the same exception again, and a CPU caught in that loop never opens an interrupt window, so it
 * never leaves the guest (CVE-2015-5307 for #AC, CVE-2015-8104 for #DB). Intercepted, each
 * delivery is a VM exit; the kernel reflects the exception into the guest itself.
 */
#define EXC_ALWAYS ((1u << EXC_DB) | (1u << EXC_AC))

void svm_enter(uint64_t vmcb_pa, uint64_t gpr[16], uint64_t host_save_pa);

/* Shared by all vCPUs; physical 0 is a valid address, so "not yet" must be spelled out. */
static paddr_t iopm = PADDR_INVALID, msrpm = PADDR_INVALID;
static paddr_t host_save[MAX_CPUS];
static uint64_t host_xcr0; /* fpu_xcr0(), fixed by fpu_init before svm_probe runs */

static inline void clgi(void)
{
	__asm__ volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	__asm__ volatile("stgi" ::: "memory");
}

static paddr_t zeroed(unsigned order, int fill)
{
	paddr_t pa = frame_alloc_zeroed(order);
	if (pa_valid(pa) && fill) {
		memset(phys_to_virt(pa), fill, PAGE_SIZE << order);
	}
	return pa;
}

static status_t svm_cpu_init(void)
{
	unsigned cpu = this_cpu()->id;
	if (!pa_valid(iopm)) {
		/* Every port and every MSR is intercepted: the VMM decides (APM 15.10, 15.11). */
		iopm = zeroed(IOPM_ORDER, 0xff);
		msrpm = zeroed(MSRPM_ORDER, 0xff);
	}
	paddr_t hsave = zeroed(0, 0);
	host_save[cpu] = zeroed(0, 0);
	if (!pa_valid(iopm) || !pa_valid(msrpm) || !pa_valid(hsave) || !pa_valid(host_save[cpu])) {
		return VIREO_NO_MEM;
	}
	/* CPUID Fn8000_000A EBX: the number of ASIDs, ASID 0 being the host's (APM vol. 3, CPUID). */
	uint32_t n = cpuid(0x8000000a, 0).ebx;
	asid_cpu_init(&this_cpu()->asid, cpu, n > 1 ? n - 1 : 1);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, pa_addr(hsave));
	return VIREO_OK;
}

static struct vmcb *vmcb_of(struct vcpu *v)
{
	return v->hw;
}

static status_t svm_vcpu_init(struct vcpu *v)
{
	paddr_t pa = quota_frames(v->quota, 0); /* the VMCB, charged like the vCPU */
	if (!pa_valid(pa)) {
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	v->hw = phys_to_virt(pa);
	v->hw_pa = pa;
	struct vmcb_control *c = &vmcb_of(v)->ctl;
	/* INVD would drop dirty cache lines of host memory, WBINVD stalls the whole machine: neither
	 * is a guest's call. (QEMU 7.2 checks the WBINVD intercept for both instructions and exits
	 * with WBINVD's code; QEMU fixed that in 2023. Both map to VM_EXIT_CACHE.) */
	c->intercept_misc1 = MISC1_INTR | MISC1_NMI | MISC1_SMI | MISC1_INIT | MISC1_CPUID |
			     MISC1_HLT | MISC1_INVLPGA | MISC1_IOIO | MISC1_MSR |
			     MISC1_TASK_SWITCH | MISC1_SHUTDOWN | MISC1_INVD;
	c->intercept_exc = EXC_ALWAYS;
	c->intercept_misc2 = MISC2_VMRUN | MISC2_VMMCALL | MISC2_VMLOAD | MISC2_VMSAVE |
			     MISC2_STGI | MISC2_CLGI | MISC2_SKINIT | MISC2_XSETBV | MISC2_WBINVD;
	/* Physical interrupts always end the guest run (APM 15.21.1), whatever load() sets later. */
	c->int_ctl = INT_CTL_V_INTR_MASKING;
	c->iopm_pa = pa_addr(iopm);
	c->msrpm_pa = pa_addr(msrpm);
	c->asid = 1; /* replaced at the first entry (run_enter): the vCPU has no ASID yet */
	asid_tag_drop(&v->asid);
	c->np_enable = 1;
	return VIREO_OK;
}

static void svm_vcpu_fini(struct vcpu *v)
{
	if (pa_valid(v->msrpm)) {
		quota_frames_free(v->quota, v->msrpm, MSRPM_ORDER);
		v->msrpm = PADDR_INVALID;
	}
	if (v->hw) {
		quota_frames_free(v->quota, v->hw_pa, 0);
		v->hw = NULL;
	}
}

/* The VMCB's segment layout (APM vol. 2 table B-2) is the ABI's: two words each way. */
_Static_assert(sizeof(struct vmcb_seg) == sizeof(struct vireo_seg) &&
		       __builtin_offsetof(struct vmcb_seg, attr) ==
			       __builtin_offsetof(struct vireo_seg, attr) &&
		       __builtin_offsetof(struct vmcb_seg, limit) ==
			       __builtin_offsetof(struct vireo_seg, limit) &&
		       __builtin_offsetof(struct vmcb_seg, base) ==
			       __builtin_offsetof(struct vireo_seg, base),
	       "segment layouts");

static void seg_in(struct vmcb_seg *d, const struct vireo_seg *s)
{
	__builtin_memcpy(d, s, sizeof(*d));
}

static void seg_out(struct vireo_seg *d, const struct vmcb_seg *s)
{
	__builtin_memcpy(d, s, sizeof(*d));
}

/* ---------------------------------------------------------------- intercept control */

/* The MSRs a VMM may pass through, in VMSR_PASS_* bit order (VMLOAD/VMSAVE switch all of them). */
static const uint32_t pass_msrs[] = { 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000081, 0xc0000082,
				      0xc0000083, 0xc0000084, 0x174,	  0x175,      0x176 };

/* The two permission bits of `msr` in the MSR map (APM vol. 2 15.11: three 2-KiB ranges). */
static bool msrpm_bit(uint32_t msr, size_t *bit)
{
	static const uint32_t base[] = { 0, 0xc0000000, 0xc0010000 };
	for (unsigned i = 0; i < 3; i++) {
		if (msr - base[i] < 0x2000) {
			*bit = (i * 0x800 * 8) + (msr - base[i]) * 2;
			return true;
		}
	}
	return false;
}

static void msrpm_set(uint8_t *map, uint32_t msr, bool intercept)
{
	size_t bit;
	if (!msrpm_bit(msr, &bit)) {
		return;
	}
	uint8_t both = (uint8_t)(3u << (bit % 8)); /* read and write */
	map[bit / 8] = intercept ? map[bit / 8] | both : map[bit / 8] & (uint8_t)~both;
}

/* The vCPU's own MSR map, made (charged to its PD) when the VMM first passes an MSR through. */
static status_t apply_msr_pass(struct vcpu *v, uint32_t pass)
{
	if (!pass && !pa_valid(v->msrpm)) {
		return VIREO_OK;
	}
	if (!pa_valid(v->msrpm)) {
		paddr_t pa = quota_frames(v->quota, MSRPM_ORDER);
		if (!pa_valid(pa)) {
			return VIREO_NO_MEM;
		}
		memset(phys_to_virt(pa), 0xff, PAGE_SIZE << MSRPM_ORDER);
		v->msrpm = pa;
		vmcb_of(v)->ctl.msrpm_pa = pa_addr(pa);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(pass_msrs); i++) {
		msrpm_set(phys_to_virt(v->msrpm), pass_msrs[i], !(pass & (1u << i)));
	}
	return VIREO_OK;
}

#define MISC1_OPTIONAL (MISC1_RDTSC | MISC1_PAUSE | MISC1_INVLPG | MISC1_HLT)
#define MISC2_OPTIONAL (MISC2_RDTSCP | MISC2_MONITOR | MISC2_MWAIT)

/* ctrl is checked (vcpu_check_ctrl); only the MSR map can fail, and it is applied first. */
static void load_ctrl(struct vcpu *v, const struct vireo_vm_ctrl *ctrl)
{
	struct vmcb_control *c = &vmcb_of(v)->ctl;
	uint32_t f = ctrl->intercept;
	if (apply_msr_pass(v, ctrl->msr_pass) != VIREO_OK) {
		/* No memory for the map: every MSR keeps exiting, which is always correct. */
		pr_info("svm: no memory for a vCPU's MSR map; MSRs stay intercepted\n");
	}
	c->intercept_exc = EXC_ALWAYS | ctrl->exc_bitmap;
	c->intercept_misc1 =
		(c->intercept_misc1 & ~MISC1_OPTIONAL) | (f & VINT_RDTSC ? MISC1_RDTSC : 0) |
		(f & VINT_PAUSE ? MISC1_PAUSE : 0) | (f & VINT_INVLPG ? MISC1_INVLPG : 0) |
		(f & VINT_HLT_PASS ? 0 : MISC1_HLT);
	c->intercept_misc2 = (c->intercept_misc2 & ~MISC2_OPTIONAL) |
			     (f & VINT_RDTSC ? MISC2_RDTSCP : 0) |
			     (f & VINT_MWAIT ? MISC2_MONITOR | MISC2_MWAIT : 0);
	/* SVM has no guest/host masks: a register with a mask is intercepted whole, reads and
	 * writes, and the VMM applies the mask and the shadow (docs/architecture.md#vcpu). */
	uint32_t cr = (ctrl->cr0_mask ? 1u << 0 : 0) | (ctrl->cr4_mask ? 1u << 4 : 0) |
		      (f & VINT_CR3 ? 1u << 3 : 0) | (f & VINT_CR8 ? 1u << 8 : 0);
	c->intercept_cr = cr | cr << 16;
	c->intercept_dr = f & VINT_DR ? 0x00ff00ffu : 0;
}

/* ---------------------------------------------------------------- state groups */

/* The groups but the GPRs and RIP/RFLAGS: apart, so that the resume after most exits, which
 * loads only those, runs no prologue saving the registers this one needs. */
static __attribute__((noinline)) void load_rest(struct vcpu *v, const struct vireo_vm_state *st,
						uint32_t mtd)
{
	struct vmcb_save *s = &vmcb_of(v)->save;
	if (mtd & VMTD_CR) {
		/* The guest's own CR3 writes flush its ASID in hardware; the VMM's (a reset, a mode
		 * it sets up) do not, so its translations of the old paging state must not be used. */
		if (s->cr3 != st->cr3 || s->cr0 != st->cr0 || s->cr4 != st->cr4 ||
		    (s->efer & ~EFER_SVME) != st->efer) {
			asid_tag_drop(&v->asid);
		}
		s->efer = st->efer | EFER_SVME;
		s->cr0 = st->cr0;
		s->cr2 = st->cr2;
		s->cr3 = st->cr3;
		s->cr4 = st->cr4;
	}
	if (mtd & VMTD_DR) {
		s->dr6 = st->dr6;
		s->dr7 = st->dr7;
	}
	if (mtd & VMTD_XCR0) {
		v->guest_xcr0 = st->xcr0;
	}
	if (mtd & VMTD_CS_SS) {
		seg_in(&s->cs, &st->cs);
		seg_in(&s->ss, &st->ss);
	}
	if (mtd & VMTD_DS_ES) {
		seg_in(&s->ds, &st->ds);
		seg_in(&s->es, &st->es);
	}
	if (mtd & VMTD_FS_GS) {
		seg_in(&s->fs, &st->fs);
		seg_in(&s->gs, &st->gs);
	}
	if (mtd & VMTD_TR_LDTR) {
		seg_in(&s->tr, &st->tr);
		seg_in(&s->ldtr, &st->ldtr);
	}
	if (mtd & (VMTD_CS_SS | VMTD_CR)) {
		/* Real mode runs at CPL 0; otherwise the CPL is the DPL of SS (APM 15.5.1). The
		 * checks brought both groups up to date in `st`. */
		s->cpl = st->cr0 & CR0_PE ? (st->ss.attr >> 5) & 3 : 0;
	}
	if (mtd & VMTD_DTR) {
		seg_in(&s->gdtr, &st->gdtr);
		seg_in(&s->idtr, &st->idtr);
	}
	if (mtd & VMTD_SYSCALL) {
		s->star = st->star;
		s->lstar = st->lstar;
		s->cstar = st->cstar;
		s->sfmask = st->sfmask;
		s->kernel_gs_base = st->kernel_gs_base;
	}
	if (mtd & VMTD_SYSENTER) {
		s->sysenter_cs = st->sysenter_cs;
		s->sysenter_esp = st->sysenter_esp;
		s->sysenter_eip = st->sysenter_eip;
	}
	if (mtd & VMTD_PAT) {
		s->g_pat = st->pat;
	}
	if (mtd & VMTD_EVENTS) {
		vmcb_of(v)->ctl.int_shadow = st->intr_shadow & 1;
	}
	if (mtd & VMTD_TSC) {
		vmcb_of(v)->ctl.tsc_offset = st->tsc_offset; /* APM 15.30.3 "TSC offset" */
	}
	if (mtd & VMTD_CTRL) {
		load_ctrl(v, &v->ctrl);
	}
}

/* The groups of svm_load a resume after an instruction exit changes (the fast path's). */
static inline __attribute__((always_inline)) void
load_fast(struct vmcb_save *s, const struct vireo_vm_state *st, uint32_t mtd)
{
	if (mtd & VMTD_GPR_ACDB) {
		s->rax = st->gpr[0];
	}
	if (mtd & VMTD_GPR_HI) {
		s->rsp = st->gpr[4];
	}
	if (mtd & VMTD_RIP) {
		s->rflags = st->rflags;
		s->rip = st->rip;
	}
}

static void svm_load(struct vcpu *v, const struct vireo_vm_state *st, uint32_t mtd)
{
	load_fast(&vmcb_of(v)->save, st, mtd);
	if (mtd & ~(VMTD_GPR_ACDB | VMTD_GPR_HI | VMTD_RIP)) {
		load_rest(v, st, mtd);
	}
}

/* The state groups by bit number (VMTD_* = 1 << n), for the switch in store_group. */
enum {
	G_GPR_ACDB,
	G_RIP,
	G_CR,
	G_DR,
	G_XCR0,
	G_CS_SS,
	G_DS_ES,
	G_FS_GS,
	G_TR_LDTR,
	G_DTR,
	G_SYSCALL,
	G_SYSENTER,
	G_PAT,
	G_EVENTS,
	G_TSC,
	G_GPR_HI,
};
_Static_assert(VMTD_GPR_ACDB == 1u << G_GPR_ACDB && VMTD_RIP == 1u << G_RIP &&
		       VMTD_CR == 1u << G_CR && VMTD_DR == 1u << G_DR &&
		       VMTD_XCR0 == 1u << G_XCR0 && VMTD_CS_SS == 1u << G_CS_SS &&
		       VMTD_DS_ES == 1u << G_DS_ES && VMTD_FS_GS == 1u << G_FS_GS &&
		       VMTD_TR_LDTR == 1u << G_TR_LDTR && VMTD_DTR == 1u << G_DTR &&
		       VMTD_SYSCALL == 1u << G_SYSCALL && VMTD_SYSENTER == 1u << G_SYSENTER &&
		       VMTD_PAT == 1u << G_PAT && VMTD_EVENTS == 1u << G_EVENTS &&
		       VMTD_TSC == 1u << G_TSC && VMTD_GPR_HI == 1u << G_GPR_HI,
	       "group bit numbers");

static inline __attribute__((always_inline)) void
store_group(const struct vcpu *v, const struct vmcb *vmcb, struct vireo_vm_state *st, unsigned g)
{
	const struct vmcb_save *s = &vmcb->save;
	switch (g) {
	case G_GPR_ACDB:
		/* RAX from the VMCB, the rest from where the entry code keeps them (v->st), so
		 * that the group is whole in `st` whichever state it is (store_direct). */
		st->gpr[0] = s->rax;
		st->gpr[1] = v->st.gpr[1];
		st->gpr[2] = v->st.gpr[2];
		st->gpr[3] = v->st.gpr[3];
		break;
	case G_GPR_HI:
		st->gpr[4] = s->rsp;
		for (unsigned i = 5; i < 16; i++) {
			st->gpr[i] = v->st.gpr[i];
		}
		break;
	case G_RIP:
		st->rflags = s->rflags;
		st->rip = s->rip;
		break;
	case G_CR:
		st->efer = s->efer & ~EFER_SVME;
		st->cr0 = s->cr0;
		st->cr2 = s->cr2;
		st->cr3 = s->cr3;
		st->cr4 = s->cr4;
		break;
	case G_DR:
		st->dr6 = s->dr6;
		st->dr7 = s->dr7;
		break;
	case G_XCR0:
		st->xcr0 = v->guest_xcr0;
		break;
	case G_CS_SS:
		seg_out(&st->cs, &s->cs);
		seg_out(&st->ss, &s->ss);
		break;
	case G_DS_ES:
		seg_out(&st->ds, &s->ds);
		seg_out(&st->es, &s->es);
		break;
	case G_FS_GS:
		seg_out(&st->fs, &s->fs);
		seg_out(&st->gs, &s->gs);
		break;
	case G_TR_LDTR:
		seg_out(&st->tr, &s->tr);
		seg_out(&st->ldtr, &s->ldtr);
		break;
	case G_DTR:
		seg_out(&st->gdtr, &s->gdtr);
		seg_out(&st->idtr, &s->idtr);
		break;
	case G_SYSCALL:
		st->star = s->star;
		st->lstar = s->lstar;
		st->cstar = s->cstar;
		st->sfmask = s->sfmask;
		st->kernel_gs_base = s->kernel_gs_base;
		break;
	case G_SYSENTER:
		st->sysenter_cs = s->sysenter_cs;
		st->sysenter_esp = s->sysenter_esp;
		st->sysenter_eip = s->sysenter_eip;
		break;
	case G_PAT:
		st->pat = s->g_pat;
		break;
	case G_TSC:
		st->tsc_offset = vmcb->ctl.tsc_offset;
		break;
	case G_EVENTS:
		/* inject and pending are the run path's (svm_event_enter/exit), current in v->st. */
		st->pending = v->st.pending;
		st->pending_err = v->st.pending_err;
		st->intr_shadow = vmcb->ctl.int_shadow & 1;
		st->guest_if = (s->rflags >> 9) & 1;
		st->inject = v->st.inject;
		st->inject_err = v->st.inject_err;
		st->intr_window = v->st.intr_window;
		st->inject_len = v->st.inject_len;
		st->pending_len = v->st.pending_len;
		st->activity = v->st.activity;
		break;
	}
}

/* The groups an instruction exit asks for (its registers, RIP and the code mode): tested in line. */
#define STORE_INLINE (VMTD_GPR_ACDB | VMTD_RIP | VMTD_CR | VMTD_CS_SS)

/* The groups an instruction exit does not ask for, each by one jump; apart, as load_rest. */
static __attribute__((noinline)) void store_rest(struct vcpu *v, struct vireo_vm_state *st,
						 uint32_t mtd)
{
	const struct vmcb *vmcb = vmcb_of(v);
	for (mtd &= VMTD_STATE & ~STORE_INLINE; mtd; mtd &= mtd - 1) {
		store_group(v, vmcb, st, (unsigned)__builtin_ctz(mtd));
	}
}

/* An entry the CPU refused (APM 15.5.1 VMEXIT_INVALID; QEMU stores it as a 32-bit -1): one
 * compare of the low half, since no other exit code has it all ones (the others are below
 * 0x10000 or the small negative BUSY, IDLE_REQUIRED, INVALID_PMC, ...). */
static inline __attribute__((always_inline)) bool exit_invalid(uint64_t code)
{
	_Static_assert((uint32_t)SVM_EXIT_INVALID_32 == UINT32_MAX, "the 32-bit -1");
	return (uint32_t)code == UINT32_MAX;
}

/* Only the groups named: an exit asks for a few of sixteen. After an entry that was not refused. */
static inline __attribute__((always_inline)) void
store_groups(struct vcpu *v, struct vireo_vm_state *st, uint32_t mtd)
{
	const struct vmcb *vmcb = vmcb_of(v);
	if (mtd & VMTD_GPR_ACDB) {
		store_group(v, vmcb, st, G_GPR_ACDB);
	}
	if (mtd & VMTD_RIP) {
		store_group(v, vmcb, st, G_RIP);
	}
	if (mtd & VMTD_CR) {
		store_group(v, vmcb, st, G_CR);
	}
	if (mtd & VMTD_CS_SS) {
		store_group(v, vmcb, st, G_CS_SS);
	}
	if (mtd & VMTD_STATE & ~STORE_INLINE) {
		store_rest(v, st, mtd);
	}
}

static void svm_store(struct vcpu *v, struct vireo_vm_state *st, uint32_t mtd)
{
	if (exit_invalid(vmcb_of(v)->ctl.exitcode)) {
		return; /* the save area holds whatever the CPU had: keep the state the VMM gave */
	}
	store_groups(v, st, mtd);
}

/*
 * Deliver the intercepted #AC or #DB to the guest as the CPU would have (APM 15.12: #DB has
 * already updated DR6, #AC's error code is 0). If it hit while another event was being
 * delivered, deliver that one again instead: re-executing its delivery raises this exception anew
 * if it must (KVM does the same), and the guest loops through VM exits, never inside the CPU.
 */
static void reflect_exception(struct vireo_vm_state *st, unsigned vector)
{
	if (st->pending & VEVENT_VALID) {
		return; /* svm_event_exit made the cut-off event pending: it goes in first */
	}
	st->pending =
		VEVENT_VALID | VEVENT_TYPE_EXC | vector | (vector == EXC_AC ? VEVENT_ERR_VALID : 0);
	st->pending_err = 0;
	st->pending_len = 0;
}

/* svm_run's halves, in line there (every guest entry passes) and apart for the host tests.
 * `quiet`: the caller knows no event waits, no window is asked for and v->vm is set (the resume
 * fast path). */
static inline __attribute__((always_inline)) void run_enter(struct vcpu *v, paddr_t gpt_root,
							    bool quiet)
{
	struct vmcb *vmcb = vmcb_of(v);
	vmcb->ctl.n_cr3 = pa_addr(gpt_root);
	/* The VM's own I/O map once ports were delegated to it, else the one that intercepts all. */
	struct pd *vm = v->vm;
	bool in_vm = quiet || vm; /* (host tests run vCPUs without a VM) */
	void *io_map = in_vm ? vm->vm_io_map : NULL;
	vmcb->ctl.iopm_pa = io_map ? pa_addr(virt_to_phys(io_map)) : pa_addr(iopm);
	/*
	 * The vCPU keeps its ASID, and the guest its TLB entries, until the guest space loses a
	 * translation (svm_flush_guest gives it a new tag) or the vCPU moves: then it takes a new
	 * ASID instead of flushing, since flush-by-ASID is not everywhere (QEMU 7.2 has none).
	 * Only when this CPU's ASIDs run out is its whole guest TLB flushed (docs/architecture.md#asids).
	 */
	uint64_t tag = in_vm ? __atomic_load_n(&vm->guest_tlb_tag, __ATOMIC_ACQUIRE) : 0;
	if (asid_valid(&v->asid, this_cpu_field(asid.gen), tag)) {
		/* The VMCB holds the ASID already: only this writes it, and a new VMCB has no ASID. */
		vmcb->ctl.tlb_control = TLB_DO_NOTHING; /* after an entry that flushed */
	} else {
		enum asid_flush f = asid_assign_new(&this_cpu()->asid, &v->asid, tag);
		vmcb->ctl.asid = v->asid.asid;
		vmcb->ctl.tlb_control = f == ASID_FLUSH_ALL ? TLB_FLUSH_ALL : TLB_DO_NOTHING;
	}
	/* Every entry takes the next event (APM 15.20), every exit hands back the cut-off one. */
	if (quiet) {
		svm_event_enter_none(vmcb, &v->injected);
	} else {
		svm_event_enter(vmcb, &v->st, &v->injected);
	}
}

static inline __attribute__((always_inline)) bool run_exit(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);
	uint64_t code = vmcb->ctl.exitcode;
	_Static_assert(SVM_EXIT_INTR < SVM_EXIT_VINTR && SVM_EXIT_NMI < SVM_EXIT_VINTR &&
			       SVM_EXIT_SMI < SVM_EXIT_VINTR &&
			       SVM_EXIT_EXC_BASE + EXC_AC < SVM_EXIT_VINTR,
		       "the exits the kernel takes are at most VINTR");
	if (code > SVM_EXIT_VINTR) {
		/* CPUID, I/O, NPF, ... and a refused entry: the VMM's, tested first */
		if (__builtin_expect(exit_invalid(code), 0)) {
			vmcb->ctl.exitintinfo = v->injected.event; /* nothing went in */
		}
		svm_event_exit(vmcb, &v->st, &v->injected);
		return false;
	}
	svm_event_exit(vmcb, &v->st, &v->injected);
	if (code == SVM_EXIT_INTR || code == SVM_EXIT_NMI || code == SVM_EXIT_SMI) {
		/* A host interrupt: the kernel takes it after this; the guest goes on afterwards. */
		this_cpu()->nmi_exits += code == SVM_EXIT_NMI;
		return true;
	}
	if (code == SVM_EXIT_EXC_BASE + EXC_DB || code == SVM_EXIT_EXC_BASE + EXC_AC) {
		reflect_exception(&v->st, (unsigned)(code - SVM_EXIT_EXC_BASE));
		return true;
	}
	/* The window opened for an inject queued behind a pending event, not for the VMM. */
	return code == SVM_EXIT_VINTR && !v->st.intr_window;
}

void svm_run_enter(struct vcpu *v, paddr_t gpt_root)
{
	run_enter(v, gpt_root, false);
}

bool svm_run_exit(struct vcpu *v)
{
	return run_exit(v);
}

static inline __attribute__((always_inline)) bool run(struct vcpu *v, paddr_t gpt_root, bool quiet)
{
	run_enter(v, gpt_root, quiet);
	bool own_xcr0 = host_xcr0 && v->guest_xcr0 != host_xcr0;
	clgi();
	irq_enable();
	if (own_xcr0) {
		write_xcr0(v->guest_xcr0);
	}
	svm_enter(pa_addr(v->hw_pa), v->st.gpr, pa_addr(host_save[this_cpu_field(id)]));
	if (own_xcr0) {
		write_xcr0(host_xcr0);
	}
	irq_disable();
	stgi();
	return run_exit(v);
}

static bool svm_run(struct vcpu *v, paddr_t gpt_root)
{
	return run(v, gpt_root, false);
}

/* Apart (not in line): tests/trace-exit tells a port-I/O round trip from a CPUID one by it. */
static __attribute__((noinline)) void store_io(struct vireo_vm_state *st, uint64_t info1,
					       uint64_t info2)
{
	/* EXITINFO1 (APM 15.10.2): bit 0 IN, 2 string, 3 rep, 4-6 size one-hot, 16-31 port. */
	st->io = (struct vireo_vm_io){
		.port = (uint16_t)(info1 >> 16),
		.size = (info1 >> 4) & 1   ? 1
			: (info1 >> 5) & 1 ? 2
					   : 4,
		.in = info1 & 1,
		.string = (info1 >> 2) & 1,
		.rep = (info1 >> 3) & 1,
	};
	st->next_rip = info2;
}

/* What the CPU reports beyond the minimum (CPUID 0x8000000A EDX, APM vol. 2 15.2.2). */
static bool has_nrips, has_decode;

/* The NPF error code (APM vol. 2 15.25.6: #PF bits, 32 final address, 33 page-table walk). */
static uint64_t npf_qual(uint64_t info1)
{
	bool write = info1 & 2, fetch = info1 & 0x10;
	return (write ? VNPF_WRITE : 0) | (fetch ? VNPF_EXEC : 0) |
	       (!write && !fetch ? VNPF_READ : 0) | (info1 & 1 ? VNPF_PRESENT : 0) |
	       ((info1 >> 33) & 1 ? VNPF_PAGE_WALK : 0);
}

/* MOV CR / MOV DR (exit codes 0x00-0x3f): the register number, the direction, and the GPR when
 * the CPU has decode assists (EXITINFO1 bit 63, APM 15.33). */
static uint64_t crdr_qual(uint64_t code, uint64_t info1)
{
	uint64_t q = (code & 0xf) | ((code & 0x10) ? VCR_QUAL_WRITE : 0);
	if (has_decode && (info1 >> 63)) {
		q |= VCR_QUAL_GPR_VALID | (info1 & 0xf) << 8;
	}
	return q;
}

/* The exits with no qualification beyond their name. */
static const uint8_t plain[0x90] = {
	[SVM_EXIT_CPUID] = VM_EXIT_CPUID,	[SVM_EXIT_HLT] = VM_EXIT_HLT,
	[SVM_EXIT_SHUTDOWN] = VM_EXIT_SHUTDOWN, [SVM_EXIT_VMMCALL] = VM_EXIT_VMCALL,
	[SVM_EXIT_INVD] = VM_EXIT_CACHE,	[SVM_EXIT_WBINVD] = VM_EXIT_CACHE,
	[SVM_EXIT_XSETBV] = VM_EXIT_XSETBV,	[SVM_EXIT_PAUSE] = VM_EXIT_PAUSE,
	[SVM_EXIT_INIT] = VM_EXIT_INIT,		[SVM_EXIT_RDTSC] = VM_EXIT_RDTSC,
	[SVM_EXIT_MWAIT] = VM_EXIT_MWAIT,
};

/* The exits with no qualification beyond their name, and the CR/DR/INVLPG/task-switch ones. */
static void decode_exit(struct vireo_vm_state *st, uint64_t code, const struct vmcb_control *c)
{
	st->qual = 0;
	if (code < 0x20) {
		st->exit = VM_EXIT_CR_ACCESS;
		st->qual = crdr_qual(code, c->exitinfo1);
	} else if (code < 0x40) {
		st->exit = VM_EXIT_DR_ACCESS;
		st->qual = crdr_qual(code, c->exitinfo1);
	} else if (code < sizeof(plain) && plain[code]) {
		st->exit = plain[code];
	} else if (code == SVM_EXIT_TASK_SWITCH) {
		st->exit = VM_EXIT_TASK_SWITCH;
		st->qual = c->exitinfo1 & 0xffff; /* the new TSS selector (APM 15.14.2) */
	} else if (code == SVM_EXIT_RDTSCP) {
		st->exit = VM_EXIT_RDTSC;
		st->qual = 1;
	} else if (code == SVM_EXIT_MONITOR) {
		st->exit = VM_EXIT_MWAIT;
		st->qual = 1;
	} else if (code == SVM_EXIT_INVLPG) {
		st->exit = VM_EXIT_INVLPG;
		st->qual = has_decode ? c->exitinfo1 : 0;
	} else {
		st->exit = VM_EXIT_OTHER;
		st->qual = code;
	}
}

/* Instruction intercepts for which NRIP-save gives the next RIP (APM vol. 2 15.7.1). */
static bool nrip_valid(uint64_t code)
{
	return code == SVM_EXIT_CPUID || code == SVM_EXIT_HLT || code == SVM_EXIT_MSR ||
	       code == SVM_EXIT_VMMCALL || code == SVM_EXIT_IOIO || code == SVM_EXIT_RDTSC ||
	       code == SVM_EXIT_RDTSCP || code == SVM_EXIT_PAUSE || code == SVM_EXIT_INVD ||
	       code == SVM_EXIT_WBINVD || code == SVM_EXIT_XSETBV || code == SVM_EXIT_INVLPG ||
	       code == SVM_EXIT_MWAIT || code == SVM_EXIT_MONITOR || code < 0x40;
}

/* The exit information (exit .. insn_len) into `st`; returns the exit reason. */
static inline __attribute__((always_inline)) uint32_t exit_info(struct vcpu *v,
								struct vireo_vm_state *st)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_control *c = &vmcb->ctl;
	uint64_t code = c->exitcode;
	st->gpa = st->gla = 0;
	st->next_rip = 0;
	if (exit_invalid(code)) {
		st->exit = VM_EXIT_INVALID;
		st->qual = VM_INVALID_HARDWARE;
		st->insn_len = 0;
		return VM_EXIT_INVALID;
	}
	uint32_t len = 0;
	if (has_nrips && nrip_valid(code) && c->next_rip - vmcb->save.rip - 1 < VEVENT_LEN_MAX) {
		len = (uint32_t)(c->next_rip - vmcb->save.rip);
	}
	st->insn_len = len;
	if (code < sizeof(plain) && plain[code]) {
		uint32_t exit = plain[code]; /* CPUID, HLT, ...: the most frequent, decided first */
		st->exit = exit;
		st->qual = 0;
		return exit;
	}
	st->qual = c->exitinfo1;
	if (code >= SVM_EXIT_EXC_BASE && code < SVM_EXIT_EXC_BASE + 32) {
		st->exit = VM_EXIT_EXCEPTION;
		st->qual = code - SVM_EXIT_EXC_BASE;
		st->gpa = c->exitinfo1;					     /* error code */
		st->gla = code == SVM_EXIT_EXC_BASE + 14 ? c->exitinfo2 : 0; /* #PF address */
	} else if (code == SVM_EXIT_NPF) {
		st->exit = VM_EXIT_MMIO;
		st->qual = npf_qual(c->exitinfo1);
		st->gpa = c->exitinfo2;
	} else if (code == SVM_EXIT_IOIO) {
		st->exit = VM_EXIT_IO;
		store_io(st, c->exitinfo1, c->exitinfo2);
	} else if (code == SVM_EXIT_MSR) {
		st->exit = c->exitinfo1 ? VM_EXIT_WRMSR : VM_EXIT_RDMSR;
	} else if (code == SVM_EXIT_VINTR) {
		st->exit = VM_EXIT_INTR_WINDOW;
		st->qual = 0;
		v->st.intr_window = 0; /* state, not exit information: the kernel's copy */
	} else {
		decode_exit(st, code, c);
	}
	/* Read back (in the page, the VMM's other threads may rewrite it): only a selector that
	 * vcpu_exit_groups clamps. */
	return *(const volatile uint32_t *)&st->exit;
}

static void svm_exit_info(struct vcpu *v, struct vireo_vm_state *st)
{
	exit_info(v, st);
}

/*
 * The exit decoded and, unless the entry was refused, given to the VMM in one call
 * (docs/architecture.md#resume-fast-path): what exit_info and exit_to_vmm write, straight into
 * the page (store_direct is every group).
 */
static inline __attribute__((always_inline)) bool exit_to_page(struct vcpu *v,
							       struct vireo_vm_state *page)
{
	if (exit_invalid(vmcb_of(v)->ctl.exitcode)) {
		exit_info(v, &v->st);
		return false;
	}
	/* The exit information goes to the page only: the kernel's copy of it is not read again
	 * before the next exit or refusal rewrites it whole (vcpu.c refuse_to_vmm). The reason
	 * picks the VMM's own mtd_exit word (clamped there). */
	uint32_t exit = exit_info(v, page);
	page->exits = v->st.exits;
	uint32_t out = vcpu_exit_groups(page, exit);
	store_groups(v, page, out);
	page->mtd_out = out;
	return true;
}

static bool svm_exit_to_page(struct vcpu *v, struct vireo_vm_state *page)
{
	return exit_to_page(v, page);
}

/*
 * The resume fast path: vcpu.c's vcpu_resume_fast with svm_load's part for these groups, svm_run
 * and svm_exit_to_page in line, so that the common exit passes through one function
 * (docs/architecture.md#resume-fast-path). In the host tests, a run replaced by another (their
 * scripted guest) is called. Returns only when the general path must take the resume. `lean`:
 * vcpu_fast_take's.
 */
static inline __attribute__((always_inline)) void svm_resume_fast(struct ec *ec,
								  const struct regs *r, bool lean)
{
	uint32_t in;
	if (!vcpu_fast_take(ec, r, true, lean, &in)) {
		return;
	}
	struct vcpu *v = ec->vcpu;
	load_fast(&vmcb_of(v)->save, &v->st, in);
	paddr_t root = v->vm->pt.root;
	vcpu_round_start(v, lean); /* quiet: run's event entry is the one for nothing */
#ifdef HOST_TEST
	bool handled = virt->run == svm_run ? run(v, root, true) : virt->run(v, root);
#else
	bool handled = run(v, root, true); /* the kernel has no other SVM run */
#endif
	vcpu_round_end(v);
	if (handled) {
		vcpu_round_handled(ec);
	}
	if (!exit_to_page(v, v->page)) {
		vcpu_round_refused(ec);
	}
	vcpu_round_return(ec, v, lean);
}

/* SYS_VCPU_RESUME (virt_ops.resume_entry): syscall.c's syscall_resume with this round. */
static void svm_resume_entry(struct regs *r)
{
	struct ec *ec = syscall_enter();
	svm_resume_fast(ec, r, false);
	syscall_general(ec, r);
}

/* The same without `debug` and with the fast paths on (virt_ops.resume_entry_lean). */
static void svm_resume_entry_lean(struct regs *r)
{
	struct ec *ec = syscall_enter_as(true);
	svm_resume_fast(ec, r, true);
	syscall_general(ec, r);
}

/* Called under the kernel lock; CPUs in the guest exit on the shoot-down that follows and
 * see the new tag at their next entry. */
static void svm_flush_guest(struct pd *vm)
{
	__atomic_store_n(&vm->guest_tlb_tag, asid_space_tag(), __ATOMIC_RELEASE);
}

/* Nested page tables take 1 GiB pages where the CPU has them (APM vol. 2 15.25; CPUID
 * Fn8000_0001 EDX[26]). */
static bool svm_gpt_1g(void)
{
	return (cpuid(0x80000001, 0).edx & (1u << 26)) != 0;
}

/* ---------------------------------------------------------------- a VM's I/O map */

/*
 * The I/O permission map (APM vol. 2 15.10.1): 12 KiB, physically contiguous, one bit per port,
 * a set bit intercepts. The CPU checks the bits of every port an access touches, so the bits past
 * port 0xffff in the third page stay set: a 2- or 4-byte access that wraps there exits.
 */
#define IOPM_BYTES (12u << 10)

static status_t svm_io_map_init(void *map)
{
	memset(map, 0xff, IOPM_BYTES);
	return VIREO_OK;
}

static void svm_io_map_set(void *map, uint32_t port, uint32_t count, bool pass)
{
	uint8_t *m = map;
	for (uint32_t p = port; p < port + count && p < 0x10000; p++) {
		uint8_t bit = (uint8_t)(1u << (p % 8));
		m[p / 8] = pass ? m[p / 8] & (uint8_t)~bit : m[p / 8] | bit;
	}
}

const struct virt_ops svm_ops = {
	.name = "AMD SVM with nested paging",
	.gpt_format = PT_FMT_NPT,
	.cpu_init = svm_cpu_init,
	.vcpu_init = svm_vcpu_init,
	.vcpu_fini = svm_vcpu_fini,
	.load = svm_load,
	.run = svm_run,
	.exit_info = svm_exit_info,
	.store = svm_store,
	.store_direct = VMTD_STATE, /* store_group completes each group from v->st */
	.exit_to_page = svm_exit_to_page,
	.resume_entry = svm_resume_entry,
	.resume_entry_lean = svm_resume_entry_lean,
	.flush_guest = svm_flush_guest,
	.gpt_1g = svm_gpt_1g,
	.io_map_order = IOPM_ORDER, /* 16 KiB from the frame allocator, 12 KiB used */
	.io_map_init = svm_io_map_init,
	.io_map_set = svm_io_map_set,
};

const struct virt_ops *svm_probe(void)
{
	if (cpuid(0x80000000, 0).eax < 0x8000000a || !(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		return NULL;
	}
	if (!(cpuid(0x8000000a, 0).edx & 1)) {
		pr_info("svm: no nested paging; not used\n");
		return NULL;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		pr_info("svm: disabled by firmware\n");
		return NULL;
	}
	uint32_t edx = cpuid(0x8000000a, 0).edx;
	has_nrips = (edx >> 3) & 1;
	has_decode = (edx >> 7) & 1;
	host_xcr0 = fpu_xcr0();
	return &svm_ops;
}
