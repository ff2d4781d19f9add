/* SPDX-License-Identifier: MIT */
/* The VMX backend's state translation, event injection and exit translation on a fake VMCS
 * (tests/fake/fake_vmcs.c), as test_kcore_svm.c does for SVM on a VMCB in memory. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_vmcs.h"
#include "quota.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "x86/percpu.h"
#include "x86defs.h"

/* The exit information and every state group, as a VMM that asks for everything gets them. */
static void store_all(struct vcpu *v, struct vireo_vm_state *st)
{
	vmx_ops.exit_info(v, st);
	vmx_ops.store(v, st, VMTD_STATE);
}

#define CR0_FORCED 0x20ull /* NE: CR0_FIXED0 0x80000021 without PE and PG */
#define CR4_FORCED 0x2000ull

static struct vmx_vcpu *vx;
static struct vcpu vcpu;

static void setup(void)
{
	fake_vmcs_reset();
	vx = aligned_alloc(4096, 4096);
	cr_assert_not_null(vx);
	memset(vx, 0, 4096);
	vx->cpu = -1;
	vcpu = (struct vcpu){ .hw = vx, .msrpm = PADDR_INVALID };
	vmx_ctls = (struct vmx_ctls){
		.pin = PIN_EXT_INTR | PIN_NMI | PIN_VIRTUAL_NMI,
		.proc = PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY,
		.entry = ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
		.ept_vpid = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE,
		.cr0_fixed0 = 0x80000021,
		.cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = CR4_FORCED,
		.cr4_fixed1 = 0x3727ff,
		.nmi_window = true,
	};
	fake_vmcs_set(VMCS_CR0_MASK, CR0_FORCED);
	fake_vmcs_set(VMCS_CR4_MASK, CR4_FORCED);
}

static void teardown(void)
{
	free(vx);
}

TestSuite(kcore_vmx, .init = setup, .fini = teardown);

/* A 64-bit guest at CPL 3 with every loaded field distinct (as test_kcore_svm.c's sample). */
static struct vireo_vm_state sample(void)
{
	struct vireo_vm_state st = { 0 };
	for (unsigned i = 0; i < 16; i++) {
		st.gpr[i] = 0x1000 + i;
	}
	st.rip = 0x401000;
	st.rflags = 0x202;
	st.cr0 = 0x80000031;
	st.cr3 = 0x123000;
	st.cr4 = 0x20;
	st.efer = EFER_LME | EFER_LMA;
	st.dr7 = 0x400;
	st.cs = (struct vireo_seg){ 0x33, 0x2fb, 0xffffffff, 0 };
	st.ss = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0 };
	st.ds = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0x10 };
	st.es = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0x20 };
	st.fs = (struct vireo_seg){ 0, 0x93, 0xffff, 0x7f0000001000 };
	st.gs = (struct vireo_seg){ 0, 0x93, 0xffff, 0x7f0000002000 };
	st.ldtr = (struct vireo_seg){ 0, 0x02, 0, 0 }; /* not present: unusable */
	st.tr = (struct vireo_seg){ 0x40, 0x8b, 0x67, 0xfffffe0000001000 };
	st.gdtr = (struct vireo_seg){ 0, 0, 0x7f, 0xfffffe0000000000 };
	st.idtr = (struct vireo_seg){ 0, 0, 0xfff, 0xfffffe0000003000 };
	st.kernel_gs_base = 0xffff888000000000;
	st.star = 0x23001000000000;
	st.lstar = 0xffffffff81800000;
	st.cstar = 0xffffffff81800100;
	st.sfmask = 0x47700;
	st.sysenter_cs = 0x10;
	st.sysenter_esp = 0xfffffe0000004000;
	st.sysenter_eip = 0xffffffff81800200;
	st.pat = 0x0007040600070406;
	return st;
}

static void exit_with(uint32_t reason, uint64_t qual, uint32_t insn_len)
{
	fake_vmcs_set(VMCS_EXIT_REASON, reason);
	fake_vmcs_set(VMCS_EXIT_QUAL, qual);
	fake_vmcs_set(VMCS_EXIT_INSN_LEN, insn_len);
}

