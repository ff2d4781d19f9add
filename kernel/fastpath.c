/* SPDX-License-Identifier: MIT */
/*
 * The IPC fast path (docs/architecture.md#ipc-fast-path). The idea is seL4's fastpath_call and
 * fastpath_reply_recv: test up front, without changing anything, that a call or reply is the
 * common case (a short untyped message, the other side ready and on this CPU, no scheduling
 * decision due), then do exactly what ipc.c would do for it and leave straight through the
 * other EC's continuation. Every other case returns untouched to the general path in ipc.c.
 *
 * What is kept: the capability lookup with its rights, the message bounds from msg_decode, the
 * kernel lock, the IPC state CHECKs of ipc.c, and the exit through ec_ret_iret/ec_ret_syscall
 * (PD switch, I/O bitmap, FPU ownership, recall and vCPU checks). What is skipped is only what
 * the tests prove idle in this case: the run queue (the donated SC is already queued here), and
 * the stack reset of sched_continue, which is moot because the fast path runs at a fixed depth
 * straight above the system call entry and the exit discards the kernel stack.
 */
#include "fastpath.h"

#include <vireo/caps.h>
#include <vireo/syscall.h>
#include <vireo/utcb.h>

#include "assert.h"
#include "ec.h"
#include "klock.h"
#include "msg.h"
#include "obj.h"
#include "pd.h"
#include "portal.h"
#include "sc.h"
#include "sched.h"

bool fastpath_on = true;
static struct fastpath_stats stats;

void fastpath_enable(bool on)
{
	fastpath_on = on;
}

const struct fastpath_stats *fastpath_stats(void)
{
	return &stats;
}

uint64_t fastpath_taken(void)
{
	return stats.call[FASTPATH_TAKEN] + stats.reply[FASTPATH_TAKEN];
}

/* mr[0 .. n) from one UTCB to the other; word by word, each user word read once. */
static inline void copy_words(struct vireo_utcb *to, const struct vireo_utcb *from, unsigned n)
{
	const volatile uint64_t *src = from->mr;
	for (unsigned i = 0; i < n; i++) {
		to->mr[i] = src[i];
	}
	to->untyped = (uint16_t)n;
	to->typed = 0;
}

static inline enum fastpath_why check_msg(struct msg_hdr m)
{
	if (m.typed) {
		return FASTPATH_TYPED;
	}
	return m.untyped > FASTPATH_WORDS ? FASTPATH_LONG : FASTPATH_TAKEN;
}

/*
 * Would continue_chain(`next`) in ipc.c just continue `next` here? Only if the SC at the root of
 * its chain is queued on this CPU (so enqueueing it is a no-op) and no reschedule is due.
 */
static inline enum fastpath_why check_sched(struct ec *next)
{
	/* sched_chain_sc, inline: the root of the chain is a global EC, most often `next` itself. */
	while (next->caller) {
		next = next->caller;
	}
	struct sc *sc = next->sc;
	if (!sc || !sc->queued || sc->cpu != this_cpu()->id || sched_need_resched()) {
		return FASTPATH_SCHED;
	}
	return FASTPATH_TAKEN;
}

static enum fastpath_why check_call(struct ec *c, const struct portal *pt, struct msg_hdr m)
{
	struct ec *h = pt->ec;
	if (!h || h->state == EC_DEAD) {
		return FASTPATH_NO_PEER;
	}
	if (!h->local) {
		return FASTPATH_VCPU; /* the call becomes a vCPU event: ipc.c queues it */
	}
	if (h->state != EC_WAITING || h->caller) {
		return FASTPATH_BUSY;
	}
	if (h->cpu != this_cpu()->id) {
		return FASTPATH_CPU;
	}
	enum fastpath_why why = check_msg(m);
	if (why != FASTPATH_TAKEN) {
		return why;
	}
	/* After the call, c's chain ends in h: the same SC, so the same test. */
	return check_sched(c);
}

void fastpath_call(struct ec *c, const struct regs *r)
{
	CHECK(klock_held());
	if (!fastpath_on) {
		stats.call[FASTPATH_OFF]++;
		return;
	}
	/* The same lookup and rights as sys_call; a refusal is the general path's to report. */
	struct portal *pt = (struct portal *)pd_lookup_obj(c->pd, r->rdi, OBJ_PT, RIGHT_PT_CALL);
	if (!pt) {
		stats.call[FASTPATH_NO_CAP]++;
		return;
	}
	struct msg_hdr m = msg_decode(c->utcb);
	enum fastpath_why why = check_call(c, pt, m);
	stats.call[why]++;
	if (why != FASTPATH_TAKEN) {
		return;
	}
	/* From here on, what ipc_call and begin_call in ipc.c do for an ordinary call. */
	struct ec *h = pt->ec;
	struct vireo_utcb *hu = h->utcb;
	/* begin_call's CHECKs that check_call has not just decided. */
	CHECK(h->local);
	CHECK(c->state == EC_READY && !c->callee && !c->queued_on && c != h);
	c->cont = ec_ret_syscall;
	h->caller = c;
	h->exc_call = false;
	c->exc_call = false;
	c->callee = h;
	c->state = EC_CALLING;
	copy_words(hu, c->utcb, m.untyped);
	hu->mtd = 0;
	h->regs.rip = pt->ip;
	h->regs.rsp = h->initial_sp;
	h->regs.rdi = pt->id;
	h->regs.rflags = 0x202;
	h->cont = ec_ret_iret;
	h->state = EC_READY;
	sched_check_stack();
	ec_ret_iret(h);
}

static enum fastpath_why check_reply(struct ec *h, struct msg_hdr m)
{
	struct ec *c = h->caller;
	if (!h->local || h->state != EC_READY || !c) {
		return FASTPATH_NO_PEER;
	}
	if (h->exc_call) {
		return FASTPATH_EXC;
	}
	if (h->waiters) {
		return FASTPATH_WAITERS;
	}
	if (c->cpu != this_cpu()->id) {
		return FASTPATH_CPU;
	}
	enum fastpath_why why = check_msg(m);
	if (why != FASTPATH_TAKEN) {
		return why;
	}
	if (c->cont != ec_ret_syscall) {
		return FASTPATH_CONT;
	}
	return check_sched(c);
}

void fastpath_reply_wait(struct ec *h)
{
	CHECK(klock_held());
	if (!fastpath_on) {
		stats.reply[FASTPATH_OFF]++;
		return;
	}
	struct msg_hdr m = msg_decode(h->utcb);
	enum fastpath_why why = check_reply(h, m);
	stats.reply[why]++;
	if (why != FASTPATH_TAKEN) {
		return;
	}
	/* What ipc_reply_wait and finish_call in ipc.c do for a reply without items or waiters. */
	struct ec *c = h->caller;
	CHECK(c->state == EC_CALLING && c->callee == h);
	h->regs.rax = VIREO_OK;
	h->caller = NULL;
	c->callee = NULL;
	c->exc_call = false;
	c->state = EC_READY;
	copy_words(c->utcb, h->utcb, m.untyped);
	c->regs.rax = VIREO_OK; /* no items, so nothing a transfer could refuse */
	h->exc_call = false;
	h->state = EC_WAITING;
	sched_check_stack();
	ec_ret_syscall(c);
}
