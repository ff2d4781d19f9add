/* SPDX-License-Identifier: MIT */
/*
 * Specification of SVM event injection and re-delivery (AMD APM vol. 2 15.20, 15.7.2), run
 * against a fake VMCB: the exit side sees EXITINTINFO as QEMU or a real CPU would write it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "svm/svm_event.h"

static struct vmcb vmcb;
static struct vireo_vm_state st;
static struct vcpu_injected inj;

#define V VEVENT_VALID
#define INTR(v) (V | VEVENT_TYPE_INTR | (v))
#define NMI (V | VEVENT_TYPE_NMI | 2)
#define EXC(v) (V | VEVENT_TYPE_EXC | (v))
#define SOFT(v) (V | VEVENT_TYPE_SOFT | (v))
#define RIP 0x7c10ull

static void setup(void)
{
	memset(&vmcb, 0, sizeof(vmcb));
	memset(&st, 0, sizeof(st));
	memset(&inj, 0, sizeof(inj));
	vmcb.save.rip = RIP;
	vmcb.save.rflags = 0x202; /* IF set */
}

TestSuite(svm_event, .init = setup);

/* One VMRUN that exits with `exitintinfo` (0: the event went in). */
static void run(uint64_t exitintinfo)
{
	svm_event_enter(&vmcb, &st, &inj);
	vmcb.ctl.exitintinfo = exitintinfo;
	vmcb.ctl.eventinj = 0; /* the CPU clears the slot at #VMEXIT */
	svm_event_exit(&vmcb, &st, &inj);
}

/* ------------------------------------------------------------------ classify */

Test(svm_event, guest_int_n_stays_a_software_interrupt)
{
	cr_expect_eq(svm_event_classify(SOFT(0x80)), SOFT(0x80));
	cr_expect_eq(svm_event_classify(SOFT(0x0d) | VEVENT_ERR_VALID), SOFT(0x0d),
		     "INT 13 pushes no error code");
}

Test(svm_event, int3_and_into_reported_as_exceptions_are_software)
{
	cr_expect_eq(svm_event_classify(EXC(3)), SOFT(3));
	cr_expect_eq(svm_event_classify(EXC(4)), SOFT(4));
	cr_expect_eq(svm_event_classify(SOFT(3)), SOFT(3));
}

Test(svm_event, qemu_exception_types_for_irqs_and_nmis_are_corrected)
{
	cr_expect_eq(svm_event_classify(EXC(0x20)), INTR(0x20));
	cr_expect_eq(svm_event_classify(EXC(0xff)), INTR(0xff));
	cr_expect_eq(svm_event_classify(EXC(2)), NMI);
	cr_expect_eq(svm_event_classify(INTR(0x30)), INTR(0x30));
	cr_expect_eq(svm_event_classify(NMI), NMI);
}

Test(svm_event, real_exceptions_keep_type_and_error_code)
{
	cr_expect_eq(svm_event_classify(EXC(14) | VEVENT_ERR_VALID), EXC(14) | VEVENT_ERR_VALID);
	cr_expect_eq(svm_event_classify(EXC(6)), EXC(6));
	cr_expect_eq(svm_event_classify(0), 0);
}

/* ------------------------------------------------------------------ enter */

Test(svm_event, inject_goes_into_eventinj_and_is_consumed)
{
	st.inject = EXC(13) | VEVENT_ERR_VALID;
	st.inject_err = 0x18;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, (EXC(13) | VEVENT_ERR_VALID) | 0x18ull << 32);
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(vmcb.save.rip, RIP);
	cr_expect_not(vmcb.ctl.intercept_misc1 & MISC1_VINTR, "nothing waits");
}

Test(svm_event, injected_soft_interrupt_returns_past_its_instruction)
{
	st.inject = SOFT(0x80);
	st.inject_len = 2;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, SOFT(0x80));
	cr_expect_eq(vmcb.save.rip, RIP + 2, "the CPU pushes the VMCB RIP: step past first");
}

