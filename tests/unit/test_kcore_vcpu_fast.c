/* SPDX-License-Identifier: MIT */
/*
 * The resume fast path (docs/architecture.md#resume-fast-path): SYS_VCPU_RESUME after an exit,
 * with only GPRs and RIP/RFLAGS changed and nothing pending, enters the guest without the general
 * decoding; every other case must reach the general path (vcpu_resume) untouched, and be counted
 * under its reason. The real system call entry, run loop and SVM backend around a scripted guest:
 * the SVM backend's own fast path (svm_resume_fast) here, vcpu.c's generic one (VT-x's) in
 * test_kcore_vcpu_fast_generic.c, which includes this file.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "assert.h"
#include "ec.h"
#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_virt.h"
#include "fastpath.h"
#include "klock.h"
#include "pd.h"
#include "svm/svm.h"
#include "svm/vmcb.h"
#include "syscall_entry.h"
#include "virt.h"

/* test_kcore_vcpu_fast_generic.c runs these tests again over vcpu.c's generic round. */
#ifndef KCORE_FAST_SUITE
#define KCORE_FAST_SUITE kcore_fast
#define KCORE_FAST_GENERIC 0
#endif

#define ONE_TICK (1000000 / TIMER_HZ)
#define SEL_VM 2
#define VA_STATE 0x7e0000000000ull

static struct pd *vmm_pd, *vm;
static struct ec *vcpu_ec;
static struct vmcb at_entry; /* the VMCB as the guest found it at its last entry (EVENTINJ is
			      * consumed before: fake_virt_log.injected has it) */
static uint64_t exit_event;  /* EXITINTINFO the next exit reports (then 0 again) */
#define GP0 (VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13) /* #GP(0) */

static unsigned host_irqs;	 /* the next runs this many end by a host interrupt */
static void (*during_run)(void); /* what another CPU does while the guest runs (once) */
static unsigned held_in_guest;	 /* of them, runs with the kernel lock held (a fused round) */
static void (*in_guest)(void);	 /* what the test looks at while the guest runs (every run) */
static bool refuse_next;	 /* the CPU refuses the next entry (VMEXIT_INVALID) */

/* The guest: one CPUID (2 bytes); an event cut off by the exit when the test asks for one. */
static void cpuid_step(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	at_entry = *vmcb;
	if (in_guest) {
		in_guest();
	}
	if (during_run) {
		void (*f)(void) = during_run;
		during_run = NULL;
		if (klock_held()) {
			/* A fused round keeps the lock while its guest runs: the other CPU waits for
			 * it and, seeing this flag (klock_kick.h), kicks this one. It acts when the
			 * round lets the lock go. */
			cr_assert(this_cpu()->lock_in_guest, "the lock's holder is in no guest");
			held_in_guest++;
			fake_klock_waiter = f;
		} else {
			f();
		}
	}
	if (refuse_next) {
		refuse_next = false;
		vmcb->ctl.exitcode = SVM_EXIT_INVALID_32;
		vmcb->ctl.exitintinfo = 0;
		return;
	}
	if (host_irqs) {
		host_irqs--;
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		vmcb->ctl.exitintinfo = 0;
		return;
	}
	vmcb->save.rip += 2;
	vmcb->save.rax = 0x756e6547; /* "Genu" */
	vmcb->ctl.exitcode = SVM_EXIT_CPUID;
	vmcb->ctl.exitintinfo = exit_event;
	exit_event = 0;
}

static struct vireo_vm_state *page(void)
{
	return vcpu_ec->vcpu->page;
}

static uint64_t count(enum vcpu_fast_why why)
{
	return vcpu_fast_stats()[why];
}

static void setup(void)
{
	host_irqs = 0;
	during_run = NULL;
	in_guest = NULL;
	held_in_guest = 0;
	refuse_next = false;
	vcpu_ec = fake_vm_world(cpuid_step, SEL_VM, VA_STATE, &vmm_pd, &vm);
	if (KCORE_FAST_GENERIC) {
		((struct virt_ops *)virt)->resume_entry = NULL; /* fake_virt's own copy */
	}
	fake_sc(vcpu_ec, 5, ONE_TICK);
	struct vireo_vm_state *st = page();
	fake_vm_reset_state(st);
	st->mtd_in = 0; /* the first resume loads everything anyway */
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		st->mtd_exit[r] = VMTD_STATE;
	}
	st->mtd_exit[VM_EXIT_CPUID] = VMTD_GPR | VMTD_RIP | VMTD_CR | VMTD_CS_SS;
	struct fake_exit x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(KCORE_FAST_SUITE, .init = setup, .fini = teardown);

