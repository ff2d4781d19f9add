/* SPDX-License-Identifier: MIT */
/*
 * vCPU mode (seed 003, DESIGN.md "vCPUs"): an EC with a state page runs a VM with
 * SYS_VCPU_RESUME. The kernel checks the state the VMM wrote, enters the guest through the
 * vendor backend, handles host interrupts and its own scheduling transparently (a guest that
 * spins forever is preempted like any EC), and returns to the VMM only for exits it must see.
 * The guest runs without the kernel lock held.
 */
#include "vcpu.h"

#include <vireo/syscall.h>

#include "assert.h"
#include "ec.h"
#include "fpu.h"
#include "ipc.h"
#include "klock.h"
#include "kstring.h"
#include "obj.h"
#include "pd.h"
#include "printk.h"
#include "sched.h"
#include "slab.h"
#include "virt.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

const struct virt_ops *virt;
static struct slab_cache vcpu_cache;

#define CR0_CD_BIT (1ull << 30)
#define CR0_NW_BIT (1ull << 29)
#define CR4_ALLOWED 0x3707ffull /* VME..OSXMMEXCPT, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP */
#define EFER_ALLOWED (EFER_SCE | EFER_LME | (1ull << 10) | EFER_NXE)
#define EFER_LMA (1ull << 10)
#define RFLAGS_FIXED1 0x2ull
#define RFLAGS_RESERVED 0xffffffffffc08028ull /* bits 3, 5, 15, 22-63 */

void virt_init(void)
{
	virt = svm_probe();
	if (!virt) {
		virt = vmx_probe();
	}
	pr_info("virt: %s\n", virt ? virt->name : "no hardware virtualization: VMs unavailable");
	slab_cache_init(&vcpu_cache, "vcpu", sizeof(struct vcpu), 64);
}

void virt_cpu_init(void)
{
	if (virt && virt->cpu_init() != VIREO_OK) {
		panic("virt: cannot enable %s on CPU %u", virt->name, this_cpu()->id);
	}
}

static bool event_ok(uint32_t ev)
{
	unsigned vector = VEVENT_VECTOR(ev), type = (ev >> 8) & 7;
	bool err = ev & VEVENT_ERR_VALID;
	if (!(ev & VEVENT_VALID)) {
		return true;
	}
	if (ev & 0x7ffff000u) {
		return false;
	}
	switch (type << 8) {
	case VEVENT_TYPE_INTR:
	case VEVENT_TYPE_SOFT:
		return !err;
	case VEVENT_TYPE_NMI:
		return vector == 2 && !err;
	case VEVENT_TYPE_EXC:
		return vector < 32 && vector != 2 &&
		       (!err || vector == 8 || (vector >= 10 && vector <= 14) || vector == 17);
	default:
		return false;
	}
}

/* What real hardware would refuse (QEMU checks less, ENVIRONMENT.md): refuse it before entry. */
unsigned vcpu_check_state(const struct vireo_vm_state *st)
{
	if ((st->cr0 >> 32) || ((st->cr0 & CR0_PG) && !(st->cr0 & CR0_PE)) ||
	    ((st->cr0 & CR0_NW_BIT) && !(st->cr0 & CR0_CD_BIT))) {
		return VM_INVALID_CR0;
	}
	if (st->cr4 & ~CR4_ALLOWED) {
		return VM_INVALID_CR4;
	}
	bool lme = st->efer & EFER_LME, pg = st->cr0 & CR0_PG;
	if ((st->efer & ~EFER_ALLOWED) || (lme && pg && !(st->cr4 & CR4_PAE)) ||
	    (!!(st->efer & EFER_LMA) != (lme && pg))) {
		return VM_INVALID_EFER;
	}
	if ((st->rflags & RFLAGS_RESERVED) || !(st->rflags & RFLAGS_FIXED1)) {
		return VM_INVALID_RFLAGS;
	}
	if ((st->cr0 & CR0_PE) && !(st->cs.attr & VSEG_ATTR_P)) {
		return VM_INVALID_SEGMENT;
	}
	if ((st->cs.attr & VSEG_ATTR_L) && (st->cs.attr & VSEG_ATTR_DB)) {
		return VM_INVALID_SEGMENT;
	}
	if ((st->dr6 >> 32) || (st->dr7 >> 32)) {
		return VM_INVALID_DR;
	}
	if (!event_ok(st->inject) || (st->intr_window > 1)) {
		return VM_INVALID_EVENT;
	}
	return 0;
}

