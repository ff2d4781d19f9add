/* SPDX-License-Identifier: MIT */
/* System-call dispatch on the fake arch layer: numbers, selectors, rights, user copies. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "klock.h"
#include "obj.h"
#include "sm.h"

#define SEL_PD 1
#define SEL_FREE 40

static struct pd *pd;
static struct ec *ec;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	pd = fake_pd("task", 1 << 20);
	ec = fake_ec(pd, "main", false, 0, 0);
	fake_cap(pd, SEL_PD, &pd->obj, RIGHTS_ALL);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_syscall, .init = setup, .fini = teardown);

/* The status the EC sees in RAX after it came back from the system call through SYSRET. */
static uint64_t sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	struct fake_exit x = fake_syscall(ec, nr, a0, a1, a2, a3, a4);
	cr_assert_eq(x.kind, FAKE_EXIT_SYSRET, "left the kernel by way %d", x.kind);
	cr_assert_eq(fake_exit_ec(x), ec, "returned to another EC");
	cr_assert(!klock_held(), "kernel lock still held in user mode");
	cr_assert_eq(this_cpu()->regs_top, (uint64_t)(uintptr_t)(&ec->regs + 1),
		     "the next kernel entry would not save into the EC");
	return ec->regs.rax;
}

Test(kcore_syscall, unknown_number_is_bad_sys)
{
	cr_expect_eq(sys(SYS_COUNT, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
	cr_expect_eq(sys(SYS_COUNT + 1000, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
	cr_expect_eq(sys(UINT64_MAX, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
}

Test(kcore_syscall, call_through_empty_selector_is_bad_cap)
{
	cr_expect_eq(sys(SYS_CALL, SEL_FREE, 0, 0, 0, 0), VIREO_BAD_CAP);
	cr_expect_eq(sys(SYS_CALL, VIREO_CAP_SPACE_SIZE, 0, 0, 0, 0), VIREO_BAD_CAP);
	cr_expect_eq(sys(SYS_CALL, UINT64_MAX, 0, 0, 0, 0), VIREO_BAD_CAP);
}

Test(kcore_syscall, call_through_a_pd_capability_is_bad_cap)
{
	/* Right selector, wrong object type. */
	cr_expect_eq(sys(SYS_CALL, SEL_PD, 0, 0, 0, 0), VIREO_BAD_CAP);
}

Test(kcore_syscall, create_sm_needs_the_create_right)
{
	struct pd *other = fake_pd("other", 1 << 20);
	fake_cap(pd, 2, &other->obj, RIGHT_PD_CTRL);
	unsigned sms = obj_live[OBJ_SM];
	cr_expect_eq(sys(SYS_CREATE_SM, SEL_FREE, 2, 0, 0, 0), VIREO_BAD_CAP);
	cr_expect_eq(sys(SYS_CREATE_SM, SEL_FREE, SEL_FREE + 1, 0, 0, 0), VIREO_BAD_CAP);
	cr_expect_eq(obj_live[OBJ_SM], sms, "a refused create made an SM");
}

Test(kcore_syscall, create_sm_installs_a_capability)
{
	cr_assert_eq(sys(SYS_CREATE_SM, SEL_FREE, SEL_PD, 3, 0, 0), VIREO_OK);
	struct sm *sm = (struct sm *)pd_lookup_obj(pd, SEL_FREE, OBJ_SM, RIGHT_SM_DOWN);
	cr_assert_not_null(sm);
	cr_expect_eq(sm->count, 3);
	/* The selector is taken now. */
	cr_expect_eq(sys(SYS_CREATE_SM, SEL_FREE, SEL_PD, 0, 0, 0), VIREO_BAD_CAP);
	/* Down three times without blocking, the fourth with a zero timeout times out. */
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(sys(SYS_SM_CTRL, SEL_FREE, VIREO_SM_DOWN, 0, 0, 0), VIREO_OK);
	}
	cr_expect_eq(sys(SYS_SM_CTRL, SEL_FREE, VIREO_SM_DOWN, 0, 0, 0), VIREO_TIMEOUT);
}

Test(kcore_syscall, debug_write_from_unmapped_memory_is_bad_par)
{
	cr_expect_eq(sys(SYS_DEBUG_WRITE, 0x1000, 16, 0, 0, 0), VIREO_BAD_PAR);
	cr_expect_eq(sys(SYS_DEBUG_WRITE, USER_END - 8, 16, 0, 0, 0), VIREO_BAD_PAR);
	cr_expect_eq(sys(SYS_DEBUG_WRITE, 0, VIREO_DEBUG_WRITE_MAX + 1, 0, 0, 0), VIREO_BAD_PAR);
}

Test(kcore_syscall, kstat_copies_out_to_the_utcb)
{
	/* The UTCB is the one page of user memory the EC surely has. */
	cr_assert_eq(sys(SYS_KSTAT, ec->utcb_va, 0, 0, 0, 0), VIREO_OK);
	const struct vireo_kstat *k = (const void *)ec->utcb;
	cr_expect_eq(k->pds, obj_live[OBJ_PD]);
	cr_expect_eq(k->ecs, obj_live[OBJ_EC]);
	cr_expect_gt(k->free_pages, 0);
}