static uint64_t resume_sel(uint64_t sel)
{
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, sel, 0, 0, 0, 0);
	cr_assert(!klock_held());
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	return vcpu_ec->regs.rax;
}

static void resume(void)
{
	cr_assert_eq(resume_sel(SEL_VM), VIREO_OK);
}

/* What a VMM's CPUID handler leaves: new RAX..RBX, RIP past the instruction. */
static void cpuid_handled(uint64_t rip)
{
	page()->gpr[0] = 0x11;
	page()->gpr[1] = 0x22;
	page()->gpr[2] = 0x33;
	page()->gpr[3] = 0x44;
	page()->rip = rip;
	page()->mtd_in = VMTD_GPR_ACDB | VMTD_RIP;
}

Test(KCORE_FAST_SUITE, the_first_resume_takes_the_general_path_and_loads_everything)
{
	page()->cr3 = 0x3000;
	resume();
	cr_expect_eq(count(VCPU_FAST_NOT_LOADED), 1);
	cr_expect_eq(count(VCPU_FAST_TAKEN), 0);
	cr_expect_eq(at_entry.save.cr3, 0x3000, "the first resume did not load the whole state");
}

Test(KCORE_FAST_SUITE, a_cpuid_round_trip_takes_the_fast_path_and_loads_what_the_vmm_changed)
{
	resume();
	cpuid_handled(0x8000);
	page()->rflags = 0x202;
	page()->gpr[9] = 0x99; /* not marked: must not reach the guest */
	unsigned runs = fake_virt_log.runs;
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(fake_virt_log.runs, runs + 1);
	cr_expect_eq(at_entry.save.rip, 0x8000);
	cr_expect_eq(at_entry.save.rflags, 0x202);
	cr_expect_eq(at_entry.save.rax, 0x11);
	struct vcpu *v = vcpu_ec->vcpu;
	cr_expect(v->st.gpr[1] == 0x22 && v->st.gpr[2] == 0x33 && v->st.gpr[3] == 0x44);
	cr_expect_eq(v->st.gpr[9], 0, "an unmarked GPR was loaded");
	cr_expect_eq(page()->mtd_in, 0, "the kernel clears mtd_in once it took it");
	/* The exit: its groups, straight from the VMCB and the kernel's copy. */
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP | VMTD_CR | VMTD_CS_SS);
	cr_expect_eq(page()->rip, 0x8002);
	cr_expect_eq(page()->gpr[0], 0x756e6547);
	cr_expect_eq(page()->gpr[1], 0x22);
	cr_expect_eq(page()->gpr[9], 0, "RSP..R15 as the kernel holds them");
	cr_expect_eq(page()->cs.attr, at_entry.save.cs.attr);
	cr_expect_eq(page()->cr0, at_entry.save.cr0);
}

/* Two round trips with the same input, fast and general: the guest and the VMM see the same. */
Test(KCORE_FAST_SUITE, the_fast_path_gives_the_guest_and_the_page_what_the_general_path_gives)
{
	struct vmcb fast_vmcb, slow_vmcb;
	struct vireo_vm_state fast_page, slow_page;
	resume();
	for (int pass = 0; pass < 2; pass++) {
		fastpath_enable(pass == 0);
		cpuid_handled(0x8000);
		page()->rflags = 0x246;
		page()->gpr[5] = 0x55;
		page()->mtd_in |= VMTD_GPR_HI;
		resume();
		*(pass ? &slow_vmcb : &fast_vmcb) = at_entry;
		*(pass ? &slow_page : &fast_page) = *page();
	}
	cr_assert_eq(count(VCPU_FAST_TAKEN), 1);
	cr_assert_eq(count(VCPU_FAST_OFF), 1);
	cr_expect_eq(memcmp(&fast_vmcb.save, &slow_vmcb.save, sizeof(fast_vmcb.save)), 0,
		     "the guest entered with another state");
	cr_expect_eq(fast_vmcb.ctl.eventinj, slow_vmcb.ctl.eventinj);
	cr_expect_eq(fast_vmcb.ctl.int_ctl, slow_vmcb.ctl.int_ctl);
	cr_expect_eq(fast_vmcb.ctl.intercept_misc1, slow_vmcb.ctl.intercept_misc1);
	fast_page.exits = slow_page.exits = 0;
	cr_expect_eq(memcmp(&fast_page, &slow_page, sizeof(fast_page)), 0,
		     "the VMM got another page");
}

