/* SPDX-License-Identifier: MIT */
/* The per-CPU one-shot timers (kernel/timer.c): timeouts to the microsecond beside a 100 Hz tick. */
#include <criterion/criterion.h>

#include "fake_apic.h"
#include "fake_cpu.h"
#include "fake_kernel.h"
#include "klock.h"
#include "sm.h"
#include "timer.h"
#include "x86/idt.h"
#include "x86/trap.h"

static struct pd *pd;
static struct sm *sm;
static struct ec *a, *b;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	pd = fake_pd("task", 1 << 20);
	a = fake_ec(pd, "a", false, 0, 0);
	b = fake_ec(pd, "b", false, 0, 0);
	fake_sc(a, 6, TIMER_TICK_NS / 1000);
	fake_sc(b, 5, 100 * TIMER_TICK_NS / 1000);
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(pd, 50, &sm->obj, RIGHTS_ALL);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_timer, .init = setup, .fini = teardown);

static struct ec *running(struct fake_exit x)
{
	cr_assert(!klock_held(), "kernel lock held in user mode");
	cr_assert(x.kind == FAKE_EXIT_IRET || x.kind == FAKE_EXIT_SYSRET,
		  "expected a return to user mode, got way %d", x.kind);
	return fake_exit_ec(x);
}

/* The timer interrupt after `us` microseconds, without the tick fake_timer adds. */
static struct ec *after_us(struct ec *now, uint64_t us)
{
	fake_clock_advance(us * 1000);
	return running(fake_interrupt(now, VEC_TIMER));
}

static struct ec *down(struct ec *ec, uint64_t us)
{
	return running(fake_syscall(ec, SYS_SM_CTRL, 50, VIREO_SM_DOWN, us, 0, 0));
}

Test(kcore_timer, a_150us_timeout_programs_the_timer_for_150us_and_expires_then)
{
	/* The tick first, so that the next one is 10 ms away. */
	cr_assert_eq(running(fake_schedule()), a);
	cr_assert_eq(running(fake_timer(a)), a);
	cr_assert_eq(down(a, 150), b);
	cr_expect_eq(fake_apic.timer_delta[0], 150000, "timer programmed for %lu ns, not 150 us",
		     (unsigned long)fake_apic.timer_delta[0]);
	uint64_t ticks = this_cpu()->ticks;
	cr_expect_eq(after_us(b, 149), b, "the timeout expired 1 us early");
	cr_expect_eq(fake_apic.timer_delta[0], 1000, "not reprogrammed for the last microsecond");
	cr_expect_eq(after_us(b, 1), a, "the timeout did not expire after 150 us");
	cr_expect_eq(a->regs.rax, VIREO_TIMEOUT);
	cr_expect_eq(this_cpu()->ticks, ticks, "a timeout interrupt counted as a scheduler tick");
	cr_expect_null(sm->waiters);
	/* Nothing waits: the timer is programmed for the next tick, 10 ms after the last. */
	cr_expect_eq(fake_apic.timer_delta[0], TIMER_TICK_NS - 150000);
}

Test(kcore_timer, timeouts_expire_in_deadline_order_whatever_order_they_were_set)
{
	struct ec *c = fake_ec(pd, "c", false, 0, 0);
	struct ec *d = fake_ec(pd, "d", false, 0, 0);
	fake_sc(c, 7, TIMER_TICK_NS / 1000);
	fake_sc(d, 8, TIMER_TICK_NS / 1000);
	cr_assert_eq(running(fake_schedule()), d);
	cr_assert_eq(running(fake_timer(d)), d);
	cr_assert_eq(down(d, 300), c);
	cr_assert_eq(down(c, 100), a);
	cr_assert_eq(down(a, 200), b);
	cr_expect_eq(fake_apic.timer_delta[0], 100000, "not programmed for the earliest");
	cr_expect_eq(after_us(b, 100), c);
	cr_expect_eq(down(c, VIREO_TIMEOUT_NEVER), b);
	cr_expect_eq(after_us(b, 100), a);
	cr_expect_eq(down(a, VIREO_TIMEOUT_NEVER), b);
	cr_expect_eq(after_us(b, 50), b, "d woke 50 us early");
	cr_expect_eq(after_us(b, 50), d);
	cr_expect_eq(d->regs.rax, VIREO_TIMEOUT);
	cr_expect_eq(timer_next_deadline(0), UINT64_MAX, "a timeout is still queued");
}

