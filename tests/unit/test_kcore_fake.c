/* SPDX-License-Identifier: MIT */
/* The fake arch layer itself: what its ways out of the kernel do and which exits it refuses. */
#include <criterion/criterion.h>
#include <signal.h>

#include "fake_kernel.h"
#include "klock.h"

static struct pd *pd;
static struct ec *ec;

static void setup(void)
{
	fake_kernel_init(16 << 20, 1);
	pd = fake_pd("task", 1 << 20);
	ec = fake_ec(pd, "main", false, 0, 0);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_fake, .init = setup, .fini = teardown);

/* Leave for user mode on `ec` the way prepare_exit does, with the frame as the test set it. */
static void exit_iret(void *arg)
{
	(void)arg;
	this_cpu()->current = ec;
	arch_set_entry_frame(&ec->regs);
	ret_user_iret(&ec->regs);
}

Test(kcore_fake, iret_with_a_proper_user_frame_returns_to_the_test)
{
	struct fake_exit x = fake_kernel_run(exit_iret, NULL);
	cr_expect_eq(x.kind, FAKE_EXIT_IRET);
	cr_expect_eq(fake_exit_ec(x), ec);
}

Test(kcore_fake, iret_to_a_non_canonical_rip_is_a_kernel_fault, .signal = SIGABRT)
{
	ec->regs.rip = 0x0000800000000000ull;
	fake_kernel_run(exit_iret, NULL);
}

Test(kcore_fake, iret_to_a_kernel_code_segment_is_refused, .signal = SIGABRT)
{
	ec->regs.cs = 0x08;
	fake_kernel_run(exit_iret, NULL);
}

Test(kcore_fake, iret_with_iopl_raised_is_refused, .signal = SIGABRT)
{
	ec->regs.rflags |= 3ull << 12;
	fake_kernel_run(exit_iret, NULL);
}

static void exit_locked(void *arg)
{
	(void)arg;
	klock_acquire();
	exit_iret(NULL);
}

Test(kcore_fake, leaving_the_kernel_with_the_lock_held_is_refused, .signal = SIGABRT)
{
	fake_kernel_run(exit_locked, NULL);
}

Test(kcore_fake, taking_the_kernel_lock_twice_is_refused, .signal = SIGABRT)
{
	klock_acquire();
	klock_acquire();
}

/* continue_on_stack: the function runs at the bottom of the stack, not below its caller. */
static uintptr_t deep_frame, restarted_frame;

static void restarted(void)
{
	restarted_frame = (uintptr_t)__builtin_frame_address(0);
	exit_iret(NULL);
}

/* Through a pointer, so the compiler does not see that the recursion ends in a noreturn call. */
static void (*volatile go_on)(uint64_t stack_top, void (*fn)(void)) = continue_on_stack;

static __attribute__((noinline)) void descend(unsigned n)
{
	char pad[256];
	__asm__ volatile("" ::"r"(pad) : "memory"); /* keep the frame */
	if (n) {
		descend(n - 1);
		return;
	}
	deep_frame = (uintptr_t)__builtin_frame_address(0);
	go_on(this_cpu()->kstack_top, restarted);
}

static void deep(void *arg)
{
	(void)arg;
	descend(20);
}

Test(kcore_fake, continue_on_stack_discards_the_stack_and_runs_the_function)
{
	unsigned resets = fake_stack_resets;
	struct fake_exit x = fake_kernel_run(deep, NULL);
	cr_expect_eq(x.kind, FAKE_EXIT_IRET, "the function given to continue_on_stack did not run");
	cr_expect_eq(fake_stack_resets, resets + 1);
	cr_expect_gt(restarted_frame, deep_frame + 20 * 256,
		     "the function ran below its caller's frames instead of on a fresh stack");
}

Test(kcore_fake, continue_on_stack_into_the_idle_loop_returns_to_the_test)
{
	struct fake_exit x = fake_schedule();
	cr_expect_eq(x.kind, FAKE_EXIT_STACK);
	cr_expect(!klock_held(), "the idle loop would run without the lock");
}