Test(KCORE_FAST_SUITE, switched_off_every_resume_takes_the_general_path)
{
	resume();
	fastpath_enable(false);
	cpuid_handled(0x8000);
	resume();
	cr_expect_eq(count(VCPU_FAST_OFF), 1);
	cr_expect_eq(count(VCPU_FAST_TAKEN), 0);
	cr_expect_eq(at_entry.save.rip, 0x8000);
}

Test(KCORE_FAST_SUITE, a_selector_without_a_vm_capability_takes_the_general_path_which_refuses_it)
{
	resume();
	cr_expect_eq(resume_sel(99), VIREO_BAD_CAP);
	cr_expect_eq(count(VCPU_FAST_NOT_VM), 1);
}

Test(KCORE_FAST_SUITE, other_groups_than_gprs_and_rip_take_the_general_path)
{
	resume();
	page()->cr3 = 0x6000;
	page()->mtd_in = VMTD_RIP | VMTD_CR;
	resume();
	cr_expect_eq(count(VCPU_FAST_GROUPS), 1);
	cr_expect_eq(at_entry.save.cr3, 0x6000, "the general path did not load CR3");
	page()->ctrl.intercept = VINT_RDTSC;
	page()->mtd_in = VMTD_CTRL;
	resume();
	cr_expect_eq(count(VCPU_FAST_GROUPS), 2);
	cr_expect(at_entry.ctl.intercept_misc1 & MISC1_RDTSC, "the control area was not loaded");
	page()->mtd_in = VMTD_FETCH;
	page()->mtd_req = VMTD_DR;
	unsigned runs = fake_virt_log.runs;
	resume();
	cr_expect_eq(count(VCPU_FAST_GROUPS), 3);
	cr_expect_eq(fake_virt_log.runs, runs, "a fetch entered the guest");
	cr_expect(page()->mtd_out & VMTD_DR);
	cr_expect_eq(count(VCPU_FAST_TAKEN), 0);
}

Test(KCORE_FAST_SUITE, a_bad_request_mask_takes_the_general_path_which_refuses_it)
{
	resume();
	unsigned runs = fake_virt_log.runs;
	cpuid_handled(0x8000);
	page()->mtd_req = VMTD_CTRL; /* load-only: no exit gives it */
	resume();
	cr_expect_eq(count(VCPU_FAST_GROUPS), 1);
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_MTD);
	cr_expect_eq(fake_virt_log.runs, runs);
}

Test(KCORE_FAST_SUITE, bad_rflags_take_the_general_path_which_refuses_them_before_anything_moves)
{
	resume();
	unsigned runs = fake_virt_log.runs;
	cpuid_handled(0x9000);
	page()->rflags = 0x2 | (1ull << 3); /* reserved bit 3 */
	resume();
	cr_expect_eq(count(VCPU_FAST_RFLAGS), 1);
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_RFLAGS);
	cr_expect_eq(fake_virt_log.runs, runs);
	page()->rflags = 0; /* bit 1 clear */
	page()->mtd_in = VMTD_RIP;
	resume();
	cr_expect_eq(count(VCPU_FAST_RFLAGS), 2);
	cr_expect_eq(page()->qual, VM_INVALID_RFLAGS);
	resume(); /* nothing marked: the guest goes on with what it had */
	cr_expect_eq(at_entry.save.rip, 0x7c02, "the refused RIP got in");
	cr_expect_neq(at_entry.save.rax, 0x11, "RAX of the refused resume got in");
}

Test(KCORE_FAST_SUITE, a_pending_recall_takes_the_general_path_which_reports_it)
{
	resume();
	unsigned runs = fake_virt_log.runs;
	vcpu_ec->recall = true; /* came while the VMM ran */
	cpuid_handled(0x8000);
	resume();
	cr_expect_eq(count(VCPU_FAST_RECALL), 1);
	cr_expect_eq(page()->exit, VM_EXIT_RECALL);
	cr_expect_eq(fake_virt_log.runs, runs);
	cr_expect_not(vcpu_ec->recall);
}

