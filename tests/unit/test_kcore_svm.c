/* SPDX-License-Identifier: MIT */
/* The SVM backend's translation between the vendor-neutral vCPU state and a VMCB in memory. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "svm/svm.h"
#include "svm/svm_event.h"
#include "svm/vmcb.h"
#include "vcpu.h"

#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_SVME 0x1000ull

static struct vmcb *vmcb;
static struct vcpu vcpu;

static void setup(void)
{
	vmcb = aligned_alloc(4096, sizeof(*vmcb));
	cr_assert_not_null(vmcb);
	memset(vmcb, 0, sizeof(*vmcb));
	vcpu = (struct vcpu){ .hw = vmcb };
}

static void teardown(void)
{
	free(vmcb);
}

TestSuite(kcore_svm, .init = setup, .fini = teardown);

/* What the run loop does at an exit the VMM sees: decode it, then read the whole state. */
static void exit_and_store(struct vireo_vm_state *st)
{
	svm_ops.exit_info(&vcpu, st);
	svm_ops.store(&vcpu, st, VMTD_STATE);
}

/* A 64-bit guest at CPL 3 with every loaded field distinct. */
static struct vireo_vm_state sample(void)
{
	struct vireo_vm_state st = { 0 };
	for (unsigned i = 0; i < 16; i++) {
		st.gpr[i] = 0x1000 + i;
	}
	st.rip = 0x401000;
	st.rflags = 0x202;
	st.cr0 = 0x80000031;
	st.cr2 = 0xdead000;
	st.cr3 = 0x123000;
	st.cr4 = 0x20;
	st.efer = EFER_LME | EFER_LMA;
	st.dr6 = 0xffff0ff0;
	st.dr7 = 0x400;
	st.cs = (struct vireo_seg){ 0x33, 0x2fb, 0xffffffff, 0 };
	st.ss = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0 };
	st.ds = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0x10 };
	st.es = (struct vireo_seg){ 0x2b, 0xcf3, 0xffffffff, 0x20 };
	st.fs = (struct vireo_seg){ 0, 0x93, 0xffff, 0x7f0000001000 };
	st.gs = (struct vireo_seg){ 0, 0x93, 0xffff, 0x7f0000002000 };
	st.ldtr = (struct vireo_seg){ 0, 0x82, 0, 0 };
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

static void expect_seg(const struct vmcb_seg *v, const struct vireo_seg *s, const char *name)
{
	cr_expect_eq(v->sel, s->sel, "%s selector", name);
	cr_expect_eq(v->attr, s->attr, "%s attributes", name);
	cr_expect_eq(v->limit, s->limit, "%s limit", name);
	cr_expect_eq(v->base, s->base, "%s base", name);
}

Test(kcore_svm, load_fills_the_save_area)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	const struct vmcb_save *s = &vmcb->save;
	expect_seg(&s->cs, &st.cs, "cs");
	expect_seg(&s->ss, &st.ss, "ss");
	expect_seg(&s->fs, &st.fs, "fs");
	expect_seg(&s->tr, &st.tr, "tr");
	expect_seg(&s->gdtr, &st.gdtr, "gdtr");
	expect_seg(&s->idtr, &st.idtr, "idtr");
	cr_expect_eq(s->rip, 0x401000);
	cr_expect_eq(s->rsp, st.gpr[4], "RSP is gpr[4]");
	cr_expect_eq(s->rax, st.gpr[0], "RAX is gpr[0]");
	cr_expect_eq(s->cr0, st.cr0);
	cr_expect_eq(s->cr2, st.cr2);
	cr_expect_eq(s->cr3, st.cr3);
	cr_expect_eq(s->cr4, st.cr4);
	cr_expect_eq(s->lstar, st.lstar);
	cr_expect_eq(s->g_pat, st.pat);
	cr_expect_eq(s->kernel_gs_base, st.kernel_gs_base);
}

Test(kcore_svm, load_sets_svme_which_the_guest_never_sees)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	cr_expect(vmcb->save.efer & EFER_SVME,
		  "VMRUN requires EFER.SVME in the guest (APM 15.5.1)");
	cr_expect_eq(vmcb->save.efer & ~EFER_SVME, st.efer);
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
	struct vireo_vm_state out = { 0 };
	exit_and_store(&out);
	cr_expect_eq(out.efer, st.efer, "EFER.SVME leaked into the guest's view");
}

