/* SPDX-License-Identifier: MIT */
/*
 * The VMM's intercept control area (docs/ABI.md "Intercept control") on the VMX backend, over the
 * fake VMCS (tests/fake/fake_vmcs.c): the MSR bitmap, the optional intercepts as processor
 * controls and their refusal, the CR0/CR4 masks and shadows beside the bits VMX forces, and the
 * exits of those intercepts.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "arch.h"
#include "fake_kernel.h"
#include "fake_virt.h"
#include "fake_vmcs.h"
#include "pd.h"
#include "quota.h"
#include "svm/vmcb.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "x86defs.h"

#define CR0_FORCED 0x20ull   /* NE: CR0_FIXED0 0x80000021 without PE and PG */
#define CR4_FORCED 0x2000ull /* VMXE */

/* Every optional exit control allowed, none forced but the default-1 bits (a TRUE_PROCBASED). */
#define MAY1_ALL 0xfff9fffeu
#define MUST1_DEFAULT 0x04006172u

static struct quota quota;
static struct vcpu vcpu;
static struct vmx_vcpu *vx;

static void ctls_haswell(void)
{
	vmx_ctls = (struct vmx_ctls){
		.pin = PIN_EXT_INTR | PIN_NMI | PIN_VIRTUAL_NMI,
		.proc = MUST1_DEFAULT | PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY | PROC_CR8_LOAD |
			PROC_CR8_STORE,
		.entry = ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
		.ept_vpid = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE,
		.cr0_fixed0 = 0x80000021,
		.cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = CR4_FORCED,
		.cr4_fixed1 = 0x3727ff,
		.nmi_window = true,
		.proc_must1 = MUST1_DEFAULT,
		.proc_may1 = MAY1_ALL,
		.msr_bitmaps = true,
	};
}

/* A vCPU made by the backend itself (VMCS set-up included), its frames from `quota`. */
static void setup(void)
{
	fake_kernel_init(16ull << 20, 1);
	fake_vmcs_reset();
	ctls_haswell();
	quota = (struct quota){ .limit = 3 * PAGE_SIZE };
	vcpu = (struct vcpu){ .quota = &quota };
	cr_assert_eq(vmx_ops.vcpu_init(&vcpu), VIREO_OK);
	vx = vcpu.hw;
}

static void teardown(void)
{
	if (vcpu.hw) {
		vmx_ops.vcpu_fini(&vcpu);
	}
	fake_kernel_fini();
}

TestSuite(kcore_vmx_intercept, .init = setup, .fini = teardown);

/* A 64-bit guest at CPL 0 with paging, as the VMM gives it at a resume. */
static struct vireo_vm_state guest64(void)
{
	struct vireo_vm_state st = { 0 };
	for (unsigned i = 0; i < 16; i++) {
		st.gpr[i] = 0x1000 + i;
	}
	st.rip = 0x401000;
	st.rflags = 0x2;
	st.cr0 = CR0_PE | CR0_ET | CR0_PG;
	st.cr3 = 0x123000;
	st.cr4 = CR4_PAE;
	st.efer = EFER_LME | EFER_LMA;
	st.cs = (struct vireo_seg){ 0x8, 0x29b, 0xffffffff, 0 };
	st.ss = st.ds = st.es = st.fs = st.gs = (struct vireo_seg){ 0x10, 0xc93, 0xffffffff, 0 };
	st.tr = (struct vireo_seg){ 0x18, 0x8b, 0x67, 0 };
	return st;
}

/* The VMM's resume: ctrl, then the groups it changed (the order take_groups keeps). */
static void resume_with(const struct vireo_vm_ctrl *c, struct vireo_vm_state *st, uint32_t mtd)
{
	cr_assert_eq(vmx_ops.check_ctrl(c), 0, "a control area the fake CPU can do was refused");
	vcpu.ctrl = *c;
	vmx_ops.load(&vcpu, st, mtd | VMTD_CTRL);
	vcpu.st = *st;
}

static uint32_t entry_proc(void)
{
	vmx_run_enter(&vcpu, pa_init(0x200000));
	return (uint32_t)fake_vmcs_get(VMCS_PROC_CTLS);
}

static bool msr_exits(uint32_t msr, bool write)
{
	size_t bit;
	cr_assert(vmx_msr_bitmap_bit(msr, write, &bit), "MSR %#x outside the bitmap", msr);
	const uint8_t *map = phys_to_virt(vcpu.msrpm);
	return (map[bit / 8] >> (bit % 8)) & 1;
}