status_t vcpu_attach(struct ec *ec, uint64_t va)
{
	struct vcpu *v = slab_alloc(&vcpu_cache);
	if (!v) {
		return VIREO_NO_MEM;
	}
	void *page;
	status_t st = pd_map_page(ec->pd, va, MAP_R | MAP_W, &page);
	if (st == VIREO_OK) {
		v->page = page;
		v->page_va = va;
		/* Virtual user mode needs no hardware support; running VMs does. */
		v->guest_fpu = fpu_state_alloc();
		st = !v->guest_fpu ? VIREO_NO_MEM : virt ? virt->vcpu_init(v) : VIREO_OK;
		if (st != VIREO_OK) {
			pd_unmap_page(ec->pd, va);
		}
	}
	if (st != VIREO_OK) {
		if (v->guest_fpu) {
			fpu_area_free(v->guest_fpu);
		}
		slab_free(&vcpu_cache, v);
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
	fpu_area_free(v->guest_fpu);
	if (v->vm) {
		obj_put(&v->vm->obj);
	}
	slab_free(&vcpu_cache, v);
}

/* Give the VMM the state and the exit, and return from its SYS_VCPU_RESUME. */
static __noreturn void exit_to_vmm(struct ec *ec, status_t status)
{
	struct vcpu *v = ec->vcpu;
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
		cpu->current = ec;
		cpu->vm_root = pa_addr(v->vm->pt.root);
		fpu_load_area(v->guest_fpu);
		ec->running = true;
		klock_release();
		bool handled = virt->run(v, v->vm->pt.root);
		/* Let the host interrupt that ended the guest run in, outside the lock it takes. */
		__asm__ volatile("sti; nop; cli" ::: "memory");
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
	unsigned bad = vcpu_check_state(&v->st);
	if (bad) {
		v->st.exit = VM_EXIT_INVALID;
		v->st.qual = bad;
		exit_to_vmm(ec, VIREO_OK);
	}
	obj_get(&vm->obj);
	v->vm = vm;
	virt->load(v, &v->st);
	run_loop(ec);
}

/* ---------------------------------------------------------------- virtual user mode */

static struct vireo_vcpu_pv *pv_of(struct vcpu *v)
{
	return (struct vireo_vcpu_pv *)((char *)v->page + VIREO_VCPU_PV_OFFSET);
}

void vcpu_pv_event(struct ec *ec, unsigned cause, unsigned vector, uint64_t error, uint64_t addr)
{
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	ipc_regs_to_exc(&ec->regs, &pv->user, MTD_ALL & ~MTD_QUAL, 0);
	pv->cause = cause;
	pv->vector = vector;
	pv->error = error;
	pv->fault_addr = addr;
	pv->vif = 0; /* like an interrupt gate: the handler runs with virtual interrupts off */
	pv->events++;
	struct pd *task = ec->pv_task;
	ec->pv_task = NULL;
	ec->regs = (struct regs){ .rip = pv->entry_ip,
				  .rsp = pv->entry_sp,
				  .cs = SEL_UCODE,
				  .ss = SEL_UDATA,
				  .rflags = 0x202 };
	ec->cont = ec_ret_iret;
	obj_put(&task->obj);
}

/* An IRQ waits in irq_pending until the vCPU runs its task with vif open. */
void vcpu_pv_check(struct ec *ec)
{
	if (!ec->vcpu || !ec->pv_task || !ec->vcpu->page) {
		return;
	}
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	if (pv->vif && pv->irq_pending) {
		pv->irq_pending = 0;
		vcpu_pv_event(ec, VCPU_CAUSE_IRQ, 0, 0, 0);
	}
}

status_t vcpu_pv_irq(struct ec *target)
{
	if (!target->vcpu || !target->vcpu->page) {
		return VIREO_BAD_CAP;
	}
	pv_of(target->vcpu)->irq_pending = 1;
	if (target->running && target->cpu != this_cpu()->id) {
		lapic_send_ipi(percpu_area[target->cpu].apic_id, VEC_IPI_RESCHED);
	}
	return VIREO_OK;
}

void vcpu_pv_resume(struct ec *ec, struct pd *task)
{
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	if (pv->user.rip >= USER_END || pv->user.rsp >= USER_END) {
		ec->regs.rax = VIREO_BAD_PAR;
		ec_ret_syscall(ec);
	}
	obj_get(&task->obj);
	ec->pv_task = task;
	ipc_exc_to_regs(&pv->user, &ec->regs, MTD_ALL & ~MTD_QUAL);
	ec->regs.cs = SEL_UCODE;
	ec->regs.ss = SEL_UDATA;
	ec->regs.vector = 0; /* not a SYSCALL frame: back through IRET with every register */
	ec_ret_iret(ec);     /* delivers a pending IRQ at once if vif is open */
}