Test(kcore_svm, cpl_is_the_dpl_of_ss_in_protected_mode_and_0_in_real_mode)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	cr_expect_eq(vmcb->save.cpl, 3);
	st.ss.attr = 0xc93; /* DPL 0 */
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	cr_expect_eq(vmcb->save.cpl, 0);
	st = sample();
	st.cr0 = 0x10; /* real mode; SS still says DPL 3 */
	st.efer = 0;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	cr_expect_eq(vmcb->save.cpl, 0);
}

Test(kcore_svm, store_gives_back_what_load_put_in)
{
	struct vireo_vm_state st = sample(), out;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
	memset(&out, 0xa5, sizeof(out));
	/* The entry code keeps the other GPRs, the run path the events, in the vCPU's copy. */
	memcpy(vcpu.st.gpr, st.gpr, sizeof(st.gpr));
	vcpu.st.inject = 0x5a;
	exit_and_store(&out);
	cr_expect_eq(out.exit, VM_EXIT_HLT);
	cr_expect_eq(memcmp(&out.cs, &st.cs, sizeof(st.cs)), 0, "cs");
	cr_expect_eq(memcmp(&out.tr, &st.tr, sizeof(st.tr)), 0, "tr");
	cr_expect_eq(memcmp(&out.idtr, &st.idtr, sizeof(st.idtr)), 0, "idtr");
	cr_expect_eq(memcmp(out.gpr, st.gpr, sizeof(st.gpr)), 0, "gprs");
	cr_expect_eq(out.rip, st.rip);
	cr_expect_eq(out.rflags, st.rflags);
	cr_expect_eq(out.cr0, st.cr0);
	cr_expect_eq(out.cr3, st.cr3);
	cr_expect_eq(out.cr4, st.cr4);
	cr_expect_eq(out.star, st.star);
	cr_expect_eq(out.sysenter_eip, st.sysenter_eip);
	cr_expect_eq(out.pat, st.pat);
	cr_expect_eq(out.guest_if, 1, "RFLAGS.IF was set");
	/* inject and pending belong to the run path (svm_event_enter/exit): store completes the
	 * group from the vCPU's copy, never from the VMCB or what `out` held before. */
	cr_expect_eq(out.inject, 0x5a, "store did not give the run path's inject");
}

Test(kcore_svm, io_exit_decodes_exitinfo1)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_IOIO;
	/* IN, 2 bytes (SZ16 is bit 5), REP, string, port 0x1f0 (APM 15.10.2). */
	vmcb->ctl.exitinfo1 = (0x1f0ull << 16) | (1 << 5) | (1 << 3) | (1 << 2) | 1;
	vmcb->ctl.exitinfo2 = 0x401002;
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_IO);
	cr_expect_eq(st.io.port, 0x1f0);
	cr_expect_eq(st.io.size, 2);
	cr_expect_eq(st.io.in, 1);
	cr_expect_eq(st.io.string, 1);
	cr_expect_eq(st.io.rep, 1);
	cr_expect_eq(st.next_rip, 0x401002);
	vmcb->ctl.exitinfo1 = (0x3f8ull << 16) | (1 << 4); /* OUT, 1 byte */
	exit_and_store(&st);
	cr_expect_eq(st.io.port, 0x3f8);
	cr_expect_eq(st.io.size, 1);
	cr_expect_eq(st.io.in, 0);
	cr_expect_eq(st.io.string, 0);
}

Test(kcore_svm, nested_page_fault_is_an_mmio_exit_with_the_guest_physical_address)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_NPF;
	vmcb->ctl.exitinfo1 = 0x6;
	vmcb->ctl.exitinfo2 = 0xfee00030;
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_MMIO);
	cr_expect_eq(st.gpa, 0xfee00030);
	cr_expect_eq(st.qual, VNPF_WRITE, "a user-mode write to an unmapped page (error code 6)");
}

Test(kcore_svm, intercepted_exception_gives_vector_and_error_code)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_EXC_BASE + 13;
	vmcb->ctl.exitinfo1 = 0x18;
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_EXCEPTION);
	cr_expect_eq(st.qual, 13);
	cr_expect_eq(st.gpa, 0x18, "the error code travels in gpa");
}

Test(kcore_svm, vendor_exit_codes_map_to_neutral_reasons)
{
	static const struct {
		uint64_t code;
		uint32_t exit;
	} map[] = {
		{ SVM_EXIT_CPUID, VM_EXIT_CPUID },	 { SVM_EXIT_HLT, VM_EXIT_HLT },
		{ SVM_EXIT_SHUTDOWN, VM_EXIT_SHUTDOWN }, { SVM_EXIT_VMMCALL, VM_EXIT_VMCALL },
		{ SVM_EXIT_VINTR, VM_EXIT_INTR_WINDOW },
	};
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		vmcb->ctl.exitcode = map[i].code;
		exit_and_store(&st);
		cr_expect_eq(st.exit, map[i].exit, "exit code %#llx",
			     (unsigned long long)map[i].code);
	}
	vmcb->ctl.exitcode = 0x70; /* PUSHF: never intercepted, no neutral name */
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_OTHER);
	cr_expect_eq(st.qual, 0x70, "OTHER carries the vendor code for the log");
}