static void exit_with(uint32_t reason, uint64_t qual, uint32_t insn_len)
{
	fake_vmcs_set(VMCS_EXIT_REASON, reason);
	fake_vmcs_set(VMCS_EXIT_QUAL, qual);
	fake_vmcs_set(VMCS_EXIT_INSN_LEN, insn_len);
}

/* ---------------------------------------------------------------- MSR bitmap */

Test(kcore_vmx_intercept, the_bitmap_layout_is_the_sdms_four_kib)
{
	size_t bit;
	cr_expect(vmx_msr_bitmap_bit(0x174, false, &bit));
	cr_expect_eq(bit, 0x174, "read, low MSRs: bytes 0-1023");
	cr_expect(vmx_msr_bitmap_bit(0xc0000100, false, &bit));
	cr_expect_eq(bit, 1024 * 8 + 0x100, "read, high MSRs: bytes 1024-2047");
	cr_expect(vmx_msr_bitmap_bit(0x174, true, &bit));
	cr_expect_eq(bit, 2048 * 8 + 0x174, "write, low MSRs: bytes 2048-3071");
	cr_expect(vmx_msr_bitmap_bit(0xc0000100, true, &bit));
	cr_expect_eq(bit, 3072 * 8 + 0x100, "write, high MSRs: bytes 3072-4095");
	cr_expect(vmx_msr_bitmap_bit(0xc0001fff, true, &bit));
	cr_expect_eq(bit, 4096 * 8 - 1);
	cr_expect_not(vmx_msr_bitmap_bit(0x2000, false, &bit), "outside both ranges: always exits");
	cr_expect_not(vmx_msr_bitmap_bit(0xc0010000, true, &bit));
}

Test(kcore_vmx_intercept, no_pass_through_means_no_bitmap_and_every_msr_exits)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { 0 };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_not(pa_valid(vcpu.msrpm));
	cr_expect_eq(quota.used, 2 * PAGE_SIZE, "only the VMCS and the MSR-area page");
	cr_expect_eq(entry_proc() & PROC_MSR_BITMAPS, 0, "without a bitmap every MSR must exit");
}

Test(kcore_vmx_intercept, pass_through_makes_a_charged_bitmap_clear_only_for_the_passed_msrs)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .msr_pass = VMSR_PASS_ALL };
	resume_with(&c, &st, VMTD_STATE);
	cr_assert(pa_valid(vcpu.msrpm));
	cr_expect_eq(quota.used, 3 * PAGE_SIZE, "the bitmap is charged to the vCPU's PD");
	cr_expect_eq(fake_vmcs_get(VMCS_MSR_BITMAP), pa_addr(vcpu.msrpm));
	cr_expect(entry_proc() & PROC_MSR_BITMAPS);
	for (unsigned i = 0; i < ARRAY_SIZE(vmx_pass_msrs); i++) {
		cr_expect_not(msr_exits(vmx_pass_msrs[i], false), "RDMSR %#x exits",
			      vmx_pass_msrs[i]);
		cr_expect_not(msr_exits(vmx_pass_msrs[i], true), "WRMSR %#x exits",
			      vmx_pass_msrs[i]);
	}
	static const uint32_t kept[] = { 0xc0000080 /* EFER */,
					 0x10 /* TSC */,
					 0x1b /* APIC */,
					 0x277 /* PAT */,
					 0xc0000103 /* TSC_AUX */,
					 0x0,
					 0x1fff,
					 0xc0001fff };
	for (unsigned i = 0; i < ARRAY_SIZE(kept); i++) {
		cr_expect(msr_exits(kept[i], false), "RDMSR %#x passed", kept[i]);
		cr_expect(msr_exits(kept[i], true), "WRMSR %#x passed", kept[i]);
	}
	/* Every byte but the ones holding passed MSRs is all ones. */
	const uint8_t *map = phys_to_virt(vcpu.msrpm);
	unsigned clear = 0;
	for (unsigned b = 0; b < 4096 * 8; b++) {
		clear += !((map[b / 8] >> (b % 8)) & 1);
	}
	cr_expect_eq(clear, 2 * ARRAY_SIZE(vmx_pass_msrs), "exactly read and write of each");
	vmx_ops.vcpu_fini(&vcpu);
	cr_expect_eq(quota.used, 0, "the bitmap was not refunded");
}