Test(kcore_vmx, load_fills_the_guest_state_with_the_host_owned_bits_forced)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR0), st.cr0 | CR0_FORCED);
	cr_expect_eq(fake_vmcs_get(VMCS_CR0_SHADOW), st.cr0, "the guest reads its own CR0");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR4), st.cr4 | CR4_FORCED, "VMXE set under VMX");
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW), st.cr4);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RSP), st.gpr[4]);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_EFER), st.efer);
	cr_expect(fake_vmcs_get(VMCS_ENTRY_CTLS) & ENTRY_IA32E, "EFER.LMA: IA-32e mode guest");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_ES_AR + 2), 0x20fb, "CS: L in bit 13");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_ES_AR + 4), 0xc0f3, "SS: G and D/B in 15:14");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_ES_AR + 12), 0x10002, "LDTR not present: unusable");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_ES_BASE + 14), st.tr.base);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_ES_SEL + 14), 0x40);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_GDTR_LIMIT), 0x7f);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_IDTR_BASE), st.idtr.base);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_PAT), st.pat);
	cr_expect_eq(vx->guest_msrs[VMX_MSR_KGS].value, st.kernel_gs_base,
		     "KERNEL_GS_BASE through the entry MSR-load area");
	cr_expect_eq(vx->guest_msrs[VMX_MSR_LSTAR].value, st.lstar);
	cr_expect_eq(fake_vmx_log.vmptrld, 1, "the VMCS made current on this CPU once");
}

Test(kcore_vmx, store_after_load_gives_back_the_state_the_guest_sees)
{
	struct vireo_vm_state st = sample(), out = { 0 };
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_HLT, 0, 1);
	vmx_run_exit(&vcpu, false);
	memcpy(out.gpr, st.gpr, sizeof(st.gpr));
	out.gpr[4] = 0;
	store_all(&vcpu, &out);
	cr_expect_eq(out.cr0, st.cr0, "NE from the shadow, not the forced value");
	cr_expect_eq(out.cr4, st.cr4, "VMXE hidden");
	cr_expect_eq(out.gpr[4], st.gpr[4]);
	cr_expect_eq(out.rip, st.rip);
	cr_expect_eq(out.efer, st.efer);
	cr_expect_eq(out.cs.attr, st.cs.attr);
	cr_expect_eq(out.ss.attr, st.ss.attr);
	cr_expect_eq(out.tr.attr, st.tr.attr);
	cr_expect_eq(out.ldtr.attr & VSEG_ATTR_P, 0, "unusable reads as not present");
	cr_expect_eq(out.fs.base, st.fs.base);
	cr_expect_eq(out.gdtr.limit, st.gdtr.limit);
	cr_expect_eq(out.kernel_gs_base, st.kernel_gs_base);
	cr_expect_eq(out.sfmask, st.sfmask);
	cr_expect_eq(out.sysenter_eip, st.sysenter_eip);
	cr_expect_eq(out.exit, VM_EXIT_HLT);
	cr_expect_eq(out.insn_len, 1);
	cr_expect_eq(out.guest_if, 1);
}

Test(kcore_vmx, an_interrupt_shadow_is_sti_blocking_with_if_and_mov_ss_blocking_without)
{
	struct vireo_vm_state st = sample();
	st.intr_shadow = 1;
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY), VMX_INTR_STI);
	st.rflags = 0x2;
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY), VMX_INTR_MOVSS,
		     "VM entry refuses STI blocking with IF clear");
}

Test(kcore_vmx, a_port_write_exit_gives_port_size_and_next_rip)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_IO, 0xe9u << 16, 1); /* OUT DX, AL */
	cr_expect_not(vmx_run_exit(&vcpu, false), "the VMM handles port I/O");
	store_all(&vcpu, &st);
	cr_expect_eq(st.exit, VM_EXIT_IO);
	cr_expect_eq(st.io.port, 0xe9);
	cr_expect_eq(st.io.size, 1);
	cr_expect_eq(st.io.in, 0);
	cr_expect_eq(st.io.string, 0);
	cr_expect_eq(st.next_rip, 0x401001);
	cr_expect_eq(st.insn_len, 1);
}