Test(kcore_timer, an_up_removes_the_timeout_and_its_interrupt_finds_nothing)
{
	cr_assert_eq(running(fake_schedule()), a);
	cr_assert_eq(running(fake_timer(a)), a);
	cr_assert_eq(down(a, 500), b);
	cr_assert_eq(running(fake_syscall(b, SYS_SM_CTRL, 50, VIREO_SM_UP, 0, 0, 0)), a);
	cr_expect_eq(a->regs.rax, VIREO_OK);
	cr_expect_eq(a->timeout_at, 0);
	cr_expect_eq(timer_next_deadline(0), UINT64_MAX);
	cr_assert_eq(down(a, VIREO_TIMEOUT_NEVER), b);
	cr_expect_eq(after_us(b, 500), b, "the cancelled timeout woke the waiter");
	cr_expect_eq(a->state, EC_WAITING);
}

Test(kcore_timer, the_scheduler_tick_stays_at_100hz_among_timeout_interrupts)
{
	cr_assert_eq(running(fake_schedule()), a);
	cr_assert_eq(running(fake_timer(a)), a);
	uint64_t ticks = this_cpu()->ticks;
	/* a sleeps 1 ms at a time: ten wake-ups per tick period. */
	struct ec *now = down(a, 1000);
	for (int i = 0; i < 30; i++) {
		now = after_us(now, 1000);
		cr_assert_eq(now, a, "wake-up %d did not come after 1 ms", i);
		now = down(a, 1000);
	}
	cr_expect_eq(this_cpu()->ticks - ticks, 3, "%lu ticks in 30 ms",
		     (unsigned long)(this_cpu()->ticks - ticks));
}

Test(kcore_timer, a_timeout_waits_on_the_queue_of_its_own_cpu)
{
	struct ec *far = fake_ec(pd, "far", false, 1, 0);
	fake_sc(far, 6, TIMER_TICK_NS / 1000);
	fake_cpu_set(1);
	cr_assert_eq(running(fake_schedule()), far);
	cr_assert_eq(running(fake_timer(far)), far);
	cr_assert_eq(fake_syscall(far, SYS_SM_CTRL, 50, VIREO_SM_DOWN, 200, 0, 0).kind,
		     FAKE_EXIT_STACK);
	cr_expect_eq(timer_next_deadline(0), UINT64_MAX, "queued on CPU 0");
	cr_expect_neq(timer_next_deadline(1), UINT64_MAX, "not queued on CPU 1");
	cr_expect_eq(fake_apic.timer_delta[1], 200000);
	/* CPU 0's interrupt leaves it alone; CPU 1's (in its idle loop) expires it. */
	fake_clock_advance(300000);
	struct regs frame = { .vector = VEC_TIMER };
	fake_cpu_set(0);
	x86_trap_kernel(&frame);
	cr_expect_eq(far->state, EC_WAITING, "CPU 0's timer expired CPU 1's timeout");
	fake_cpu_set(1);
	x86_trap_kernel(&frame);
	cr_expect_eq(running(fake_schedule()), far);
	cr_expect_eq(far->regs.rax, VIREO_TIMEOUT);
}

Test(kcore_timer, a_timeout_of_2_to_the_63_us_saturates_instead_of_wrapping)
{
	cr_assert_eq(running(fake_schedule()), a);
	cr_assert_eq(running(fake_timer(a)), a);
	cr_assert_eq(down(a, 1ull << 63), b);
	cr_expect_eq(a->timeout_at, UINT64_MAX - 1);
	cr_expect_eq(fake_apic.timer_delta[0], TIMER_TICK_NS, "the tick comes first");
	cr_expect_eq(after_us(b, 1000000), b);
	cr_expect_eq(a->state, EC_WAITING);
}