Test(KCORE_FAST_SUITE, a_halted_vcpu_takes_the_general_path_which_does_not_enter_it)
{
	resume();
	page()->activity = VM_ACTIVITY_HALTED;
	page()->mtd_in = VMTD_EVENTS;
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	unsigned runs = fake_virt_log.runs;
	page()->mtd_in = 0;
	resume();
	cr_expect_eq(count(VCPU_FAST_ACTIVITY), 1);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	cr_expect_eq(fake_virt_log.runs, runs, "a halted vCPU with nothing to deliver was entered");
}

Test(KCORE_FAST_SUITE, an_interrupt_window_asked_for_takes_the_general_path)
{
	resume();
	page()->intr_window = 1;
	page()->mtd_in = VMTD_EVENTS;
	resume();
	page()->mtd_in = VMTD_RIP; /* the window request stays in force in the kernel */
	resume();
	cr_expect_eq(count(VCPU_FAST_EVENTS), 1);
	cr_expect(at_entry.ctl.intercept_misc1 & MISC1_VINTR, "the window was not asked for");
}

Test(KCORE_FAST_SUITE, an_event_cut_off_by_the_exit_takes_the_general_path_which_delivers_it)
{
	resume();
	exit_event = GP0;
	resume();
	cr_assert(vcpu_ec->vcpu->st.pending & VEVENT_VALID);
	cpuid_handled(0x8000);
	resume();
	cr_expect_eq(count(VCPU_FAST_EVENTS), 1);
	cr_expect_eq((uint32_t)fake_virt_log.injected, GP0,
		     "the cut-off event was not delivered again");
}

Test(KCORE_FAST_SUITE, a_posted_interrupt_takes_the_general_path_which_takes_it_in)
{
	resume();
	klock_acquire();
	cr_assert_eq(vcpu_post(vcpu_ec, 0x41), VIREO_OK);
	klock_release();
	cpuid_handled(0x8000);
	page()->rflags = 0x202; /* IF set: the guest takes it at this entry */
	resume();
	cr_expect_eq(count(VCPU_FAST_POSTED), 1);
	cr_expect_eq((uint32_t)fake_virt_log.injected, VEVENT_VALID | VEVENT_TYPE_INTR | 0x41,
		     "the post was not injected");
	cr_expect_eq(vcpu_ec->vcpu->posted[1], 0, "the post stayed posted");
}

/* ---- the fused round: the first entry of a fast resume and its exit (svm_resume_fast here,
 * kernel/vcpu.c fused_round in the generic run) */

static void post_0x41(void)
{
	klock_acquire(); /* another CPU's SYS_VCPU_POST, its kick ends the run */
	cr_assert_eq(vcpu_post(vcpu_ec, 0x41), VIREO_OK);
	klock_release();
}

static void recall_it(void)
{
	klock_acquire(); /* another CPU's SYS_EC_CTRL recall */
	vcpu_ec->recall = true;
	klock_release();
}

static bool seen_held, seen_flag;
static uint32_t seen_refs;

static void look_at_the_lock(void)
{
	seen_held = klock_held();
	seen_flag = this_cpu()->lock_in_guest;
	seen_refs = vm->obj.refs;
}

Test(KCORE_FAST_SUITE, the_fused_round_keeps_the_lock_in_the_guest_and_takes_no_vm_reference)
{
	resume();
	uint32_t refs = vm->obj.refs;
	in_guest = look_at_the_lock;
	cpuid_handled(0x8000);
	cr_assert_not(this_cpu()->lock_in_guest);
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect(seen_held && seen_flag,
		  "the fused round's guest ran without the lock or unmarked (held %d, flag %d)",
		  seen_held, seen_flag);
	cr_expect_eq(seen_refs, refs, "the round took a VM reference it does not need");
	cr_expect_not(this_cpu()->lock_in_guest, "the CPU stays marked after the round");
	cr_expect_not(klock_held(), "the round returned to the VMM with the lock");
	cr_expect_eq(vm->obj.refs, refs, "the round changed the VM's references");
	/* A host interrupt: the general loop enters again, without the lock and unmarked. */
	cpuid_handled(0x8002);
	host_irqs = 1;
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 2);
	cr_expect(!seen_held && !seen_flag,
		  "the general loop's guest ran with the lock or marked (held %d, flag %d)",
		  seen_held, seen_flag);
	cr_expect_gt(seen_refs, refs, "the general loop ran without its VM reference");
	cr_expect_eq(vm->obj.refs, refs, "the general path's VM reference was not returned");
	/* The general path from the start: the same. */
	cpuid_handled(0x8004);
	fastpath_enable(false);
	resume();
	fastpath_enable(true);
	cr_expect(!seen_held && !seen_flag, "the general path's guest ran with the lock or marked");
	cr_expect_gt(seen_refs, refs);
	cr_expect_eq(vm->obj.refs, refs);
}

