/* SPDX-License-Identifier: MIT */
/*
 * Calls to a vCPU (docs/ABI.md "Calls to a vCPU"): a portal call to a vCPU EC becomes a vCPU event
 * (VCPU_CAUSE_IPC) with the portal id and the message words, in virtual user mode and in the
 * vCPU's own code; with the virtual IF closed it waits in line, in order with the IRQs; the vCPU
 * replies with SYS_REPLY_WAIT and goes on; callers and the vCPU may die at every stage; the fast
 * path leaves all of it to ipc.c.
 */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "fastpath.h"
#include "klock.h"
#include "obj.h"
#include "sm.h"
#include "vcpu.h"

#define SEL_TASK 2
#define SEL_VCPU 3
#define SEL_SM 5
#define SEL_PT 40
#define SEL_PT_MID 41
#define VA_STATE 0x7e0000000000ull
#define ENTRY_IP 0x500000ull
#define ENTRY_SP 0x600000ull
#define TASK_IP 0x401000ull
#define TASK_SP 0x7000000ull
#define PT_ID 0xca11
#define MID_IP 0x402000ull
#define NCALLERS 3

static struct pd *gk_pd, *task, *cl_pd;
static struct ec *gk, *timer, *cl[NCALLERS];
static struct portal *pt;
static struct vireo_vcpu_pv *pv;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	gk_pd = fake_pd("guest kernel", 1 << 20);
	task = fake_pd("process", 1 << 20);
	cl_pd = fake_pd("native", 1 << 20);
	fake_cap(gk_pd, SEL_TASK, &task->obj, RIGHTS_ALL);
	fake_cap(gk_pd, SEL_SELF_PD, &gk_pd->obj, RIGHTS_ALL);
	gk = fake_ec(gk_pd, "vcpu", false, 0, 0);
	fake_sc(gk, 5, 10000);
	cr_assert_eq(vcpu_attach(gk, VA_STATE), VIREO_OK);
	fake_cap(gk_pd, SEL_VCPU, &gk->obj, RIGHTS_ALL);
	timer = fake_ec(gk_pd, "timer", false, 0, 0);
	pt = fake_portal(gk, 0x403000, 0, PT_ID);
	fake_cap(cl_pd, SEL_PT, &pt->obj, RIGHT_PT_CALL);
	fake_cap(gk_pd, SEL_PT, &pt->obj, RIGHT_PT_CALL);
	for (unsigned i = 0; i < NCALLERS; i++) {
		cl[i] = fake_ec(cl_pd, "caller", false, 0, 0);
		fake_sc(cl[i], 3, 10000); /* below the vCPU: it runs as soon as they wait */
	}
	pv = (struct vireo_vcpu_pv *)((char *)gk->vcpu->page + VIREO_VCPU_PV_OFFSET);
	pv->entry_ip = ENTRY_IP;
	pv->entry_sp = ENTRY_SP;
	pv->user.rip = TASK_IP;
	pv->user.rsp = TASK_SP;
	pv->ipc_accept = 1;
	cr_assert_eq(fake_exit_ec(fake_schedule()), gk);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_pv_ipc, .init = setup, .fini = teardown);

static struct fake_exit resume(uint64_t sel)
{
	return fake_syscall(gk, SYS_VCPU_RESUME, sel, 0, 0, 0, 0);
}

/* The vCPU enters its task with virtual interrupts `vif`. */
static void run_task(uint32_t vif)
{
	pv->user.rip = TASK_IP;
	pv->user.rsp = TASK_SP;
	pv->vif = vif;
	struct fake_exit x = resume(SEL_TASK);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_assert_eq(gk->pv_task, task, "the vCPU did not enter its task");
	cr_assert_eq(gk->regs.rip, TASK_IP);
}

/* `c` calls the vCPU's portal with the two words w, w + 1. */
static struct fake_exit call(struct ec *c, uint64_t w)
{
	c->utcb->untyped = 2;
	c->utcb->typed = 0;
	c->utcb->mr[0] = w;
	c->utcb->mr[1] = w + 1;
	return fake_syscall(c, SYS_CALL, SEL_PT, 0, 0, 0, 0);
}

static void raise_irq(uint64_t label)
{
	struct fake_exit x = fake_syscall(timer, SYS_VCPU_IRQ, SEL_VCPU, label, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), timer);
	cr_assert_eq(timer->regs.rax, VIREO_OK);
}

