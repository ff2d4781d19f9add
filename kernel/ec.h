/* SPDX-License-Identifier: MIT */
/* Execution context: registers, UTCB, owning PD, IPC partners (docs/architecture.md#ec). */
#ifndef KERNEL_EC_H
#define KERNEL_EC_H

#include <vireo/syscall.h>
#include <vireo/utcb.h>

#include "arch.h"
#include "kobj.h"
#include "types.h"

struct ec;
struct pd;
struct sc;
struct portal;
struct sm;

enum ec_state {
	EC_READY,   /* runs when an SC leads to it */
	EC_CALLING, /* waiting for a reply (its SC runs the callee) */
	EC_WAITING, /* local EC waiting for a call; or blocked on a semaphore / busy portal */
	EC_DEAD,    /* exited or killed; freed when the last reference goes */
};

/* What a call needs of its portal, taken when the call is made. */
struct ipc_entry {
	uint64_t ip, mtd, id;
};

/* How a blocked EC continues (docs/architecture.md#kernel-stack). */
typedef __noreturn void (*ec_cont_fn)(struct ec *ec);

struct ec {
	struct regs regs; /* user state: TSS.RSP0 points just past it */
	struct kobj obj;
	struct pd *pd;
	struct vireo_utcb *utcb; /* kernel view of the UTCB page */
	void *fpu;		 /* FPU/SSE/AVX state (kernel/x86/fpu.c) */
	struct vcpu *vcpu;	 /* vCPU mode: its state page and backend data, else NULL */
	struct pd
		*pv_task; /* virtual user mode: the task it runs in now (a reference), else NULL */
	uint64_t utcb_va;
	uint64_t evt_base;
	uint64_t initial_sp; /* local ECs restart here for every call */
	unsigned cpu;
	bool local;
	enum ec_state state;
	ec_cont_fn cont;
	struct sc *sc;	      /* own SC (global ECs, once bound) */
	struct ec *caller;    /* local EC: whom it serves; or exception IPC: the faulting EC */
	struct ec *callee;    /* calling EC: who runs on its SC for it */
	struct ec *queued_on; /* calling EC: the busy handler it waits for in line */
	struct ipc_entry
		entry;	      /* ... and what the call needs of the portal (it may go meanwhile) */
	bool exc_call;	      /* the call being served is an exception IPC */
	uint64_t pv_seq;      /* a call queued for a vCPU: its place among the vCPU's events */
	struct ec *wait_next; /* link in a semaphore's or busy handler's queue */
	struct sm *wait_sm;   /* semaphore it is blocked on */
	struct ec *waiters;   /* local EC: callers queued while it is busy */
	uint64_t fault_addr;  /* CR2 of its last page fault, taken at fault time */
	uint64_t timeout_at;  /* kernel clock (ns) of its timeout, 0: none (timer.c) */
	struct ec *timeout_next;
	unsigned timeout_cpu; /* whose timer queue holds it */
	bool running;	      /* some CPU is in user mode on it (freed only after it leaves) */
	bool recall;
	char name[16];
};

/*
 * Where user mode may be entered: a RIP below USER_END (IRETQ and SYSRET raise #GP in ring 0 for a
 * non-canonical one), an RSP at most USER_END (a stack may end at the top of user space).
 */
_Static_assert(USER_END == VIREO_USER_END, "the ABI's end of user space is the kernel's");
static inline bool ec_user_ip_valid(uint64_t ip)
{
	return ip < USER_END;
}
static inline bool ec_user_sp_valid(uint64_t sp)
{
	return sp <= USER_END;
}

status_t ec_create(struct pd *pd, const char *name, uint64_t ip, uint64_t sp, uint64_t utcb_va,
		   uint64_t evt_base, uint64_t arg, unsigned cpu, bool local, struct ec **out);
void ec_destroy(struct ec *ec);
/* End the EC now (exit, or an exception nobody handles): wakes whoever depends on it. */
void ec_kill(struct ec *ec, const char *why);
/* An exception in user mode: exception IPC to the portal at evt_base + vector, or kill. */
__noreturn void ec_user_exception(struct ec *ec);
/* Return to user mode after a syscall, with the status in RAX (a continuation). */
__noreturn void ec_ret_syscall(struct ec *ec);
/* Return to user mode with the full frame (a continuation). */
__noreturn void ec_ret_iret(struct ec *ec);
/* Free the current EC `ec`, destroyed while this CPU ran it in user mode; returns NULL. */
struct ec *ec_enter_destroyed(struct ec *ec);
/* The current EC `ec` looks like a handler whose caller died meanwhile: NULL if it was one. */
struct ec *ec_enter_orphan(struct ec *ec);
/* On kernel entry from user mode: the current EC, or NULL if it was destroyed meanwhile or its
 * work was abandoned (ipc_retire_orphan). Inline: every entry passes here. */
static inline __attribute__((always_inline)) struct ec *ec_enter_kernel(void)
{
	struct ec *ec = this_cpu_field(current);
	if (ec) {
		ec->running = false;
		if (ec->obj.type == OBJ_NULL) {
			return ec_enter_destroyed(ec);
		}
		if (ec->local && ec->state == EC_READY && !ec->caller) {
			return ec_enter_orphan(ec);
		}
	}
	return ec;
}
/* Free an EC destroyed during its own system call (the scheduler calls it before switching). */
void ec_reap(void);
/* Global ECs that have not exited (native "tasks alive"). */
unsigned ec_count(void);

#endif