Test(svm_event, pending_goes_first_and_inject_waits_for_the_window)
{
	st.pending = INTR(0x20);
	st.inject = INTR(0x21);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x20));
	cr_expect_eq(st.pending, 0);
	cr_expect_eq(st.inject, INTR(0x21), "inject is kept, not dropped");
	cr_expect(vmcb.ctl.intercept_misc1 & MISC1_VINTR);
	cr_expect(vmcb.ctl.int_ctl & INT_CTL_V_IRQ);
	/* The pending event went in; at the window exit the queued one follows. */
	vmcb.ctl.exitintinfo = 0;
	svm_event_exit(&vmcb, &st, &inj);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x21));
	cr_expect_eq(st.inject, 0);
	cr_expect_not(vmcb.ctl.intercept_misc1 & MISC1_VINTR, "the window is closed again");
	cr_expect_not(vmcb.ctl.int_ctl & INT_CTL_V_IRQ);
}

Test(svm_event, irq_queued_behind_pending_waits_for_the_guests_window)
{
	st.pending = INTR(0x20);
	st.inject = INTR(0x21);
	run(0); /* 0x20 went in: its handler runs with IF clear */
	vmcb.save.rflags = 0x2;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0, "not into a handler running with interrupts off");
	cr_expect_eq(st.inject, INTR(0x21));
	cr_expect(vmcb.ctl.intercept_misc1 & MISC1_VINTR, "the window is asked for");
	vmcb.ctl.exitintinfo = 0;
	svm_event_exit(&vmcb, &st, &inj);
	vmcb.save.rflags = 0x202;
	vmcb.ctl.int_shadow = 1;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0, "not in an interrupt shadow either");
	vmcb.ctl.int_shadow = 0;
	svm_event_exit(&vmcb, &st, &inj);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x21), "IF set, no shadow: in it goes");
	cr_expect_eq(st.inject, 0);
	/* A later inject from the VMM is its own decision again. */
	run(0);
	vmcb.save.rflags = 0x2;
	st.inject = INTR(0x22);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x22));
}

Test(svm_event, exception_queued_behind_pending_goes_in_at_the_next_entry)
{
	st.pending = INTR(0x20);
	st.inject = EXC(6);
	run(0);
	vmcb.save.rflags = 0x2;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, EXC(6), "exceptions do not wait for IF");
}

Test(svm_event, vmm_window_request_stays)
{
	st.intr_window = 1;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect(vmcb.ctl.intercept_misc1 & MISC1_VINTR);
	cr_expect(vmcb.ctl.int_ctl & INT_CTL_V_INTR_MASKING);
}

/* An entry with nothing takes back the window request and the injection of the entry before; the
 * entries after it find the fields in that state and leave them (inj.none): nothing but the
 * kernel's entry code writes them, and the CPU only clears V_IRQ. */
Test(svm_event, a_quiet_entry_clears_what_the_last_one_armed_and_then_leaves_the_fields_alone)
{
	st.intr_window = 1;
	st.inject = EXC(6);
	svm_event_enter(&vmcb, &st, &inj);
	cr_assert_eq(vmcb.ctl.eventinj, EXC(6));
	cr_assert(vmcb.ctl.intercept_misc1 & MISC1_VINTR);
	cr_assert_not(inj.none);
	st.intr_window = 0;
	run(0); /* the exception went in, nothing is asked for any more */
	cr_expect_eq(vmcb.ctl.eventinj, 0);
	cr_expect_not(vmcb.ctl.int_ctl & (INT_CTL_V_IRQ | INT_CTL_V_IGN_TPR), "window withdrawn");
	cr_expect_not(vmcb.ctl.intercept_misc1 & MISC1_VINTR, "window intercept withdrawn");
	cr_expect(vmcb.ctl.int_ctl & INT_CTL_V_INTR_MASKING);
	cr_expect_eq(inj.event, 0);
	cr_expect(inj.none);
	/* A marker in the slot, which a write of the none state would clear: a quiet entry in the
	 * none state leaves it. */
	vmcb.ctl.eventinj = 0x5a5a;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0x5a5a, "the none state was written again");
	vmcb.ctl.eventinj = 0;
	/* The next event arms the fields again, and the quiet entry after it clears them. */
	st.inject = INTR(0x30);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq((uint32_t)vmcb.ctl.eventinj, INTR(0x30));
	cr_expect_not(inj.none);
	vmcb.ctl.eventinj = 0;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0);
	cr_expect(inj.none);
}