static void expect_call_at_entry(struct fake_exit x, uint64_t w, uint32_t from_own)
{
	cr_assert_eq(fake_exit_ec(x), gk, "the vCPU does not run");
	cr_assert_eq(pv->cause, VCPU_CAUSE_IPC, "cause %u, not a call", pv->cause);
	cr_expect_eq(gk->regs.rip, ENTRY_IP, "the call did not enter at the entry point");
	cr_expect_eq(gk->regs.rsp, ENTRY_SP);
	cr_expect_eq(pv->ipc_label, PT_ID, "the vCPU must see the portal id");
	cr_expect_eq(gk->regs.rdi, PT_ID, "the portal id is in RDI as for a handler");
	cr_expect_eq(gk->utcb->untyped, 2);
	cr_expect_eq(gk->utcb->mr[0], w, "word 0 is %#lx, expected %#lx",
		     (unsigned long)gk->utcb->mr[0], (unsigned long)w);
	cr_expect_eq(gk->utcb->mr[1], w + 1);
	cr_expect_eq(gk->utcb->mtd, 0, "an ordinary call has no exception state");
	cr_expect_eq(pv->from_own, from_own);
	cr_expect_eq(pv->vif, 0, "events enter with virtual interrupts off");
	cr_expect_eq(pv->vif_own, 0);
	cr_expect_null(gk->pv_task);
}

static void expect_irq_at_entry(struct fake_exit x, uint64_t label)
{
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_assert_eq(pv->cause, VCPU_CAUSE_IRQ, "cause %u, not an IRQ", pv->cause);
	cr_expect_eq(pv->irq_label, label, "IRQ %lu, expected %lu", (unsigned long)pv->irq_label,
		     (unsigned long)label);
}

/* The vCPU replies with one word; the status of SYS_REPLY_WAIT is returned. */
static uint64_t vreply(uint64_t w)
{
	gk->utcb->untyped = 1;
	gk->utcb->typed = 0;
	gk->utcb->mr[0] = w;
	struct fake_exit x = fake_syscall(gk, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk, "the vCPU must go on after its reply");
	return gk->regs.rax;
}

static void kill(struct ec *ec)
{
	klock_acquire();
	ec_kill(ec, NULL);
	klock_release();
}

Test(kcore_pv_ipc, call_interrupts_the_task_when_vif_is_open)
{
	run_task(1);
	gk->regs.rbx = 0xb0b; /* the task's state at the moment the call comes */
	struct fake_exit x = call(cl[0], 0x100);
	expect_call_at_entry(x, 0x100, 0);
	cr_expect_eq(pv->user.rip, TASK_IP, "the task's state was not saved");
	cr_expect_eq(pv->user.rbx, 0xb0b);
	cr_expect_eq(cl[0]->state, EC_CALLING);
	cr_expect_eq(pv->ipc_pending, 0);
	cr_expect_eq(pv->events, 1, "one event: the call");
}

Test(kcore_pv_ipc, call_interrupts_own_code_when_vif_own_is_open)
{
	gk->regs.rip = 0x401234;
	gk->regs.rsp = 0x7000100;
	pv->vif_own = 1;
	struct fake_exit x = call(cl[0], 0x200);
	expect_call_at_entry(x, 0x200, 1);
	cr_expect_eq(pv->user.rip, 0x401234, "the interrupted own RIP was not saved");
	cr_expect_eq(pv->user.rsp, 0x7000100);
}

Test(kcore_pv_ipc, reply_returns_words_to_the_caller_and_the_vcpu_resumes_its_task)
{
	run_task(1);
	expect_call_at_entry(call(cl[0], 0x300), 0x300, 0);
	cr_expect_eq(vreply(0x301 * 2), VIREO_OK);
	cr_expect_eq(cl[0]->state, EC_READY, "the caller was not woken by the reply");
	cr_expect_eq(cl[0]->regs.rax, VIREO_OK);
	cr_expect_eq(cl[0]->utcb->untyped, 1);
	cr_expect_eq(cl[0]->utcb->mr[0], 0x602);
	cr_expect_null(cl[0]->queued_on);
	cr_expect(cl[0]->sc->queued, "the caller's SC is not runnable again");
	/* ... and the vCPU goes back to what the call interrupted. */
	pv->vif = 1;
	struct fake_exit x = resume(SEL_TASK);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task);
	cr_expect_eq(gk->regs.rip, TASK_IP);
	fake_exception(gk, 3, 0, 0); /* back in its own code */
	cr_expect_eq(vreply(1), VIREO_BAD_CAP, "a second reply to the same call");
}