Test(kcore_vmx, a_rep_insd_exit_says_in_string_rep_and_four_bytes)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_IO, 0x1f0u << 16 | 3 | 8 | 16 | 32, 3);
	vmx_run_exit(&vcpu, false);
	store_all(&vcpu, &st);
	cr_expect_eq(st.io.port, 0x1f0);
	cr_expect_eq(st.io.size, 4);
	cr_expect_eq(st.io.in, 1);
	cr_expect_eq(st.io.string, 1);
	cr_expect_eq(st.io.rep, 1);
}

Test(kcore_vmx, an_ept_violation_is_an_mmio_exit_with_the_guest_physical_address)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_EPT_VIOLATION, 2 | (1u << 7) | (1u << 8), 0); /* a write, no access */
	fake_vmcs_set(VMCS_GUEST_PHYS_ADDR, 0xfee00030);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	store_all(&vcpu, &st);
	cr_expect_eq(st.exit, VM_EXIT_MMIO);
	cr_expect_eq(st.gpa, 0xfee00030);
	cr_expect_eq(st.qual, VNPF_WRITE | VNPF_LINEAR_VALID,
		     "a write, not present, at the final translation (not the page walk)");
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDR, 0x7000);
	exit_with(VMX_EXIT_EPT_VIOLATION, 1 | 0x8 | (1u << 7), 0); /* a read in the guest's walk */
	cr_expect_not(vmx_run_exit(&vcpu, false));
	store_all(&vcpu, &st);
	cr_expect_eq(st.qual, VNPF_READ | VNPF_PRESENT | VNPF_LINEAR_VALID | VNPF_PAGE_WALK);
	cr_expect_eq(st.gla, 0x7000);
}

Test(kcore_vmx, cpuid_vmcall_msr_cache_and_triple_fault_have_their_neutral_names)
{
	static const uint32_t cases[][2] = {
		{ VMX_EXIT_CPUID, VM_EXIT_CPUID },
		{ VMX_EXIT_VMCALL, VM_EXIT_VMCALL },
		{ VMX_EXIT_RDMSR, VM_EXIT_RDMSR },
		{ VMX_EXIT_WRMSR, VM_EXIT_WRMSR },
		{ VMX_EXIT_INVD, VM_EXIT_CACHE },
		{ VMX_EXIT_WBINVD, VM_EXIT_CACHE },
		{ VMX_EXIT_TRIPLE_FAULT, VM_EXIT_SHUTDOWN },
		{ VMX_EXIT_EPT_MISCONFIG, VM_EXIT_OTHER },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vireo_vm_state st = sample();
		vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
		exit_with(cases[i][0], 0, 2);
		cr_expect_not(vmx_run_exit(&vcpu, false), "reason %u goes to the VMM", cases[i][0]);
		store_all(&vcpu, &st);
		cr_expect_eq(st.exit, cases[i][1], "reason %u", cases[i][0]);
	}
}

Test(kcore_vmx, host_interrupts_nmis_and_the_preemption_timer_stay_in_the_kernel)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_EXT_INTR, 0, 0);
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect_not(vx->host_nmi);
	exit_with(VMX_EXIT_EXC_NMI, 0, 0);
	fake_vmcs_set(VMCS_EXIT_INTR_INFO, VEVENT_VALID | VEVENT_TYPE_NMI | 2);
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect(vx->host_nmi, "the host's NMI handler runs after the exit");
	exit_with(VMX_EXIT_PREEMPT_TIMER, 0, 0);
	cr_expect(vmx_run_exit(&vcpu, false));
}

Test(kcore_vmx, an_intercepted_ac_is_reflected_into_the_guest)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	exit_with(VMX_EXIT_EXC_NMI, 0, 0);
	fake_vmcs_set(VMCS_EXIT_INTR_INFO, VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 17);
	cr_expect(vmx_run_exit(&vcpu, false), "the guest goes on with #AC pending");
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 17);
}