Test(kcore_vmx_intercept, taking_pass_through_back_makes_the_msrs_exit_again)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .msr_pass = VMSR_PASS_FS_BASE | VMSR_PASS_SYSENTER_EIP };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_not(msr_exits(0xc0000100, true));
	cr_expect_not(msr_exits(0x176, false));
	cr_expect(msr_exits(0xc0000101, true), "GS_BASE passed without being asked");
	cr_expect(msr_exits(0xc0000082, false), "LSTAR passed without being asked");
	c.msr_pass = VMSR_PASS_GS_BASE;
	resume_with(&c, &st, 0);
	cr_expect(msr_exits(0xc0000100, true), "FS_BASE still passes after it was taken back");
	cr_expect(msr_exits(0x176, false));
	cr_expect_not(msr_exits(0xc0000101, false));
	cr_expect_eq(quota.used, 3 * PAGE_SIZE, "one bitmap per vCPU, not one per change");
}

Test(kcore_vmx_intercept, a_cpu_without_msr_bitmaps_keeps_every_msr_exiting)
{
	vmx_ctls.msr_bitmaps = false;
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .msr_pass = VMSR_PASS_ALL };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_not(pa_valid(vcpu.msrpm));
	cr_expect_eq(quota.used, 2 * PAGE_SIZE);
	cr_expect_eq(entry_proc() & PROC_MSR_BITMAPS, 0);
}

Test(kcore_vmx_intercept, no_memory_for_the_bitmap_keeps_every_msr_exiting_and_charges_nothing)
{
	quota.limit = 2 * PAGE_SIZE;
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .msr_pass = VMSR_PASS_ALL };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_not(pa_valid(vcpu.msrpm));
	cr_expect_eq(quota.used, 2 * PAGE_SIZE);
	cr_expect_eq(entry_proc() & PROC_MSR_BITMAPS, 0);
}

/* ---------------------------------------------------------------- optional intercepts */

Test(kcore_vmx_intercept, each_option_sets_its_exit_controls_at_the_entry)
{
	static const struct {
		uint32_t vint, proc;
	} map[] = {
		{ VINT_RDTSC, PROC_RDTSC },
		{ VINT_PAUSE, PROC_PAUSE },
		{ VINT_INVLPG, PROC_INVLPG },
		{ VINT_DR, PROC_MOV_DR },
		{ VINT_CR3, PROC_CR3_LOAD | PROC_CR3_STORE },
		{ VINT_MWAIT, PROC_MWAIT | PROC_MONITOR },
	};
	const uint32_t optional = PROC_RDTSC | PROC_PAUSE | PROC_INVLPG | PROC_MOV_DR |
				  PROC_CR3_LOAD | PROC_CR3_STORE | PROC_MWAIT | PROC_MONITOR;
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { 0 };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_eq(entry_proc() & optional, 0, "an option the VMM did not ask for is on");
	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		c.intercept = map[i].vint;
		resume_with(&c, &st, 0);
		uint32_t proc = entry_proc();
		cr_expect_eq(proc & optional, map[i].proc, "VINT %#x: proc %#x", map[i].vint, proc);
		cr_expect(proc & PROC_HLT, "HLT must still exit");
		cr_expect_eq(proc & (PROC_CR8_LOAD | PROC_CR8_STORE),
			     PROC_CR8_LOAD | PROC_CR8_STORE,
			     "CR8 must always exit (the host's TPR)");
	}
	c.intercept = 0;
	resume_with(&c, &st, 0);
	cr_expect_eq(entry_proc() & optional, 0, "an option stayed on after it was dropped");
}

Test(kcore_vmx_intercept, hlt_pass_clears_hlt_exiting_and_windows_still_come_per_entry)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .intercept = VINT_HLT_PASS | VINT_XSETBV_PASS | VINT_CR8 };
	resume_with(&c, &st, VMTD_STATE);
	vcpu.st.intr_window = 1;
	uint32_t proc = entry_proc();
	cr_expect_eq(proc & PROC_HLT, 0);
	cr_expect(proc & PROC_INTR_WINDOW, "the window the VMM asked for is gone");
	cr_expect(proc & PROC_UNCOND_IO, "a mandatory exit went away");
	cr_expect_eq(proc & ~(PROC_INTR_WINDOW | PROC_MSR_BITMAPS), vmx_ctls.proc & ~PROC_HLT,
		     "XSETBV_PASS and CR8 change no control");
}

