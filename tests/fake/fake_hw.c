/* SPDX-License-Identifier: MIT */
/* Fake entry code for host unit tests: VMRUN, and the ways from the kernel back to user mode. */
#include "fake_hw.h"

#include <stdio.h>
#include <stdlib.h>

#include "arch.h"
#include "ec.h"
#include "klock.h"
#include "x86/cpu.h"

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

static __noreturn void bad_exit(const char *what, const struct regs *r)
{
	fprintf(stderr, "fake_hw: %s (rip %#llx cs %#llx ss %#llx rflags %#llx)\n", what,
		(unsigned long long)r->rip, (unsigned long long)r->cs, (unsigned long long)r->ss,
		(unsigned long long)r->rflags);
	abort();
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/*
 * What the CPU would do with this exit, and what the kernel promises about it: the lock is free,
 * the frame belongs to this CPU's current EC, it returns to ring 3 with IF on and IOPL 0, and
 * IRETQ gets a canonical RIP and SYSRET a lower-half one (else #GP in ring 0: Intel SDM vol. 2
 * IRET, SYSRET). A violation is a kernel bug: abort, as the machine would crash or be subverted.
 */
static void check_user_exit(enum fake_exit_kind kind, const struct regs *r)
{
	if (klock_held()) {
		bad_exit("left the kernel with the kernel lock held", r);
	}
	if (!this_cpu()->current || &this_cpu()->current->regs != r) {
		bad_exit("returned to a frame that is not this CPU's current EC", r);
	}
	if (this_cpu()->regs_top != (uint64_t)(uintptr_t)(r + 1)) {
		bad_exit("the next kernel entry would not save into the EC returned to", r);
	}
	if ((r->cs & 3) != 3 || (r->ss & 3) != 3) {
		bad_exit("returned to user mode with a kernel selector", r);
	}
	if ((r->rflags & RFLAGS_IOPL) || !(r->rflags & RFLAGS_IF)) {
		bad_exit("returned to user mode with IOPL raised or interrupts off", r);
	}
	if (kind == FAKE_EXIT_IRET && !canonical(r->rip)) {
		bad_exit("IRETQ to a non-canonical RIP faults in ring 0", r);
	}
	if (kind == FAKE_EXIT_SYSRET && r->rip >= USER_END) {
		bad_exit("SYSRET to a RIP outside the lower half faults in ring 0", r);
	}
}

static __noreturn void leave(enum fake_exit_kind kind, struct regs *r, void (*fn)(void))
{
	if (!landing) {
		fprintf(stderr, "fake_hw: the kernel left for user mode outside fake_kernel_run\n");
		abort();
	}
	if (kind == FAKE_EXIT_IRET || kind == FAKE_EXIT_SYSRET) {
		check_user_exit(kind, r);
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