Test(kcore_vmx, another_exception_goes_to_the_vmm_with_vector_and_error_code)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_EXC_NMI, 0, 0);
	fake_vmcs_set(VMCS_EXIT_INTR_INFO, VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13);
	fake_vmcs_set(VMCS_EXIT_INTR_ERROR, 0x18);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	store_all(&vcpu, &st);
	cr_expect_eq(st.exit, VM_EXIT_EXCEPTION);
	cr_expect_eq(st.qual, 13);
	cr_expect_eq(st.gpa, 0x18);
}

Test(kcore_vmx, a_failed_vm_entry_is_invalid_with_the_hardware_reason_and_keeps_the_state)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_EXC | 6;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	fake_vmcs_set(VMCS_GUEST_RIP, 0xdead); /* what the CPU left: must not be reported */
	exit_with(VMX_EXIT_ENTRY_FAILED | VMX_EXIT_BAD_GUEST, 0, 0);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	store_all(&vcpu, &vcpu.st);
	cr_expect_eq(vcpu.st.exit, VM_EXIT_INVALID);
	cr_expect_eq(vcpu.st.qual, VM_INVALID_HARDWARE);
	cr_expect_eq(vcpu.st.gpa, VMX_EXIT_ENTRY_FAILED | VMX_EXIT_BAD_GUEST);
	cr_expect_eq(vcpu.st.rip, st.rip, "the state the VMM gave");
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_EXC | 6,
		     "the event did not go in");
}

Test(kcore_vmx, a_failed_vmlaunch_is_invalid_with_the_instruction_error)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	fake_vmcs_set(VMCS_INSN_ERROR, 7); /* invalid control fields */
	cr_expect_not(vmx_run_exit(&vcpu, true));
	store_all(&vcpu, &st);
	cr_expect_eq(st.exit, VM_EXIT_INVALID);
	cr_expect_eq(st.qual, VM_INVALID_HARDWARE);
	cr_expect_eq(st.gpa, VMX_EXIT_INSN_FAILED | 7ull << 32);
}

Test(kcore_vmx, an_irq_waits_for_the_guest_window_with_interrupt_window_exiting)
{
	struct vireo_vm_state st = sample();
	st.rflags = 0x2; /* IF clear */
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x20;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), 0, "VM entry would refuse it");
	cr_expect(fake_vmcs_get(VMCS_PROC_CTLS) & PROC_INTR_WINDOW);
	cr_expect_eq(vcpu.st.inject, VEVENT_VALID | VEVENT_TYPE_INTR | 0x20, "still queued");
	exit_with(VMX_EXIT_INTR_WINDOW, 0, 0);
	cr_expect(vmx_run_exit(&vcpu, false), "a window the VMM did not ask for is the kernel's");
	fake_vmcs_set(VMCS_GUEST_RFLAGS, 0x202);
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), VEVENT_VALID | VEVENT_TYPE_INTR | 0x20);
	cr_expect_eq(vcpu.st.inject, 0, "taken once it is in the slot");
	cr_expect_eq(fake_vmcs_get(VMCS_PROC_CTLS) & PROC_INTR_WINDOW, 0);
}

Test(kcore_vmx, an_interrupt_window_the_vmm_asked_for_is_its_exit)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.intr_window = 1;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect(fake_vmcs_get(VMCS_PROC_CTLS) & PROC_INTR_WINDOW);
	exit_with(VMX_EXIT_INTR_WINDOW, 0, 0);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	store_all(&vcpu, &vcpu.st);
	cr_expect_eq(vcpu.st.exit, VM_EXIT_INTR_WINDOW);
	cr_expect_eq(vcpu.st.intr_window, 0);
}

Test(kcore_vmx, an_nmi_behind_nmi_blocking_waits_for_the_nmi_window)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_NMI | 2;
	fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY, VMX_INTR_NMI);
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), 0);
	cr_expect(fake_vmcs_get(VMCS_PROC_CTLS) & PROC_NMI_WINDOW);
	exit_with(VMX_EXIT_NMI_WINDOW, 0, 0);
	cr_expect(vmx_run_exit(&vcpu, false));
}

Test(kcore_vmx, a_software_interrupt_goes_in_with_its_length_and_int3_as_a_software_exception)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80;
	vcpu.st.inject_len = 2;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80);
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INSN_LEN), 2);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip, "VMX adds the length itself");
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_SOFT | 3;
	vcpu.st.inject_len = 1;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), VEVENT_VALID | (6u << 8) | 3);
}

