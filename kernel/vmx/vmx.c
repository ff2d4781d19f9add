/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-x backend (Intel SDM vol. 3C ch. 23-28): VMXON per CPU, one VMCS per vCPU, EPT guest
 * spaces built by kernel/pt.c, VPID per VM, unrestricted guest for real-mode guests, and the
 * translation between the VMCS and the vendor-neutral state, one function per state group.
 * Host interrupts and NMIs exit the guest and are taken by the kernel, never the VMM
 * (docs/architecture.md#vmx). Exits and events: kernel/vmx/vmx_exit.c.
 */
#include "vmx/vmx.h"

#include "arch.h"
#include "asid.h"
#include "assert.h"
#include "fpu.h"
#include "frame.h"
#include "kstring.h"
#include "pd.h"
#include "printk.h"
#include "quota.h"
#include "tlb.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_io.h"
#include "x86/cpu.h"
#include "x86/lapic.h"
#include "x86/percpu.h"

/* Exceptions intercepted whatever the VMM wants (the reason: kernel/svm/svm.c EXC_ALWAYS), and
 * #UD, which VMMCALL raises on Intel (kernel/vmx/vmx_exit.c). */
#define EXC_ALWAYS ((1u << EXC_DB) | (1u << EXC_AC) | (1u << EXC_UD))
#define AR_UNUSABLE (1u << 16)
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2

struct vmx_ctls vmx_ctls;
uint32_t vmx_preempt_ticks = 1u << 16;
static paddr_t current_vmcs[MAX_CPUS]; /* the VMCS VMPTRLD made current on each CPU */

int vmx_enter(uint64_t gpr[16], int launched);
void vmx_exit_host(void);

static const uint32_t msr_index[VMX_MSRS] = {
	[VMX_MSR_KGS] = MSR_KERNEL_GS_BASE, [VMX_MSR_STAR] = MSR_STAR,
	[VMX_MSR_LSTAR] = MSR_LSTAR,	    [VMX_MSR_CSTAR] = MSR_CSTAR,
	[VMX_MSR_SFMASK] = MSR_SFMASK,
};

uint64_t vmx_cr0_forced(void)
{
	return (uint32_t)vmx_ctls.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);
}

uint64_t vmx_cr4_forced(void)
{
	return vmx_ctls.cr4_fixed0;
}

static struct vmx_vcpu *vmx_of(struct vcpu *v)
{
	return v->hw;
}

/* ---------------------------------------------------------------- per CPU */

