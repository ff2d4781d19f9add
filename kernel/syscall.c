/* SPDX-License-Identifier: MIT */
/* System call dispatch: a table of small handlers indexed by the number in RAX (docs/ABI.md). */
#include <vireo/syscall.h>

#include "arch.h"
#include "ec.h"
#include "fastpath.h"
#include "fpu.h"
#include "frame.h"
#include "ipc.h"
#include "irq.h"
#include "klock.h"
#include "mdb.h"
#include "obj.h"
#include "pd.h"
#include "portal.h"
#include "printk.h"
#include "sc.h"
#include "sched.h"
#include "sm.h"
#include "syscall_entry.h"
#include "vcpu.h"
#include "virt.h"

typedef status_t (*syscall_fn)(struct ec *ec, struct regs *r);

/*
 * Decode, then act: each system call first decodes its argument registers (RDI, RSI, RDX, R10,
 * R8 in docs/ABI.md order) into a struct of named, looked-up and checked arguments, and only then
 * changes anything. Every refusal goes through REFUSE with its reason, which the dispatcher prints
 * under the `debug` command-line word.
 */
static const char *refusal[MAX_CPUS];

static status_t refuse(status_t st, const char *why)
{
	refusal[this_cpu()->id] = why;
	return st;
}
#define REFUSE(st, why) refuse((st), (why))
/* The status of an object operation: a refusal is traced with `why`. */
static status_t outcome(status_t st, const char *why)
{
	return st == VIREO_OK ? st : refuse(st, why);
}

static struct pd *lookup_pd(struct ec *ec, uint64_t sel, unsigned rights)
{
	return (struct pd *)pd_lookup_obj(ec->pd, sel, OBJ_PD, rights);
}

static struct ec *lookup_ec(struct ec *ec, uint64_t sel, unsigned rights)
{
	struct kobj *o = pd_lookup_obj(ec->pd, sel, OBJ_EC, rights);
	return o ? container_of(o, struct ec, obj) : NULL;
}

/* Where a new object's capability goes: a free selector in the caller's object space. */
static bool free_selector(struct ec *ec, uint64_t sel)
{
	return sel < VIREO_CAP_SPACE_SIZE && !mdb_lookup(&ec->pd->objs, sel);
}

/* Install a new object's capability with all rights; on failure the object goes away again. */
static status_t publish(struct ec *ec, uint64_t sel, struct kobj *o)
{
	o->refs++; /* hold it across the install */
	status_t st = pd_install_obj(ec->pd, sel, o, RIGHTS_ALL);
	obj_put(o);
	return outcome(st, "publish: cannot install the new capability");
}

/* The two arguments every create call starts with: destination selector and charged PD. */
static status_t decode_create(struct ec *ec, const struct regs *r, uint64_t *dst, struct pd **pd)
{
	*dst = r->rdi;
	*pd = lookup_pd(ec, r->rsi, RIGHT_PD_CREATE);
	if (!*pd) {
		return REFUSE(VIREO_BAD_CAP, "create: pd is not a PD capability with CREATE");
	}
	if (!free_selector(ec, *dst)) {
		return REFUSE(VIREO_BAD_CAP, "create: dst selector out of range or in use");
	}
	return VIREO_OK;
}

/* ---------------------------------------------------------------- debug_write */

struct sys_debug_write {
	uint64_t buf, len;
};

static status_t decode_debug_write(const struct regs *r, struct sys_debug_write *a)
{
	a->buf = r->rdi;
	a->len = r->rsi;
	if (a->len > VIREO_DEBUG_WRITE_MAX) {
		return REFUSE(VIREO_BAD_PAR, "debug_write: length over VIREO_DEBUG_WRITE_MAX");
	}
	return VIREO_OK;
}