Test(kcore_vmx_intercept, an_option_the_cpu_does_not_allow_is_refused)
{
	vmx_ctls.proc_may1 = MAY1_ALL & ~PROC_RDTSC;
	struct vireo_vm_ctrl c = { .intercept = VINT_RDTSC | VINT_PAUSE };
	cr_expect_eq(vmx_ops.check_ctrl(&c), VM_INVALID_CTRL);
	uint32_t set = 1, clear = 1, bad = 0;
	cr_expect_not(vmx_ctrl_proc(&vmx_ctls, c.intercept, &set, &clear, &bad));
	cr_expect_eq(bad, VINT_RDTSC, "the refusal names the option");
	cr_expect_eq(set, 0, "a refusal has no effect");
	cr_expect_eq(clear, 0);
	c.intercept = VINT_PAUSE;
	cr_expect_eq(vmx_ops.check_ctrl(&c), 0, "PAUSE is allowed");
	vmx_ctls.proc_may1 = MAY1_ALL & ~PROC_MONITOR; /* MWAIT alone cannot honour VINT_MWAIT */
	c.intercept = VINT_MWAIT;
	cr_expect_eq(vmx_ops.check_ctrl(&c), VM_INVALID_CTRL);
	vmx_ctls.proc_may1 = MAY1_ALL & ~PROC_CR3_STORE;
	c.intercept = VINT_CR3;
	cr_expect_eq(vmx_ops.check_ctrl(&c), VM_INVALID_CTRL);
}

Test(kcore_vmx_intercept, hlt_pass_on_a_cpu_that_forces_hlt_exiting_is_refused)
{
	vmx_ctls.proc_must1 = MUST1_DEFAULT | PROC_HLT;
	struct vireo_vm_ctrl c = { .intercept = VINT_HLT_PASS };
	uint32_t set, clear, bad;
	cr_expect_not(vmx_ctrl_proc(&vmx_ctls, c.intercept, &set, &clear, &bad));
	cr_expect_eq(bad, VINT_HLT_PASS);
	cr_expect_eq(vmx_ops.check_ctrl(&c), VM_INVALID_CTRL);
	c.intercept = VINT_RDTSC;
	cr_expect_eq(vmx_ops.check_ctrl(&c), 0, "only the option it cannot honour is refused");
}

/* The generic resume path asks the backend before anything of ctrl applies (kernel/vcpu.c): the
 * real SYS_VCPU_RESUME on the fake SVM machine, with this check in the ops table. */
static struct ec *world_ec;

static void guest_cpuid(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	vmcb->save.rip += 2;
	vmcb->ctl.exitcode = SVM_EXIT_CPUID;
	vmcb->ctl.exitintinfo = 0;
}

static unsigned refuse_rdtsc(const struct vireo_vm_ctrl *c)
{
	return c->intercept & VINT_RDTSC ? VM_INVALID_CTRL : 0;
}

static void world_setup(void)
{
	struct pd *vmm, *vm;
	world_ec = fake_vm_world(guest_cpuid, 2, 0x7e0000000000ull, &vmm, &vm);
	fake_sc(world_ec, 5, 1000000 / TIMER_HZ);
	fake_vm_reset_state(world_ec->vcpu->page);
	cr_assert_eq(fake_exit_ec(fake_schedule()), world_ec);
	((struct virt_ops *)virt)->check_ctrl = refuse_rdtsc; /* fake_virt's own copy */
}

static void world_resume(void)
{
	struct fake_exit x = fake_syscall(world_ec, SYS_VCPU_RESUME, 2, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), world_ec);
	cr_assert_eq(world_ec->regs.rax, VIREO_OK);
}