Test(KCORE_FAST_SUITE, a_host_interrupt_in_the_fused_round_goes_on_in_the_general_loop_to_the_exit)
{
	resume();
	cpuid_handled(0x8000);
	host_irqs = 1;
	unsigned runs = fake_virt_log.runs;
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(fake_virt_log.runs, runs + 2, "the guest was not entered again");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
	cr_expect_eq(page()->rip, 0x8002);
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP | VMTD_CR | VMTD_CS_SS);
}

Test(KCORE_FAST_SUITE, a_post_while_the_fused_round_runs_the_guest_is_injected_at_the_next_entry)
{
	resume();
	cpuid_handled(0x8000);
	page()->rflags = 0x202;
	during_run = post_0x41;
	host_irqs = 1; /* the poster's kick */
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(held_in_guest, 1, "the fused round's guest ran without the lock");
	cr_expect_eq((uint32_t)fake_virt_log.injected, VEVENT_VALID | VEVENT_TYPE_INTR | 0x41,
		     "the post was not injected");
	cr_expect_eq(vcpu_ec->vcpu->posted[1], 0, "the post stayed posted");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
}

Test(KCORE_FAST_SUITE, a_recall_while_the_fused_round_runs_the_guest_is_reported_to_the_vmm)
{
	resume();
	cpuid_handled(0x8000);
	during_run = recall_it;
	host_irqs = 1; /* the recaller's kick */
	unsigned runs = fake_virt_log.runs;
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(held_in_guest, 1, "the fused round's guest ran without the lock");
	cr_expect_eq(fake_virt_log.runs, runs + 1, "the recalled guest was entered again");
	cr_expect_eq(page()->exit, VM_EXIT_RECALL);
	cr_expect_not(vcpu_ec->recall);
}

Test(KCORE_FAST_SUITE, a_recall_with_a_vmm_exit_in_the_fused_round_waits_for_the_next_resume)
{
	resume();
	cpuid_handled(0x8000);
	during_run = recall_it; /* its kick comes too late: the guest exited for the VMM */
	resume();
	cr_expect_eq(held_in_guest, 1, "the fused round's guest ran without the lock");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID, "the exit was lost");
	cr_expect(vcpu_ec->recall, "the fused return dropped the recall");
	unsigned runs = fake_virt_log.runs;
	cpuid_handled(0x8002);
	resume();
	cr_expect_eq(count(VCPU_FAST_RECALL), 1);
	cr_expect_eq(page()->exit, VM_EXIT_RECALL);
	cr_expect_eq(fake_virt_log.runs, runs);
}

Test(KCORE_FAST_SUITE, an_entry_refused_in_the_fused_round_is_reported_and_reloads_everything)
{
	resume();
	cpuid_handled(0x8000);
	refuse_next = true;
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_HARDWARE);
	cr_expect_not(vcpu_ec->vcpu->loaded);
	page()->cr3 = 0x5000;
	page()->mtd_in = 0;
	resume();
	cr_expect_eq(count(VCPU_FAST_NOT_LOADED), 2, "the next resume did not reload everything");
	cr_expect_eq(at_entry.save.cr3, 0x5000);
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
}

Test(KCORE_FAST_SUITE, a_vmm_with_a_para_virtual_event_queued_returns_through_the_general_return)
{
	resume();
	klock_acquire();
	cr_assert_eq(vcpu_pv_irq(vcpu_ec, 7), VIREO_OK);
	klock_release();
	cpuid_handled(0x8000);
	resume(); /* vif_own closed: the event stays queued, the resume returns as always */
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
	cr_expect_eq(vcpu_ec->vcpu->pv_irq_count, 1);
}