Test(kcore_vmx, a_cut_off_software_interrupt_comes_back_pending_with_its_length)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	exit_with(VMX_EXIT_EPT_VIOLATION, 2, 2);
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80);
	vmx_run_exit(&vcpu, false);
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80);
	cr_expect_eq(vcpu.st.pending_len, 2);
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80);
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INSN_LEN), 2);
}

Test(kcore_vmx, a_cut_off_page_fault_comes_back_pending_with_its_error_code_before_the_inject)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	exit_with(VMX_EXIT_EPT_VIOLATION, 2, 0);
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO,
		      VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14);
	fake_vmcs_set(VMCS_IDT_VECTORING_ERROR, 6);
	vmx_run_exit(&vcpu, false);
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14);
	cr_expect_eq(vcpu.st.pending_err, 6);
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x30;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO),
		     VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14);
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_EXC_ERROR), 6);
	cr_expect_eq(vcpu.st.inject, VEVENT_VALID | VEVENT_TYPE_INTR | 0x30, "waits behind it");
	cr_expect(fake_vmcs_get(VMCS_PROC_CTLS) & PROC_INTR_WINDOW);
}

Test(kcore_vmx, an_exception_injected_in_real_mode_has_no_error_code)
{
	struct vireo_vm_state st = sample();
	st.cr0 = 0x10;
	st.efer = 0;
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.inject = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13;
	vmx_run_enter(&vcpu, pa_init(0x5000));
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_INTR_INFO), VEVENT_VALID | VEVENT_TYPE_EXC | 13);
	cr_expect_eq(fake_vmcs_get(VMCS_ENTRY_CTLS) & ENTRY_IA32E, 0);
}

Test(kcore_vmx, run_enter_sets_the_eptp_and_a_vpid_other_than_the_hosts)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vmx_run_enter(&vcpu, pa_init(0x7ffe000));
	cr_expect_eq(fake_vmcs_get(VMCS_EPT_POINTER), 0x7ffe000 | 0x1e, "4 levels, write-back");
	cr_expect_neq(fake_vmcs_get(VMCS_VPID), 0);
}

Test(kcore_vmx, mov_to_cr0_turning_on_paging_with_lme_enters_ia32e_mode)
{
	struct vireo_vm_state st = sample();
	st.cr0 = CR0_PE | CR0_ET;
	st.cr4 = CR4_PAE;
	st.efer = EFER_LME;
	st.cs.attr = 0xc9b;
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.gpr[0] = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	exit_with(VMX_EXIT_CR_ACCESS, 0 | (0 << 4) | (0 << 8), 3); /* MOV CR0, EAX */
	cr_expect(vmx_run_exit(&vcpu, false), "emulated in the kernel");
	cr_expect_eq(fake_vmcs_get(VMCS_CR0_SHADOW), CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR0), CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_EFER), EFER_LME | EFER_LMA);
	cr_expect(fake_vmcs_get(VMCS_ENTRY_CTLS) & ENTRY_IA32E);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip + 3);
}

Test(kcore_vmx, mov_to_cr0_with_pg_but_not_pe_goes_to_the_vmm)
{
	struct vireo_vm_state st = sample();
	st.cr0 = CR0_ET;
	st.efer = 0;
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.gpr[3] = CR0_PG | CR0_NE;
	exit_with(VMX_EXIT_CR_ACCESS, 0 | (3 << 8), 3);
	cr_expect_not(vmx_run_exit(&vcpu, false));
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip);
	store_all(&vcpu, &vcpu.st);
	cr_expect_eq(vcpu.st.exit, VM_EXIT_OTHER);
	cr_expect_eq(vcpu.st.qual, VMX_EXIT_CR_ACCESS);
}

Test(kcore_vmx, mov_to_cr4_keeps_vmxe_in_the_host_value_only)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.gpr[1] = CR4_PAE | CR4_PGE | CR4_VMXE;
	exit_with(VMX_EXIT_CR_ACCESS, 4 | (1 << 8), 3); /* MOV CR4, RCX */
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR4), CR4_PAE | CR4_PGE | CR4_VMXE);
	cr_expect_eq(fake_vmcs_get(VMCS_CR4_SHADOW), CR4_PAE | CR4_PGE | CR4_VMXE);
}