Test(kcore_vmx_refuse, a_backend_refusal_is_invalid_ctrl_and_changes_nothing, .init = world_setup,
     .fini = fake_kernel_fini)
{
	struct vireo_vm_state *page = world_ec->vcpu->page;
	world_resume();
	cr_assert_eq(page->exit, VM_EXIT_CPUID);
	page->ctrl = (struct vireo_vm_ctrl){ .msr_pass = VMSR_PASS_ALL,
					     .intercept = VINT_RDTSC | VINT_PAUSE,
					     .exc_bitmap = 1u << 14 };
	page->mtd_in = VMTD_CTRL;
	world_resume();
	cr_expect_eq(page->exit, VM_EXIT_INVALID);
	cr_expect_eq(page->qual, VM_INVALID_CTRL);
	cr_expect_not(pa_valid(world_ec->vcpu->msrpm), "the MSR map of a refused area was made");
	cr_expect_eq(world_ec->vcpu->ctrl.exc_bitmap, 0, "a refused area is in force");
	cr_expect_eq(fake_vmcb(world_ec->vcpu)->ctl.intercept_exc & (1u << 14), 0);
	cr_expect_eq(fake_vmcb(world_ec->vcpu)->ctl.intercept_misc1 & MISC1_PAUSE, 0);
	page->ctrl.intercept = VINT_PAUSE;
	page->mtd_in = VMTD_CTRL;
	world_resume();
	cr_expect_eq(page->exit, VM_EXIT_CPUID, "the corrected area was refused");
	cr_expect(pa_valid(world_ec->vcpu->msrpm));
	cr_expect(fake_vmcb(world_ec->vcpu)->ctl.intercept_misc1 & MISC1_PAUSE);
}

/* ---------------------------------------------------------------- CR0/CR4 masks */

Test(kcore_vmx_intercept, a_vmm_cr4_mask_joins_the_forced_bits_and_the_guest_reads_its_shadow)
{
	struct vireo_vm_state st = guest64();
	st.cr4 = CR4_PAE | CR4_DE; /* the VMM keeps DE set in the real register */
	struct vireo_vm_ctrl c = { .cr4_mask = CR4_DE, .cr4_shadow = 0 };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_MASK), CR4_FORCED | CR4_DE);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR4), CR4_PAE | CR4_DE | CR4_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW), CR4_PAE, "the guest reads DE = 0, VMXE = 0");
	cr_expect_eq(fake_vmcs_get(VMCS_CR0_MASK), CR0_FORCED, "CR0 without a VMM mask");
	struct vireo_vm_state out = { 0 };
	vmx_ops.store(&vcpu, &out, VMTD_CR);
	cr_expect_eq(out.cr4, CR4_PAE | CR4_DE, "st has the real VMM bits, not VMXE");
	cr_expect_eq(out.cr0, st.cr0);
}

Test(kcore_vmx_intercept, a_vmm_cr0_mask_and_shadow_reach_the_vmcs)
{
	struct vireo_vm_state st = guest64();
	st.cr0 |= CR0_TS;
	struct vireo_vm_ctrl c = { .cr0_mask = CR0_TS | CR0_MP, .cr0_shadow = CR0_MP };
	resume_with(&c, &st, VMTD_STATE);
	cr_expect_eq(fake_vmcs_get(VMCS_CR0_MASK), CR0_FORCED | CR0_TS | CR0_MP);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR0), st.cr0 | CR0_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_CR0_SHADOW), (st.cr0 & ~CR0_TS) | CR0_MP);
}

Test(kcore_vmx_intercept, a_new_mask_alone_keeps_the_registers_and_the_kernels_bits)
{
	struct vireo_vm_state st = guest64();
	st.cr4 = CR4_PAE | CR4_DE;
	struct vireo_vm_ctrl c = { 0 };
	resume_with(&c, &st, VMTD_STATE);
	c.cr4_mask = CR4_DE;
	c.cr4_shadow = 0;
	resume_with(&c, &st, 0); /* VMTD_CTRL only */
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR4), CR4_PAE | CR4_DE | CR4_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW), CR4_PAE);
	c.cr4_mask = 0;
	resume_with(&c, &st, 0);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_MASK), CR4_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW) & ~CR4_DE, CR4_PAE, "VMXE must read 0");
	struct vireo_vm_state out = { 0 };
	vmx_ops.store(&vcpu, &out, VMTD_CR);
	cr_expect_eq(out.cr4, CR4_PAE | CR4_DE);
}

