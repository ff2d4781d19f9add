/* SPDX-License-Identifier: MIT */
/*
 * Virtual user mode (docs/architecture.md#virtual-user-mode): a vCPU EC runs a task's registers in the task's memory space;
 * its system calls, exceptions and IRQs come back to the vCPU's entry point as events.
 */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "obj.h"
#include "vcpu.h"
#include "virt.h"

#define SEL_TASK 2
#define SEL_VCPU 3
#define VA_STATE 0x7e0000000000ull
#define ENTRY_IP 0x500000ull
#define ENTRY_SP 0x600000ull
#define TASK_IP 0x401000ull
#define TASK_SP 0x7000000ull

static struct pd *gk_pd, *task;
static struct ec *gk;
static struct vireo_vcpu_pv *pv;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	cr_assert_null(virt, "the fake CPU has no SVM: virtual user mode needs none");
	gk_pd = fake_pd("guest kernel", 1 << 20);
	task = fake_pd("process", 1 << 20);
	fake_cap(gk_pd, SEL_TASK, &task->obj, RIGHTS_ALL);
	gk = fake_ec(gk_pd, "vcpu", false, 0, 0);
	fake_sc(gk, 5, 10000);
	cr_assert_eq(vcpu_attach(gk, VA_STATE), VIREO_OK);
	fake_cap(gk_pd, SEL_VCPU, &gk->obj, RIGHTS_ALL);
	pv = (struct vireo_vcpu_pv *)((char *)gk->vcpu->page + VIREO_VCPU_PV_OFFSET);
	pv->entry_ip = ENTRY_IP;
	pv->entry_sp = ENTRY_SP;
	pv->user.rip = TASK_IP;
	pv->user.rsp = TASK_SP;
	pv->user.rbx = 0xb0b;
	cr_assert_eq(fake_exit_ec(fake_schedule()), gk);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_pv, .init = setup, .fini = teardown);

/* SYS_VCPU_RESUME into the task: the EC must come out in user mode at the task's RIP. */
static void enter_task(void)
{
	struct fake_exit x = fake_syscall(gk, SYS_VCPU_RESUME, SEL_TASK, 0, 0, 0, 0);
	cr_assert_eq(x.kind, FAKE_EXIT_IRET, "virtual user mode is entered with the full frame");
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_assert_eq(gk->regs.rip, TASK_IP);
}

static void expect_at_entry(struct fake_exit x, unsigned cause)
{
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rip, ENTRY_IP, "the event did not go to the vCPU's entry point");
	cr_expect_eq(gk->regs.rsp, ENTRY_SP);
	cr_expect_eq(pv->cause, cause);
	cr_expect_null(gk->pv_task, "still in virtual user mode after an event");
	cr_expect_eq(fake_cpu_log.space_root[0], pa_addr(gk_pd->pt.root),
		     "the guest kernel continues in the task's memory space");
	cr_expect_eq(pv->vif, 0, "events enter with virtual interrupts off");
}

Test(kcore_pv, resume_runs_the_task_registers_in_the_task_space)
{
	enter_task();
	cr_expect_eq(gk->regs.rsp, TASK_SP);
	cr_expect_eq(gk->regs.rbx, 0xb0b);
	cr_expect_eq(gk->pv_task, task);
	cr_expect_eq(fake_cpu_log.space_root[0], pa_addr(task->pt.root),
		     "the task's registers run in another memory space");
	cr_expect_eq(gk->regs.cs, SEL_UCODE, "virtual user mode must stay in ring 3");
}

Test(kcore_pv, system_call_in_the_task_is_an_event_not_a_kernel_call)
{
	enter_task();
	struct fake_exit x = fake_syscall(gk, SYS_CREATE_SM, 40, 0, 0, 0, 0);
	expect_at_entry(x, VCPU_CAUSE_SYSCALL);
	cr_expect_eq(pv->user.rax, SYS_CREATE_SM, "the guest kernel must see the task's RAX");
	cr_expect_null(pd_lookup_obj(gk_pd, 40, OBJ_SM, 0),
		       "the task's syscall reached the kernel");
	cr_expect_eq(pv->events, 1);
}

Test(kcore_pv, page_fault_in_the_task_reports_vector_error_and_address)
{
	enter_task();
	struct fake_exit x = fake_exception(gk, 14, 6, 0xbad000);
	expect_at_entry(x, VCPU_CAUSE_EXCEPTION);
	cr_expect_eq(pv->vector, 14);
	cr_expect_eq(pv->error, 6);
	cr_expect_eq(pv->fault_addr, 0xbad000);
	cr_expect_eq(pv->user.rip, TASK_IP, "the task's RIP was not saved");
}

Test(kcore_pv, irq_waits_for_vif_and_then_enters_at_once)
{
	struct ec *other = fake_ec(gk_pd, "timer", false, 0, 0);
	pv->vif = 0;
	enter_task();
	/* Another thread raises an IRQ at the vCPU: with vif closed it only pends. */
	struct fake_exit x = fake_syscall(other, SYS_VCPU_IRQ, SEL_VCPU, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), other);
	cr_expect_eq(other->regs.rax, VIREO_OK);
	cr_expect_eq(pv->irq_pending, 1);
	/* The task traps; the guest kernel opens vif and resumes it: the IRQ arrives first. */
	fake_exception(gk, 3, 0, 0);
	cr_assert_eq(pv->cause, VCPU_CAUSE_EXCEPTION);
	pv->vif = 1;
	x = fake_syscall(gk, SYS_VCPU_RESUME, SEL_TASK, 0, 0, 0, 0);
	expect_at_entry(x, VCPU_CAUSE_IRQ);
	cr_expect_eq(pv->irq_pending, 0);
}

Test(kcore_pv, task_rip_outside_user_space_is_bad_par)
{
	pv->user.rip = USER_END;
	struct fake_exit x = fake_syscall(gk, SYS_VCPU_RESUME, SEL_TASK, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_PAR);
	cr_expect_null(gk->pv_task);
}

Test(kcore_pv, resume_into_a_vm_without_hardware_support_is_bad_ftr)
{
	struct pd *vm;
	cr_assert_eq(pd_create_vm(gk_pd, 64 << 10, PT_FMT_NPT, &vm), VIREO_OK);
	fake_cap(gk_pd, 9, &vm->obj, RIGHTS_ALL);
	struct fake_exit x = fake_syscall(gk, SYS_VCPU_RESUME, 9, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), gk);
	cr_expect_eq(gk->regs.rax, VIREO_BAD_FTR);
}
