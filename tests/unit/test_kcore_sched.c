/* SPDX-License-Identifier: MIT */
/* The scheduler on fake CPUs: priorities, round robin by quantum, blocking, idling, kicks. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "klock.h"
#include "sched.h"
#include "sm.h"

/* One tick per quantum: 1,000,000 / TIMER_HZ microseconds. */
#define ONE_TICK (1000000 / TIMER_HZ)

static struct pd *pd;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	pd = fake_pd("task", 1 << 20);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_sched, .init = setup, .fini = teardown);

static struct ec *running(struct fake_exit x)
{
	cr_assert(!klock_held(), "kernel lock held in user mode");
	/* SYSRET for an EC that blocked in a system call, IRET for one that was preempted. */
	cr_assert(x.kind == FAKE_EXIT_IRET || x.kind == FAKE_EXIT_SYSRET,
		  "expected a return to user mode, got way %d", x.kind);
	return fake_exit_ec(x);
}

Test(kcore_sched, nothing_runnable_goes_idle)
{
	struct fake_exit x = fake_schedule();
	cr_expect_eq(x.kind, FAKE_EXIT_STACK);
	cr_expect_eq(x.fn, sched_idle, "an empty run queue must end in the idle loop");
}

Test(kcore_sched, two_scs_of_one_priority_alternate_every_quantum)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	struct sc *sa = fake_sc(a, 5, ONE_TICK);
	struct sc *sb = fake_sc(b, 5, ONE_TICK);
	struct ec *now = running(fake_schedule());
	cr_assert_eq(now, a, "the first SC queued runs first");
	const struct ec *expect[] = { b, a, b, a, b };
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		now = running(fake_timer(now));
		cr_expect_eq(now, expect[i], "tick %zu: %s runs, expected %s", i + 1, now->name,
			     expect[i]->name);
	}
	cr_expect_eq(sa->consumed, 3); /* ticks 1, 3, 5 */
	cr_expect_eq(sb->consumed, 2); /* ticks 2, 4 */
}

Test(kcore_sched, longer_quantum_runs_for_more_ticks)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 5, 3 * ONE_TICK);
	fake_sc(b, 5, ONE_TICK);
	struct ec *now = running(fake_schedule());
	const struct ec *expect[] = { a, a, b, a, a, a, b };
	cr_assert_eq(now, a);
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		now = running(fake_timer(now));
		cr_expect_eq(now, expect[i], "tick %zu: %s runs, expected %s", i + 1, now->name,
			     expect[i]->name);
	}
}

Test(kcore_sched, higher_priority_always_runs_first)
{
	struct ec *lo = fake_ec(pd, "lo", false, 0, 0);
	struct ec *hi = fake_ec(pd, "hi", false, 0, 0);
	fake_sc(lo, 1, ONE_TICK);
	fake_sc(hi, 9, ONE_TICK);
	struct ec *now = running(fake_schedule());
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(now, hi, "round %d: the low-priority SC ran", i);
		now = running(fake_timer(now));
	}
}

Test(kcore_sched, exit_switches_to_the_next_sc)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 5, ONE_TICK);
	fake_sc(b, 5, ONE_TICK);
	cr_assert_eq(running(fake_schedule()), a);
	cr_expect_eq(running(fake_syscall(a, SYS_EC_EXIT, 0, 0, 0, 0, 0)), b);
	cr_expect_eq(a->state, EC_DEAD);
	/* b alone is left: it keeps running tick after tick. */
	cr_expect_eq(running(fake_timer(b)), b);
	cr_expect_eq(running(fake_timer(b)), b);
}

Test(kcore_sched, blocking_on_a_semaphore_runs_the_other_sc_until_an_up)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 5, ONE_TICK);
	fake_sc(b, 5, ONE_TICK);
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(pd, 50, &sm->obj, RIGHTS_ALL);
	cr_assert_eq(running(fake_schedule()), a);
	/* a blocks: b runs, and keeps running while a waits. */
	cr_assert_eq(
		running(fake_syscall(a, SYS_SM_CTRL, 50, VIREO_SM_DOWN, VIREO_TIMEOUT_NEVER, 0, 0)),
		b);
	cr_expect_eq(a->state, EC_WAITING);
	cr_expect_eq(running(fake_timer(b)), b);
	/* b's up makes a runnable again; a finishes its down with OK at its next turn. */
	struct fake_exit x = fake_syscall(b, SYS_SM_CTRL, 50, VIREO_SM_UP, 0, 0, 0);
	struct ec *now = fake_exit_ec(x);
	if (now == b) {
		cr_expect_eq(b->regs.rax, VIREO_OK);
		now = running(fake_timer(b));
	}
	cr_expect_eq(now, a, "the woken EC never ran");
	cr_expect_eq(a->regs.rax, VIREO_OK);
	cr_expect_eq(a->state, EC_READY);
}