Test(kcore_vmx, a_ud_that_is_not_vmmcall_is_reflected_into_the_guest)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	exit_with(VMX_EXIT_EXC_NMI, 0, 0);
	fake_vmcs_set(VMCS_EXIT_INTR_INFO, VEVENT_VALID | VEVENT_TYPE_EXC | 6);
	cr_expect(vmx_run_exit(&vcpu, false), "no guest memory to read: an ordinary #UD");
	cr_expect_not(vx->vmmcall);
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_EXC | 6);
}

/* The VMCS and the MSR-area page are charged to the vCPU's PD and refunded when it goes. */
Test(kcore_vmx, vcpu_init_charges_two_frames_to_the_quota_and_fini_refunds_them)
{
	fake_kernel_init(16ull << 20, 1);
	struct quota q = { .limit = 2 * PAGE_SIZE };
	struct vcpu v = { .quota = &q };
	cr_assert_eq(vmx_ops.vcpu_init(&v), VIREO_OK);
	cr_expect_eq(q.used, 2 * PAGE_SIZE);
	cr_expect_eq(fake_vmx_log.vmclear, 2, "set up between two VMCLEARs");
	cr_expect_eq(*(uint32_t *)phys_to_virt(((struct vmx_vcpu *)v.hw)->vmcs), vmx_ctls.revision);
	vmx_ops.vcpu_fini(&v);
	cr_expect_eq(q.used, 0);
	cr_expect_null(v.hw);
	fake_kernel_fini();
}

Test(kcore_vmx, vcpu_init_over_quota_is_no_mem_and_charges_nothing)
{
	fake_kernel_init(16ull << 20, 1);
	struct quota q = { .limit = PAGE_SIZE };
	struct vcpu v = { .quota = &q };
	cr_expect_eq(vmx_ops.vcpu_init(&v), VIREO_NO_MEM);
	cr_expect_eq(q.used, 0);
	cr_expect_null(v.hw);
	fake_kernel_fini();
}

/* The fake host's XCR0 is x87 | SSE (tests/fake/fake_fpu.c). */
Test(kcore_vmx, xsetbv_within_the_hosts_xcr0_becomes_the_guests_and_skips_the_instruction)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.xcr0 = 1;
	vcpu.st.gpr[0] = 3; /* EAX */
	vcpu.st.gpr[1] = 0; /* ECX: XCR0 */
	vcpu.st.gpr[2] = 0;
	exit_with(VMX_EXIT_XSETBV, 0, 3);
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect_eq(vcpu.st.xcr0, 3);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip + 3);
	cr_expect_eq(vcpu.st.pending, 0);
}

Test(kcore_vmx, xsetbv_beyond_the_hosts_xcr0_is_a_gp_in_the_guest)
{
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	vcpu.st.xcr0 = 1;
	vcpu.st.gpr[0] = 7; /* AVX: the host has none */
	exit_with(VMX_EXIT_XSETBV, 0, 3);
	cr_expect(vmx_run_exit(&vcpu, false));
	cr_expect_eq(vcpu.st.xcr0, 1);
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip, "faults on the instruction");
	cr_expect_eq(vcpu.st.pending, VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13);
}

/* INVEPT only when it is needed: the first entry, a revoke in the guest space (its flush tag
 * changes), another CPU, or a paging state the VMM loads; an unchanged space keeps its TLB. */