Test(kcore_svm, msr_exit_tells_read_from_write)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_MSR;
	vmcb->ctl.exitinfo1 = 0;
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_RDMSR);
	vmcb->ctl.exitinfo1 = 1;
	exit_and_store(&st);
	cr_expect_eq(st.exit, VM_EXIT_WRMSR);
}

Test(kcore_svm, failed_vmrun_keeps_the_state_the_vmm_gave)
{
	struct vireo_vm_state st = sample(), out = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	memset(&vmcb->save, 0, sizeof(vmcb->save)); /* whatever the CPU left there */
	vmcb->ctl.exitcode = UINT64_MAX;
	exit_and_store(&out);
	cr_expect_eq(out.exit, VM_EXIT_INVALID);
	cr_expect_eq(out.qual, VM_INVALID_HARDWARE);
	cr_expect_eq(out.rip, st.rip, "the VMM's state was overwritten");
	cr_expect_eq(out.cr3, st.cr3);
	vmcb->ctl.exitcode = SVM_EXIT_INVALID_32;
	exit_and_store(&out);
	cr_expect_eq(out.exit, VM_EXIT_INVALID, "QEMU's 32-bit -1 is an invalid VMRUN too");
}

Test(kcore_svm, injected_exception_goes_to_eventinj_with_its_error_code)
{
	struct vireo_vm_state st = sample();
	st.inject = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14;
	st.inject_err = 0x4;
	uint32_t ev = st.inject;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	svm_event_enter(vmcb, &st, &vcpu.injected);
	cr_expect_eq(vmcb->ctl.eventinj, (0x4ull << 32) | ev);
	cr_expect_eq(st.inject, 0, "the injection is taken out of the state once in the slot");
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	svm_event_enter(vmcb, &st, &vcpu.injected);
	cr_expect_eq(vmcb->ctl.eventinj, 0, "a stale injection stayed in the VMCB");
}

Test(kcore_svm, event_in_flight_at_the_exit_is_pending_and_reinjected)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	/* The exit interrupted delivery of a #PF with error code 2 (EXITINTINFO, APM 15.7.2). */
	uint32_t pf = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14;
	vmcb->ctl.exitcode = SVM_EXIT_NPF;
	vmcb->ctl.exitintinfo = (2ull << 32) | pf;
	exit_and_store(&st);
	svm_event_exit(vmcb, &st, &vcpu.injected);
	cr_expect_eq(st.pending, pf);
	cr_expect_eq(st.pending_err, 2);
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	svm_event_enter(vmcb, &st, &vcpu.injected);
	cr_expect_eq(vmcb->ctl.eventinj, (2ull << 32) | pf, "the #PF was not delivered again");
}

Test(kcore_svm, interrupt_window_request_sets_virtual_irq_and_its_intercept)
{
	struct vireo_vm_state st = sample();
	st.intr_window = 1;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	svm_event_enter(vmcb, &st, &vcpu.injected);
	cr_expect(vmcb->ctl.int_ctl & INT_CTL_V_IRQ);
	cr_expect(vmcb->ctl.intercept_misc1 & MISC1_VINTR);
	cr_expect(vmcb->ctl.int_ctl & INT_CTL_V_INTR_MASKING,
		  "host interrupts must stay the host's");
	st.intr_window = 0;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	svm_event_enter(vmcb, &st, &vcpu.injected);
	cr_expect_eq(vmcb->ctl.int_ctl & INT_CTL_V_IRQ, 0);
	cr_expect_eq(vmcb->ctl.intercept_misc1 & MISC1_VINTR, 0);
}

Test(kcore_svm, interrupt_shadow_round_trips)
{
	struct vireo_vm_state st = sample();
	st.intr_shadow = 1;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	cr_expect_eq(vmcb->ctl.int_shadow, 1);
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
	st.intr_shadow = 0;
	exit_and_store(&st);
	cr_expect_eq(st.intr_shadow, 1);
}

