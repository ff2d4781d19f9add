/* SPDX-License-Identifier: MIT */
/*
 * The vCPU model of virtual user mode completed (docs/ABI.md "Virtual user mode"): IRQs reach the
 * entry point also while the vCPU runs its own code (vif_own), carry the label they were raised
 * with, wait in a queue (not one bit) while the virtual IF is closed; a resume can deliver
 * memory items into the task first; each task has an FPU state apart from the vCPU's.
 */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "frame.h"
#include "msg.h"
#include "obj.h"
#include "vcpu.h"

#define SEL_TASK 2
#define SEL_VCPU 3
#define SEL_TASK2 4
#define VA_STATE 0x7e0000000000ull
#define ENTRY_IP 0x500000ull
#define ENTRY_SP 0x600000ull
#define TASK_IP 0x401000ull
#define TASK_SP 0x7000000ull
#define VA_PAGE 0x10000000ull
#define TASK_VA 0x40000000ull

static struct pd *gk_pd, *task, *task2;
static struct ec *gk, *timer;
static struct vireo_vcpu_pv *pv;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	gk_pd = fake_pd("guest kernel", 1 << 20);
	task = fake_pd("process", 1 << 20);
	task2 = fake_pd("process 2", 1 << 20);
	fake_cap(gk_pd, SEL_TASK, &task->obj, RIGHTS_ALL);
	fake_cap(gk_pd, SEL_TASK2, &task2->obj, RIGHTS_ALL);
	fake_cap(gk_pd, SEL_SELF_PD, &gk_pd->obj, RIGHTS_ALL);
	gk = fake_ec(gk_pd, "vcpu", false, 0, 0);
	fake_sc(gk, 5, 10000);
	cr_assert_eq(vcpu_attach(gk, VA_STATE), VIREO_OK);
	fake_cap(gk_pd, SEL_VCPU, &gk->obj, RIGHTS_ALL);
	timer = fake_ec(gk_pd, "timer", false, 0, 0);
	pv = (struct vireo_vcpu_pv *)((char *)gk->vcpu->page + VIREO_VCPU_PV_OFFSET);
	pv->entry_ip = ENTRY_IP;
	pv->entry_sp = ENTRY_SP;
	pv->user.rip = TASK_IP;
	pv->user.rsp = TASK_SP;
	cr_assert_eq(fake_exit_ec(fake_schedule()), gk);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_pv_events, .init = setup, .fini = teardown);

static void raise_irq(uint64_t label, status_t want)
{
	struct fake_exit x = fake_syscall(timer, SYS_VCPU_IRQ, SEL_VCPU, label, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), timer);
	cr_assert_eq(timer->regs.rax, want, "SYS_VCPU_IRQ label %lu", (unsigned long)label);
}

static struct fake_exit resume(uint64_t sel, uint64_t flags)
{
	return fake_syscall(gk, SYS_VCPU_RESUME, sel, flags, 0, 0, 0);
}

static void expect_irq_at_entry(struct fake_exit x, uint64_t label, uint32_t from_own)
{
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rip, ENTRY_IP, "the IRQ did not enter at the entry point");
	cr_expect_eq(gk->regs.rsp, ENTRY_SP);
	cr_expect_eq(pv->cause, VCPU_CAUSE_IRQ);
	cr_expect_eq(pv->irq_label, label, "IRQ label %lu, expected %lu",
		     (unsigned long)pv->irq_label, (unsigned long)label);
	cr_expect_eq(pv->from_own, from_own);
	cr_expect_eq(pv->vif, 0, "events enter with virtual interrupts off");
	cr_expect_eq(pv->vif_own, 0, "events enter with virtual interrupts off");
}

Test(kcore_pv_events, irq_interrupts_own_code_while_vif_own_is_open)
{
	gk->regs.rip = 0x401234;
	gk->regs.rbx = 0xb0b;
	pv->vif_own = 1;
	raise_irq(7, VIREO_OK);
	/* The vCPU's next way back to its own code takes the IRQ instead. */
	struct fake_exit x = fake_timer(gk);
	expect_irq_at_entry(x, 7, 1);
	cr_expect_eq(pv->user.rip, 0x401234, "the interrupted own RIP was not saved");
	cr_expect_eq(pv->user.rbx, 0xb0b);
	cr_expect_eq(pv->irq_pending, 0);
}

Test(kcore_pv_events, irq_waits_while_own_code_runs_with_vif_own_closed)
{
	gk->regs.rip = 0x401234;
	pv->vif_own = 0;
	pv->vif = 1; /* the task's flag does not open the vCPU's own code */
	raise_irq(1, VIREO_OK);
	struct fake_exit x = fake_timer(gk);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rip, 0x401234, "the IRQ came in although vif_own was closed");
	cr_expect_eq(pv->irq_pending, 1);
	cr_expect_eq(pv->events, 0);
}

