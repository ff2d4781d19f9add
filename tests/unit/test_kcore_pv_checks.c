/* SPDX-License-Identifier: MIT */
/* Virtual user mode never enters user mode at an entry point outside user space. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "obj.h"
#include "vcpu.h"
#include "virt.h"

#define SEL_TASK 2
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
	virt_init();
	gk_pd = fake_pd("guest kernel", 1 << 20);
	task = fake_pd("process", 1 << 20);
	fake_cap(gk_pd, SEL_TASK, &task->obj, RIGHTS_ALL);
	gk = fake_ec(gk_pd, "vcpu", false, 0, 0);
	fake_sc(gk, 5, 10000);
	cr_assert_eq(vcpu_attach(gk, VA_STATE), VIREO_OK);
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

TestSuite(kcore_pv_checks, .init = setup, .fini = teardown);

Test(kcore_pv_checks, resume_with_entry_point_outside_user_space_is_bad_par)
{
	static const struct {
		uint64_t ip, sp;
	} bad[] = {
		{ 0x0000800000000000ull, ENTRY_SP },
		{ 0xffffffff80200000ull, ENTRY_SP },
		{ USER_END, ENTRY_SP },
		{ ENTRY_IP, 0x0000800000000008ull },
		{ ENTRY_IP, UINT64_MAX },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pv->entry_ip = bad[i].ip;
		pv->entry_sp = bad[i].sp;
		struct fake_exit x = fake_syscall(gk, SYS_VCPU_RESUME, SEL_TASK, 0, 0, 0, 0);
		cr_assert_eq(fake_exit_ec(x), gk);
		cr_expect_eq(x.kind, FAKE_EXIT_SYSRET, "entry 0x%lx/0x%lx: the task was entered",
			     (unsigned long)bad[i].ip, (unsigned long)bad[i].sp);
		cr_expect_eq(gk->regs.rax, VIREO_BAD_PAR);
		cr_expect_null(gk->pv_task);
	}
}

Test(kcore_pv_checks, entry_point_broken_while_the_task_runs_kills_the_vcpu_at_the_event)
{
	struct fake_exit x = fake_syscall(gk, SYS_VCPU_RESUME, SEL_TASK, 0, 0, 0, 0);
	cr_assert_eq(x.kind, FAKE_EXIT_IRET);
	cr_assert_eq(gk->regs.rip, TASK_IP);
	/* Another thread of the guest kernel rewrites the state page meanwhile. */
	pv->entry_ip = 0x0000800000000000ull;
	x = fake_exception(gk, 13, 0, 0);
	cr_expect_eq(gk->state, EC_DEAD, "the vCPU took an event at a non-canonical entry point");
	cr_expect_neq(fake_exit_ec(x), gk, "the dead vCPU went back to user mode");
	cr_expect_null(gk->pv_task);
}