Test(kcore_pv_ipc, call_waits_while_vif_is_closed_and_comes_when_it_opens)
{
	run_task(0);
	struct fake_exit x = call(cl[0], 0x400);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task, "the call came in although vif was closed");
	cr_expect_eq(gk->regs.rip, TASK_IP);
	cr_expect_eq(cl[0]->state, EC_WAITING);
	cr_expect_eq(pv->ipc_pending, 1, "the waiting call is not published");
	cr_expect(!cl[0]->sc->queued, "a waiting caller's SC must not run");
	/* vif_own does not open the task. */
	fake_exception(gk, 3, 0, 0);
	cr_assert_eq(pv->cause, VCPU_CAUSE_EXCEPTION);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x400, 0);
	cr_expect_eq(pv->ipc_pending, 0);
	cr_expect_eq(pv->user.rip, TASK_IP);
}

Test(kcore_pv_ipc, calls_queue_in_order_never_collapse_and_one_is_served_at_a_time)
{
	run_task(0);
	for (unsigned i = 0; i < NCALLERS; i++) {
		call(cl[i], 0x1000 * (i + 1));
	}
	cr_expect_eq(pv->ipc_pending, NCALLERS, "three calls must wait, not one");
	fake_exception(gk, 3, 0, 0);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x1000, 0);
	/* While the first is served, the others stay queued even with vif open. */
	pv->vif = 1;
	struct fake_exit x = resume(SEL_TASK);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->pv_task, task, "a second call came before the first was replied to");
	cr_expect_eq(pv->ipc_pending, NCALLERS - 1);
	fake_exception(gk, 3, 0, 0);
	cr_expect_eq(vreply(1), VIREO_OK);
	for (unsigned i = 1; i < NCALLERS; i++) {
		pv->vif = 1;
		expect_call_at_entry(resume(SEL_TASK), 0x1000 * (i + 1), 0);
		cr_expect_eq(pv->ipc_pending, NCALLERS - 1 - i);
		cr_expect_eq(vreply(i + 1), VIREO_OK);
	}
	for (unsigned i = 0; i < NCALLERS; i++) {
		cr_expect_eq(cl[i]->state, EC_READY);
		cr_expect_eq(cl[i]->utcb->mr[0], i + 1, "caller %u got another's reply", i);
	}
	run_task(1);
	cr_expect_eq(gk->pv_task, task, "with nothing queued the task runs");
}

Test(kcore_pv_ipc, irqs_and_calls_are_delivered_in_the_order_they_came)
{
	run_task(0);
	raise_irq(10);
	call(cl[0], 0xa0);
	raise_irq(11);
	call(cl[1], 0xb0);
	raise_irq(12);
	cr_expect_eq(pv->irq_pending, 3);
	cr_expect_eq(pv->ipc_pending, 2);
	fake_exception(gk, 3, 0, 0);
	pv->vif = 1;
	expect_irq_at_entry(resume(SEL_TASK), 10);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0xa0, 0);
	pv->vif = 1;
	/* The call is served, the IRQ behind it need not wait for the reply. */
	expect_irq_at_entry(resume(SEL_TASK), 11);
	cr_expect_eq(vreply(0), VIREO_OK);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0xb0, 0);
	cr_expect_eq(vreply(0), VIREO_OK);
	pv->vif = 1;
	expect_irq_at_entry(resume(SEL_TASK), 12);
	cr_expect_eq(pv->irq_pending, 0);
	cr_expect_eq(pv->ipc_pending, 0);
}

Test(kcore_pv_ipc, a_call_waiting_behind_a_served_one_lets_later_irqs_pass)
{
	run_task(1);
	expect_call_at_entry(call(cl[0], 0x10), 0x10, 0);
	call(cl[1], 0x20); /* waits: the first is being served */
	raise_irq(5);
	pv->vif = 1;
	expect_irq_at_entry(resume(SEL_TASK), 5);
	cr_expect_eq(vreply(0), VIREO_OK);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x20, 0);
}

Test(kcore_pv_ipc, caller_dying_in_line_leaves_it_and_the_next_call_is_delivered)
{
	run_task(0);
	call(cl[0], 0x10);
	call(cl[1], 0x20);
	kill(cl[0]);
	cr_expect_eq(pv->ipc_pending, 1, "the dead caller is still counted");
	cr_expect_null(cl[0]->queued_on);
	fake_exception(gk, 3, 0, 0);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x20, 0);
	cr_expect_eq(vreply(7), VIREO_OK);
	cr_expect_eq(cl[1]->utcb->mr[0], 7);
}