Test(svm_event, pending_soft_of_unknown_length_is_re_executed)
{
	st.pending = SOFT(0x80);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0, "nothing injected: the guest runs INT 0x80 again");
	cr_expect_eq(vmcb.save.rip, RIP);
	cr_expect_eq(st.pending, 0);
}

Test(svm_event, pending_soft_of_known_length_is_injected_as_soft)
{
	st.pending = SOFT(3);
	st.pending_len = 1;
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, SOFT(3));
	cr_expect_eq(vmcb.save.rip, RIP + 1);
}

/* ------------------------------------------------------------------ exit */

Test(svm_event, guest_int_n_cut_off_becomes_a_soft_pending_at_the_instruction)
{
	run(SOFT(0x80)); /* e.g. a nested page fault on the stack while INT 0x80 pushed */
	cr_expect_eq(st.pending, SOFT(0x80), "not an external interrupt");
	cr_expect_eq(st.pending_len, 0);
	cr_expect_eq(vmcb.save.rip, RIP);
	/* Resumed unchanged: no injection, the instruction runs again, exactly once. */
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, 0);
	cr_expect_eq(vmcb.save.rip, RIP);
}

Test(svm_event, guest_int3_cut_off_is_not_an_exception)
{
	run(EXC(3)); /* real AMD CPUs report INT3 as an exception */
	cr_expect_eq(st.pending, SOFT(3));
	run(SOFT(3)); /* QEMU reports it as a software interrupt */
	cr_expect_eq(st.pending, SOFT(3));
	run(SOFT(4));
	cr_expect_eq(st.pending, SOFT(4));
}

Test(svm_event, injected_soft_cut_off_is_reported_with_its_length)
{
	st.inject = SOFT(0x80);
	st.inject_len = 2;
	run(SOFT(0x80));
	cr_expect_eq(st.pending, SOFT(0x80));
	cr_expect_eq(st.pending_len, 2);
	cr_expect_eq(vmcb.save.rip, RIP, "RIP back on the instruction");
	/* Re-delivered: the same injection, the same return address. */
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, SOFT(0x80));
	cr_expect_eq(vmcb.save.rip, RIP + 2);
}

Test(svm_event, injected_exception_cut_off_keeps_its_form)
{
	st.inject = EXC(3); /* the VMM injects #BP as an exception: re-executing would be wrong */
	run(EXC(3));
	cr_expect_eq(st.pending, EXC(3));
	cr_expect_eq(st.pending_len, 0);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, EXC(3));
}

Test(svm_event, injected_irq_cut_off_then_pending_and_a_new_inject_are_both_delivered)
{
	st.inject = INTR(0x20);
	run(INTR(0x20));
	cr_expect_eq(st.pending, INTR(0x20));
	st.inject = INTR(0x21); /* the VMM injects another without clearing pending */
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x20));
	vmcb.ctl.exitintinfo = 0;
	svm_event_exit(&vmcb, &st, &inj);
	svm_event_enter(&vmcb, &st, &inj);
	cr_expect_eq(vmcb.ctl.eventinj, INTR(0x21));
}

Test(svm_event, exception_error_code_is_kept_only_with_the_valid_bit)
{
	run(EXC(14) | VEVENT_ERR_VALID | 0x6ull << 32);
	cr_expect_eq(st.pending, EXC(14) | VEVENT_ERR_VALID);
	cr_expect_eq(st.pending_err, 6);
	run(EXC(0x20) | 0x6ull << 32);
	cr_expect_eq(st.pending, INTR(0x20));
	cr_expect_eq(st.pending_err, 0);
}

Test(svm_event, no_event_cut_off_clears_pending)
{
	st.pending = NMI;
	run(0);
	cr_expect_eq(st.pending, 0);
	cr_expect_eq(st.pending_err, 0);
	cr_expect_eq(st.pending_len, 0);
}
