/* SPDX-License-Identifier: MIT */
/* System call dispatch: a table of small handlers indexed by the number in RAX (docs/ABI.md). */
#include <vireo/syscall.h>

#include "ec.h"
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
#include "vcpu.h"
#include "virt.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

typedef status_t (*syscall_fn)(struct ec *ec, struct regs *r);

#define ARG0(r) ((r)->rdi)
#define ARG1(r) ((r)->rsi)
#define ARG2(r) ((r)->rdx)
#define ARG3(r) ((r)->r10)
#define ARG4(r) ((r)->r8)

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
	return st;
}

static status_t sys_debug_write(struct ec *ec, struct regs *r)
{
	static char buf[MAX_CPUS][VIREO_DEBUG_WRITE_MAX];
	uint64_t len = ARG1(r);
	if (len > VIREO_DEBUG_WRITE_MAX) {
		return VIREO_BAD_PAR;
	}
	char *kbuf = buf[this_cpu()->id];
	status_t st = pd_copy_from_user(ec->pd, kbuf, ARG0(r), len);
	if (st == VIREO_OK) {
		console_write(kbuf, len);
	}
	return st;
}

static status_t sys_ec_exit(struct ec *ec, struct regs *r)
{
	(void)r;
	ec_kill(ec, NULL);
	sched_schedule();
}

static status_t sys_call(struct ec *ec, struct regs *r)
{
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, ARG0(r), OBJ_PT, RIGHT_PT_CALL);
	if (!pt) {
		return VIREO_BAD_CAP;
	}
	ipc_call(ec, pt);
}

static status_t sys_reply_wait(struct ec *ec, struct regs *r)
{
	(void)r;
	if (!ec->local) {
		return VIREO_BAD_CAP;
	}
	ipc_reply_wait(ec);
}

static status_t sys_create_pd(struct ec *ec, struct regs *r)
{
	struct pd *parent = lookup_pd(ec, ARG1(r), RIGHT_PD_CREATE);
	struct pd *pd;
	if (!parent) {
		return VIREO_BAD_CAP;
	}
	if (!free_selector(ec, ARG0(r))) {
		return VIREO_BAD_CAP;
	}
	if (ARG3(r) & ~(uint64_t)VIREO_PD_VM) {
		return VIREO_BAD_PAR;
	}
	bool vm = ARG3(r) & VIREO_PD_VM;
	if (vm && !virt) {
		return VIREO_BAD_FTR;
	}
	status_t st = vm ? pd_create_vm(parent, ARG2(r), virt->gpt_format, &pd)
			 : pd_create(parent, ARG2(r), "pd", &pd);
	return st == VIREO_OK ? publish(ec, ARG0(r), &pd->obj) : st;
}

static status_t sys_create_ec(struct ec *ec, struct regs *r)
{
	struct vireo_ec_create a;
	struct pd *pd = lookup_pd(ec, ARG1(r), RIGHT_PD_CREATE);
	struct ec *nec;
	if (!pd || !free_selector(ec, ARG0(r))) {
		return VIREO_BAD_CAP;
	}
	status_t st = pd_copy_from_user(ec->pd, &a, ARG2(r), sizeof(a));
	if (st != VIREO_OK) {
		return st;
	}
	bool vcpu = a.flags & VIREO_EC_VCPU;
	if ((a.flags & ~(VIREO_EC_LOCAL | VIREO_EC_VCPU)) || !a.utcb || a.utcb >= USER_END ||
	    pd->vm || (vcpu && (a.flags & VIREO_EC_LOCAL))) {
		return VIREO_BAD_PAR;
	}

	st = ec_create(pd, pd->name, a.ip, a.sp, a.utcb, a.evt_base, a.arg, a.cpu,
		       a.flags & VIREO_EC_LOCAL, &nec);
	if (st == VIREO_OK && vcpu) {
		st = vcpu_attach(nec, a.vcpu_state);
		if (st != VIREO_OK) {
			nec->obj.refs = 1;
			obj_put(&nec->obj); /* nobody has seen it: destroy it again */
			return st;
		}
	}
	return st == VIREO_OK ? publish(ec, ARG0(r), &nec->obj) : st;
}

