/* SPDX-License-Identifier: MIT */
/*
 * vCPU mode (docs/architecture.md#vcpu): an EC with a state page runs a VM with
 * SYS_VCPU_RESUME. The kernel checks the state the VMM wrote, enters the guest through the
 * vendor backend, handles host interrupts and its own scheduling transparently (a guest that
 * spins forever is preempted like any EC), and returns to the VMM only for exits it must see.
 * The guest runs without the kernel lock held.
 */
#include "vcpu.h"

#include <vireo/syscall.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "fpu.h"
#include "ipc.h"
#include "klock.h"
#include "kstring.h"
#include "msg.h"
#include "obj.h"
#include "pd.h"
#include "printk.h"
#include "sched.h"
#include "slab.h"
#include "vcpu_check.h"
#include "virt.h"
#include "x86/cpu.h"

const struct virt_ops *virt;
static struct slab_cache vcpu_cache;

static struct vcpu_limits limits;

/* What this machine lets a guest own: CR4 bits its CPUID reports, XCR0 bits the kernel enabled. */
static void limits_init(void)
{
	struct vcpu_cpuid c = { .l1_ecx = cpuid(1, 0).ecx };
	if (cpuid(0, 0).eax >= 7) {
		struct cpuid_regs l7 = cpuid(7, 0);
		c.l7_ebx = l7.ebx;
		c.l7_ecx = l7.ecx;
	}
	limits = (struct vcpu_limits){ .cr4_allowed = vcpu_cr4_allowed(&c),
				       .host_xcr0 = fpu_xcr0() };
}

void virt_init(void)
{
	virt = svm_probe();
	if (!virt) {
		virt = vmx_probe();
	}
	pr_info("virt: %s\n", virt ? virt->name : "no hardware virtualization: VMs unavailable");
	slab_cache_init(&vcpu_cache, "vcpu", sizeof(struct vcpu), 64);
	limits_init();
}

void virt_cpu_init(void)
{
	if (virt && virt->cpu_init() != VIREO_OK) {
		panic("virt: cannot enable %s on CPU %u", virt->name, this_cpu()->id);
	}
}

status_t vcpu_attach(struct ec *ec, uint64_t va)
{
	struct vcpu *v = pd_alloc(ec->pd, &vcpu_cache);
	if (!v) {
		return VIREO_NO_MEM;
	}
	v->quota = pd_quota(ec->pd);
	void *page;
	status_t st = pd_map_page(ec->pd, va, MAP_R | MAP_W, &page);
	if (st == VIREO_OK) {
		v->page = page;
		v->page_va = va;
		/* Virtual user mode needs no hardware support; running VMs does. */
		v->guest_fpu = fpu_state_alloc(v->quota);
		st = !v->guest_fpu ? VIREO_NO_MEM : virt ? virt->vcpu_init(v) : VIREO_OK;
		if (st != VIREO_OK) {
			pd_unmap_page(ec->pd, va);
		}
	}
	if (st != VIREO_OK) {
		if (v->guest_fpu) {
			fpu_area_free(v->quota, v->guest_fpu);
		}
		quota_free(v->quota, &vcpu_cache, v);
		return st;
	}
	ec->vcpu = v;
	return VIREO_OK;
}

void vcpu_release_page(struct ec *ec)
{
	pd_unmap_page(ec->pd, ec->vcpu->page_va);
	ec->vcpu->page = NULL;
}

void vcpu_free(struct vcpu *v)
{
	if (v->hw) {
		virt->vcpu_fini(v);
	}
	fpu_area_free(v->quota, v->guest_fpu);
	if (v->vm) {
		obj_put(&v->vm->obj);
	}
	quota_free(v->quota, &vcpu_cache, v);
}

/* Give the VMM the state and the exit, and return from its SYS_VCPU_RESUME. */
/* A posted vector still waiting in the inject slot goes back to the bitmap: the VMM owns the slot
 * and may put its own event there (it never sees a post there, so none can be overwritten). */
