/* SPDX-License-Identifier: MIT */
/*
 * The start and the general end of a system call (kernel/syscall.c), for the SYS_VCPU_RESUME
 * entry a backend has of its own (virt_ops.resume_entry, docs/architecture.md#resume-fast-path).
 */
#ifndef KERNEL_SYSCALL_ENTRY_H
#define KERNEL_SYSCALL_ENTRY_H

#include "ec.h"
#include "klock.h"
#include "sched.h"
#include "vcpu.h"
#include "x86/regs.h"

/* Every system call's start: the kernel lock, the EC entry checks, a task's SYSCALL as its
 * vCPU's event; the EC, which returns through ec_ret_syscall unless a path says otherwise.
 * `lean`: DEBUG_CHECK_UNLESS's (a lean resume entry's). */
static inline __attribute__((always_inline)) struct ec *syscall_enter_as(bool lean)
{
	klock_acquire_as(lean);
	struct ec *ec = ec_enter_kernel();
	if (!ec) {
		sched_schedule();
	}
	if (ec->pv_task) {
		/* A task in virtual user mode has no business with the kernel: its SYSCALL is an event. */
		vcpu_pv_event(ec, VCPU_CAUSE_SYSCALL, 0, 0, 0);
		ec_ret_iret(ec);
	}
	ec->cont = ec_ret_syscall;
	return ec;
}

static inline __attribute__((always_inline)) struct ec *syscall_enter(void)
{
	return syscall_enter_as(false);
}

/* A system call the fast paths did not take: the table, then the return. */
__noreturn void syscall_general(struct ec *ec, struct regs *r);

/* SYS_VCPU_RESUME with the generic fast path (vcpu_resume_fast), for a backend without its own
 * entry; the SYSCALL entry calls `syscall_resume_entry`, which virt_init points at the
 * backend's resume_entry or at this. */
__noreturn void syscall_resume(struct regs *r);
typedef void (*syscall_resume_fn)(struct regs *r);
extern syscall_resume_fn syscall_resume_entry;

struct virt_ops;
/* The SYS_VCPU_RESUME entry for backend `vo` (NULL: none): its own (lean when `debug` is off and
 * the fast paths on: virt_ops.resume_entry_lean), else syscall_resume. */
syscall_resume_fn syscall_resume_for(const struct virt_ops *vo);

#endif