/* ---------------------------------------------------------------- the cached VM capability */

static uint64_t revoke_vm_cap(void)
{
	fake_syscall(vcpu_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, SEL_VM, 0, RIGHTS_ALL),
		     VIREO_REVOKE_SELF, 0, 0, 0);
	return vcpu_ec->regs.rax;
}

/* A fast resume with the capability cached: the VMM then revokes it, and its next resume must
 * be refused as the general path refuses it, without entering the guest. */
Test(KCORE_FAST_SUITE, a_vm_capability_revoked_after_the_cache_was_filled_is_refused)
{
	resume();
	cpuid_handled(0x8000);
	resume();
	cr_assert_eq(count(VCPU_FAST_TAKEN), 1);
	cr_assert_eq(vcpu_ec->vcpu->vm_cap, vm, "the fast path did not remember the capability");
	cr_assert_eq(revoke_vm_cap(), VIREO_OK);
	unsigned runs = fake_virt_log.runs;
	cpuid_handled(0x8002);
	cr_expect_eq(resume_sel(SEL_VM), VIREO_BAD_CAP);
	cr_expect_eq(count(VCPU_FAST_NOT_VM), 1, "the cached capability was used");
	cr_expect_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(fake_virt_log.runs, runs, "the guest ran without a VM capability");
}

/* The selector now names another VM: the fast path enters that one, as the general path would. */
Test(KCORE_FAST_SUITE, a_vm_capability_replaced_at_the_same_selector_is_looked_up_again)
{
	resume();
	cpuid_handled(0x8000);
	resume();
	cr_assert_eq(revoke_vm_cap(), VIREO_OK);
	struct pd *vm2;
	klock_acquire();
	cr_assert_eq(pd_create_vm(vmm_pd, 1 << 20, virt->gpt_format, &vm2), VIREO_OK);
	klock_release();
	fake_cap(vmm_pd, SEL_VM, &vm2->obj, RIGHTS_ALL);
	cpuid_handled(0x8002);
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 2);
	cr_expect_eq(vcpu_ec->vcpu->vm_cap, vm2);
	cr_expect_eq(at_entry.ctl.n_cr3, pa_addr(vm2->pt.root), "the guest ran in the old VM");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
}

/* The same VM again, but without the CTRL right: refused, although the cache held that VM. */
Test(KCORE_FAST_SUITE, a_vm_capability_replaced_without_the_ctrl_right_is_refused)
{
	resume();
	cpuid_handled(0x8000);
	resume();
	fake_cap(vmm_pd, SEL_VM + 2, &vm->obj, RIGHTS_ALL); /* the VM outlives the revoke */
	cr_assert_eq(revoke_vm_cap(), VIREO_OK);
	fake_cap(vmm_pd, SEL_VM, &vm->obj, RIGHTS_ALL & ~RIGHT_PD_CTRL);
	unsigned runs = fake_virt_log.runs;
	cpuid_handled(0x8002);
	cr_expect_eq(resume_sel(SEL_VM), VIREO_BAD_CAP);
	cr_expect_eq(count(VCPU_FAST_NOT_VM), 1);
	cr_expect_eq(fake_virt_log.runs, runs);
}

/* Another selector, another VM: the cache does not answer for the selector it did not see. */
Test(KCORE_FAST_SUITE, another_selector_is_looked_up_not_answered_from_the_cache)
{
	resume();
	cpuid_handled(0x8000);
	resume();
	cpuid_handled(0x8002);
	cr_expect_eq(resume_sel(SEL_VM + 1), VIREO_BAD_CAP);
	cr_expect_eq(count(VCPU_FAST_NOT_VM), 1);
	cpuid_handled(0x8002);
	resume();
	cr_expect_eq(count(VCPU_FAST_TAKEN), 2);
}

/* The fused return is told the guest's FPU state is loaded and leaves with the VMM's. */
Test(KCORE_FAST_SUITE, the_fused_return_leaves_with_the_vmms_fpu_state)
{
	resume();
	cpuid_handled(0x8000);
	resume();
	cr_assert_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(this_cpu()->fpu_owner, vcpu_ec->fpu);
}

/* The backend's one-call exit (exit_to_page) and the generic one for a backend without it
 * (VT-x today: exit_info, then store) give the VMM the same page. */