static status_t sys_debug_write(struct ec *ec, struct regs *r)
{
	static char buf[MAX_CPUS][VIREO_DEBUG_WRITE_MAX];
	struct sys_debug_write a;
	status_t st = decode_debug_write(r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	char *kbuf = buf[this_cpu()->id];
	st = pd_copy_from_user(ec->pd, kbuf, a.buf, a.len);
	if (st != VIREO_OK) {
		return REFUSE(st, "debug_write: buffer not readable");
	}
	console_write(kbuf, a.len);
	return VIREO_OK;
}

/* ---------------------------------------------------------------- EC exit, call, reply */

static status_t sys_ec_exit(struct ec *ec, struct regs *r)
{
	(void)r;
	ec_kill(ec, NULL);
	sched_schedule();
}

static status_t sys_call(struct ec *ec, struct regs *r)
{
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, r->rdi, OBJ_PT, RIGHT_PT_CALL);
	if (!pt) {
		return REFUSE(VIREO_BAD_CAP, "call: pt is not a portal capability with CALL");
	}
	ipc_call(ec, pt);
}

static status_t sys_reply_wait(struct ec *ec, struct regs *r)
{
	(void)r;
	if (!ec->local && ec->vcpu) {
		/* A vCPU replies to the call delivered as its event and goes on (docs/ABI.md). */
		return outcome(ipc_vcpu_reply(ec), "reply_wait: the vCPU serves no call, or its "
						   "caller died meanwhile");
	}
	if (!ec->local) {
		return REFUSE(VIREO_BAD_CAP, "reply_wait: caller is not a local EC");
	}
	ipc_reply_wait(ec);
}

/* ---------------------------------------------------------------- create_pd */

struct sys_create_pd {
	uint64_t dst;
	struct pd *pd;
	uint64_t quota;
	unsigned max_prio;
	bool vm;
};

static status_t decode_create_pd(struct ec *ec, const struct regs *r, struct sys_create_pd *a)
{
	status_t st = decode_create(ec, r, &a->dst, &a->pd);
	if (st != VIREO_OK) {
		return st;
	}
	a->quota = r->rdx;
	if (r->r10 & ~(uint64_t)(VIREO_PD_VM | VIREO_PD_MAX_PRIO)) {
		return REFUSE(VIREO_BAD_PAR, "create_pd: unknown flags");
	}
	a->vm = r->r10 & VIREO_PD_VM;
	a->max_prio =
		r->r10 & VIREO_PD_MAX_PRIO ? (unsigned)MIN(r->r8, 0xffffull) : PD_PRIO_INHERIT;
	if (a->vm && !virt) {
		return REFUSE(VIREO_BAD_FTR, "create_pd: VM without hardware virtualization");
	}
	return VIREO_OK;
}

static status_t sys_create_pd(struct ec *ec, struct regs *r)
{
	struct sys_create_pd a;
	struct pd *pd;
	status_t st = decode_create_pd(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	st = a.vm ? pd_create_vm(a.pd, a.quota, virt->gpt_format, &pd)
		  : pd_create(a.pd, a.quota, a.max_prio, "pd", &pd);
	return st == VIREO_OK
		       ? publish(ec, a.dst, &pd->obj)
		       : outcome(st, "create_pd: quota, or a maximum priority above the parent's");
}

/* ---------------------------------------------------------------- create_ec */

struct sys_create_ec {
	uint64_t dst;
	struct pd *pd;
	struct vireo_ec_create p; /* copied from the caller once */
	bool local, vcpu;
};

static status_t decode_create_ec(struct ec *ec, const struct regs *r, struct sys_create_ec *a)
{
	status_t st = decode_create(ec, r, &a->dst, &a->pd);
	if (st != VIREO_OK) {
		return st;
	}
	if (pd_copy_from_user(ec->pd, &a->p, r->rdx, sizeof(a->p)) != VIREO_OK) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: argument block not readable");
	}
	a->local = a->p.flags & VIREO_EC_LOCAL;
	a->vcpu = a->p.flags & VIREO_EC_VCPU;
	if (a->p.flags & ~(VIREO_EC_LOCAL | VIREO_EC_VCPU)) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: unknown flags");
	}
	if (a->vcpu && a->local) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: a vCPU cannot be a local EC");
	}
	if (!a->p.utcb || a->p.utcb >= USER_END) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: utcb not in user space");
	}
	if (a->pd->vm) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: pd is a VM");
	}
	/* A local EC's IP is unused (portals give it); everything else is entered by IRETQ. */
	if (!a->local && !ec_user_ip_valid(a->p.ip)) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: ip not in user space");
	}
	if (!ec_user_sp_valid(a->p.sp)) {
		return REFUSE(VIREO_BAD_PAR, "create_ec: sp not in user space");
	}
	return VIREO_OK;
}