static void return_posted(struct vcpu *v)
{
	uint32_t ev = v->posted_slot;
	if (ev && v->st.inject == ev) {
		unsigned vec = VEVENT_VECTOR(ev);
		__atomic_fetch_or(&v->posted[vec / 64], 1ull << (vec % 64), __ATOMIC_SEQ_CST);
		v->st.inject = 0;
		v->injected.deferred = false;
	}
	v->posted_slot = 0;
}

static __noreturn void exit_to_vmm(struct ec *ec, status_t status)
{
	struct vcpu *v = ec->vcpu;
	return_posted(v);
	memcpy(v->page, &v->st, sizeof(v->st));
	if (v->vm) {
		this_cpu()->vm_root = 0;
		obj_put(&v->vm->obj);
		v->vm = NULL;
	}
	ec->regs.rax = status;
	ec_ret_syscall(ec);
}

static __noreturn void run_loop(struct ec *ec);

/* The continuation of a vCPU preempted while its guest ran. */
static __noreturn void vcpu_continue(struct ec *ec)
{
	run_loop(ec);
}

static __noreturn void run_loop(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	struct percpu *cpu = this_cpu();
	for (;;) {
		sched_check_stack();
		vcpu_take_posted(v);
		cpu->current = ec;
		cpu->vm_root = pa_addr(v->vm->pt.root);
		fpu_load_area(v->guest_fpu);
		ec->running = true;
		klock_release();
		bool handled = virt->run(v, v->vm->pt.root);
		/* Let the host interrupt that ended the guest run in, outside the lock it takes. */
		arch_irq_window();
		klock_acquire();
		v->st.exits++;
		if (!ec_enter_kernel()) {
			sched_schedule(); /* the vCPU was destroyed meanwhile */
		}
		if (!handled) {
			virt->store(v, &v->st);
			exit_to_vmm(ec, VIREO_OK);
		}
		if (ec->recall) {
			ec->recall = false;
			virt->store(v, &v->st);
			v->st.exit = VM_EXIT_RECALL;
			exit_to_vmm(ec, VIREO_OK);
		}
		if (sched_need_resched()) {
			cpu->vm_root = 0;
			ec->cont = vcpu_continue;
			sched_schedule();
		}
	}
}

void vcpu_resume(struct ec *ec, struct pd *vm)
{
	struct vcpu *v = ec->vcpu;
	memcpy(&v->st, v->page, sizeof(v->st));
	unsigned bad = vcpu_check_state(&v->st, &limits);
	if (bad) {
		v->st.exit = VM_EXIT_INVALID;
		v->st.qual = bad;
		exit_to_vmm(ec, VIREO_OK);
	}
	if (ec->recall) {
		/* A recall that came while the VMM ran (ec.c kept it): this resume reports it. */
		ec->recall = false;
		v->st.exit = VM_EXIT_RECALL;
		v->st.qual = 0;
		exit_to_vmm(ec, VIREO_OK);
	}
	if (!vcpu_can_enter(&v->st)) {
		/* Halted with nothing to deliver, or waiting for SIPI: nothing to run (docs/ABI.md). */
		v->st.exit = VM_EXIT_HLT;
		v->st.qual = v->st.activity;
		exit_to_vmm(ec, VIREO_OK);
	}
	v->st.activity = VM_ACTIVITY_RUNNING;
	obj_get(&vm->obj);
	v->vm = vm;
	virt->load(v, &v->st);
	run_loop(ec);
}

/* ---------------------------------------------------------------- posted interrupts */

status_t vcpu_post(struct ec *target, unsigned vector)
{
	struct vcpu *v = target->vcpu;
	if (!v || vector >= VIREO_VCPU_POST_VECTORS) {
		return !v ? VIREO_BAD_CAP : VIREO_BAD_PAR;
	}
	/* Set before the kick: the kicked CPU's next entry (or the next resume) sees it. */
	__atomic_fetch_or(&v->posted[vector / 64], 1ull << (vector % 64), __ATOMIC_SEQ_CST);
	if (target->running && target->cpu != this_cpu()->id) {
		/* A host interrupt: the guest exits, the run loop goes on. */
		arch_kick(target->cpu);
	}
	return VIREO_OK;
}

static bool posted_any(const struct vcpu *v)
{
	for (unsigned w = 0; w < VIREO_VCPU_POST_VECTORS / 64; w++) {
		if (__atomic_load_n(&v->posted[w], __ATOMIC_ACQUIRE)) {
			return true;
		}
	}
	return false;
}

