/* SPDX-License-Identifier: MIT */
/*
 * The IPC fast path: SYS_CALL and SYS_REPLY_WAIT for the common case, a short message between two
 * ECs on one CPU, switched directly (docs/architecture.md#ipc-fast-path). Anything else returns
 * to the caller, which takes the general path of ipc.c.
 */
#ifndef KERNEL_FASTPATH_H
#define KERNEL_FASTPATH_H

#include "arch.h"
#include "types.h"

struct ec;

/* The longest message (untyped words) the fast path copies; longer ones take the general path. */
#define FASTPATH_WORDS 8

/* Why a call or reply left the fast path (counted per reason; FASTPATH_TAKEN counts the rest). */
enum fastpath_why {
	FASTPATH_TAKEN,
	FASTPATH_OFF,	  /* switched off (`nofastpath` on the kernel command line) */
	FASTPATH_NO_CAP,  /* call: no portal capability with CALL at that selector */
	FASTPATH_NO_PEER, /* call: portal without a live handler; reply: no caller, or a global EC */
	FASTPATH_BUSY,	  /* call: the handler serves someone else, or is not waiting */
	FASTPATH_CPU,	  /* the other side lives on another CPU */
	FASTPATH_TYPED,	  /* typed items in the message */
	FASTPATH_LONG,	  /* more than FASTPATH_WORDS untyped words */
	FASTPATH_EXC,	  /* reply: the call being served is an exception */
	FASTPATH_WAITERS, /* reply: callers queued for the handler */
	FASTPATH_SCHED,	  /* a reschedule is due, or the chain's SC is not queued on this CPU */
	FASTPATH_CONT,	  /* reply: the caller does not continue as a plain system call return */
	FASTPATH_VCPU,	  /* call: the portal leads to a vCPU, which takes calls as events */
	FASTPATH_WHY_COUNT
};

struct fastpath_stats {
	uint64_t call[FASTPATH_WHY_COUNT];
	uint64_t reply[FASTPATH_WHY_COUNT];
};

/* Boot: the fast path on or off (off with `nofastpath` on the kernel command line). */
void fastpath_enable(bool on);
extern bool fastpath_on;
static inline bool fastpath_enabled(void)
{
	return fastpath_on;
}
/* Counts since boot (under the kernel lock). */
const struct fastpath_stats *fastpath_stats(void);
/* Calls and replies the fast path took, together. */
uint64_t fastpath_taken(void);

/*
 * SYS_CALL by `c` (its frame `r`): switch to the portal's handler and never return, or return
 * with nothing changed so that the caller runs the general path.
 */
void fastpath_call(struct ec *c, const struct regs *r);
/* SYS_REPLY_WAIT by `h`: the same for the reply to its caller. */
void fastpath_reply_wait(struct ec *h);

#endif