Test(kcore_svm, store_of_some_groups_leaves_the_others_alone)
{
	struct vireo_vm_state st = sample(), out;
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_CPUID;
	memset(&out, 0xa5, sizeof(out));
	svm_ops.store(&vcpu, &out, VMTD_GPR | VMTD_RIP);
	cr_expect_eq(out.rip, st.rip);
	cr_expect_eq(out.gpr[0], st.gpr[0]);
	cr_expect_eq(out.gpr[4], st.gpr[4]);
	cr_expect_eq(out.cr3, 0xa5a5a5a5a5a5a5a5ull, "CR3 stored without VMTD_CR");
	cr_expect_eq(out.cs.base, 0xa5a5a5a5a5a5a5a5ull, "CS stored without VMTD_CS_SS");
	cr_expect_eq(out.lstar, 0xa5a5a5a5a5a5a5a5ull, "LSTAR stored without VMTD_SYSCALL");
	cr_expect_eq(out.intr_shadow, 0xa5a5a5a5u, "the shadow stored without VMTD_EVENTS");
}

Test(kcore_svm, load_of_some_groups_leaves_the_vmcb_alone_elsewhere)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	struct vireo_vm_state other = sample();
	other.rip = 0x999;
	other.cr3 = 0x777000;
	other.fs.base = 0x1234;
	svm_ops.load(&vcpu, &other, VMTD_RIP);
	cr_expect_eq(vmcb->save.rip, 0x999);
	cr_expect_eq(vmcb->save.cr3, st.cr3, "CR3 loaded without VMTD_CR");
	cr_expect_eq(vmcb->save.fs.base, st.fs.base, "FS loaded without VMTD_FS_GS");
}

Test(kcore_svm, nested_page_fault_qualification_is_decoded)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_NPF;
	vmcb->ctl.exitinfo1 = (1ull << 33) | 0x1; /* present, read, during the guest's walk */
	svm_ops.exit_info(&vcpu, &st);
	cr_expect_eq(st.qual, VNPF_READ | VNPF_PRESENT | VNPF_PAGE_WALK);
	vmcb->ctl.exitinfo1 = (1ull << 32) | 0x14; /* instruction fetch, final translation */
	svm_ops.exit_info(&vcpu, &st);
	cr_expect_eq(st.qual, VNPF_EXEC);
	cr_expect_eq(st.gla, 0, "SVM gives no guest-linear address");
}

Test(kcore_svm, new_exit_reasons_have_names_and_qualifications)
{
	static const struct {
		uint64_t code, info1;
		uint32_t exit;
		uint64_t qual;
	} map[] = {
		{ 0x04, 0, VM_EXIT_CR_ACCESS, 4 },		    /* read CR4 */
		{ 0x14, 0, VM_EXIT_CR_ACCESS, 4 | VCR_QUAL_WRITE }, /* write CR4 */
		{ 0x37, 0, VM_EXIT_DR_ACCESS, 7 | VDR_QUAL_WRITE }, /* write DR7 */
		{ SVM_EXIT_XSETBV, 0, VM_EXIT_XSETBV, 0 },
		{ SVM_EXIT_INVLPG, 0x1000, VM_EXIT_INVLPG, 0 }, /* no decode assists: no address */
		{ SVM_EXIT_TASK_SWITCH, 0x28, VM_EXIT_TASK_SWITCH, 0x28 },
		{ SVM_EXIT_INIT, 0, VM_EXIT_INIT, 0 },
		{ SVM_EXIT_RDTSC, 0, VM_EXIT_RDTSC, 0 },
		{ SVM_EXIT_RDTSCP, 0, VM_EXIT_RDTSC, 1 },
		{ SVM_EXIT_PAUSE, 0, VM_EXIT_PAUSE, 0 },
		{ SVM_EXIT_MWAIT, 0, VM_EXIT_MWAIT, 0 },
		{ SVM_EXIT_MONITOR, 0, VM_EXIT_MWAIT, 1 },
	};
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		vmcb->ctl.exitcode = map[i].code;
		vmcb->ctl.exitinfo1 = map[i].info1;
		svm_ops.exit_info(&vcpu, &st);
		cr_expect_eq(st.exit, map[i].exit, "exit code %#llx",
			     (unsigned long long)map[i].code);
		cr_expect_eq(st.qual, map[i].qual, "qual of exit code %#llx",
			     (unsigned long long)map[i].code);
	}
}

Test(kcore_svm, without_nrip_save_the_instruction_length_is_zero)
{
	struct vireo_vm_state st = sample();
	svm_ops.load(&vcpu, &st, VMTD_STATE);
	vmcb->ctl.exitcode = SVM_EXIT_CPUID;
	vmcb->ctl.next_rip = st.rip + 2; /* a CPU without NRIP-save leaves garbage, not 0 */
	svm_ops.exit_info(&vcpu, &st);
	cr_expect_eq(st.insn_len, 0, "a length from a CPU that does not report one");
}