Test(kcore_vmx_intercept, a_write_of_a_vmm_bit_goes_to_the_vmm_as_cr_access)
{
	struct vireo_vm_state st = guest64();
	st.cr4 = CR4_PAE | CR4_DE;
	struct vireo_vm_ctrl c = { .cr4_mask = CR4_DE, .cr4_shadow = 0 };
	resume_with(&c, &st, VMTD_STATE);
	vcpu.st.gpr[1] = CR4_PAE | CR4_DE; /* MOV CR4, RCX: DE = 1, the shadow has 0 */
	exit_with(VMX_EXIT_CR_ACCESS, 4 | (0 << 4) | (1 << 8), 3);
	cr_expect_not(vmx_run_exit(&vcpu, false), "the VMM's bit was handled by the kernel");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip, "the instruction was skipped");
	struct vireo_vm_state out = { 0 };
	vmx_ops.exit_info(&vcpu, &out);
	cr_expect_eq(out.exit, VM_EXIT_CR_ACCESS);
	cr_expect_eq(out.qual, 4 | VCR_QUAL_WRITE | VCR_QUAL_GPR_VALID | (1 << 8));
	cr_expect_eq(out.insn_len, 3);
}

Test(kcore_vmx_intercept, a_write_of_forced_bits_only_is_the_kernels_and_keeps_the_vmm_bits)
{
	struct vireo_vm_state st = guest64();
	st.cr4 = CR4_PAE | CR4_DE;
	struct vireo_vm_ctrl c = { .cr4_mask = CR4_DE, .cr4_shadow = 0 };
	resume_with(&c, &st, VMTD_STATE);
	/* The guest sets VMXE (VMX forces it: the kernel's bit) with DE as its shadow says. */
	vcpu.st.gpr[0] = CR4_PAE | CR4_OSFXSR | CR4_FORCED;
	exit_with(VMX_EXIT_CR_ACCESS, 4, 3);
	cr_expect(vmx_run_exit(&vcpu, false), "emulated in the kernel");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR4), CR4_PAE | CR4_OSFXSR | CR4_FORCED | CR4_DE,
		     "the VMM's DE was lost");
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW), CR4_PAE | CR4_OSFXSR | CR4_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip + 3);
}

Test(kcore_vmx_intercept, clts_with_a_vmm_owned_ts_goes_to_the_vmm_without_a_gpr)
{
	struct vireo_vm_state st = guest64();
	st.cr0 |= CR0_TS;
	struct vireo_vm_ctrl c = { .cr0_mask = CR0_TS, .cr0_shadow = CR0_TS };
	resume_with(&c, &st, VMTD_STATE);
	exit_with(VMX_EXIT_CR_ACCESS, 0 | (2 << 4), 2); /* CLTS */
	cr_expect_not(vmx_run_exit(&vcpu, false));
	struct vireo_vm_state out = { 0 };
	vmx_ops.exit_info(&vcpu, &out);
	cr_expect_eq(out.exit, VM_EXIT_CR_ACCESS);
	cr_expect_eq(out.qual, VCR_QUAL_WRITE, "CR0, a write, no GPR");
}

/* ---------------------------------------------------------------- CR3 and CR8 */

Test(kcore_vmx_intercept, cr3_accesses_go_to_the_vmm_only_with_vint_cr3)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { 0 };
	resume_with(&c, &st, VMTD_STATE);
	vcpu.st.gpr[2] = 0x456000;
	exit_with(VMX_EXIT_CR_ACCESS, 3 | (0 << 4) | (2 << 8), 3); /* MOV CR3, RDX */
	cr_expect(vmx_run_exit(&vcpu, false), "CR3 exiting the CPU forces is the kernel's");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR3), 0x456000);
	c.intercept = VINT_CR3;
	resume_with(&c, &st, 0);
	fake_vmcs_set(VMCS_GUEST_RIP, st.rip);
	exit_with(VMX_EXIT_CR_ACCESS, 3 | (1 << 4) | (5 << 8), 3); /* MOV RBP, CR3 */
	cr_expect_not(vmx_run_exit(&vcpu, false));
	cr_expect_eq(vcpu.st.gpr[5], 0x1005, "the kernel answered a read the VMM intercepts");
	struct vireo_vm_state out = { 0 };
	vmx_ops.exit_info(&vcpu, &out);
	cr_expect_eq(out.exit, VM_EXIT_CR_ACCESS);
	cr_expect_eq(out.qual, 3 | VCR_QUAL_GPR_VALID | (5 << 8), "a read of CR3 into RBP");
}

