/* SPDX-License-Identifier: MIT */
/*
 * SYS_VCPU_RESUME on the fake machine: the real run loop and SVM translation around a scripted
 * guest. What the VMM sees after each exit, host interrupts handled in the kernel, preemption.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_kernel.h"
#include "fake_virt.h"
#include "klock.h"
#include "obj.h"
#include "sched.h"
#include "svm/svm_event.h"
#include "svm/vmcb.h"

#define ONE_TICK (1000000 / TIMER_HZ)
#define SEL_PD 1
#define SEL_VM 2
#define VA_STATE 0x7e0000000000ull
#define VA_ARGS 0x20000000ull

static struct pd *vmm_pd, *vm;
static struct ec *vcpu_ec;
static struct sc *vcpu_sc;
static void (*step)(struct vcpu *v, struct vmcb *vmcb, unsigned n);

static void guest(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	step(v, vmcb, n);
}

static void setup(void)
{
	vcpu_ec = fake_vm_world(guest, SEL_VM, VA_STATE, &vmm_pd, &vm);
	fake_cap(vmm_pd, SEL_PD, &vmm_pd->obj, RIGHTS_ALL);
	vcpu_sc = fake_sc(vcpu_ec, 5, ONE_TICK);
	fake_vm_reset_state(vcpu_ec->vcpu->page);
	/* The vCPU's thread runs: it is the one that calls SYS_VCPU_RESUME. */
	struct fake_exit x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_vm, .init = setup, .fini = teardown);

static struct vireo_vm_state *page(void)
{
	return vcpu_ec->vcpu->page;
}

/* SYS_VCPU_RESUME until the kernel returns to user mode; which EC that is. */
static struct ec *resume(void)
{
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert(!klock_held(), "kernel lock held in user mode");
	cr_assert(x.kind == FAKE_EXIT_SYSRET || x.kind == FAKE_EXIT_IRET, "way %d", x.kind);
	return fake_exit_ec(x);
}

static void hlt_after_one_byte(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	vmcb->save.rip += 1;
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

Test(kcore_vm, resume_runs_the_guest_and_returns_its_exit_to_the_vmm)
{
	step = hlt_after_one_byte;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_expect_eq(fake_virt_log.runs, 1);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	cr_expect_eq(page()->rip, 0x7c01, "the VMM must see the state the guest left");
	cr_expect_eq(page()->exits, 1);
	cr_expect_eq(pa_addr(fake_virt_log.gpt_root), pa_addr(vm->pt.root),
		     "the guest ran on another guest-physical table than its VM's");
	cr_expect(!fake_virt_log.lock_held_in_guest, "the guest ran with the kernel lock held");
}

Test(kcore_vm, invalid_state_is_refused_without_entering_the_guest)
{
	step = hlt_after_one_byte;
	page()->cr0 = 0x80000000; /* paging without protection */
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 0, "an invalid state reached VMRUN");
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_CR0);
}

static void three_interrupts_then_io(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n <= 3) {
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	vmcb->ctl.exitcode = SVM_EXIT_IOIO;
	vmcb->ctl.exitinfo1 = (0x3f8ull << 16) | (1 << 4);
	vmcb->ctl.exitinfo2 = vmcb->save.rip + 1;
}

Test(kcore_vm, host_interrupts_are_handled_without_the_vmm)
{
	step = three_interrupts_then_io;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 4, "the guest was not re-entered after host interrupts");
	cr_expect_eq(page()->exit, VM_EXIT_IO);
	cr_expect_eq(page()->io.port, 0x3f8);
	cr_expect_eq(page()->exits, 4);
}

static void tick_then_hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n == 1) {
		fake_virt_tick_pending(); /* the guest spins until the timer interrupts it */
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

Test(kcore_vm, spinning_guest_is_preempted_and_continues_after_the_other_sc)
{
	struct ec *other = fake_ec(vmm_pd, "native", false, 0, 0);
	fake_sc(other, 5, ONE_TICK);
	step = tick_then_hlt;
	cr_assert_eq(resume(), other, "the quantum ran out but the other SC did not run");
	cr_expect_eq(fake_virt_log.runs, 1);
	/* The other SC's quantum ends: the vCPU goes on in its guest, then exits to the VMM. */
	struct fake_exit x = fake_timer(other);
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 2);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	cr_expect_eq(vcpu_ec->regs.rax, VIREO_OK);
}

static struct ec *recalled;

static void recalled_while_running(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	recalled->recall = true; /* another CPU's SYS_EC_CTRL; its IPI ends the guest run */
	vmcb->ctl.exitcode = SVM_EXIT_INTR;
}

Test(kcore_vm, recall_during_a_guest_run_exits_to_the_vmm)
{
	recalled = vcpu_ec;
	step = recalled_while_running;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 1);
	cr_expect_eq(page()->exit, VM_EXIT_RECALL);
	cr_expect(!vcpu_ec->recall, "the recall stayed pending after it was delivered");
}