Test(kcore_sched, waking_an_sc_of_another_cpu_kicks_that_cpu)
{
	struct ec *far = fake_ec(pd, "far", false, 1, 0);
	unsigned before = fake_cpu_log.kicks[1];
	fake_sc(far, 5, ONE_TICK);
	cr_expect_eq(fake_cpu_log.kicks[1], before + 1, "CPU 1 was not told about its new SC");
	cr_expect_eq(fake_cpu_log.kicks[0], 0, "CPU 0 kicked itself");
	/* CPU 0 has nothing to run; CPU 1 runs it. */
	cr_expect_eq(fake_schedule().kind, FAKE_EXIT_STACK);
	fake_cpu_set(1);
	cr_expect_eq(running(fake_schedule()), far);
}

Test(kcore_sched, down_with_a_timeout_gives_up_after_that_many_ticks)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 6, ONE_TICK);
	fake_sc(b, 5, 100 * ONE_TICK);
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(pd, 50, &sm->obj, RIGHTS_ALL);
	cr_assert_eq(running(fake_schedule()), a);
	/* 2 ticks of timeout; b runs meanwhile. */
	struct ec *now =
		running(fake_syscall(a, SYS_SM_CTRL, 50, VIREO_SM_DOWN, 2 * ONE_TICK, 0, 0));
	cr_assert_eq(now, b);
	now = running(fake_timer(b));
	cr_expect_eq(now, b, "the timeout expired a tick early");
	now = running(fake_timer(b));
	cr_expect_eq(now, a, "the timeout did not wake the higher-priority waiter");
	cr_expect_eq(a->regs.rax, VIREO_TIMEOUT);
	cr_expect_null(sm->waiters, "the timed-out EC is still queued on the semaphore");
}

Test(kcore_sched, up_before_the_timeout_cancels_it)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 6, ONE_TICK);
	fake_sc(b, 5, 100 * ONE_TICK);
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(pd, 50, &sm->obj, RIGHTS_ALL);
	cr_assert_eq(running(fake_schedule()), a);
	cr_assert_eq(running(fake_syscall(a, SYS_SM_CTRL, 50, VIREO_SM_DOWN, 2 * ONE_TICK, 0, 0)),
		     b);
	cr_assert_eq(running(fake_syscall(b, SYS_SM_CTRL, 50, VIREO_SM_UP, 0, 0, 0)), a);
	cr_expect_eq(a->regs.rax, VIREO_OK);
	cr_expect_eq(a->timeout_at, 0, "the timeout stayed armed after the up");
	/* A later down blocks again with no stale timeout waking it. */
	cr_assert_eq(
		running(fake_syscall(a, SYS_SM_CTRL, 50, VIREO_SM_DOWN, VIREO_TIMEOUT_NEVER, 0, 0)),
		b);
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(running(fake_timer(b)), b, "tick %d woke the waiter", i);
	}
	cr_expect_eq(a->state, EC_WAITING);
}

/* Issue 8, defect 8: timeout_us * TIMER_HZ wrapped for huge finite timeouts (2^62 * 100 is 0 mod
 * 2^64), so a "wait for centuries" returned TIMEOUT at the next tick. */
Test(kcore_sched, a_huge_finite_timeout_does_not_wrap_into_a_short_one)
{
	struct ec *a = fake_ec(pd, "a", false, 0, 0);
	struct ec *b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 6, ONE_TICK);
	fake_sc(b, 5, 100 * ONE_TICK);
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(pd, 50, &sm->obj, RIGHTS_ALL);
	cr_assert_eq(running(fake_schedule()), a);
	struct ec *now = running(fake_syscall(a, SYS_SM_CTRL, 50, VIREO_SM_DOWN, 1ull << 62, 0, 0));
	cr_assert_eq(now, b);
	for (int t = 0; t < 5; t++) {
		now = running(fake_timer(b));
		cr_expect_eq(now, b, "the waiter woke after %d ticks of a 2^62 us timeout", t + 1);
	}
	cr_expect_not_null(sm->waiters, "the waiter left the semaphore");
	/* An up still wakes it. */
	now = running(fake_syscall(b, SYS_SM_CTRL, 50, VIREO_SM_UP, 0, 0, 0));
	cr_expect_eq(now, a);
	cr_expect_eq(a->regs.rax, VIREO_OK);
}
