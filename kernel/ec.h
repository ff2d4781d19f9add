/* SPDX-License-Identifier: MIT */
/* Execution context: registers, owning PD and scheduling state (seed 000: "Execution Context"). */
#ifndef KERNEL_EC_H
#define KERNEL_EC_H

#include "types.h"
#include "x86/regs.h"

struct pd;

enum ec_state {
	EC_READY, /* runnable, in a run queue or running */
	EC_BLOCKED,
	EC_DEAD,
};

struct ec {
	struct regs regs; /* user state: TSS.RSP0 points just past it */
	struct pd *pd;
	char name[16];
	enum ec_state state;
	unsigned cpu;	 /* CPU whose run queue holds it */
	struct ec *next; /* run-queue link */
};

/* A global EC in `pd` that starts at `ip` with stack `sp` and `arg` in RDI on CPU `cpu`. */
struct ec *ec_create(struct pd *pd, const char *name, uint64_t ip, uint64_t sp, uint64_t arg,
		     unsigned cpu);
/* Terminate: leaves the run queue, drops its PD reference; freed once no CPU runs it. */
void ec_kill(struct ec *ec);
/* An exception in user mode (issue 3: report and kill; exception IPC comes with portals). */
void ec_user_exception(struct ec *ec);
/* Number of live ECs (for leak checks). */
unsigned ec_count(void);

#endif
