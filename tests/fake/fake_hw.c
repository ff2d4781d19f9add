/* SPDX-License-Identifier: MIT */
/* Fake entry code for host unit tests: VMRUN, and the ways from the kernel back to user mode. */
#include "fake_hw.h"

#include <stdio.h>
#include <stdlib.h>

#include "arch.h"

/* ---------------------------------------------------------------- SVM's VMRUN (svm_entry.S) */

void svm_enter(uint64_t vmcb_pa, uint64_t gpr[16], uint64_t host_save_pa);

void svm_enter(uint64_t vmcb_pa, uint64_t gpr[16], uint64_t host_save_pa)
{
	(void)vmcb_pa, (void)gpr, (void)host_save_pa;
	fprintf(stderr, "fake_hw: svm_enter cannot run a guest in a host test\n");
	abort();
}

/* ---------------------------------------------------------------- leaving the kernel */

static jmp_buf *landing;
static struct fake_exit last;
static void (*restart_fn)(void);
void (*fake_idle_fn)(void);
unsigned fake_stack_resets;

static __noreturn void leave(enum fake_exit_kind kind, struct regs *r, void (*fn)(void))
{
	if (!landing) {
		fprintf(stderr, "fake_hw: the kernel left for user mode outside fake_kernel_run\n");
		abort();
	}
	last = (struct fake_exit){ .kind = kind, .regs = r, .fn = fn };
	longjmp(*landing, 1);
}

void ret_user_iret(struct regs *r)
{
	leave(FAKE_EXIT_IRET, r, NULL);
}

void ret_user_sysret(struct regs *r)
{
	leave(FAKE_EXIT_SYSRET, r, NULL);
}

void continue_on_stack(uint64_t stack_top, void (*fn)(void))
{
	(void)stack_top;
	if (!fn || fn == fake_idle_fn) {
		/* The idle loop would halt: the test gets control back instead. */
		leave(FAKE_EXIT_STACK, NULL, fn);
	}
	if (!landing) {
		fprintf(stderr, "fake_hw: continue_on_stack outside fake_kernel_run\n");
		abort();
	}
	/* Unwind to fake_kernel_run's frame, the bottom of this "kernel stack", and run fn there. */
	fake_stack_resets++;
	restart_fn = fn;
	longjmp(*landing, 2);
}

struct fake_exit fake_kernel_run(void (*body)(void *), void *arg)
{
	jmp_buf here;
	jmp_buf *volatile outer = landing;
	landing = &here;
	int how = setjmp(here);
	if (how == 0) {
		body(arg);
	} else if (how == 2) {
		restart_fn();
	} else {
		landing = outer;
		return last;
	}
	fprintf(stderr, "fake_hw: a kernel path returned instead of leaving the kernel\n");
	abort();
}