Test(kcore_pv_events, resume_of_own_pd_continues_own_code_with_vif_applied)
{
	gk->regs.rip = 0x401234;
	gk->regs.rsp = 0x7000100;
	pv->vif_own = 1;
	raise_irq(3, VIREO_OK);
	expect_irq_at_entry(fake_timer(gk), 3, 1);
	/* The handler reopens and returns in one step: no IRQ can slip in between. */
	pv->vif = 1;
	struct fake_exit x = resume(SEL_SELF_PD, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rip, 0x401234, "own code did not continue where it was interrupted");
	cr_expect_eq(gk->regs.rsp, 0x7000100);
	cr_expect_eq(pv->vif_own, 1, "resuming own code must apply vif to it");
	cr_expect_null(gk->pv_task, "resuming its own PD is not virtual user mode");
	cr_expect_eq(fake_cpu_log.space_root[0], pa_addr(gk_pd->pt.root));
}

Test(kcore_pv_events, resume_of_own_pd_delivers_a_queued_irq_at_once_if_vif_is_open)
{
	gk->regs.rip = 0x401234;
	pv->vif_own = 1;
	raise_irq(3, VIREO_OK);
	expect_irq_at_entry(fake_timer(gk), 3, 1);
	raise_irq(4, VIREO_OK);
	pv->user.rip = 0x401234;
	pv->vif = 1;
	expect_irq_at_entry(resume(SEL_SELF_PD, 0), 4, 1);
	cr_expect_eq(pv->user.rip, 0x401234);
}

Test(kcore_pv_events, irqs_are_queued_in_order_not_collapsed)
{
	pv->vif = 0;
	cr_assert_eq(fake_exit_ec(resume(SEL_TASK, 0)), gk);
	cr_assert_eq(gk->regs.rip, TASK_IP);
	raise_irq(10, VIREO_OK);
	raise_irq(11, VIREO_OK);
	raise_irq(10, VIREO_OK);
	cr_expect_eq(pv->irq_pending, 3, "three IRQs must wait, not one bit");
	fake_exception(gk, 3, 0, 0); /* the task traps; the guest kernel opens vif */
	cr_assert_eq(pv->cause, VCPU_CAUSE_EXCEPTION);
	uint64_t want[3] = { 10, 11, 10 };
	for (unsigned i = 0; i < 3; i++) {
		pv->vif = 1;
		expect_irq_at_entry(resume(SEL_TASK, 0), want[i], 0);
		cr_expect_eq(pv->irq_pending, 2 - i);
	}
	pv->vif = 1;
	struct fake_exit x = resume(SEL_TASK, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task, "with the queue empty the task runs");
	cr_expect_eq(pv->events, 4);
}

Test(kcore_pv_events, full_queue_refuses_with_busy_and_keeps_what_it_has)
{
	for (unsigned i = 0; i < VIREO_VCPU_IRQ_QUEUE; i++) {
		raise_irq(i, VIREO_OK);
	}
	raise_irq(99, VIREO_BUSY);
	cr_expect_eq(pv->irq_pending, VIREO_VCPU_IRQ_QUEUE);
	pv->vif = 1;
	expect_irq_at_entry(resume(SEL_TASK, 0), 0, 0);
	raise_irq(99, VIREO_OK);
}

Test(kcore_pv_events, the_state_page_cannot_forge_queued_irqs)
{
	pv->irq_pending = 5; /* written by the guest kernel: not an IRQ */
	pv->vif = 1;
	struct fake_exit x = resume(SEL_TASK, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task);
	cr_expect_eq(gk->regs.rip, TASK_IP);
}

static void put_item(unsigned i, uint64_t crd, uint64_t dst_page)
{
	gk->utcb->mr[msg_item_crd(i)] = crd;
	gk->utcb->mr[msg_item_hot(i)] = dst_page << 12;
}