/*
 * The VMM's waker preempts its vCPU on their CPU and recalls it (the device event it slept for
 * is due): the vCPU's continuation reports the recall at once instead of entering the guest
 * again, whose next exit may be a host tick away (under Bochs the recall came 5 ms late on
 * average, up to two ticks).
 */
Test(kcore_vm, a_recall_while_preempted_ends_the_run_before_the_guest_goes_on)
{
	struct ec *waker = fake_ec(vmm_pd, "waker", false, 0, 0);
	fake_sc(waker, 5, ONE_TICK);
	fake_cap(vmm_pd, 9, &vcpu_ec->obj, RIGHTS_ALL);
	step = tick_then_hlt;
	cr_assert_eq(resume(), waker, "the quantum ran out but the waker did not run");
	cr_expect_eq(fake_virt_log.runs, 1);
	struct fake_exit x = fake_syscall(waker, SYS_EC_CTRL, 9, VIREO_EC_RECALL, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), waker);
	cr_assert_eq(waker->regs.rax, VIREO_OK);
	x = fake_timer(waker);
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 1, "the guest ran again before the recall was reported");
	cr_expect_eq(page()->exit, VM_EXIT_RECALL);
	cr_expect_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_expect(!vcpu_ec->recall, "the recall stayed pending after it was delivered");
}

static void spin_fifty_quanta(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n < 50) {
		fake_virt_tick_pending();
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

/*
 * docs/architecture.md#kernel-stack: resuming a continuation resets the kernel stack first; nothing nests. A vCPU that is
 * the only thing to run and is preempted fifty times must not be fifty frames deeper (before
 * sched_continue, each preemption nested the continuation on the current stack: 8.6 KB over 49).
 */
Test(kcore_vm, preempting_the_only_vcpu_again_and_again_does_not_grow_the_stack)
{
	step = spin_fifty_quanta;
	cr_assert_eq(resume(), vcpu_ec);
	cr_assert_eq(fake_virt_log.runs, 50);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	uintptr_t growth = fake_virt_log.stack_first - fake_virt_log.stack_deepest;
	cr_expect_lt(growth, 1024, "the kernel stack grew by %zu bytes over 49 preemptions",
		     (size_t)growth);
}

Test(kcore_vm, vm_and_vcpu_are_created_by_system_call)
{
	struct ec *vmm = fake_ec(vmm_pd, "vmm", false, 0, 0);
	cr_assert_eq(pd_map_anon(vmm_pd, VA_ARGS, PAGE_SIZE, MAP_W), VIREO_OK);
	struct fake_exit x = fake_syscall(vmm, SYS_CREATE_PD, 10, SEL_PD, 1 << 20, VIREO_PD_VM, 0);
	cr_assert_eq(fake_exit_ec(x), vmm);
	cr_assert_eq(vmm->regs.rax, VIREO_OK);
	struct pd *vm2 = (struct pd *)pd_lookup_obj(vmm_pd, 10, OBJ_PD, RIGHT_PD_CTRL);
	cr_assert_not_null(vm2);
	cr_expect(vm2->vm);
	struct vireo_ec_create a = { .sp = 0x1000,
				     .utcb = 0x7d0000000000ull,
				     .flags = VIREO_EC_VCPU,
				     .vcpu_state = 0x7d0000001000ull };
	cr_assert_eq(pd_copy_to_user(vmm_pd, VA_ARGS, &a, sizeof(a)), VIREO_OK);
	x = fake_syscall(vmm, SYS_CREATE_EC, 11, SEL_PD, VA_ARGS, 0, 0);
	cr_assert_eq(fake_exit_ec(x), vmm);
	cr_assert_eq(vmm->regs.rax, VIREO_OK);
	struct kobj *o = pd_lookup_obj(vmm_pd, 11, OBJ_EC, RIGHT_EC_CTRL);
	cr_assert_not_null(o);
	struct ec *v2 = container_of(o, struct ec, obj);
	cr_assert_not_null(v2->vcpu);
	cr_expect_not_null(v2->vcpu->hw, "the backend made no VMCB");
	/* A VM PD runs no ECs. */
	a.vcpu_state = 0;
	a.flags = 0;
	cr_assert_eq(pd_copy_to_user(vmm_pd, VA_ARGS, &a, sizeof(a)), VIREO_OK);
	x = fake_syscall(vmm, SYS_CREATE_EC, 12, 10, VA_ARGS, 0, 0);
	cr_expect_eq(vmm->regs.rax, VIREO_BAD_PAR);
}

static uint64_t seen_at_entry[4];

static void record_injection_then_hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	seen_at_entry[n < 4 ? n : 0] = fake_virt_log.injected;
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

Test(kcore_vm, injected_event_reaches_the_guest_entry_once)
{
	const uint32_t gp = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13;
	step = record_injection_then_hlt;
	page()->inject = gp;
	page()->inject_err = 0x10;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(seen_at_entry[1], (0x10ull << 32) | gp,
		     "the #GP was not in EVENTINJ at VMRUN");
	cr_expect_eq(page()->inject, 0, "the VMM must see the injection consumed");
	/* The next resume injects nothing new. */
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(seen_at_entry[2], 0, "the event was injected twice");
	cr_expect_eq(fake_virt_log.injections, 1);
}

/* ------------------------------------------------------------------ hostile guests (defect 4) */

static uint64_t entry_eventinj[8];

/*
 * A guest whose #DB handler sets TF again, or whose #AC handler re-runs the misaligned access,
 * makes the delivery of that exception raise it anew: CVE-2015-8104 (#DB) and CVE-2015-5307
 * (#AC). Without the intercept the CPU loops inside the guest forever; with it, every delivery is
 * an exit that the kernel reflects. Runs 1-5: #DB exits; run 6: HLT.
 */
static void db_five_times_then_hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n < 8) {
		entry_eventinj[n] = fake_virt_log.injected;
	}
	vmcb->ctl.exitintinfo = 0;
	vmcb->ctl.exitcode = n <= 5 ? SVM_EXIT_EXC_BASE + 1 : SVM_EXIT_HLT;
}

