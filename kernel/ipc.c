/* SPDX-License-Identifier: MIT */
/*
 * Portal IPC. A call moves the caller's SC to the handler (time donation, seed 000): the handler
 * runs on the caller's time, on the handler's CPU (the SC migrates for a cross-CPU call and comes
 * back with the reply). Messages go UTCB to UTCB; typed items delegate capabilities (seed 004).
 * An exception is a call the kernel makes on the faulting EC's behalf (seed 002).
 */
#include "ipc.h"

#include <vireo/caps.h>
#include <vireo/syscall.h>
#include <vireo/utcb.h>

#include "assert.h"
#include "ec.h"
#include "kstring.h"
#include "obj.h"
#include "pd.h"
#include "portal.h"
#include "sc.h"
#include "sched.h"
#include "x86/cpu.h"
#include "x86/percpu.h"

/* Does [base, base + 2^order) lie in the receive window `win` of that space? */
static bool in_window(uint64_t win, unsigned sp, uint64_t base, unsigned order)
{
	if (vireo_crd_space(win) != sp) {
		return false;
	}
	uint64_t wb = vireo_crd_base(win), we = wb + (1ull << vireo_crd_order(win));
	return base >= wb && base + (1ull << order) <= we && base + (1ull << order) > base;
}

/*
 * Delegate the typed items of `from`'s message into `to_pd`. `window` NULL means "anywhere" (a
 * pager's reply to a page fault maps into the faulting space directly). A bad item stops the
 * transfer and is reported to the sender; untyped words are copied regardless.
 */
static status_t transfer_items(struct ec *from, struct pd *to_pd, const uint64_t *window)
{
	const struct vireo_utcb *u = from->utcb;
	/* Items and untyped words share mr[]: clamp both counts (unsigned) to what fits. */
	unsigned untyped = MIN((unsigned)u->untyped, (unsigned)VIREO_UTCB_WORDS);
	unsigned n = MIN((unsigned)u->typed, (VIREO_UTCB_WORDS - untyped) / 2);
	for (unsigned i = 0; i < n; i++) {
		uint64_t crd = u->mr[VIREO_UTCB_WORDS - 2 - 2 * i];
		uint64_t hot = u->mr[VIREO_UTCB_WORDS - 1 - 2 * i];
		unsigned sp = vireo_crd_space(crd);
		uint64_t dst = hot >> 12;
		if (window && !in_window(window[sp & 3], sp, dst, vireo_crd_order(crd))) {
			return VIREO_BAD_PAR;
		}
		status_t st = pd_delegate(from->pd, to_pd, crd, dst, hot & VIREO_DELEGATE_GRANT);
		if (st != VIREO_OK) {
			return st;
		}
	}
	return VIREO_OK;
}

static void copy_untyped(struct ec *from, struct ec *to)
{
	unsigned n = MIN(from->utcb->untyped, VIREO_UTCB_WORDS);
	memcpy(to->utcb->mr, from->utcb->mr, n * sizeof(uint64_t));
	to->utcb->untyped = (uint16_t)n;
	to->utcb->typed = 0;
}

/* Exception state: regs <-> UTCB, the groups selected by `mtd` (seed 002: MTD). */
void ipc_regs_to_exc(const struct regs *r, struct vireo_exc_state *x, uint64_t mtd, uint64_t cr2)
{
	if (mtd & MTD_GPR_ACDB) {
		x->rax = r->rax, x->rbx = r->rbx, x->rcx = r->rcx, x->rdx = r->rdx;
	}
	if (mtd & MTD_GPR_BSD) {
		x->rbp = r->rbp, x->rsi = r->rsi, x->rdi = r->rdi;
	}
	if (mtd & MTD_GPR_R8_R15) {
		x->r8 = r->r8, x->r9 = r->r9, x->r10 = r->r10, x->r11 = r->r11;
		x->r12 = r->r12, x->r13 = r->r13, x->r14 = r->r14, x->r15 = r->r15;
	}
	if (mtd & MTD_RSP) {
		x->rsp = r->rsp;
	}
	if (mtd & MTD_RIP) {
		x->rip = r->rip;
	}
	if (mtd & MTD_RFLAGS) {
		x->rflags = r->rflags;
	}
	if (mtd & MTD_QUAL) {
		x->vector = r->vector, x->error = r->error, x->fault_addr = cr2;
	}
}

static void regs_to_utcb(const struct regs *r, struct vireo_utcb *u, uint64_t mtd, uint64_t cr2)
{
	ipc_regs_to_exc(r, &u->exc, mtd, cr2);
	u->mtd = mtd;
}

/* User-writable RFLAGS bits: arithmetic flags, TF, DF, OF, AC, ID; IF stays on, IOPL stays 0. */
#define RFLAGS_USER_MASK 0x244dd5ull

void ipc_exc_to_regs(const struct vireo_exc_state *x, struct regs *r, uint64_t mtd)
{
	if (mtd & MTD_GPR_ACDB) {
		r->rax = x->rax, r->rbx = x->rbx, r->rcx = x->rcx, r->rdx = x->rdx;
	}
	if (mtd & MTD_GPR_BSD) {
		r->rbp = x->rbp, r->rsi = x->rsi, r->rdi = x->rdi;
	}
	if (mtd & MTD_GPR_R8_R15) {
		r->r8 = x->r8, r->r9 = x->r9, r->r10 = x->r10, r->r11 = x->r11;
		r->r12 = x->r12, r->r13 = x->r13, r->r14 = x->r14, r->r15 = x->r15;
	}
	if (mtd & MTD_RSP) {
		r->rsp = x->rsp;
	}
	if (mtd & MTD_RIP) {
		r->rip =
			x->rip; /* a non-canonical RIP faults in user mode on return: only the EC suffers */
	}
	if (mtd & MTD_RFLAGS) {
		r->rflags = (x->rflags & RFLAGS_USER_MASK) | 0x202;
	}
}