void vcpu_take_posted(struct vcpu *v)
{
	/* With more requests than the one slot, the guest's next window brings the next in. */
	v->injected.more = posted_any(v);
	if (v->st.inject & VEVENT_VALID) {
		return; /* the VMM's event or an earlier post goes in first */
	}
	for (unsigned w = VIREO_VCPU_POST_VECTORS / 64; w-- > 0;) {
		uint64_t bits = __atomic_load_n(&v->posted[w], __ATOMIC_ACQUIRE);
		if (bits) {
			unsigned b = 63 - (unsigned)__builtin_clzll(bits);
			__atomic_fetch_and(&v->posted[w], ~(1ull << b), __ATOMIC_SEQ_CST);
			v->st.inject = VEVENT_VALID | VEVENT_TYPE_INTR | (w * 64 + b);
			v->st.inject_err = 0;
			v->st.inject_len = 0;
			v->posted_slot = v->st.inject;
			/* Unlike the VMM, the kernel has not looked at RFLAGS.IF and the interrupt
			 * shadow: the backend holds it until the guest's window opens. */
			v->injected.deferred = true;
			v->injected.more = posted_any(v);
			return;
		}
	}
}

/* ---------------------------------------------------------------- virtual user mode */

static struct vireo_vcpu_pv *pv_of(struct vcpu *v)
{
	return (struct vireo_vcpu_pv *)((char *)v->page + VIREO_VCPU_PV_OFFSET);
}

/*
 * Continue the vCPU at its entry point with the interrupted registers in `user`: those of its
 * task (virtual user mode) or, for an IRQ while it ran its own code with vif open, its own
 * (from_own = 1), as an interrupt on a real CPU saves either user or kernel state.
 */
void vcpu_pv_event(struct ec *ec, unsigned cause, unsigned vector, uint64_t error, uint64_t addr)
{
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	/* Read once and check at use: another thread of the VMM may rewrite the page any time. */
	uint64_t ip = *(volatile uint64_t *)&pv->entry_ip, sp = *(volatile uint64_t *)&pv->entry_sp;
	struct pd *task = ec->pv_task;
	ipc_regs_to_exc(&ec->regs, &pv->user, MTD_ALL & ~MTD_QUAL, 0);
	pv->cause = cause;
	pv->vector = vector;
	pv->error = error;
	pv->fault_addr = addr;
	pv->from_own = task ? 0 : 1;
	pv->vif = 0; /* like an interrupt gate: the handler runs with virtual interrupts off */
	pv->vif_own = 0;
	pv->events++;
	ec->pv_task = NULL;
	ec->regs = (struct regs){
		.rip = ip, .rsp = sp, .cs = SEL_UCODE, .ss = SEL_UDATA, .rflags = 0x202
	};
	ec->cont = ec_ret_iret;
	if (task) {
		vcpu_pv_fpu_restore(ec); /* the task's FPU state stays with the task */
		obj_put(&task->obj);
	}
	if (!ec_user_ip_valid(ip) || !ec_user_sp_valid(sp)) {
		/* IRETQ to it would fault in ring 0: the vCPU cannot take the event and dies. */
		ec_kill(ec, "vCPU entry point outside user space");
		sched_schedule();
	}
}

void vcpu_pv_fpu_restore(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	if (v->pv_own_fpu) {
		ec->fpu = v->pv_own_fpu;
		v->pv_own_fpu = NULL;
	}
}

/*
 * On the way back to user mode: the oldest queued IRQ enters at the entry point if the virtual
 * IF of where the vCPU goes is open: `vif` for its task, `vif_own` for its own code. A VMM never
 * opens vif_own, so this never touches the VM path.
 */
void vcpu_pv_check(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	if (!v || !v->page || !v->pv_irq_count) {
		return;
	}
	struct vireo_vcpu_pv *pv = pv_of(v);
	if (!*(volatile uint32_t *)(ec->pv_task ? &pv->vif : &pv->vif_own)) {
		return;
	}
	uint64_t label = v->pv_irq[v->pv_irq_head];
	v->pv_irq_head = (v->pv_irq_head + 1) % VIREO_VCPU_IRQ_QUEUE;
	v->pv_irq_count--;
	pv->irq_pending = v->pv_irq_count;
	pv->irq_label = label;
	vcpu_pv_event(ec, VCPU_CAUSE_IRQ, 0, 0, 0);
}