static status_t sys_create_ec(struct ec *ec, struct regs *r)
{
	struct sys_create_ec a;
	struct ec *nec;
	status_t st = decode_create_ec(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	st = ec_create(a.pd, a.pd->name, a.p.ip, a.p.sp, a.p.utcb, a.p.evt_base, a.p.arg, a.p.cpu,
		       a.local, &nec);
	if (st == VIREO_OK && a.vcpu) {
		st = vcpu_attach(nec, a.p.vcpu_state);
		if (st != VIREO_OK) {
			nec->obj.refs = 1;
			obj_put(&nec->obj); /* nobody has seen it: destroy it again */
			return outcome(st, "create_ec: cannot attach the vCPU state page");
		}
	}
	return st == VIREO_OK ? publish(ec, a.dst, &nec->obj)
			      : outcome(st, "create_ec: cpu offline, quota or utcb address in use");
}

/* ---------------------------------------------------------------- create_sc */

struct sys_create_sc {
	uint64_t dst;
	struct pd *pd;
	struct ec *ec;
	unsigned prio;
	uint64_t quantum_us;
};

static status_t decode_create_sc(struct ec *ec, const struct regs *r, struct sys_create_sc *a)
{
	status_t st = decode_create(ec, r, &a->dst, &a->pd);
	if (st != VIREO_OK) {
		return st;
	}
	a->ec = lookup_ec(ec, r->rdx, RIGHT_EC_BIND);
	if (!a->ec) {
		return REFUSE(VIREO_BAD_CAP, "create_sc: ec is not an EC capability with BIND");
	}
	a->prio = (unsigned)MIN(r->r10, 0xffffull);
	a->quantum_us = r->r8;
	return VIREO_OK;
}

static status_t sys_create_sc(struct ec *ec, struct regs *r)
{
	struct sys_create_sc a;
	struct sc *sc;
	status_t st = decode_create_sc(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	st = sc_create(a.pd, a.ec, a.prio, a.quantum_us, &sc);
	return st == VIREO_OK ? publish(ec, a.dst, &sc->obj)
			      : outcome(st, "create_sc: priority above the PD's maximum, bad "
					    "quantum, EC bound or local, or quota");
}

/* ---------------------------------------------------------------- create_pt */

struct sys_create_pt {
	uint64_t dst;
	struct pd *pd;
	struct ec *handler;
	uint64_t ip, mtd;
};

static status_t decode_create_pt(struct ec *ec, const struct regs *r, struct sys_create_pt *a)
{
	status_t st = decode_create(ec, r, &a->dst, &a->pd);
	if (st != VIREO_OK) {
		return st;
	}
	a->handler = lookup_ec(ec, r->rdx, RIGHT_EC_BIND);
	if (!a->handler) {
		return REFUSE(VIREO_BAD_CAP, "create_pt: ec is not an EC capability with BIND");
	}
	a->ip = r->r10;
	a->mtd = r->r8;
	/* Every call enters the handler here by IRETQ. */
	if (!ec_user_ip_valid(a->ip)) {
		return REFUSE(VIREO_BAD_PAR, "create_pt: ip not in user space");
	}
	return VIREO_OK;
}

static status_t sys_create_pt(struct ec *ec, struct regs *r)
{
	struct sys_create_pt a;
	struct portal *pt;
	status_t st = decode_create_pt(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	st = portal_create(a.pd, a.handler, a.ip, a.mtd, &pt);
	return st == VIREO_OK ? publish(ec, a.dst, &pt->obj)
			      : outcome(st, "create_pt: handler is global, or quota");
}

/* ---------------------------------------------------------------- create_sm */

struct sys_create_sm {
	uint64_t dst;
	struct pd *pd;
	uint64_t count;
};

static status_t sys_create_sm(struct ec *ec, struct regs *r)
{
	struct sys_create_sm a;
	struct sm *sm;
	status_t st = decode_create(ec, r, &a.dst, &a.pd);
	if (st != VIREO_OK) {
		return st;
	}
	a.count = r->rdx;
	st = sm_create(a.pd, a.count, &sm);
	return st == VIREO_OK ? publish(ec, a.dst, &sm->obj)
			      : outcome(st, "create_sm: over the PD's quota or out of memory");
}

/* ---------------------------------------------------------------- pt_ctrl, sm_ctrl */

static status_t sys_pt_ctrl(struct ec *ec, struct regs *r)
{
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, r->rdi, OBJ_PT, RIGHT_PT_CTRL);
	uint64_t id = r->rsi;
	if (!pt) {
		return REFUSE(VIREO_BAD_CAP, "pt_ctrl: pt is not a portal capability with CTRL");
	}
	pt->id = id;
	return VIREO_OK;
}

struct sys_sm_ctrl {
	struct sm *sm;
	bool up;
	uint64_t timeout_us;
};

static status_t decode_sm_ctrl(struct ec *ec, const struct regs *r, struct sys_sm_ctrl *a)
{
	uint64_t op = r->rsi;
	if (op > VIREO_SM_DOWN) {
		return REFUSE(VIREO_BAD_PAR, "sm_ctrl: unknown op");
	}
	a->up = op == VIREO_SM_UP;
	a->timeout_us = r->rdx;
	a->sm = (struct sm *)pd_lookup_obj(ec->pd, r->rdi, OBJ_SM,
					   a->up ? RIGHT_SM_UP : RIGHT_SM_DOWN);
	if (!a->sm) {
		return REFUSE(VIREO_BAD_CAP, "sm_ctrl: sm is not a semaphore with UP/DOWN");
	}
	return VIREO_OK;
}

static status_t sys_sm_ctrl(struct ec *ec, struct regs *r)
{
	struct sys_sm_ctrl a;
	status_t st = decode_sm_ctrl(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	if (a.up) {
		sm_up(a.sm);
		return VIREO_OK;
	}
	irq_sm_down_hook(a.sm);
	return outcome(sm_down(a.sm, ec, a.timeout_us), "sm_ctrl: down timed out or aborted");
}

/* ---------------------------------------------------------------- delegate, revoke, lookup */

static bool crd_valid(uint64_t crd)
{
	return vireo_crd_space(crd) != CRD_NULL;
}

struct sys_delegate {
	struct pd *dst;
	uint64_t crd, base;
	unsigned flags;
};

static status_t decode_delegate(struct ec *ec, const struct regs *r, struct sys_delegate *a)
{
	a->dst = lookup_pd(ec, r->rdi, RIGHT_PD_CTRL);
	a->crd = r->rsi;
	a->base = r->rdx;
	if (!a->dst) {
		return REFUSE(VIREO_BAD_CAP, "delegate: dst is not a PD capability with CTRL");
	}
	if (!crd_valid(a->crd)) {
		return REFUSE(VIREO_BAD_PAR, "delegate: null CRD");
	}
	if (r->r10 & ~(uint64_t)VIREO_DELEGATE_GRANT) {
		return REFUSE(VIREO_BAD_PAR, "delegate: unknown flags");
	}
	a->flags = (unsigned)r->r10;
	return VIREO_OK;
}

static status_t sys_delegate(struct ec *ec, struct regs *r)
{
	struct sys_delegate a;
	status_t st = decode_delegate(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	return outcome(pd_delegate(ec->pd, a.dst, a.crd, a.base, a.flags),
		       "delegate: source not held, destination busy or range invalid");
}

struct sys_revoke {
	uint64_t crd;
	bool self;
};

static status_t decode_revoke(const struct regs *r, struct sys_revoke *a)
{
	a->crd = r->rdi;
	if (!crd_valid(a->crd)) {
		return REFUSE(VIREO_BAD_PAR, "revoke: null CRD");
	}
	if (r->rsi & ~(uint64_t)VIREO_REVOKE_SELF) {
		return REFUSE(VIREO_BAD_PAR, "revoke: unknown flags");
	}
	a->self = r->rsi & VIREO_REVOKE_SELF;
	return VIREO_OK;
}

static status_t sys_revoke(struct ec *ec, struct regs *r)
{
	struct sys_revoke a;
	status_t st = decode_revoke(r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	return outcome(pd_revoke(ec->pd, a.crd, a.self), "revoke: no memory to split a mapping");
}

static status_t sys_lookup(struct ec *ec, struct regs *r)
{
	uint64_t crd = r->rdi;
	struct mdb_space *s = vireo_crd_space(crd) == CRD_MEM	? &ec->pd->mem
			      : vireo_crd_space(crd) == CRD_IO	? &ec->pd->io
			      : vireo_crd_space(crd) == CRD_OBJ ? &ec->pd->objs
								: NULL;
	if (!s) {
		r->rdi = r->rsi = 0;
		return REFUSE(VIREO_BAD_PAR, "lookup: null CRD");
	}
	struct mdb_node *n = mdb_lookup(s, vireo_crd_base(crd));
	n = n && n->kernel ? NULL : n; /* a kernel-owned page is no capability of the caller */
	r->rdi = n ? vireo_crd(vireo_crd_space(crd), n->base, n->order, n->rights) : 0;
	r->rsi = n && s == &ec->pd->objs ? ((struct kobj *)(uintptr_t)n->res)->type : 0;
	return VIREO_OK;
}

/* ---------------------------------------------------------------- interrupts, ECs, SCs */

struct sys_assign_gsi {
	struct sm *sm;
	unsigned gsi, cpu;
};

static status_t decode_assign_gsi(struct ec *ec, const struct regs *r, struct sys_assign_gsi *a)
{
	a->sm = (struct sm *)pd_lookup_obj(ec->pd, r->rdi, OBJ_SM, RIGHT_SM_DOWN);
	a->gsi = (unsigned)r->rsi;
	a->cpu = (unsigned)r->rdx;
	if (!a->sm) {
		return REFUSE(VIREO_BAD_CAP, "assign_gsi: sm is not a semaphore with DOWN");
	}
	/* Interrupts belong to the roottask, the PD the kernel created; others get SMs from it. */
	if (ec->pd->quota_parent) {
		return REFUSE(VIREO_BAD_CAP, "assign_gsi: caller is not the roottask");
	}
	return VIREO_OK;
}

static status_t sys_assign_gsi(struct ec *ec, struct regs *r)
{
	struct sys_assign_gsi a;
	status_t st = decode_assign_gsi(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	return outcome(irq_assign_gsi(a.sm, a.gsi, a.cpu),
		       "assign_gsi: no such GSI or CPU, or bound elsewhere");
}

struct sys_ec_ctrl {
	struct ec *ec;
};

static status_t decode_ec_ctrl(struct ec *ec, const struct regs *r, struct sys_ec_ctrl *a)
{
	a->ec = lookup_ec(ec, r->rdi, RIGHT_EC_CTRL);
	if (!a->ec) {
		return REFUSE(VIREO_BAD_CAP, "ec_ctrl: ec is not an EC capability with CTRL");
	}
	if (r->rsi != VIREO_EC_RECALL) {
		return REFUSE(VIREO_BAD_PAR, "ec_ctrl: unknown op");
	}
	return VIREO_OK;
}

static status_t sys_ec_ctrl(struct ec *ec, struct regs *r)
{
	struct sys_ec_ctrl a;
	status_t st = decode_ec_ctrl(ec, r, &a);
	if (st != VIREO_OK) {
		return st;
	}
	a.ec->recall = true;
	if (a.ec->running && a.ec->cpu != this_cpu()->id) {
		arch_kick(a.ec->cpu);
	}
	return VIREO_OK;
}

static status_t sys_sc_ctrl(struct ec *ec, struct regs *r)
{
	struct sc *sc = (struct sc *)pd_lookup_obj(ec->pd, r->rdi, OBJ_SC, RIGHT_SC_CTRL);
	if (!sc) {
		return REFUSE(VIREO_BAD_CAP, "sc_ctrl: sc is not an SC capability with CTRL");
	}
	r->rdi = sc->consumed * (1000000 / TIMER_HZ);
	return VIREO_OK;
}

static status_t sys_kstat(struct ec *ec, struct regs *r)
{
	uint64_t out = r->rdi;
	struct pd *pd = lookup_pd(ec, r->rsi, 0);
	struct vireo_kstat k = {
		.free_pages = frame_free_pages(),
		.pds = obj_live[OBJ_PD],
		.ecs = obj_live[OBJ_EC],
		.scs = obj_live[OBJ_SC],
		.pts = obj_live[OBJ_PT],
		.sms = obj_live[OBJ_SM],
		.mdb_nodes = (uint32_t)mdb_node_count(),
		.fpu_switches = fpu_switches(),
		.quota_limit = pd ? pd->quota.limit : 0,
		.quota_used = pd ? pd->quota.used : 0,
		.ipc_fastpath = fastpath_taken(),
		.ipc_fastpath_on = fastpath_enabled(),
	};
	return outcome(pd_copy_to_user(ec->pd, out, &k, sizeof(k)), "kstat: buffer not writable");
}

/* ---------------------------------------------------------------- vCPUs */

static status_t sys_vcpu_resume(struct ec *ec, struct regs *r)
{
	struct pd *pd = lookup_pd(ec, r->rdi, RIGHT_PD_CTRL);
	if (!pd) {
		return REFUSE(VIREO_BAD_CAP, "vcpu_resume: pd is not a PD capability with CTRL");
	}
	if (!ec->vcpu) {
		return REFUSE(VIREO_BAD_CAP, "vcpu_resume: caller is not a vCPU");
	}
	if (!pd->vm) {
		return REFUSE(vcpu_pv_resume(ec, pd, r->rsi),
			      "vcpu_resume: bad flags, task RIP/RSP or entry point outside user "
			      "space, or a typed item not delivered");
	}
	if (!virt) {
		return REFUSE(VIREO_BAD_FTR, "vcpu_resume: no hardware virtualization");
	}
	vcpu_resume(ec, pd);
}

static status_t sys_vcpu_irq(struct ec *ec, struct regs *r)
{
	struct ec *target = lookup_ec(ec, r->rdi, RIGHT_EC_CTRL);
	if (!target) {
		return REFUSE(VIREO_BAD_CAP, "vcpu_irq: ec is not an EC capability with CTRL");
	}
	return outcome(vcpu_pv_irq(target, r->rsi),
		       "vcpu_irq: ec is not a vCPU, or its IRQ queue is full");
}

static status_t sys_vcpu_post(struct ec *ec, struct regs *r)
{
	struct ec *target = lookup_ec(ec, r->rdi, RIGHT_EC_CTRL);
	if (!target) {
		return REFUSE(VIREO_BAD_CAP, "vcpu_post: ec is not an EC capability with CTRL");
	}
	if (r->rsi >= VIREO_VCPU_POST_VECTORS) {
		return REFUSE(VIREO_BAD_PAR, "vcpu_post: vector above 255");
	}
	return outcome(vcpu_post(target, (unsigned)r->rsi), "vcpu_post: ec is not a vCPU");
}

static const syscall_fn syscall_table[SYS_COUNT] = {
	[SYS_DEBUG_WRITE] = sys_debug_write,
	[SYS_EC_EXIT] = sys_ec_exit,
	[SYS_CALL] = sys_call,
	[SYS_REPLY_WAIT] = sys_reply_wait,
	[SYS_CREATE_PD] = sys_create_pd,
	[SYS_CREATE_EC] = sys_create_ec,
	[SYS_CREATE_SC] = sys_create_sc,
	[SYS_CREATE_PT] = sys_create_pt,
	[SYS_CREATE_SM] = sys_create_sm,
	[SYS_PT_CTRL] = sys_pt_ctrl,
	[SYS_SM_CTRL] = sys_sm_ctrl,
	[SYS_DELEGATE] = sys_delegate,
	[SYS_REVOKE] = sys_revoke,
	[SYS_LOOKUP] = sys_lookup,
	[SYS_ASSIGN_GSI] = sys_assign_gsi,
	[SYS_EC_CTRL] = sys_ec_ctrl,
	[SYS_SC_CTRL] = sys_sc_ctrl,
	[SYS_KSTAT] = sys_kstat,
	[SYS_VCPU_RESUME] = sys_vcpu_resume,
	[SYS_VCPU_IRQ] = sys_vcpu_irq,
	[SYS_VCPU_POST] = sys_vcpu_post,
};

static const char *const status_name[VIREO_STATUS_COUNT] = {
	[VIREO_OK] = "OK",	     [VIREO_TIMEOUT] = "TIMEOUT", [VIREO_ABORTED] = "ABORTED",
	[VIREO_BAD_SYS] = "BAD_SYS", [VIREO_BAD_CAP] = "BAD_CAP", [VIREO_BAD_PAR] = "BAD_PAR",
	[VIREO_BAD_FTR] = "BAD_FTR", [VIREO_BAD_CPU] = "BAD_CPU", [VIREO_BAD_DEV] = "BAD_DEV",
	[VIREO_NO_MEM] = "NO_MEM",   [VIREO_BUSY] = "BUSY",
};

static const char *const syscall_name[SYS_COUNT] = {
	[SYS_DEBUG_WRITE] = "debug_write",
	[SYS_EC_EXIT] = "ec_exit",
	[SYS_CALL] = "call",
	[SYS_REPLY_WAIT] = "reply_wait",
	[SYS_CREATE_PD] = "create_pd",
	[SYS_CREATE_EC] = "create_ec",
	[SYS_CREATE_SC] = "create_sc",
	[SYS_CREATE_PT] = "create_pt",
	[SYS_CREATE_SM] = "create_sm",
	[SYS_PT_CTRL] = "pt_ctrl",
	[SYS_SM_CTRL] = "sm_ctrl",
	[SYS_DELEGATE] = "delegate",
	[SYS_REVOKE] = "revoke",
	[SYS_LOOKUP] = "lookup",
	[SYS_ASSIGN_GSI] = "assign_gsi",
	[SYS_EC_CTRL] = "ec_ctrl",
	[SYS_SC_CTRL] = "sc_ctrl",
	[SYS_KSTAT] = "kstat",
	[SYS_VCPU_RESUME] = "vcpu_resume",
	[SYS_VCPU_IRQ] = "vcpu_irq",
	[SYS_VCPU_POST] = "vcpu_post",
};

/* Under `debug`: which EC was refused what, and why. */
static void trace_refusal(struct ec *ec, uint64_t nr, status_t st)
{
	const char *why = refusal[this_cpu()->id];
	pr_debug("vireo: %s: %s (%lu) refused, %s: %s\n", ec->name,
		 nr < SYS_COUNT ? syscall_name[nr] : "syscall", nr,
		 (unsigned)st < VIREO_STATUS_COUNT ? status_name[st] : "?",
		 why ? why : "(no reason recorded)");
}

void syscall_dispatch(struct regs *r)
{
	struct ec *ec = syscall_enter();
	uint64_t nr = r->rax;
	/* The IPC fast path returns only when the general path must take the call. */
	if (nr == SYS_CALL) {
		fastpath_call(ec, r);
	} else if (nr == SYS_REPLY_WAIT) {
		fastpath_reply_wait(ec);
	}
	syscall_general(ec, r);
}

_Static_assert(SYSCALL_NR_VCPU_RESUME == SYS_VCPU_RESUME, "kernel/x86/entry64.S");

void syscall_resume(struct regs *r)
{
	struct ec *ec = syscall_enter();
	/* The same rule for the resume fast path: it returns when the general path must decide. */
	vcpu_resume_fast(ec, r);
	syscall_general(ec, r);
}

syscall_resume_fn syscall_resume_entry = syscall_resume;

syscall_resume_fn syscall_resume_for(const struct virt_ops *vo)
{
	if (!vo || !vo->resume_entry) {
		return syscall_resume;
	}
	bool lean = !kernel_debug && fastpath_enabled();
	return lean && vo->resume_entry_lean ? vo->resume_entry_lean : vo->resume_entry;
}

void syscall_general(struct ec *ec, struct regs *r)
{
	uint64_t nr = r->rax;
	status_t st;
	refusal[this_cpu()->id] = NULL;
	if (nr < SYS_COUNT) {
		st = syscall_table[nr](ec, r);
	} else {
		st = REFUSE(VIREO_BAD_SYS, "unknown system call number");
	}
	if (ec->obj.type == OBJ_NULL) {
		sched_schedule(); /* the call destroyed its own EC */
	}
	if (st != VIREO_OK) {
		trace_refusal(ec, nr, st);
	}
	r->rax = st;
	/* The call may have stopped the caller (e.g. it revoked its own EC's last capability). */
	if (sched_need_resched() || ec->state != EC_READY) {
		sched_schedule();
	}
	ec_ret_syscall(ec);
}