/* Start `h` on the call from `c` through `pt`. The caller is CALLING from here on. */
static void begin_call(struct ec *c, struct ec *h, struct portal *pt, bool exc)
{
	h->caller = c;
	h->portal = pt;
	h->exc_call = exc;
	c->exc_call = exc; /* if the handler dies, a faulting caller cannot simply go on */
	c->callee = h;
	c->state = EC_CALLING;
	if (exc) {
		regs_to_utcb(&c->regs, h->utcb, pt->mtd, c->regs.vector == 14 ? read_cr2() : 0);
		h->utcb->untyped = h->utcb->typed = 0;
	} else {
		copy_untyped(c, h);
		h->utcb->mtd = 0; /* tells the handler this is an ordinary call, not an exception */
	}
	h->regs.rip = pt->ip;
	h->regs.rsp = h->initial_sp;
	h->regs.rdi = pt->id;
	h->regs.rflags = 0x202;
	h->cont = ec_ret_iret;
	h->state = EC_READY;
}

/* Run the chain of the current SC after it changed: locally, or on the runner's CPU. */
static __noreturn void continue_chain(struct ec *runner)
{
	struct sc *sc = sched_chain_sc(runner);
	if (sc && runner->cpu != this_cpu()->id) {
		sched_migrate(sc, runner->cpu);
		sched_schedule();
	}
	if (sc) {
		sched_enqueue(sc);
	}
	if (sched_need_resched()) {
		sched_schedule();
	}
	runner->cont(runner);
}

static bool handler_free(struct ec *h)
{
	return h->state == EC_WAITING && !h->caller;
}

static void queue_caller(struct ec *h, struct ec *c, struct portal *pt)
{
	c->portal = pt;
	c->state = EC_WAITING;
	c->wait_next = NULL;
	struct ec **pp = &h->waiters;
	while (*pp) {
		pp = &(*pp)->wait_next;
	}
	*pp = c;
}

static __noreturn void do_call(struct ec *c, struct portal *pt, bool exc)
{
	struct ec *h = pt->ec;
	if (!h || h->state == EC_DEAD) {
		c->regs.rax = VIREO_ABORTED;
		c->cont(c);
	}
	if (!handler_free(h)) {
		/* Busy: wait in line; the handler takes us when it replies to its current caller. */
		c->exc_call = exc;
		queue_caller(h, c, pt);
		sched_block(c);
	}
	begin_call(c, h, pt, exc);
	continue_chain(h);
}

void ipc_call(struct ec *caller, struct portal *pt)
{
	caller->cont = ec_ret_syscall;
	do_call(caller, pt, false);
}

/* Finish the call `h` serves: results into the caller, who continues. */
static struct ec *finish_call(struct ec *h)
{
	struct ec *c = h->caller;
	h->caller = NULL;
	h->portal = NULL;
	c->callee = NULL;
	c->exc_call = false;
	c->state = EC_READY;
	if (h->exc_call) {
		ipc_exc_to_regs(&h->utcb->exc, &c->regs, h->utcb->mtd);
		/* A pager's typed items map straight into the faulting PD. */
		transfer_items(h, c->pd, NULL);
	} else {
		copy_untyped(h, c);
		c->regs.rax = transfer_items(h, c->pd, c->utcb->rcv_window);
	}
	h->exc_call = false;
	return c;
}

/* Take the next queued caller, if any: the handler goes on serving without waiting. */
static struct ec *next_waiter(struct ec *h)
{
	struct ec *w = h->waiters;
	if (w) {
		h->waiters = w->wait_next;
		w->wait_next = NULL;
		begin_call(w, h, w->portal, w->exc_call);
		sched_wake(h);
	}
	return w;
}

void ipc_reply_wait(struct ec *h)
{
	h->regs.rax = VIREO_OK;
	struct ec *c = h->caller ? finish_call(h) : NULL;
	h->state = EC_WAITING;
	next_waiter(h);
	if (!c) {
		sched_block(h);
	}
	continue_chain(c);
}

void ipc_exception(struct ec *ec)
{
	uint64_t sel = ec->evt_base + ec->regs.vector;
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, sel, OBJ_PT, RIGHT_PT_CALL);
	if (ec->regs.vector >= EVT_COUNT || !pt || !pt->ec || pt->ec->state == EC_DEAD ||
	    pt->ec == ec) {
		return;
	}
	do_call(ec, pt, true);
}

static void abort_caller(struct ec *c)
{
	c->callee = NULL;
	c->state = EC_READY;
	c->regs.rax = VIREO_ABORTED;
	if (c->exc_call) {
		/* Nobody will handle its exception: it cannot continue. */
		c->exc_call = false;
		ec_kill(c, "exception handler died");
		return;
	}
	sched_wake(c);
}

void ipc_abort_ec(struct ec *ec)
{
	while (ec->waiters) {
		struct ec *w = ec->waiters;
		ec->waiters = w->wait_next;
		w->wait_next = NULL;
		abort_caller(w);
	}
	if (ec->caller) {
		struct ec *c = ec->caller;
		ec->caller = NULL;
		abort_caller(c);
	}
	if (ec->state == EC_CALLING && ec->callee) {
		/* The handler's work is abandoned: unless it is in user mode right now, its next call
		 * restarts it at the portal's entry. */
		struct ec *h = ec->callee;
		h->caller = NULL;
		h->portal = NULL;
		if (!h->running) {
			h->state = EC_WAITING;
		}
		ec->callee = NULL;
	}
}