Test(kcore_pv_ipc, caller_dying_while_served_makes_the_reply_aborted)
{
	run_task(1);
	expect_call_at_entry(call(cl[0], 0x10), 0x10, 0);
	call(cl[1], 0x20);
	kill(cl[0]);
	cr_expect_eq(cl[0]->state, EC_DEAD);
	cr_expect_eq(vreply(1), VIREO_ABORTED, "the reply must learn that the caller went");
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x20, 0);
	cr_expect_eq(vreply(2), VIREO_OK);
	cr_expect_eq(cl[1]->utcb->mr[0], 2);
}

Test(kcore_pv_ipc, caller_dying_after_the_reply_changes_nothing)
{
	run_task(1);
	expect_call_at_entry(call(cl[0], 0x10), 0x10, 0);
	cr_expect_eq(vreply(1), VIREO_OK);
	kill(cl[0]);
	run_task(1);
	cr_expect_eq(gk->pv_task, task);
	fake_exception(gk, 3, 0, 0);
	cr_expect_eq(vreply(1), VIREO_BAD_CAP);
}

Test(kcore_pv_ipc, vcpu_dying_aborts_the_served_and_the_queued_callers)
{
	run_task(1);
	expect_call_at_entry(call(cl[0], 0x10), 0x10, 0);
	call(cl[1], 0x20);
	kill(gk);
	for (unsigned i = 0; i < 2; i++) {
		cr_expect_eq(cl[i]->state, EC_READY, "caller %u still waits for a dead vCPU", i);
		cr_expect_eq(cl[i]->regs.rax, VIREO_ABORTED);
		cr_expect_null(cl[i]->queued_on);
	}
	struct fake_exit x = call(cl[2], 0x30);
	cr_expect_eq(fake_exit_ec(x), cl[2]);
	cr_expect_eq(cl[2]->regs.rax, VIREO_ABORTED, "a call to a dead vCPU");
}

/* A local handler calls the vCPU for its own caller, who then dies: the work is abandoned. */
static struct ec *mid_chain(void)
{
	struct ec *mid = fake_ec(cl_pd, "mid", true, 0, 0);
	struct portal *mp = fake_portal(mid, MID_IP, 0, 0x31d);
	fake_cap(cl_pd, SEL_PT_MID, &mp->obj, RIGHT_PT_CALL);
	struct fake_exit x = fake_syscall(cl[0], SYS_CALL, SEL_PT_MID, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), mid);
	return mid;
}

Test(kcore_pv_ipc, root_dying_while_its_handler_waits_in_the_vcpu_line_takes_it_out)
{
	struct ec *mid = mid_chain();
	run_task(0);
	call(mid, 0x50);
	cr_expect_eq(pv->ipc_pending, 1);
	kill(cl[0]);
	cr_expect_eq(mid->state, EC_WAITING, "the abandoned handler waits for its next call");
	cr_expect_null(mid->queued_on);
	cr_expect_eq(pv->ipc_pending, 0);
	fake_exception(gk, 3, 0, 0);
	run_task(1);
	cr_expect_eq(gk->pv_task, task, "an abandoned call was delivered");
}

Test(kcore_pv_ipc, root_dying_while_the_vcpu_serves_its_handler_makes_the_reply_aborted)
{
	struct ec *mid = mid_chain();
	run_task(1);
	expect_call_at_entry(call(mid, 0x60), 0x60, 0);
	kill(cl[0]);
	cr_expect_eq(mid->state, EC_WAITING);
	cr_expect_null(mid->queued_on);
	cr_expect_eq(vreply(0), VIREO_ABORTED);
}

Test(kcore_pv_ipc, reply_without_a_delivered_call_is_bad_cap)
{
	cr_expect_eq(vreply(0), VIREO_BAD_CAP);
	run_task(0);
	call(cl[0], 1); /* queued, not delivered */
	fake_exception(gk, 3, 0, 0);
	cr_expect_eq(vreply(0), VIREO_BAD_CAP, "a queued call is not yet the vCPU's to reply to");
	cr_expect_eq(cl[0]->state, EC_WAITING);
}

