/* SPDX-License-Identifier: MIT */
/*
 * How a host test runs a kernel path that never returns (a system call, an exception, the
 * scheduler): the ways out of the kernel (ret_user_iret, ret_user_sysret, continue_on_stack)
 * longjmp back into fake_kernel_run, which says which way was taken and with which frame.
 */
#ifndef TESTS_FAKE_HW_H
#define TESTS_FAKE_HW_H

#include <setjmp.h>

#include "arch.h"

enum fake_exit_kind {
	FAKE_EXIT_NONE,
	FAKE_EXIT_SYSRET, /* ret_user_sysret: back from a system call */
	FAKE_EXIT_IRET,	  /* ret_user_iret: the full frame (a call's handler, an exception reply) */
	FAKE_EXIT_STACK,  /* continue_on_stack into the idle loop: nothing to run on this CPU */
};

struct fake_exit {
	enum fake_exit_kind kind;
	struct regs *regs; /* the frame user mode continues with (SYSRET, IRET) */
	void (*fn)(void);  /* what continue_on_stack was to run (STACK) */
};

/*
 * Run body(arg), a kernel path that ends by leaving the kernel; returns how it left. Nests.
 * continue_on_stack(top, fn) unwinds to this frame (the bottom of the fake kernel stack) and runs
 * fn there, as the real one does on a fresh stack; only for fn == fake_idle_fn (or NULL) does it
 * return FAKE_EXIT_STACK instead, since the idle loop would halt.
 */
struct fake_exit fake_kernel_run(void (*body)(void *), void *arg);
/* The idle loop (the kernel-core harness sets it to sched_idle). */
extern void (*fake_idle_fn)(void);
/* Times continue_on_stack discarded the stack and went on in another function. */
extern unsigned fake_stack_resets;

#endif