Test(KCORE_FAST_SUITE, a_backend_without_exit_to_page_gives_the_same_page_through_fused_exit)
{
	struct vireo_vm_state with, without;
	const struct virt_ops *real = virt;
	struct virt_ops plain = *virt;
	plain.exit_to_page = NULL;
	plain.resume_entry = NULL; /* the generic round, which asks for exit_to_page */
	resume();
	for (int pass = 0; pass < 2; pass++) {
		virt = pass ? &plain : real;
		cpuid_handled(0x8000);
		page()->mtd_req = VMTD_DR;
		resume();
		*(pass ? &without : &with) = *page();
	}
	virt = real;
	cr_assert_eq(count(VCPU_FAST_TAKEN), 2);
	cr_expect_eq(with.mtd_out, VMTD_GPR | VMTD_RIP | VMTD_CR | VMTD_CS_SS | VMTD_DR);
	with.exits = without.exits = 0;
	cr_expect_eq(memcmp(&with, &without, sizeof(with)), 0, "the VMM got another page");
}

static void debug_on(void)
{
	kernel_debug = true;
}

/* The entry the boot picks with `debug` on, for a test that turns it on in the guest: the lean
 * one has no debug check to fail (fake_virt's own copy of the ops). */
static void general_entry(void)
{
	((struct virt_ops *)virt)->resume_entry_lean = NULL;
}

static void entry_a(struct regs *r)
{
	(void)r;
}

static void entry_b(struct regs *r)
{
	(void)r;
}

/* The lean entry only without `debug` and with the fast paths on; the generic round without a
 * backend entry. */
Test(KCORE_FAST_SUITE, the_lean_resume_entry_is_picked_only_without_debug_and_with_fast_paths)
{
	struct virt_ops ops = { .resume_entry = entry_a, .resume_entry_lean = entry_b };
	cr_expect_eq(syscall_resume_for(&ops), entry_b);
	kernel_debug = true;
	cr_expect_eq(syscall_resume_for(&ops), entry_a, "lean with debug");
	kernel_debug = false;
	fastpath_enable(false);
	cr_expect_eq(syscall_resume_for(&ops), entry_a, "lean without the fast paths");
	fastpath_enable(true);
	ops.resume_entry_lean = NULL;
	cr_expect_eq(syscall_resume_for(&ops), entry_a);
	ops.resume_entry = NULL;
	ops.resume_entry_lean = entry_b;
	cr_expect_eq(syscall_resume_for(&ops), syscall_resume, "a lean entry alone");
	cr_expect_eq(syscall_resume_for(NULL), syscall_resume);
	/* the real backend has both, and they differ */
	cr_expect(svm_ops.resume_entry && svm_ops.resume_entry_lean &&
		  svm_ops.resume_entry != svm_ops.resume_entry_lean);
}

/* The fused return keeps this CPU's current EC, entry frame and CR3 as it found them: nothing
 * else ran here. With `debug` it checks that; the space was never loaded again. */
Test(KCORE_FAST_SUITE, the_fused_return_finds_the_vmms_space_and_frame_in_place)
{
	resume();
	cpuid_handled(0x8000);
	unsigned loads = fake_cpu_log.space_loads;
	general_entry();
	in_guest = debug_on; /* past the stack check, which a host stack would fail */
	resume();
	kernel_debug = false;
	cr_assert_eq(count(VCPU_FAST_TAKEN), 1);
	cr_expect_eq(fake_cpu_log.space_loads, loads, "the return loaded CR3");
	cr_expect_eq(arch_space_root(), pa_addr(vmm_pd->pt.root));
	cr_expect_eq(this_cpu()->regs_top, (uint64_t)(uintptr_t)(&vcpu_ec->regs + 1));
	cr_expect_eq(this_cpu()->current, vcpu_ec);
}

static void load_other_space(void)
{
	kernel_debug = true;
	arch_space_load(0x1234000);
}

/* If something did change CR3 under the fused round, the debug check stops the kernel. */
Test(KCORE_FAST_SUITE, a_space_changed_under_the_fused_round_fails_the_debug_check,
     .signal = SIGABRT)
{
	resume();
	cpuid_handled(0x8000);
	general_entry();
	in_guest = load_other_space;
	resume();
}