status_t vcpu_pv_irq(struct ec *target, uint64_t label)
{
	struct vcpu *v = target->vcpu;
	if (!v || !v->page) {
		return VIREO_BAD_CAP;
	}
	if (v->pv_irq_count == VIREO_VCPU_IRQ_QUEUE) {
		return VIREO_BUSY; /* queued events are never dropped: the raiser learns it */
	}
	v->pv_irq[(v->pv_irq_head + v->pv_irq_count) % VIREO_VCPU_IRQ_QUEUE] = label;
	v->pv_irq_count++;
	pv_of(v)->irq_pending = v->pv_irq_count;
	if (target->running && target->cpu != this_cpu()->id) {
		arch_kick(target->cpu);
	}
	return VIREO_OK;
}

/*
 * VIREO_RESUME_ITEMS: the typed items of the vCPU's UTCB go into the task first (a page-fault
 * round trip is then one kernel entry, the idea of Fiasco's vcpu_resume_start/commit). Items are
 * clamped as for a message; the first one refused stops delivery and the resume.
 */
static status_t pv_deliver_items(struct ec *ec, struct pd *task)
{
	struct msg_hdr m = msg_decode(ec->utcb);
	const volatile uint64_t *mr = ec->utcb->mr;
	for (unsigned i = 0; i < m.typed; i++) {
		uint64_t crd = mr[msg_item_crd(i)], hot = mr[msg_item_hot(i)];
		if (vireo_crd_space(crd) != CRD_MEM) {
			return VIREO_BAD_PAR; /* only memory goes this way */
		}
		status_t st = pd_delegate(ec->pd, task, crd, hot >> 12, hot & VIREO_DELEGATE_GRANT);
		if (st != VIREO_OK) {
			return st;
		}
	}
	return VIREO_OK;
}

status_t vcpu_pv_resume(struct ec *ec, struct pd *task, uint64_t flags)
{
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	/* Check and use one copy: other threads of the VMM may rewrite the page meanwhile. (The
	 * entry point is checked again when an event uses it.) */
	struct vireo_exc_state user;
	memcpy(&user, &pv->user, sizeof(user));
	uint64_t entry_ip = pv->entry_ip, entry_sp = pv->entry_sp;
	uint32_t vif = pv->vif;
	__asm__ volatile("" ::: "memory");
	bool own = task == ec->pd;
	if ((flags & ~(uint64_t)VIREO_RESUME_ITEMS) || (own && flags) || user.rip >= USER_END ||
	    user.rsp >= USER_END || !ec_user_ip_valid(entry_ip) || !ec_user_sp_valid(entry_sp)) {
		return VIREO_BAD_PAR;
	}
	if (!own && !task->pv_fpu) {
		/* Each task has its own FPU state, apart from the vCPU's and every other task's. */
		task->pv_fpu = fpu_state_alloc(pd_quota(task));
		if (!task->pv_fpu) {
			return VIREO_NO_MEM;
		}
	}
	if (flags & VIREO_RESUME_ITEMS) {
		status_t st = pv_deliver_items(ec, task);
		if (st != VIREO_OK) {
			return st;
		}
	}
	ipc_exc_to_regs(&user, &ec->regs, MTD_ALL & ~MTD_QUAL);
	ec->regs.cs = SEL_UCODE;
	ec->regs.ss = SEL_UDATA;
	ec->regs.vector = 0; /* not a SYSCALL frame: back through IRET with every register */
	if (own) {
		/* Its own PD: continue the vCPU's own code an event interrupted (from_own). */
		pv->vif_own = vif != 0;
	} else {
		obj_get(&task->obj);
		ec->pv_task = task;
		ec->vcpu->pv_own_fpu = ec->fpu;
		ec->fpu = task->pv_fpu;
	}
	ec_ret_iret(ec); /* delivers a pending IRQ at once if vif is open */
}