static status_t vmx_cpu_init(void)
{
	unsigned cpu = this_cpu()->id;
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
	/* SDM vol. 3C 23.7: VMXON needs the lock bit and VMX outside SMX; firmware may have locked
	 * it off (vmx_probe refused that already on the boot CPU). */
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		wrmsr(MSR_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		pr_warn("vmx: CPU %u: VMX disabled by firmware\n", cpu);
		return VIREO_BAD_FTR;
	}
	/* CR0 and CR4 in VMX operation (23.8, A.7, A.8). */
	write_cr0((read_cr0() | vmx_ctls.cr0_fixed0) & vmx_ctls.cr0_fixed1);
	write_cr4((read_cr4() | vmx_ctls.cr4_fixed0 | CR4_VMXE) & vmx_ctls.cr4_fixed1);
	/* The VMXON region: the kernel's own memory, like the CPU it serves (24.11.5). */
	paddr_t region = frame_alloc(0);
	if (!pa_valid(region)) {
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(region), 0, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(region) = vmx_ctls.revision;
	if (!vmx_vmxon(pa_addr(region))) {
		pr_warn("vmx: CPU %u: VMXON failed\n", cpu);
		frame_free(region, 0);
		return VIREO_BAD_FTR;
	}
	current_vmcs[cpu] = PADDR_INVALID;
	/*
	 * Every guest run ends within one host tick, whatever the guest's RFLAGS.IF: Bochs 2.7 lets
	 * no host interrupt end a guest that runs with IF = 0 (guest-loop-bochs spins forever
	 * otherwise), and the bound costs one exit per tick elsewhere (docs/architecture.md#vmx).
	 */
	uint64_t per_tick = lapic_tsc_khz() * 1000 / TIMER_HZ >> vmx_ctls.preempt_shift;
	if (per_tick) {
		vmx_preempt_ticks = per_tick > UINT32_MAX ? UINT32_MAX : (uint32_t)per_tick;
	}
	return VIREO_OK;
}

/* Host state that differs per CPU (SDM vol. 3C 24.5); CR0/CR3/CR4 and FS change: each entry. */
static void host_state_cpu(void)
{
	struct percpu *p = this_cpu();
	struct __packed {
		uint16_t limit;
		uint64_t base;
	} idtr = { 0, 0 };
#ifndef HOST_TEST
	__asm__ volatile("sidt %0" : "=m"(idtr));
#endif
	vmwritenat(VMCS_HOST_GDTR_BASE, (uint64_t)p->gdt);
	vmwritenat(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwritenat(VMCS_HOST_TR_BASE, (uint64_t)&p->tss);
	vmwritenat(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite32(VMCS_HOST_SYSENTER_CS, (uint32_t)rdmsr(MSR_SYSENTER_CS));
	vmwritenat(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	vmwritenat(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	vmwrite64(VMCS_HOST_PAT, rdmsr(MSR_PAT));
	vmwrite64(VMCS_HOST_EFER, rdmsr(MSR_EFER));
}

/* Make the vCPU's VMCS current on this CPU. ECs do not move between CPUs (ec->cpu is fixed at
 * creation); one that did would be cleared here and launched afresh. */
static void make_current(struct vmx_vcpu *x)
{
	unsigned cpu = this_cpu()->id;
	if (x->cpu != (int)cpu) {
		if (x->cpu >= 0) {
			vmx_vmclear(pa_addr(x->vmcs));
		}
		x->launched = false;
		vmx_vmptrld(pa_addr(x->vmcs));
		current_vmcs[cpu] = x->vmcs;
		x->cpu = (int)cpu;
		host_state_cpu();
	} else if (pa_addr(current_vmcs[cpu]) != pa_addr(x->vmcs)) {
		vmx_vmptrld(pa_addr(x->vmcs));
		current_vmcs[cpu] = x->vmcs;
	}
}

/* ---------------------------------------------------------------- per vCPU */

static void vmcs_setup(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx_of(v);
	vmwrite32(VMCS_PIN_CTLS, vmx_ctls.pin);
	vmwrite32(VMCS_PROC_CTLS, vmx_ctls.proc);
	vmwrite32(VMCS_PROC_CTLS2, vmx_ctls.proc2);
	vmwrite32(VMCS_EXIT_CTLS, vmx_ctls.exit);
	vmwrite32(VMCS_ENTRY_CTLS, vmx_ctls.entry);
	vmwrite32(VMCS_EXC_BITMAP, EXC_ALWAYS);
	vmwrite32(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite64(VMCS_LINK_POINTER, ~0ull);
	vmwritenat(VMCS_CR0_MASK, vmx_cr0_forced());
	vmwritenat(VMCS_CR4_MASK, vmx_cr4_forced());
	uint64_t page = pa_addr(v->hw_pa);
	vmwrite64(VMCS_ENTRY_MSR_LOAD_ADDR, page + __builtin_offsetof(struct vmx_vcpu, guest_msrs));
	vmwrite64(VMCS_EXIT_MSR_STORE_ADDR, page + __builtin_offsetof(struct vmx_vcpu, guest_msrs));
	vmwrite64(VMCS_EXIT_MSR_LOAD_ADDR, page + __builtin_offsetof(struct vmx_vcpu, host_msrs));
	vmwrite32(VMCS_ENTRY_MSR_LOAD_COUNT, VMX_MSRS);
	vmwrite32(VMCS_EXIT_MSR_STORE_COUNT, VMX_MSRS);
	vmwrite32(VMCS_EXIT_MSR_LOAD_COUNT, VMX_MSRS);
	for (unsigned i = 0; i < VMX_MSRS; i++) {
		x->guest_msrs[i].index = x->host_msrs[i].index = msr_index[i];
	}
	vmwrite16(VMCS_HOST_CS_SEL, SEL_KCODE);
	vmwrite16(VMCS_HOST_SS_SEL, SEL_KDATA);
	vmwrite16(VMCS_HOST_DS_SEL, SEL_KDATA);
	vmwrite16(VMCS_HOST_ES_SEL, SEL_KDATA);
	vmwrite16(VMCS_HOST_FS_SEL, 0);
	vmwrite16(VMCS_HOST_GS_SEL, 0);
	vmwrite16(VMCS_HOST_TR_SEL, SEL_TSS);
	vmwritenat(VMCS_HOST_RIP, (uint64_t)vmx_exit_host);
	vmwrite64(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite32(VMCS_GUEST_ACTIVITY, 0);
	vmwritenat(VMCS_GUEST_PENDING_DBG, 0);
}

static status_t vmx_vcpu_init(struct vcpu *v)
{
	/* The VMCS and the page with the MSR areas, both charged like the vCPU. */
	paddr_t vmcs = quota_frames(v->quota, 0);
	if (!pa_valid(vmcs)) {
		return VIREO_NO_MEM;
	}
	paddr_t page = quota_frames(v->quota, 0);
	if (!pa_valid(page)) {
		quota_frames_free(v->quota, vmcs, 0);
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(vmcs), 0, PAGE_SIZE);
	memset(phys_to_virt(page), 0, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(vmcs) = vmx_ctls.revision; /* 24.2 */
	_Static_assert(sizeof(struct vmx_vcpu) <= PAGE_SIZE, "one page");
	struct vmx_vcpu *x = phys_to_virt(page);
	x->vmcs = vmcs;
	x->cpu = -1;
	v->msrpm = PADDR_INVALID; /* made at the first MSR pass-through (apply_msr_pass) */
	v->hw = x;
	v->hw_pa = page;
	/* Set up here, then cleared: the CPU that runs it first makes it current again. */
	unsigned cpu = this_cpu()->id;
	vmx_vmclear(pa_addr(vmcs));
	vmx_vmptrld(pa_addr(vmcs));
	vmcs_setup(v);
	vmx_vmclear(pa_addr(vmcs));
	current_vmcs[cpu] = PADDR_INVALID;
	return VIREO_OK;
}

/*
 * VMCLEAR on the CPU where the VMCS is active (x->cpu): only there does it write back what that
 * CPU keeps of it and make the region inactive, so that the frame may be reused (SDM vol. 3C
 * 24.1, 24.11.1); a VMCLEAR elsewhere leaves that CPU's copy alive. The CPU also forgets the
 * VMCS as its current one, or a later VMPTRLD of a new VMCS in the same frame would be skipped.
 * Runs without the kernel lock when another CPU asked for it (tlb_call_on).
 */
static void vmclear_here(void *arg)
{
	struct vmx_vcpu *x = arg;
	unsigned cpu = this_cpu()->id;
	CHECK(x->cpu == (int)cpu);
	vmx_vmclear(pa_addr(x->vmcs));
	if (pa_addr(current_vmcs[cpu]) == pa_addr(x->vmcs)) {
		current_vmcs[cpu] = PADDR_INVALID;
	}
	x->launched = false;
	__atomic_store_n(&x->cpu, -1, __ATOMIC_RELEASE);
}

/*
 * The VMCS is cleared where it is active before any frame goes (docs/architecture.md#vmx): here,
 * or on its CPU through a request the destroying CPU waits for under the kernel lock (a vCPU EC
 * that is not running can be destroyed from any CPU). Then its frames are refunded, once.
 */
static void vmx_vcpu_fini(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx_of(v);
	if (!x) {
		return;
	}
	if (x->cpu == (int)this_cpu()->id) {
		vmclear_here(x);
	} else if (x->cpu >= 0) {
		unsigned owner = (unsigned)x->cpu;
		uint64_t t0 = rdtsc();
		tlb_call_on(owner, vmclear_here, x);
		pr_debug("vmx: VMCS %#lx cleared on CPU %u for CPU %u in %lu TSC ticks\n",
			 (unsigned long)pa_addr(x->vmcs), owner, this_cpu()->id,
			 (unsigned long)(rdtsc() - t0));
	}
	CHECK(__atomic_load_n(&x->cpu, __ATOMIC_ACQUIRE) < 0);
	if (pa_valid(v->msrpm)) {
		quota_frames_free(v->quota, v->msrpm, 0);
		v->msrpm = PADDR_INVALID;
	}
	paddr_t vmcs = x->vmcs;
	quota_frames_free(v->quota, vmcs, 0);
	quota_frames_free(v->quota, v->hw_pa, 0);
	v->hw = NULL;
}

/* ---------------------------------------------------------------- state groups: load */

/* Compressed 12-bit attributes <-> VMCS access rights (24.4.1: type..P in 7:0, AVL..G in 15:12,
 * bit 16 "unusable"); a segment that is not present is unusable. */
static uint32_t ar_of(uint16_t attr)
{
	uint32_t ar = (attr & 0xffu) | (uint32_t)(attr & 0xf00u) << 4;
	return attr & VSEG_ATTR_P ? ar : ar | AR_UNUSABLE;
}

static uint16_t attr_of(uint32_t ar)
{
	uint16_t attr = (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
	return ar & AR_UNUSABLE ? attr & ~VSEG_ATTR_P : attr;
}

static void seg_in(unsigned i, const struct vireo_seg *s)
{
	vmwrite16((enum vmcs_field16)(VMCS_GUEST_ES_SEL + 2 * i), s->sel);
	vmwrite32((enum vmcs_field32)(VMCS_GUEST_ES_LIMIT + 2 * i), s->limit);
	vmwrite32((enum vmcs_field32)(VMCS_GUEST_ES_AR + 2 * i), ar_of(s->attr));
	vmwritenat((enum vmcs_field_nat)(VMCS_GUEST_ES_BASE + 2 * i), s->base);
}

static void seg_out(unsigned i, struct vireo_seg *s)
{
	s->sel = vmread16((enum vmcs_field16)(VMCS_GUEST_ES_SEL + 2 * i));
	s->limit = vmread32((enum vmcs_field32)(VMCS_GUEST_ES_LIMIT + 2 * i));
	s->attr = attr_of(vmread32((enum vmcs_field32)(VMCS_GUEST_ES_AR + 2 * i)));
	s->base = vmreadnat((enum vmcs_field_nat)(VMCS_GUEST_ES_BASE + 2 * i));
}

/* The VMCS order of the segment fields: ES CS SS DS FS GS LDTR TR. */
#define SEG_OFF(s) __builtin_offsetof(struct vireo_vm_state, s)
static const size_t seg_off[8] = { SEG_OFF(es), SEG_OFF(cs), SEG_OFF(ss),   SEG_OFF(ds),
				   SEG_OFF(fs), SEG_OFF(gs), SEG_OFF(ldtr), SEG_OFF(tr) };

static void load_gprs(const struct vireo_vm_state *st)
{
	vmwritenat(VMCS_GUEST_RSP, st->gpr[4]); /* the others: vmx_enter, from v->st.gpr */
}

static void load_rip_rflags(const struct vireo_vm_state *st)
{
	vmwritenat(VMCS_GUEST_RIP, st->rip);
	vmwritenat(VMCS_GUEST_RFLAGS, st->rflags);
}

/*
 * CR0 and CR4 under VMX (SDM vol. 3C 24.6.6, 25.3): bits in a guest/host mask read from the read
 * shadow and exit when a MOV gives them another value. The mask holds the bits VMX forces, which
 * the kernel owns (the guest reads its own value of them: `st` keeps it in the shadow), and the
 * VMM's bits (ctrl, docs/ABI.md "Intercept control": `st` has the real register, the guest reads
 * the VMM's shadow). A bit in both reads as the VMM's shadow and is 1 in `st`.
 */
struct cr_fields {
	enum vmcs_field_nat reg, shadow, mask;
};
static const struct cr_fields cr0_fields = { VMCS_GUEST_CR0, VMCS_CR0_SHADOW, VMCS_CR0_MASK };
static const struct cr_fields cr4_fields = { VMCS_GUEST_CR4, VMCS_CR4_SHADOW, VMCS_CR4_MASK };

/* The register as `st` has it, under the VMM mask in force. */
static uint64_t cr_view(const struct cr_fields *f, uint64_t forced, uint64_t vmm)
{
	uint64_t kernel_only = forced & ~vmm;
	return (vmreadnat(f->reg) & ~kernel_only) | (vmreadnat(f->shadow) & kernel_only);
}

/* Write the register from its `st` value, the forced bits added, and the mask and shadow. */
static void cr_put(const struct cr_fields *f, uint64_t val, uint64_t forced, uint64_t vmm,
		   uint64_t vmm_shadow)
{
	vmwritenat(f->reg, val | forced);
	vmwritenat(f->shadow, (val & ~vmm) | (vmm_shadow & vmm));
	vmwritenat(f->mask, forced | vmm);
}

static void load_crs(struct vcpu *v, const struct vireo_vm_state *st)
{
	struct vmx_vcpu *x = vmx_of(v);
	cr_put(&cr0_fields, st->cr0, vmx_cr0_forced(), x->cr0_vmm, v->ctrl.cr0_shadow);
	vmwritenat(VMCS_GUEST_CR3, st->cr3);
	cr_put(&cr4_fields, st->cr4, vmx_cr4_forced(), x->cr4_vmm, v->ctrl.cr4_shadow);
	vmwrite64(VMCS_GUEST_EFER, st->efer);
	/* IA-32e mode guest follows EFER.LMA (26.2.4). */
	uint32_t entry = vmx_ctls.entry & ~ENTRY_IA32E;
	vmwrite32(VMCS_ENTRY_CTLS, entry | (st->efer & EFER_LMA ? ENTRY_IA32E : 0));
}

/* The segment pairs of the state groups, as VMCS segment indices (ES CS SS DS FS GS LDTR TR). */
static const struct {
	uint32_t group;
	unsigned a, b;
} seg_pairs[] = {
	{ VMTD_CS_SS, 1, 2 }, { VMTD_DS_ES, 3, 0 }, { VMTD_FS_GS, 4, 5 }, { VMTD_TR_LDTR, 7, 6 }
};

static void load_segs(const struct vireo_vm_state *st, uint32_t mtd)
{
	for (unsigned p = 0; p < ARRAY_SIZE(seg_pairs); p++) {
		if (mtd & seg_pairs[p].group) {
			unsigned a = seg_pairs[p].a, b = seg_pairs[p].b;
			seg_in(a, (const struct vireo_seg *)((const char *)st + seg_off[a]));
			seg_in(b, (const struct vireo_seg *)((const char *)st + seg_off[b]));
		}
	}
}

static void load_dtrs(const struct vireo_vm_state *st)
{
	vmwrite32(VMCS_GUEST_GDTR_LIMIT, st->gdtr.limit);
	vmwritenat(VMCS_GUEST_GDTR_BASE, st->gdtr.base);
	vmwrite32(VMCS_GUEST_IDTR_LIMIT, st->idtr.limit);
	vmwritenat(VMCS_GUEST_IDTR_BASE, st->idtr.base);
}

static void load_syscall_msrs(struct vmx_vcpu *x, const struct vireo_vm_state *st)
{
	x->guest_msrs[VMX_MSR_KGS].value = st->kernel_gs_base;
	x->guest_msrs[VMX_MSR_STAR].value = st->star;
	x->guest_msrs[VMX_MSR_LSTAR].value = st->lstar;
	x->guest_msrs[VMX_MSR_CSTAR].value = st->cstar;
	x->guest_msrs[VMX_MSR_SFMASK].value = st->sfmask;
}

static void load_sysenter_msrs(const struct vireo_vm_state *st)
{
	vmwrite32(VMCS_GUEST_SYSENTER_CS, (uint32_t)st->sysenter_cs);
	vmwritenat(VMCS_GUEST_SYSENTER_ESP, st->sysenter_esp);
	vmwritenat(VMCS_GUEST_SYSENTER_EIP, st->sysenter_eip);
}

/* The interrupt shadow as the VMCS spells it: after STI only with IF set (26.3.1.5), else MOV SS.
 * Blocking by NMI is the CPU's and stays. RFLAGS is the VMCS's (loaded first if it changed). */
static void load_events(const struct vireo_vm_state *st)
{
	uint32_t b = vmread32(VMCS_GUEST_INTERRUPTIBILITY) & ~(VMX_INTR_STI | VMX_INTR_MOVSS);
	if (st->intr_shadow & 1) {
		b |= vmreadnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF ? VMX_INTR_STI : VMX_INTR_MOVSS;
	}
	vmwrite32(VMCS_GUEST_INTERRUPTIBILITY, b);
}

/* ---------------------------------------------------------------- intercept control */

const uint32_t vmx_pass_msrs[10] = { 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000081, 0xc0000082,
				     0xc0000083, 0xc0000084, 0x174,	 0x175,	     0x176 };

bool vmx_msr_bitmap_bit(uint32_t msr, bool write, size_t *bit)
{
	size_t half = write ? 2048 * 8 : 0;
	if (msr < 0x2000) {
		*bit = half + msr;
	} else if (msr - 0xc0000000u < 0x2000) {
		*bit = half + 1024 * 8 + (msr - 0xc0000000u);
	} else {
		return false;
	}
	return true;
}

static void msr_bitmap_set(uint8_t *map, uint32_t msr, bool intercept)
{
	for (int w = 0; w < 2; w++) {
		size_t bit;
		if (vmx_msr_bitmap_bit(msr, w, &bit)) {
			uint8_t b = (uint8_t)(1u << (bit % 8));
			map[bit / 8] = intercept ? map[bit / 8] | b : map[bit / 8] & (uint8_t)~b;
		}
	}
}

/*
 * The vCPU's MSR bitmap (4 KiB, charged to its PD like SVM's MSR map), made when the VMM first
 * passes an MSR through; until then "use MSR bitmaps" is off and every RDMSR/WRMSR exits. A CPU
 * without the control, or no memory: every MSR keeps exiting, which is always correct.
 */
static void apply_msr_pass(struct vcpu *v, uint32_t pass)
{
	struct vmx_vcpu *x = vmx_of(v);
	if (!pass && !pa_valid(v->msrpm)) {
		return;
	}
	if (!vmx_ctls.msr_bitmaps) {
		static bool told;
		if (!told) {
			told = true;
			pr_info("vmx: this CPU has no MSR bitmaps; passed-through MSRs keep "
				"exiting\n");
		}
		return;
	}
	if (!pa_valid(v->msrpm)) {
		paddr_t pa = quota_frames(v->quota, 0);
		if (!pa_valid(pa)) {
			pr_info("vmx: no memory for a vCPU's MSR bitmap; MSRs stay intercepted\n");
			return;
		}
		memset(phys_to_virt(pa), 0xff, PAGE_SIZE);
		v->msrpm = pa;
		vmwrite64(VMCS_MSR_BITMAP, pa_addr(pa));
		x->proc_set |= PROC_MSR_BITMAPS;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(vmx_pass_msrs); i++) {
		msr_bitmap_set(phys_to_virt(v->msrpm), vmx_pass_msrs[i], !(pass & (1u << i)));
	}
}

unsigned vmx_check_ctrl(const struct vireo_vm_ctrl *c)
{
	uint32_t set, clear, bad;
	return vmx_ctrl_proc(&vmx_ctls, c->intercept, &set, &clear, &bad) ? 0 : VM_INVALID_CTRL;
}

/*
 * The intercept control area (docs/ABI.md "Intercept control"), checked by vcpu_check_ctrl and
 * vmx_check_ctrl: the exception bitmap, the MSR bitmap, the optional exits as processor controls
 * (the windows are added per entry, vmx_run_enter) and the VMM's CR0/CR4 masks and shadows,
 * which keep the bits VMX forces in the kernel's hands. The registers keep their values.
 */
static void load_ctrl(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx_of(v);
	const struct vireo_vm_ctrl *c = &v->ctrl;
	uint32_t set, clear, bad;
	vmwrite32(VMCS_EXC_BITMAP, EXC_ALWAYS | c->exc_bitmap);
	apply_msr_pass(v, c->msr_pass);
	bool ok = vmx_ctrl_proc(&vmx_ctls, c->intercept, &set, &clear, &bad);
	assert(ok); /* vmx_check_ctrl refused it otherwise */
	(void)ok;
	x->proc_set = (x->proc_set & PROC_MSR_BITMAPS) | set;
	x->proc_clear = clear;
	uint64_t cr0 = cr_view(&cr0_fields, vmx_cr0_forced(), x->cr0_vmm);
	uint64_t cr4 = cr_view(&cr4_fields, vmx_cr4_forced(), x->cr4_vmm);
	x->cr0_vmm = c->cr0_mask;
	x->cr4_vmm = c->cr4_mask;
	cr_put(&cr0_fields, cr0, vmx_cr0_forced(), x->cr0_vmm, c->cr0_shadow);
	cr_put(&cr4_fields, cr4, vmx_cr4_forced(), x->cr4_vmm, c->cr4_shadow);
}

/* Load the state groups in `mtd` (docs/architecture.md#vm-interface); XCR0 and the GPRs but RSP
 * live in the kernel's copy and need no VMWRITE. */
static void vmx_load(struct vcpu *v, const struct vireo_vm_state *st, uint32_t mtd)
{
	struct vmx_vcpu *x = vmx_of(v);
	make_current(x);
	if (mtd & VMTD_GPR_HI) {
		load_gprs(st);
	}
	if (mtd & VMTD_RIP) {
		load_rip_rflags(st);
	}
	if (mtd & VMTD_CTRL) {
		load_ctrl(v); /* first: the CRs below go in under the new masks */
	}
	if (mtd & VMTD_CR) {
		/* The guest's own CR3 writes flush its VPID; the VMM's do not: no translation of the
		 * old paging state may stay. */
		if (vmreadnat(VMCS_GUEST_CR3) != st->cr3 ||
		    cr_view(&cr0_fields, vmx_cr0_forced(), x->cr0_vmm) != st->cr0 ||
		    cr_view(&cr4_fields, vmx_cr4_forced(), x->cr4_vmm) != st->cr4 ||
		    vmread64(VMCS_GUEST_EFER) != st->efer) {
			x->flushed_tag = 0;
		}
		load_crs(v, st);
	}
	if (mtd & VMTD_DR) {
		vmwritenat(VMCS_GUEST_DR7, st->dr7);
	}
	if (mtd & VMTD_XCR0) {
		v->guest_xcr0 = st->xcr0;
	}
	load_segs(st, mtd);
	if (mtd & VMTD_DTR) {
		load_dtrs(st);
	}
	if (mtd & VMTD_SYSCALL) {
		load_syscall_msrs(x, st);
	}
	if (mtd & VMTD_SYSENTER) {
		load_sysenter_msrs(st);
	}
	if (mtd & VMTD_PAT) {
		vmwrite64(VMCS_GUEST_PAT, st->pat);
	}
	if ((mtd & VMTD_TSC) && (vmx_ctls.proc & PROC_TSC_OFFSET)) {
		vmwrite64(VMCS_TSC_OFFSET, st->tsc_offset);
	}
	if (mtd & VMTD_EVENTS) {
		load_events(st);
	}
}

/* ---------------------------------------------------------------- state groups: store */

/* The registers as `st` has them (cr_view): the guest's own value of the bits VMX forces, the real
 * value of the VMM's. */
static void store_crs(struct vcpu *v, struct vireo_vm_state *st)
{
	struct vmx_vcpu *x = vmx_of(v);
	st->cr0 = cr_view(&cr0_fields, vmx_cr0_forced(), x->cr0_vmm);
	st->cr4 = cr_view(&cr4_fields, vmx_cr4_forced(), x->cr4_vmm);
	st->cr3 = vmreadnat(VMCS_GUEST_CR3);
	st->efer = vmread64(VMCS_GUEST_EFER);
}

static void store_segs(struct vireo_vm_state *st, uint32_t mtd)
{
	for (unsigned p = 0; p < ARRAY_SIZE(seg_pairs); p++) {
		if (mtd & seg_pairs[p].group) {
			unsigned a = seg_pairs[p].a, b = seg_pairs[p].b;
			seg_out(a, (struct vireo_seg *)((char *)st + seg_off[a]));
			seg_out(b, (struct vireo_seg *)((char *)st + seg_off[b]));
		}
	}
}

static void store_dtrs(struct vireo_vm_state *st)
{
	st->gdtr = (struct vireo_seg){ .limit = vmread32(VMCS_GUEST_GDTR_LIMIT),
				       .base = vmreadnat(VMCS_GUEST_GDTR_BASE) };
	st->idtr = (struct vireo_seg){ .limit = vmread32(VMCS_GUEST_IDTR_LIMIT),
				       .base = vmreadnat(VMCS_GUEST_IDTR_BASE) };
}

static void store_syscall_msrs(const struct vmx_vcpu *x, struct vireo_vm_state *st)
{
	st->kernel_gs_base = x->guest_msrs[VMX_MSR_KGS].value;
	st->star = x->guest_msrs[VMX_MSR_STAR].value;
	st->lstar = x->guest_msrs[VMX_MSR_LSTAR].value;
	st->cstar = x->guest_msrs[VMX_MSR_CSTAR].value;
	st->sfmask = x->guest_msrs[VMX_MSR_SFMASK].value;
}

static void store_sysenter_msrs(struct vireo_vm_state *st)
{
	st->sysenter_cs = vmread32(VMCS_GUEST_SYSENTER_CS);
	st->sysenter_esp = vmreadnat(VMCS_GUEST_SYSENTER_ESP);
	st->sysenter_eip = vmreadnat(VMCS_GUEST_SYSENTER_EIP);
}

/* Read the groups in `mtd` back; inject and pending are the run path's (vmx_run), current. */
static void vmx_store(struct vcpu *v, struct vireo_vm_state *st, uint32_t mtd)
{
	struct vmx_vcpu *x = vmx_of(v);
	if (x->reason == VMX_EXIT_INSN_FAILED || (x->reason & VMX_EXIT_ENTRY_FAILED)) {
		return; /* the guest state is the one the VMM gave */
	}
	if (mtd & VMTD_GPR_HI) {
		st->gpr[4] = vmreadnat(VMCS_GUEST_RSP);
	}
	if (mtd & VMTD_RIP) {
		st->rip = vmreadnat(VMCS_GUEST_RIP);
		st->rflags = vmreadnat(VMCS_GUEST_RFLAGS);
	}
	if (mtd & VMTD_CR) {
		store_crs(v, st);
	}
	if (mtd & VMTD_DR) {
		st->dr7 = vmreadnat(VMCS_GUEST_DR7);
	}
	if (mtd & VMTD_XCR0) {
		st->xcr0 = v->guest_xcr0;
	}
	store_segs(st, mtd);
	if (mtd & VMTD_DTR) {
		store_dtrs(st);
	}
	if (mtd & VMTD_SYSCALL) {
		store_syscall_msrs(x, st);
	}
	if (mtd & VMTD_SYSENTER) {
		store_sysenter_msrs(st);
	}
	if (mtd & VMTD_PAT) {
		st->pat = vmread64(VMCS_GUEST_PAT);
	}
	if ((mtd & VMTD_TSC) && (vmx_ctls.proc & PROC_TSC_OFFSET)) {
		st->tsc_offset = vmread64(VMCS_TSC_OFFSET);
	}
	if (mtd & VMTD_EVENTS) {
		st->intr_shadow = (vmread32(VMCS_GUEST_INTERRUPTIBILITY) &
				   (VMX_INTR_STI | VMX_INTR_MOVSS)) != 0;
		st->guest_if = (vmreadnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF) != 0;
	}
}

/* ---------------------------------------------------------------- run */

/* VM exit leaves TR's limit at 0x67 (SDM vol. 3C 27.5.2), which cuts off the I/O bitmap after the
 * TSS: load TR again from the descriptor, made available first (LTR faults on a busy one). */
static void tr_reload(void)
{
#ifndef HOST_TEST
	uint64_t *desc = &this_cpu()->gdt[SEL_TSS / 8];
	*desc &= ~(1ull << 41);
	__asm__ volatile("ltr %w0" ::"r"(SEL_TSS) : "memory");
#endif
}

static void host_state_entry(struct vmx_vcpu *x)
{
	vmwritenat(VMCS_HOST_CR0, read_cr0());
	vmwritenat(VMCS_HOST_CR3, read_cr3()); /* the VMM's PD, whose syscall runs the guest */
	vmwritenat(VMCS_HOST_CR4, read_cr4());
	vmwritenat(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	for (unsigned i = 0; i < VMX_MSRS; i++) {
		x->host_msrs[i].value = rdmsr(msr_index[i]);
	}
}

/*
 * The guest-physical and combined translations of this EPT go (single-context INVEPT, 28.3.3.1)
 * when the guest space lost a translation since this vCPU's last flush (its tag changed: a
 * revoke, vmx_flush_guest), when the vCPU runs on another CPU than at that flush, or when the VMM
 * loaded another paging state (load_crs): a revoked page is never reached through a stale entry,
 * and an unchanged space keeps its TLB entries across exits.
 */
static void flush_guest_tlb(struct vcpu *v, paddr_t gpt_root)
{
	struct vmx_vcpu *x = vmx_of(v);
	uint64_t tag = v->vm ? __atomic_load_n(&v->vm->guest_tlb_tag, __ATOMIC_ACQUIRE) : 0;
	int cpu = (int)this_cpu()->id;
	if (x->flushed_tag == tag && tag && x->flushed_cpu == cpu) {
		return;
	}
	uint64_t eptp = pa_addr(gpt_root) | (3u << 3) | 6u;
	if (vmx_ctls.ept_vpid & EPT_CAP_INVEPT_SINGLE) {
		vmx_invept(INVEPT_SINGLE, eptp);
	} else {
		vmx_invept(INVEPT_ALL, 0);
	}
	x->flushed_tag = tag;
	x->flushed_cpu = cpu;
}

/* Called under the kernel lock before the shoot-down: CPUs in the guest exit, and each vCPU's
 * next entry sees the new tag and flushes (docs/architecture.md#asids). */
static void vmx_flush_guest(struct pd *vm)
{
	__atomic_store_n(&vm->guest_tlb_tag, asid_space_tag(), __ATOMIC_RELEASE);
}

static bool vmx_run(struct vcpu *v, paddr_t gpt_root)
{
	struct vmx_vcpu *x = vmx_of(v);
	make_current(x);
	vmx_run_enter(v, gpt_root);
	vmx_io_enter(v);
	host_state_entry(x);
	flush_guest_tlb(v, gpt_root);
	uint64_t host_xcr0 = fpu_xcr0();
	bool own_xcr0 = host_xcr0 && v->guest_xcr0 != host_xcr0;
	if (own_xcr0) {
		write_xcr0(v->guest_xcr0);
	}
	int failed = vmx_enter(v->st.gpr, x->launched);
	if (own_xcr0) {
		write_xcr0(host_xcr0);
	}
	tr_reload();
	if (!failed) {
		x->launched = true;
	}
	bool handled = vmx_run_exit(v, failed != 0);
	if (x->host_nmi) {
		/* The NMI ended the guest run unhandled (27.1): give it to the host's handler. */
		__asm__ volatile("int $2" ::: "memory");
	}
	return handled;
}

const struct virt_ops vmx_ops = {
	.name = "Intel VT-x with EPT",
	.gpt_format = PT_FMT_EPT,
	.cpu_init = vmx_cpu_init,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_fini = vmx_vcpu_fini,
	.load = vmx_load,
	.run = vmx_run,
	.exit_info = vmx_store_exit,
	.store = vmx_store,
	.flush_guest = vmx_flush_guest,
	.check_ctrl = vmx_check_ctrl,
	.io_map_order = 1, /* the I/O bitmaps A and B, kernel/vmx/vmx_io.c */
	.io_map_init = vmx_io_map_init,
	.io_map_set = vmx_io_map_set,
};

static void read_caps(struct vmx_cap_msrs *m)
{
	*m = (struct vmx_cap_msrs){
		.basic = rdmsr(MSR_VMX_BASIC),
		.pin = rdmsr(MSR_VMX_PINBASED),
		.proc = rdmsr(MSR_VMX_PROCBASED),
		.exit = rdmsr(MSR_VMX_EXIT),
		.entry = rdmsr(MSR_VMX_ENTRY),
		.misc = rdmsr(MSR_VMX_MISC),
		.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0),
		.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1),
		.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0),
		.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1),
	};
	if (m->basic & VMX_BASIC_TRUE_CTLS) {
		m->true_pin = rdmsr(MSR_VMX_TRUE_PINBASED);
		m->true_proc = rdmsr(MSR_VMX_TRUE_PROCBASED);
		m->true_exit = rdmsr(MSR_VMX_TRUE_EXIT);
		m->true_entry = rdmsr(MSR_VMX_TRUE_ENTRY);
	}
	/* The secondary controls and EPT capabilities exist only with the secondary controls (A.3.3). */
	uint64_t proc = m->basic & VMX_BASIC_TRUE_CTLS ? m->true_proc : m->proc;
	if ((proc >> 32) & PROC_SECONDARY) {
		m->proc2 = rdmsr(MSR_VMX_PROCBASED2);
		m->ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
	}
}

const struct virt_ops *vmx_probe(void)
{
	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_VMX)) {
		return NULL;
	}
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		pr_info("vmx: disabled by firmware (IA32_FEATURE_CONTROL locked)\n");
		return NULL;
	}
	struct vmx_cap_msrs m;
	read_caps(&m);
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &vmx_ctls);
	vmx_io_probe(m.basic & VMX_BASIC_TRUE_CTLS ? m.true_proc : m.proc);
	if (r.error != VMX_CTL_OK) {
		pr_info("vmx: not used: %s: %s (%#x)\n", r.field, vmx_ctl_error_name(r.error),
			r.bits);
		return NULL;
	}
	pr_info("vmx: pin %#x proc %#x proc2 %#x exit %#x entry %#x%s\n", vmx_ctls.pin,
		vmx_ctls.proc, vmx_ctls.proc2, vmx_ctls.exit, vmx_ctls.entry,
		vmx_ctls.nmi_window ? ", virtual NMIs" : "");
	return &vmx_ops;
}
