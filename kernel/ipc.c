/* SPDX-License-Identifier: MIT */
/*
 * Portal IPC. A call moves the caller's SC to the handler (time donation, docs/architecture.md#portal-ipc): the handler
 * runs on the caller's time, on the handler's CPU (the SC migrates for a cross-CPU call and comes
 * back with the reply). Messages go UTCB to UTCB; typed items delegate capabilities (docs/architecture.md#mapping-database).
 * An exception is a call the kernel makes on the faulting EC's behalf (docs/architecture.md#exception-ipc).
 */
#include "ipc.h"

#include <vireo/caps.h>
#include <vireo/syscall.h>
#include <vireo/utcb.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "klock.h"
#include "kstring.h"
#include "msg.h"
#include "obj.h"
#include "pd.h"
#include "portal.h"
#include "sc.h"
#include "sched.h"
#include "sm.h"
#include "timer.h"
#include "vcpu.h"

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
 * Delegate the typed items of `from`'s decoded message `m` into `to_pd`. `window` NULL means
 * "anywhere" (a pager's reply to a page fault maps into the faulting space directly). A bad item
 * stops the transfer and is reported to the sender; untyped words are copied regardless.
 */
static status_t transfer_items(struct ec *from, struct msg_hdr m, struct pd *to_pd,
			       const uint64_t *window)
{
	const volatile uint64_t *mr = from->utcb->mr;
	for (unsigned i = 0; i < m.typed; i++) {
		uint64_t crd = mr[msg_item_crd(i)];
		uint64_t hot = mr[msg_item_hot(i)];
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

static void copy_untyped(struct ec *from, struct msg_hdr m, struct ec *to)
{
	memcpy(to->utcb->mr, from->utcb->mr, m.untyped * sizeof(uint64_t));
	to->utcb->untyped = (uint16_t)m.untyped;
	to->utcb->typed = 0;
}

/* Exception state: regs <-> UTCB, the groups selected by `mtd` (docs/architecture.md#exception-ipc). */
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
		r->rip = x->rip; /* callers check it first: ipc_exc_state_valid */
	}
	if (mtd & MTD_RFLAGS) {
		r->rflags = (x->rflags & RFLAGS_USER_MASK) | 0x202;
	}
}

bool ipc_exc_state_valid(const struct vireo_exc_state *x, uint64_t mtd)
{
	/* IRETQ and SYSRET fault in ring 0, not in user mode, on a non-canonical RIP. */
	if ((mtd & MTD_RIP) && !ec_user_ip_valid(x->rip)) {
		return false;
	}
	return !(mtd & MTD_RSP) || ec_user_sp_valid(x->rsp);
}

/* Start `h` on the call from `c` through portal entry `pt`. The caller is CALLING from here on. */
static void begin_call(struct ec *c, struct ec *h, const struct ipc_entry *pt, bool exc)
{
	CHECK(klock_held());
	CHECK(h->local && h->state == EC_WAITING && !h->caller);
	CHECK((c->state == EC_READY || c->state == EC_WAITING) && !c->callee && c != h);
	CHECK(!c->queued_on);
	h->caller = c;
	h->exc_call = exc;
	c->exc_call = exc; /* if the handler dies, a faulting caller cannot simply go on */
	c->callee = h;
	c->state = EC_CALLING;
	if (exc) {
		/* The fault address was taken when the fault happened: the call may start much later,
		 * on another CPU, after other faults. */
		regs_to_utcb(&c->regs, h->utcb, pt->mtd, c->regs.vector == 14 ? c->fault_addr : 0);
		h->utcb->untyped = h->utcb->typed = 0;
	} else {
		copy_untyped(c, msg_decode(c->utcb), h);
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
	CHECK(runner->state == EC_READY);
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
	sched_continue(runner);
}

static bool handler_free(struct ec *h)
{
	return h->state == EC_WAITING && !h->caller;
}

static void queue_caller(struct ec *h, struct ec *c, const struct ipc_entry *pt)
{
	CHECK(c->state == EC_READY && !c->wait_next && !c->callee && !c->queued_on);
	c->entry = *pt;
	c->queued_on = h;
	c->state = EC_WAITING;
	c->wait_next = NULL;
	struct ec **pp = &h->waiters;
	while (*pp) {
		pp = &(*pp)->wait_next;
	}
	*pp = c;
}

/*
 * A call to a vCPU EC (docs/ABI.md "Calls to a vCPU"): not a handler that waits for calls but a
 * thread that runs on its own SC. The call waits in the vCPU's line and becomes a vCPU event
 * (VCPU_CAUSE_IPC) when its virtual IF lets it (vcpu_pv_check); the caller's SC stops meanwhile
 * and is not donated: the guest kernel schedules its own processes on its own time.
 */
static __noreturn void call_vcpu(struct ec *c, struct ec *h, const struct ipc_entry *pt)
{
	if (c == h || !h->vcpu->page || !vcpu_pv_accepts_calls(h)) {
		/* Itself: nobody else could ever take the call. Not accepting: it would never be
		 * taken either. No state page: the vCPU is going. */
		c->regs.rax = h->vcpu->page ? VIREO_BAD_CAP : VIREO_ABORTED;
		sched_continue(c);
	}
	c->exc_call = false;
	queue_caller(h, c, pt);
	c->pv_seq = h->vcpu->pv_seq++;
	vcpu_pv_calls_changed(h);
	sched_block(c);
}

static __noreturn void do_call(struct ec *c, struct portal *pt, bool exc)
{
	CHECK(klock_held());
	struct ec *h = pt->ec;
	struct ipc_entry entry = { .ip = pt->ip, .mtd = pt->mtd, .id = pt->id };
	if (!h || h->state == EC_DEAD) {
		c->regs.rax = VIREO_ABORTED;
		sched_continue(c);
	}
	if (!h->local) {
		CHECK(!exc && h->vcpu); /* portal_create and ipc_exception see to that */
		call_vcpu(c, h, &entry);
	}
	if (!handler_free(h)) {
		/* Busy: wait in line; the handler takes us when it replies to its current caller. */
		c->exc_call = exc;
		queue_caller(h, c, &entry);
		sched_block(c);
	}
	begin_call(c, h, &entry, exc);
	continue_chain(h);
}

void ipc_call(struct ec *caller, struct portal *pt)
{
	caller->cont = ec_ret_syscall;
	do_call(caller, pt, false);
}

/*
 * Apply an exception reply to the faulting EC `c`: the handler's UTCB is read once (another thread
 * may rewrite it meanwhile) and checked before anything changes. False: the state cannot be
 * resumed (RIP outside user space, a non-canonical RSP); the caller kills `c`.
 */
static bool exc_reply(struct ec *h, struct msg_hdr m, struct ec *c)
{
	struct vireo_exc_state x;
	uint64_t mtd = *(const volatile uint64_t *)&h->utcb->mtd;
	memcpy(&x, &h->utcb->exc, sizeof(x));
	__asm__ volatile("" ::: "memory"); /* decide and act on the copy only */
	if (!ipc_exc_state_valid(&x, mtd)) {
		return false;
	}
	ipc_exc_to_regs(&x, &c->regs, mtd);
	/* A pager's typed items map straight into the faulting PD. */
	transfer_items(h, m, c->pd, NULL);
	return true;
}

/* Finish the call `h` serves: results into the caller, who continues unless the reply killed it. */
static struct ec *finish_call(struct ec *h)
{
	struct ec *c = h->caller;
	CHECK(c->state == EC_CALLING && c->callee == h);
	struct msg_hdr m = msg_decode(h->utcb);
	h->caller = NULL;
	c->callee = NULL;
	c->exc_call = false;
	c->state = EC_READY;
	if (h->exc_call) {
		if (!exc_reply(h, m, c)) {
			ec_kill(c, "exception reply with a RIP or RSP outside user space");
		}
	} else {
		copy_untyped(h, m, c);
		c->regs.rax = transfer_items(h, m, c->pd, c->utcb->rcv_window);
	}
	h->exc_call = false;
	return c;
}

/* Take the next queued caller, if any: the handler goes on serving without waiting. */
static struct ec *next_waiter(struct ec *h)
{
	struct ec *w = h->waiters;
	if (w) {
		CHECK(w->state == EC_WAITING && w->queued_on == h);
		h->waiters = w->wait_next;
		w->wait_next = NULL;
		w->queued_on = NULL;
		begin_call(w, h, &w->entry, w->exc_call);
		sched_wake(h);
	}
	return w;
}

void ipc_reply_wait(struct ec *h)
{
	CHECK(klock_held());
	CHECK(h->local && h->state == EC_READY);
	h->regs.rax = VIREO_OK;
	struct ec *c = h->caller ? finish_call(h) : NULL;
	h->state = EC_WAITING;
	struct ec *w = next_waiter(h);
	if (c && c->state == EC_READY) {
		continue_chain(c);
	}
	/* Nobody to return to (no caller, or the reply killed it): serve the next caller on its
	 * time, or wait for one. */
	if (w) {
		continue_chain(h);
	}
	sched_block(h);
}

void ipc_exception(struct ec *ec)
{
	CHECK(klock_held());
	uint64_t sel = ec->evt_base + ec->regs.vector;
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, sel, OBJ_PT, RIGHT_PT_CALL);
	/* A vCPU takes calls, not exceptions: their reply would rewrite the faulting state. */
	if (ec->regs.vector >= EVT_COUNT || !pt || !pt->ec || pt->ec->state == EC_DEAD ||
	    pt->ec == ec || !pt->ec->local) {
		return;
	}
	do_call(ec, pt, true);
}

static void abort_caller(struct ec *c)
{
	CHECK(c->state == EC_CALLING || c->state == EC_WAITING);
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

/* `c` dies while it waits in line for a busy handler: it leaves the line. */
static void unqueue_caller(struct ec *c)
{
	struct ec **pp = &c->queued_on->waiters;
	while (*pp && *pp != c) {
		pp = &(*pp)->wait_next;
	}
	CHECK(*pp == c);
	*pp = c->wait_next;
	c->wait_next = NULL;
	c->queued_on = NULL;
}

/*
 * `c` dies, or its work is abandoned, while it waits for handler or vCPU `c->queued_on`: in line,
 * or (a vCPU only) with its call delivered. A delivered call stays served: the vCPU's reply then
 * learns that the caller went (VIREO_ABORTED).
 */
static void leave_line(struct ec *c)
{
	struct ec *h = c->queued_on;
	if (!h->local && h->vcpu->pv_caller == c) {
		h->vcpu->pv_caller = NULL;
		c->queued_on = NULL;
		return;
	}
	unqueue_caller(c);
	if (!h->local) {
		vcpu_pv_calls_changed(h);
	}
}

/*
 * The caller `h` served is gone (it died), and with it the SC the call ran on: the work is
 * abandoned (its next call restarts it at the portal's entry), and so is any call `h` made for it,
 * down the chain. A handler in user mode right now cannot be stopped from here: it stays READY
 * with no caller until it enters the kernel (kicked at once), where ipc_retire_orphan sends it
 * back to waiting; meanwhile new callers wait in its line. A handler that is not running goes
 * back to waiting now. Each one then serves its line, as a reply would: left alone, a queued
 * caller would wait for good (docs/architecture.md#portal-ipc). A loop, not recursion: a chain of
 * handlers may be long.
 */
static void abandon_calls(struct ec *h)
{
	struct ec *retired = NULL; /* linked through wait_next, which no queue uses any more */
	while (h) {
		CHECK(h->local && h->state != EC_DEAD);
		h->caller = NULL;
		h->exc_call = false;
		if (h->running) {
			arch_kick(h->cpu);
			break;
		}
		struct ec *next = NULL;
		if (h->state == EC_CALLING && h->callee) {
			next = h->callee;
			CHECK(next->caller == h);
			h->callee = NULL;
		}
		if (h->queued_on) {
			leave_line(h);
		}
		timer_cancel(h);
		sm_forget(h);
		h->state = EC_WAITING;
		h->wait_next = retired;
		retired = h;
		h = next;
	}
	/* Only now, with every link of the chain undone: a queued caller may be one of them. */
	while (retired) {
		h = retired;
		retired = h->wait_next;
		h->wait_next = NULL;
		next_waiter(h);
	}
}

void ipc_abort_ec(struct ec *ec)
{
	CHECK(klock_held());
	if (ec->queued_on) {
		leave_line(ec);
	}
	if (ec->vcpu && ec->vcpu->pv_caller) {
		/* A vCPU dies with a call delivered: that caller gets no reply either. */
		struct ec *c = ec->vcpu->pv_caller;
		CHECK(c->queued_on == ec);
		ec->vcpu->pv_caller = NULL;
		ec->vcpu->pv_serving = false;
		c->queued_on = NULL;
		abort_caller(c);
	}
	while (ec->waiters) {
		struct ec *w = ec->waiters;
		ec->waiters = w->wait_next;
		w->wait_next = NULL;
		w->queued_on = NULL;
		abort_caller(w);
	}
	if (ec->caller) {
		struct ec *c = ec->caller;
		ec->caller = NULL;
		abort_caller(c);
	}
	if (ec->state == EC_CALLING && ec->callee) {
		struct ec *h = ec->callee;
		CHECK(h->caller == ec);
		ec->callee = NULL;
		abandon_calls(h);
	}
}

bool ipc_retire_orphan(struct ec *ec)
{
	CHECK(klock_held());
	if (!ec->local || ec->state != EC_READY || ec->caller) {
		return false;
	}
	ec->state = EC_WAITING;
	ec->exc_call = false;
	next_waiter(ec);
	return true;
}

struct ec *ipc_vcpu_take_call(struct ec *h)
{
	CHECK(klock_held());
	struct vcpu *v = h->vcpu;
	struct ec *c = h->waiters;
	CHECK(!h->local && v && c && !v->pv_serving);
	CHECK(c->state == EC_WAITING && c->queued_on == h && !c->callee);
	h->waiters = c->wait_next;
	c->wait_next = NULL;
	c->state = EC_CALLING; /* queued_on stays: leave_line finds it there */
	v->pv_caller = c;
	v->pv_serving = true;
	copy_untyped(c, msg_decode(c->utcb), h);
	h->utcb->mtd = 0; /* an ordinary call, as for a portal handler */
	vcpu_pv_calls_changed(h);
	return c;
}

status_t ipc_vcpu_reply(struct ec *h)
{
	CHECK(klock_held());
	struct vcpu *v = h->vcpu;
	if (!v || !v->pv_serving) {
		return VIREO_BAD_CAP;
	}
	struct ec *c = v->pv_caller;
	v->pv_serving = false;
	v->pv_caller = NULL;
	if (!c) {
		return VIREO_ABORTED; /* the caller died while the vCPU handled its call */
	}
	CHECK(c->state == EC_CALLING && c->queued_on == h && !c->callee);
	struct msg_hdr m = msg_decode(h->utcb);
	c->queued_on = NULL;
	c->state = EC_READY;
	copy_untyped(h, m, c);
	c->regs.rax = transfer_items(h, m, c->pd, c->utcb->rcv_window);
	sched_wake(c);
	return VIREO_OK;
}