Test(kcore_pv_ipc, call_to_a_vcpu_that_does_not_accept_calls_is_refused_at_once)
{
	run_task(1);
	pv->ipc_accept = 0;
	struct fake_exit x = call(cl[0], 0x10);
	cr_assert_eq(fake_exit_ec(x), cl[0], "the caller must not wait");
	cr_expect_eq(cl[0]->regs.rax, VIREO_BAD_CAP);
	cr_expect_null(gk->waiters);
	cr_expect_eq(pv->ipc_pending, 0);
	cr_expect_eq(gk->pv_task, task, "the vCPU was disturbed");
}

Test(kcore_pv_ipc, calls_already_waiting_stay_when_the_vcpu_stops_accepting)
{
	run_task(0);
	call(cl[0], 0x10);
	pv->ipc_accept = 0;
	fake_exception(gk, 3, 0, 0);
	pv->vif = 1;
	expect_call_at_entry(resume(SEL_TASK), 0x10, 0);
}

Test(kcore_pv_ipc, vcpu_calling_its_own_portal_is_refused)
{
	struct fake_exit x = fake_syscall(gk, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_CAP);
	cr_expect_null(gk->waiters);
}

Test(kcore_pv_ipc, fast_path_leaves_a_call_to_a_vcpu_to_the_general_path)
{
	cr_assert(fastpath_enabled(), "the fast path is on by default");
	run_task(1);
	uint64_t vcpu_before = fastpath_stats()->call[FASTPATH_VCPU];
	uint64_t taken = fastpath_taken();
	expect_call_at_entry(call(cl[0], 0x70), 0x70, 0);
	cr_expect_eq(fastpath_stats()->call[FASTPATH_VCPU] - vcpu_before, 1,
		     "the call did not fall back for being a vCPU's");
	cr_expect_eq(vreply(1), VIREO_OK);
	cr_expect_eq(fastpath_taken(), taken, "the fast path took a vCPU's call or reply");
}

Test(kcore_pv_ipc, call_to_a_vcpu_blocked_on_a_semaphore_waits_for_it)
{
	/* A vCPU blocked in its own code is EC_WAITING with no caller, as a free local handler. */
	struct fake_exit x = fake_syscall(gk, SYS_CREATE_SM, SEL_SM, SEL_SELF_PD, 0, 0, 0);
	cr_assert_eq(gk->regs.rax, VIREO_OK);
	pv->vif_own = 1;
	x = fake_syscall(gk, SYS_SM_CTRL, SEL_SM, VIREO_SM_DOWN, VIREO_TIMEOUT_NEVER, 0, 0);
	cr_assert_eq(gk->state, EC_WAITING);
	uint64_t vcpu_before = fastpath_stats()->call[FASTPATH_VCPU];
	x = call(cl[0], 0x80);
	cr_expect_eq(fastpath_stats()->call[FASTPATH_VCPU] - vcpu_before, 1);
	cr_expect_eq(cl[0]->state, EC_WAITING);
	cr_expect_eq(gk->state, EC_WAITING, "the call must not take a blocked vCPU");
	cr_expect_eq(pv->ipc_pending, 1);
	/* The semaphore wakes it; on its way back to its own code the call comes in. */
	x = fake_syscall(timer, SYS_SM_CTRL, SEL_SM, VIREO_SM_UP, 0, 0, 0);
	cr_assert_eq(timer->regs.rax, VIREO_OK);
	x = fake_schedule();
	expect_call_at_entry(x, 0x80, 1);
	cr_expect_eq(pv->user.rax, VIREO_OK,
		     "the interrupted down's status is kept for the resume");
}

Test(kcore_pv_ipc, exception_portal_bound_to_a_vcpu_is_not_used)
{
	/* A vCPU takes calls, not exceptions: the faulting EC is killed as with no handler. */
	struct pd *f_pd = fake_pd("faulter", 1 << 20);
	struct ec *f = fake_ec(f_pd, "faulter", false, 0, 0x100);
	fake_sc(f, 1, 10000);
	fake_cap(f_pd, 0x100 + 14, &pt->obj, RIGHT_PT_CALL);
	run_task(1);
	fake_exception(f, 14, 4, 0x1000);
	cr_expect_eq(f->state, EC_DEAD);
	cr_expect_null(gk->waiters);
	cr_expect_eq(pv->ipc_pending, 0);
}