static status_t sys_create_sc(struct ec *ec, struct regs *r)
{
	struct pd *pd = lookup_pd(ec, ARG1(r), RIGHT_PD_CREATE);
	struct ec *target = lookup_ec(ec, ARG2(r), RIGHT_EC_BIND);
	struct sc *sc;
	if (!pd || !target || !free_selector(ec, ARG0(r))) {
		return VIREO_BAD_CAP;
	}
	status_t st = sc_create(target, (unsigned)MIN(ARG3(r), 0xffffull), ARG4(r), &sc);
	return st == VIREO_OK ? publish(ec, ARG0(r), &sc->obj) : st;
}

static status_t sys_create_pt(struct ec *ec, struct regs *r)
{
	struct pd *pd = lookup_pd(ec, ARG1(r), RIGHT_PD_CREATE);
	struct ec *handler = lookup_ec(ec, ARG2(r), RIGHT_EC_BIND);
	struct portal *pt;
	if (!pd || !handler || !free_selector(ec, ARG0(r))) {
		return VIREO_BAD_CAP;
	}
	status_t st = portal_create(handler, ARG3(r), ARG4(r), &pt);
	return st == VIREO_OK ? publish(ec, ARG0(r), &pt->obj) : st;
}

static status_t sys_create_sm(struct ec *ec, struct regs *r)
{
	struct pd *pd = lookup_pd(ec, ARG1(r), RIGHT_PD_CREATE);
	struct sm *sm;
	if (!pd || !free_selector(ec, ARG0(r))) {
		return VIREO_BAD_CAP;
	}
	if (pd_charge(pd, sizeof(struct sm)) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	status_t st = sm_create(ARG2(r), &sm);
	if (st != VIREO_OK) {
		pd_refund(pd, sizeof(struct sm));
		return st;
	}
	sm_charge(sm, pd);
	return publish(ec, ARG0(r), &sm->obj);
}

static status_t sys_pt_ctrl(struct ec *ec, struct regs *r)
{
	struct portal *pt = (struct portal *)pd_lookup_obj(ec->pd, ARG0(r), OBJ_PT, RIGHT_PT_CTRL);
	if (!pt) {
		return VIREO_BAD_CAP;
	}
	pt->id = ARG1(r);
	return VIREO_OK;
}

static status_t sys_sm_ctrl(struct ec *ec, struct regs *r)
{
	uint64_t op = ARG1(r);
	if (op > VIREO_SM_DOWN) {
		return VIREO_BAD_PAR;
	}
	struct sm *sm = (struct sm *)pd_lookup_obj(ec->pd, ARG0(r), OBJ_SM,
						   op == VIREO_SM_UP ? RIGHT_SM_UP : RIGHT_SM_DOWN);
	if (!sm) {
		return VIREO_BAD_CAP;
	}
	if (op == VIREO_SM_UP) {
		sm_up(sm);
		return VIREO_OK;
	}
	irq_sm_down_hook(sm);
	return sm_down(sm, ec, ARG2(r));
}

static bool crd_valid(uint64_t crd)
{
	return vireo_crd_space(crd) != CRD_NULL;
}

static status_t sys_delegate(struct ec *ec, struct regs *r)
{
	struct pd *dst = lookup_pd(ec, ARG0(r), RIGHT_PD_CTRL);
	if (!dst) {
		return VIREO_BAD_CAP;
	}
	if (!crd_valid(ARG1(r)) || (ARG3(r) & ~(uint64_t)VIREO_DELEGATE_GRANT)) {
		return VIREO_BAD_PAR;
	}
	return pd_delegate(ec->pd, dst, ARG1(r), ARG2(r), (unsigned)ARG3(r));
}

static status_t sys_revoke(struct ec *ec, struct regs *r)
{
	if (!crd_valid(ARG0(r)) || (ARG1(r) & ~(uint64_t)VIREO_REVOKE_SELF)) {
		return VIREO_BAD_PAR;
	}
	return pd_revoke(ec->pd, ARG0(r), ARG1(r) & VIREO_REVOKE_SELF);
}

static status_t sys_lookup(struct ec *ec, struct regs *r)
{
	uint64_t crd = ARG0(r);
	struct mdb_space *s = vireo_crd_space(crd) == CRD_MEM	? &ec->pd->mem
			      : vireo_crd_space(crd) == CRD_IO	? &ec->pd->io
			      : vireo_crd_space(crd) == CRD_OBJ ? &ec->pd->objs
								: NULL;
	struct mdb_node *n = s ? mdb_lookup(s, vireo_crd_base(crd)) : NULL;
	r->rdi = n ? vireo_crd(vireo_crd_space(crd), n->base, n->order, n->rights) : 0;
	r->rsi = n && s == &ec->pd->objs ? ((struct kobj *)(uintptr_t)n->res)->type : 0;
	return s ? VIREO_OK : VIREO_BAD_PAR;
}

static status_t sys_assign_gsi(struct ec *ec, struct regs *r)
{
	struct sm *sm = (struct sm *)pd_lookup_obj(ec->pd, ARG0(r), OBJ_SM, RIGHT_SM_DOWN);
	if (!sm) {
		return VIREO_BAD_CAP;
	}
	/* Interrupts belong to the roottask, the PD the kernel created; others get SMs from it. */
	if (ec->pd->quota_parent) {
		return VIREO_BAD_CAP;
	}
	return irq_assign_gsi(sm, (unsigned)ARG1(r), (unsigned)ARG2(r));
}

static status_t sys_ec_ctrl(struct ec *ec, struct regs *r)
{
	struct ec *target = lookup_ec(ec, ARG0(r), RIGHT_EC_CTRL);
	if (!target) {
		return VIREO_BAD_CAP;
	}
	if (ARG1(r) != VIREO_EC_RECALL) {
		return VIREO_BAD_PAR;
	}
	target->recall = true;
	if (target->running && target->cpu != this_cpu()->id) {
		lapic_send_ipi(percpu_area[target->cpu].apic_id, VEC_IPI_RESCHED);
	}
	return VIREO_OK;
}

static status_t sys_sc_ctrl(struct ec *ec, struct regs *r)
{
	struct sc *sc = (struct sc *)pd_lookup_obj(ec->pd, ARG0(r), OBJ_SC, RIGHT_SC_CTRL);
	if (!sc) {
		return VIREO_BAD_CAP;
	}
	r->rdi = sc->consumed * (1000000 / TIMER_HZ);
	return VIREO_OK;
}

static status_t sys_kstat(struct ec *ec, struct regs *r)
{
	struct vireo_kstat k = {
		.free_pages = frame_free_pages(),
		.pds = obj_live[OBJ_PD],
		.ecs = obj_live[OBJ_EC],
		.scs = obj_live[OBJ_SC],
		.pts = obj_live[OBJ_PT],
		.sms = obj_live[OBJ_SM],
		.mdb_nodes = (uint32_t)mdb_node_count(),
		.fpu_switches = fpu_switches(),
	};
	return pd_copy_to_user(ec->pd, ARG0(r), &k, sizeof(k));
}

static status_t sys_vcpu_resume(struct ec *ec, struct regs *r)
{
	struct pd *pd = lookup_pd(ec, ARG0(r), RIGHT_PD_CTRL);
	if (!pd || !ec->vcpu) {
		return VIREO_BAD_CAP;
	}
	if (!pd->vm) {
		vcpu_pv_resume(ec, pd);
	}
	if (!virt) {
		return VIREO_BAD_FTR;
	}
	vcpu_resume(ec, pd);
}

static status_t sys_vcpu_irq(struct ec *ec, struct regs *r)
{
	struct ec *target = lookup_ec(ec, ARG0(r), RIGHT_EC_CTRL);
	return target ? vcpu_pv_irq(target) : VIREO_BAD_CAP;
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
};

void syscall_dispatch(struct regs *r)
{
	klock_acquire();
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
	uint64_t nr = r->rax;
	status_t st = VIREO_BAD_SYS;
	if (nr < SYS_COUNT) {
		st = syscall_table[nr](ec, r);
	}
	if (ec->obj.type == OBJ_NULL) {
		sched_schedule(); /* the call destroyed its own EC */
	}
	r->rax = st;
	/* The call may have stopped the caller (e.g. it revoked its own EC's last capability). */
	if (sched_need_resched() || ec->state != EC_READY) {
		sched_schedule();
	}
	ec_ret_syscall(ec);
}