Test(kcore_pv_events, resume_with_items_maps_into_the_task_then_enters_it)
{
	for (unsigned i = 0; i < 2; i++) {
		paddr_t pa = frame_alloc(0);
		cr_assert(pa_valid(pa));
		cr_assert_eq(pd_grant_memory(gk_pd, VA_PAGE + i * PAGE_SIZE, pa, 0, MEM_R | MEM_W),
			     VIREO_OK);
	}
	gk->utcb->untyped = 0;
	gk->utcb->typed = 2;
	put_item(0, vireo_crd(CRD_MEM, VA_PAGE >> 12, 0, MEM_R | MEM_W), TASK_VA >> 12);
	put_item(1, vireo_crd(CRD_MEM, (VA_PAGE >> 12) + 1, 0, MEM_R), (TASK_VA >> 12) + 1);
	struct fake_exit x = resume(SEL_TASK, VIREO_RESUME_ITEMS);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task, "the resume did not enter the task (status %lu)",
		     (unsigned long)gk->regs.rax);
	paddr_t a, b, c;
	unsigned attr;
	uint64_t size;
	cr_assert(pt_lookup(&gk_pd->pt, VA_PAGE, &a, &attr, &size));
	cr_assert(pt_lookup(&task->pt, TASK_VA, &b, &attr, &size), "item 0 not mapped");
	cr_expect_eq(pa_addr(a), pa_addr(b));
	cr_assert(pt_lookup(&task->pt, TASK_VA + PAGE_SIZE, &c, &attr, &size), "item 1 not mapped");
}

Test(kcore_pv_events, resume_with_a_bad_item_is_refused_and_does_not_enter)
{
	gk->utcb->untyped = 0;
	gk->utcb->typed = 1;
	put_item(0, vireo_crd(CRD_MEM, VA_PAGE >> 12, 0, MEM_R), TASK_VA >> 12); /* not held */
	struct fake_exit x = resume(SEL_TASK, VIREO_RESUME_ITEMS);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_CAP);
	cr_expect_null(gk->pv_task);
}

Test(kcore_pv_events, resume_with_unknown_flags_is_bad_par)
{
	struct fake_exit x = resume(SEL_TASK, 0x2);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_PAR);
	x = resume(SEL_SELF_PD, VIREO_RESUME_ITEMS);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_PAR, "items into its own PD make no sense");
	cr_expect_null(gk->pv_task);
}

Test(kcore_pv_events, each_task_has_an_fpu_state_apart_from_the_vcpu)
{
	void *own = gk->fpu;
	cr_assert_not_null(own);
	cr_assert_eq(fake_exit_ec(resume(SEL_TASK, 0)), gk);
	cr_assert_not_null(task->pv_fpu);
	cr_expect_eq(gk->fpu, task->pv_fpu, "the task runs on the guest kernel's FPU state");
	cr_expect_neq(gk->fpu, own);
	fake_exception(gk, 3, 0, 0);
	cr_expect_eq(gk->fpu, own, "the guest kernel did not get its own FPU state back");
	cr_assert_eq(fake_exit_ec(resume(SEL_TASK2, 0)), gk);
	cr_expect_eq(gk->fpu, task2->pv_fpu);
	cr_expect_neq(task2->pv_fpu, task->pv_fpu, "two processes share one FPU state");
	fake_exception(gk, 3, 0, 0);
	cr_expect_eq(gk->fpu, own);
}

Test(kcore_pv_events, task_fpu_state_is_charged_to_the_task_and_freed_with_it)
{
	uint64_t used = task->quota.used;
	cr_assert_eq(fake_exit_ec(resume(SEL_TASK, 0)), gk);
	cr_expect_gt(task->quota.used, used, "the task's FPU state is not charged to the task");
	fake_exception(gk, 3, 0, 0);
}

/* A task the guest kernel makes, runs once and revokes, by system call. */
static void task_round(void)
{
	struct fake_exit x = fake_syscall(gk, SYS_CREATE_PD, 20, SEL_SELF_PD, 128 << 10, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_assert_eq(gk->regs.rax, VIREO_OK);
	struct pd *t = (struct pd *)pd_lookup_obj(gk_pd, 20, OBJ_PD, 0);
	cr_assert_not_null(t);
	pv->user.rip = TASK_IP;
	pv->user.rsp = TASK_SP;
	pv->vif = 0;
	cr_assert_eq(fake_exit_ec(resume(20, 0)), gk);
	cr_assert_not_null(t->pv_fpu);
	fake_exception(gk, 14, 4, TASK_IP); /* its first instruction faults: back to the vCPU */
	cr_assert_eq(pv->cause, VCPU_CAUSE_EXCEPTION);
	x = fake_syscall(gk, SYS_REVOKE, vireo_crd(CRD_OBJ, 20, 0, RIGHTS_ALL), VIREO_REVOKE_SELF,
			 0, 0, 0);
	cr_assert_eq(gk->regs.rax, VIREO_OK);
}

Test(kcore_pv_events, a_revoked_task_takes_its_fpu_state_along)
{
	task_round(); /* the first round also fills the slab caches */
	uint64_t used = gk_pd->quota.used;
	struct fake_counts before = fake_counts();
	task_round();
	struct fake_counts after = fake_counts();
	cr_expect(fake_counts_equal(&before, &after), "a task round leaked (see stderr)");
	cr_expect_eq(gk_pd->quota.used, used,
		     "the task's quota (with its FPU state) came not back");
}