Test(kcore_vmx, the_ept_is_flushed_after_a_revoke_a_move_or_a_new_paging_state_only)
{
	fake_cpu_init(2);
	static struct pd vm;
	vm.guest_tlb_tag = 7;
	vcpu.vm = &vm;
	paddr_t root = pa_init(0x200000);
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	exit_with(VMX_EXIT_CPUID, 0, 2);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 1, "the first entry must flush");
	vmx_ops.run(&vcpu, root);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 1, "an unchanged guest space was flushed again");
	vmx_ops.flush_guest(&vm); /* a revoke */
	cr_expect_neq(vm.guest_tlb_tag, 7);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 2, "a revoked translation could survive");
	st.cr3 = 0x456000; /* the VMM loads another page table */
	vmx_ops.load(&vcpu, &st, VMTD_CR);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 3, "translations of the old CR3 could survive");
	vmx_ops.load(&vcpu, &st, VMTD_CR); /* the same again: nothing to flush */
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 3);
	fake_cpu_set(1);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 4, "another CPU's TLB may hold old translations");
	/* The guest's own MOV to CR3, emulated by the kernel (CR3-load exiting): the CPU would
	 * have flushed, so the next entry must. */
	vcpu.st.gpr[0] = 0x789000;
	exit_with(VMX_EXIT_CR_ACCESS, 3 | (0 << 4) | (0 << 8), 3); /* MOV CR3, RAX */
	cr_expect(vmx_ops.run(&vcpu, root), "the kernel handles a MOV to CR3 itself");
	cr_expect_eq(fake_vmx_log.invept, 4);
	exit_with(VMX_EXIT_CPUID, 0, 2);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.invept, 5, "translations of the guest's old CR3 could survive");
	fake_cpu_set(0);
	vcpu.vm = NULL;
}

/*
 * A vCPU whose VMCS was last current on another CPU (SDM vol. 3C 24.1, 24.11.3): VMCLEAR, VMPTRLD
 * and VMLAUNCH (not VMRESUME) there, the per-CPU host state of the new CPU, an INVEPT on it, and
 * the guest state kept; then VMRESUME again while it stays. (ECs do not change CPUs today,
 * docs/architecture.md#vmx: this is the backend's half of such a move.)
 */
Test(kcore_vmx, a_vcpu_on_another_cpu_is_cleared_loaded_and_launched_afresh_there)
{
	fake_cpu_init(2);
	vx->vmcs = pa_init(0x3000);
	paddr_t root = pa_init(0x200000);
	struct vireo_vm_state st = sample();
	vmx_ops.load(&vcpu, &st, VMTD_STATE | VMTD_CTRL);
	vcpu.st = st;
	exit_with(VMX_EXIT_CPUID, 0, 2);
	vmx_ops.run(&vcpu, root);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.launches, 1, "VMLAUNCH first, then VMRESUME");
	cr_expect_eq(fake_vmx_log.enters, 2);
	cr_expect_eq(fake_vmcs_get(VMCS_HOST_TR_BASE), (uint64_t)&this_cpu()->tss);
	unsigned clears = fake_vmx_log.vmclear, loads = fake_vmx_log.vmptrld;
	unsigned flushes = fake_vmx_log.invept;

	fake_cpu_set(1);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.vmclear, clears + 1, "the VMCS was not cleared before the move");
	cr_expect_eq(fake_vmx_log.last_vmclear, 0x3000);
	cr_expect_eq(fake_vmx_log.vmptrld, loads + 1);
	cr_expect_eq(fake_vmx_log.last_vmptrld, 0x3000);
	cr_expect_eq(fake_vmx_log.launches, 2, "a cleared VMCS must be entered with VMLAUNCH");
	cr_expect_eq(vx->cpu, 1);
	cr_expect_eq(fake_vmcs_get(VMCS_HOST_TR_BASE), (uint64_t)&this_cpu()->tss,
		     "the host TSS is still the old CPU's");
	cr_expect_eq(fake_vmcs_get(VMCS_HOST_GDTR_BASE), (uint64_t)this_cpu()->gdt);
	cr_expect_eq(fake_vmx_log.invept, flushes + 1, "the new CPU may hold stale translations");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_RIP), st.rip, "the guest state did not survive");
	cr_expect_eq(fake_vmcs_get(VMCS_GUEST_CR3), st.cr3);
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.launches, 2, "VMRESUME once launched on the new CPU");
	cr_expect_eq(fake_vmx_log.vmclear, clears + 1);

	fake_cpu_set(0); /* and back */
	vmx_ops.run(&vcpu, root);
	cr_expect_eq(fake_vmx_log.vmclear, clears + 2);
	cr_expect_eq(fake_vmx_log.launches, 3);
	cr_expect_eq(vx->cpu, 0);
}