Test(kcore_vm, every_vcpu_intercepts_ac_and_db_and_invd_whatever_the_vmm_asks)
{
	struct vmcb *vmcb = fake_vmcb(vcpu_ec->vcpu);
	cr_expect(vmcb->ctl.intercept_exc & (1u << 1), "#DB not intercepted: CVE-2015-8104");
	cr_expect(vmcb->ctl.intercept_exc & (1u << 17), "#AC not intercepted: CVE-2015-5307");
	cr_expect(vmcb->ctl.intercept_misc1 & MISC1_INVD, "INVD not intercepted");
	cr_expect(vmcb->ctl.intercept_misc2 & MISC2_WBINVD, "WBINVD not intercepted");
}

Test(kcore_vm, a_db_loop_is_reflected_by_the_kernel_and_never_reaches_the_vmm)
{
	step = db_five_times_then_hlt;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 6, "the kernel did not go back into the guest after #DB");
	cr_expect_eq(page()->exit, VM_EXIT_HLT, "the VMM saw an exception exit");
	cr_expect_eq(page()->exits, 6);
	for (unsigned n = 2; n <= 6; n++) {
		cr_expect_eq(entry_eventinj[n] & 0xffffffffu, VEVENT_VALID | VEVENT_TYPE_EXC | 1,
			     "entry %u did not deliver the #DB of the exit before it", n);
	}
	cr_expect_eq(entry_eventinj[1], 0, "an event nobody raised was injected");
}

static void ac_then_hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n < 8) {
		entry_eventinj[n] = fake_virt_log.injected;
	}
	vmcb->ctl.exitintinfo = 0;
	vmcb->ctl.exitinfo1 = 0;
	vmcb->ctl.exitcode = n == 1 ? SVM_EXIT_EXC_BASE + 17 : SVM_EXIT_HLT;
}

Test(kcore_vm, an_intercepted_ac_is_delivered_with_error_code_zero)
{
	step = ac_then_hlt;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 2);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	cr_expect_eq(entry_eventinj[2], VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 17,
		     "#AC went in as %#lx", (unsigned long)entry_eventinj[2]);
}

/* #DB raised while an external interrupt (vector 0x30) was being delivered. */
static void db_during_delivery_then_hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n < 8) {
		entry_eventinj[n] = fake_virt_log.injected;
	}
	vmcb->ctl.exitintinfo = n == 1 ? (SVM_EVENT_VALID | 0x30) : 0; /* type 0: external */
	vmcb->ctl.exitcode = n == 1 ? SVM_EXIT_EXC_BASE + 1 : SVM_EXIT_HLT;
}

Test(kcore_vm, a_db_cut_into_another_delivery_delivers_that_event_again_first)
{
	step = db_during_delivery_then_hlt;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 2);
	cr_expect_eq(entry_eventinj[2] & 0xffffffffu, VEVENT_VALID | VEVENT_TYPE_INTR | 0x30,
		     "re-entry injected %#lx instead of the cut-off interrupt",
		     (unsigned long)entry_eventinj[2]);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
}

static void invd_once(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	vmcb->ctl.exitintinfo = 0;
	vmcb->ctl.exitcode = SVM_EXIT_INVD;
}

Test(kcore_vm, invd_is_an_exit_the_vmm_sees_as_cache)
{
	step = invd_once;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(page()->exit, VM_EXIT_CACHE);
}