Test(kcore_vmx_intercept, cr8_is_a_virtual_tpr_unless_the_vmm_intercepts_it)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { 0 };
	resume_with(&c, &st, VMTD_STATE);
	vcpu.st.gpr[0] = 0x1f; /* only bits 3:0 are the priority */
	exit_with(VMX_EXIT_CR_ACCESS, 8 | (0 << 4) | (0 << 8), 4); /* MOV CR8, RAX */
	cr_expect(vmx_run_exit(&vcpu, false));
	exit_with(VMX_EXIT_CR_ACCESS, 8 | (1 << 4) | (3 << 8), 4); /* MOV RBX, CR8 */
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect_eq(vcpu.st.gpr[3], 0xf, "the guest's priority did not read back");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip + 8);
	c.intercept = VINT_CR8;
	resume_with(&c, &st, 0);
	exit_with(VMX_EXIT_CR_ACCESS, 8 | (0 << 4) | (0 << 8), 4);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	struct vireo_vm_state out = { 0 };
	vmx_ops.exit_info(&vcpu, &out);
	cr_expect_eq(out.exit, VM_EXIT_CR_ACCESS);
	cr_expect_eq(out.qual, 8 | VCR_QUAL_WRITE | VCR_QUAL_GPR_VALID);
}

/* ---------------------------------------------------------------- the options' exits */

static struct vireo_vm_state exit_of(uint32_t reason, uint64_t qual, uint32_t len)
{
	struct vireo_vm_state st = guest64();
	struct vireo_vm_ctrl c = { .intercept = VINT_ALL & ~VINT_HLT_PASS };
	resume_with(&c, &st, VMTD_STATE);
	exit_with(reason, qual, len);
	cr_expect_not(vmx_run_exit(&vcpu, false), "exit %u stayed in the kernel", reason);
	struct vireo_vm_state out = { 0 };
	vmx_ops.exit_info(&vcpu, &out);
	return out;
}

Test(kcore_vmx_intercept, rdtsc_and_rdtscp_exit_as_rdtsc_with_qual_0_and_1)
{
	struct vireo_vm_state o = exit_of(VMX_EXIT_RDTSC, 0, 2);
	cr_expect_eq(o.exit, VM_EXIT_RDTSC);
	cr_expect_eq(o.qual, 0);
	cr_expect_eq(o.insn_len, 2);
	o = exit_of(VMX_EXIT_RDTSCP, 0, 3);
	cr_expect_eq(o.exit, VM_EXIT_RDTSC);
	cr_expect_eq(o.qual, 1);
	cr_expect_eq(o.insn_len, 3);
}

Test(kcore_vmx_intercept, pause_invlpg_monitor_and_mwait_have_their_names)
{
	struct vireo_vm_state o = exit_of(VMX_EXIT_PAUSE, 0, 2);
	cr_expect_eq(o.exit, VM_EXIT_PAUSE);
	o = exit_of(VMX_EXIT_INVLPG, 0xffff888000123000ull, 3);
	cr_expect_eq(o.exit, VM_EXIT_INVLPG);
	cr_expect_eq(o.qual, 0xffff888000123000ull, "INVLPG's linear address");
	cr_expect_eq(o.insn_len, 3);
	o = exit_of(VMX_EXIT_INVPCID, 0, 5);
	cr_expect_eq(o.exit, VM_EXIT_INVLPG, "INVPCID exits with INVLPG exiting");
	cr_expect_eq(o.qual, 0);
	o = exit_of(VMX_EXIT_MONITOR, 0, 3);
	cr_expect_eq(o.exit, VM_EXIT_MWAIT);
	cr_expect_eq(o.qual, 1);
	o = exit_of(VMX_EXIT_MWAIT, 0, 3);
	cr_expect_eq(o.exit, VM_EXIT_MWAIT);
	cr_expect_eq(o.qual, 0);
}

Test(kcore_vmx_intercept, mov_dr_gives_register_direction_and_gpr)
{
	struct vireo_vm_state o = exit_of(VMX_EXIT_DR_ACCESS, 7 | (0 << 4) | (2 << 8), 3);
	cr_expect_eq(o.exit, VM_EXIT_DR_ACCESS);
	cr_expect_eq(o.qual, 7 | VDR_QUAL_WRITE | VCR_QUAL_GPR_VALID | (2 << 8), "MOV DR7, RDX");
	o = exit_of(VMX_EXIT_DR_ACCESS, 6 | (1 << 4) | (11 << 8), 3);
	cr_expect_eq(o.qual, 6 | VCR_QUAL_GPR_VALID | (11 << 8), "MOV R11, DR6");
}