Test(kcore_pv_ipc, call_from_another_cpu_kicks_the_running_vcpu_and_the_reply_goes_back)
{
	run_task(1);
	struct ec *far = fake_ec(cl_pd, "far caller", false, 1, 0);
	fake_sc(far, 3, 10000);
	unsigned kicks0 = fake_cpu_log.kicks[0];
	fake_cpu_set(1);
	struct fake_exit x = call(far, 0x90);
	cr_expect_eq(x.kind, FAKE_EXIT_STACK, "CPU 1 has nothing else to run");
	cr_expect_gt(fake_cpu_log.kicks[0], kicks0, "the vCPU's CPU was not told");
	cr_expect_eq(pv->ipc_pending, 1);
	/* CPU 0 enters the kernel for the kick; on the way back the call comes in. */
	fake_cpu_set(0);
	expect_call_at_entry(fake_timer(gk), 0x90, 0);
	unsigned kicks1 = fake_cpu_log.kicks[1];
	cr_expect_eq(vreply(0x91), VIREO_OK);
	cr_expect_gt(fake_cpu_log.kicks[1], kicks1, "the caller's CPU was not told of the reply");
	fake_cpu_set(1);
	x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), far, "CPU 1 does not continue the caller");
	cr_expect_eq(far->regs.rax, VIREO_OK);
	cr_expect_eq(far->utcb->mr[0], 0x91);
}

/* The vCPU replies with one typed item: capability `crd` of its PD to selector `dst`. */
static uint64_t vreply_item(uint64_t crd, uint64_t dst)
{
	gk->utcb->untyped = 0;
	gk->utcb->typed = 1;
	gk->utcb->mr[VIREO_UTCB_WORDS - 2] = crd;
	gk->utcb->mr[VIREO_UTCB_WORDS - 1] = dst << 12;
	struct fake_exit x = fake_syscall(gk, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	return gk->regs.rax;
}

Test(kcore_pv_ipc, reply_delegates_an_item_into_the_callers_receive_window)
{
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(gk_pd, 50, &sm->obj, RIGHTS_ALL);
	cl[0]->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, 64, 4, 0); /* selectors 64..79 */
	run_task(1);
	expect_call_at_entry(call(cl[0], 1), 1, 0);
	cr_expect_eq(vreply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 70), VIREO_OK);
	cr_expect_eq(cl[0]->regs.rax, VIREO_OK);
	cr_expect_eq(pd_lookup_obj(cl_pd, 70, OBJ_SM, RIGHT_SM_UP), &sm->obj);
	cr_expect_null(pd_lookup_obj(cl_pd, 70, OBJ_SM, RIGHT_SM_DOWN));
}

Test(kcore_pv_ipc, reply_item_outside_the_window_is_the_callers_error_not_the_vcpus)
{
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(gk_pd, 50, &sm->obj, RIGHTS_ALL);
	cl[0]->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, 64, 4, 0);
	run_task(1);
	expect_call_at_entry(call(cl[0], 1), 1, 0);
	cr_expect_eq(vreply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 90), VIREO_OK);
	cr_expect_eq(cl[0]->regs.rax, VIREO_BAD_PAR, "the caller must learn its item was refused");
	cr_expect_null(pd_lookup_obj(cl_pd, 90, OBJ_SM, 0));
	cr_expect_eq(cl[0]->state, EC_READY);
}

Test(kcore_pv_ipc, a_cycle_through_the_vcpu_is_undone_when_the_vcpu_dies)
{
	/* The vCPU calls a local handler, which calls the vCPU back: neither can go on (as any
	 * call cycle), and the vCPU's death must leave every EC in a consistent state. */
	struct ec *mid = fake_ec(cl_pd, "mid", true, 0, 0);
	struct portal *mp = fake_portal(mid, MID_IP, 0, 0x31d);
	fake_cap(gk_pd, SEL_PT_MID, &mp->obj, RIGHT_PT_CALL);
	pv->vif_own = 1;
	struct fake_exit x = fake_syscall(gk, SYS_CALL, SEL_PT_MID, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), mid);
	x = call(mid, 0x40);
	cr_expect_eq(mid->state, EC_WAITING, "the handler waits in the vCPU's line");
	cr_expect_eq(gk->state, EC_CALLING);
	cr_expect_eq(pv->ipc_pending, 1);
	kill(gk);
	cr_expect_eq(gk->state, EC_DEAD);
	cr_expect_eq(mid->state, EC_WAITING, "the handler is free for its next call");
	cr_expect_null(mid->queued_on);
	cr_expect_null(mid->caller);
	cr_expect(!gk->sc->queued, "a dead vCPU's SC still runs");
}
