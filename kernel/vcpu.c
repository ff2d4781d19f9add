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
	v->msrpm = PADDR_INVALID;
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
	/* Until the VMM says otherwise, every exit gives it the whole state (docs/ABI.md). */
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		v->page->mtd_exit[r] = VMTD_STATE;
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

/* The VMM's words of the state page, read once: other threads of the VMM may write them any time. */
static uint32_t page_word(const uint32_t *w)
{
	return *(const volatile uint32_t *)w;
}

/* Return from the VMM's SYS_VCPU_RESUME (the page already holds what it must see). */
static __noreturn void return_to_vmm(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	if (v->vm) {
		this_cpu()->vm_root = 0;
		obj_put(&v->vm->obj);
		v->vm = NULL;
	}
	ec->regs.rax = VIREO_OK;
	ec_ret_syscall(ec);
}

/*
 * Give the VMM the exit: its information always, and the groups it asked for this reason and
 * for this one exit (docs/ABI.md "State groups"), read from the hardware state.
 */
static __noreturn void exit_to_vmm(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	struct vireo_vm_state *page = v->page;
	uint32_t reason = v->st.exit < VM_EXIT_COUNT ? v->st.exit : VM_EXIT_OTHER;
	uint32_t out =
		(page_word(&page->mtd_exit[reason]) | page_word(&page->mtd_req)) & VMTD_STATE;
	page->mtd_req = 0;
	uint32_t missing = out & ~v->fresh;
	if (missing) {
		virt->store(v, &v->st, missing);
		v->fresh |= missing;
	}
	vcpu_exit_info_copy(page, &v->st);
	vcpu_mtd_copy(page, &v->st, out);
	page->mtd_out = out;
	return_to_vmm(ec);
}

/*
 * An exit the kernel decides without entering the guest. A recall gives the groups as any exit;
 * a refused state gives none: the page still holds what the VMM wrote (mtd_out 0).
 */
static __noreturn void refuse_to_vmm(struct ec *ec, uint32_t exit, uint64_t qual)
{
	struct vcpu *v = ec->vcpu;
	v->st.exit = exit;
	v->st.qual = qual;
	v->st.gpa = v->st.next_rip = 0;
	v->st.insn_len = 0;
	if (exit == VM_EXIT_RECALL) {
		exit_to_vmm(ec);
	}
	v->page->mtd_req = 0;
	vcpu_exit_info_copy(v->page, &v->st);
	v->page->mtd_out = 0;
	return_to_vmm(ec);
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
		arch_irq_window();
		klock_acquire();
		/* The guest changed its hardware state; the events and the GPRs the hardware does not
		 * hold are kept in `st` by the backend, but RAX/RSP and the interrupt shadow are not. */
		v->fresh = 0;
		v->st.exits++;
		if (!ec_enter_kernel()) {
			sched_schedule(); /* the vCPU was destroyed meanwhile */
		}
		if (!handled) {
			virt->exit_info(v, &v->st);
			if (v->st.exit == VM_EXIT_INVALID) {
				/* The CPU refused the entry and may have left anything in the
				 * hardware state: the next resume loads every group from the page. */
				v->loaded = false;
				v->fresh = 0;
			}
			exit_to_vmm(ec);
		}
		if (ec->recall) {
			ec->recall = false;
			refuse_to_vmm(ec, VM_EXIT_RECALL, 0);
		}
		if (sched_need_resched()) {
			cpu->vm_root = 0;
			ec->cont = vcpu_continue;
			sched_schedule();
		}
	}
}

/*
 * Take the groups the VMM changed (mtd_in) from the page into `st`, check them (with what they
 * are checked against brought up to date), and only then load them: a refusal changes nothing
 * the guest would run with. 0 or a VM_INVALID_* reason.
 */
static unsigned take_groups(struct vcpu *v, uint32_t in)
{
	struct vireo_vm_state *page = v->page;
	if (in & VMTD_CTRL) {
		struct vireo_vm_ctrl c = page->ctrl;
		__asm__ volatile("" ::: "memory"); /* checked and applied: this one copy */
		if (vcpu_check_ctrl(&c)) {
			return VM_INVALID_CTRL;
		}
		v->ctrl = c;
	}
	uint32_t deps = vcpu_check_deps(in) & ~in & ~v->fresh;
	if (deps) {
		virt->store(v, &v->st, deps);
		v->fresh |= deps;
	}
	/* The events live in `st` only: keep the ones in force if the VMM's are refused. */
	struct vireo_vm_state ev;
	if (in & VMTD_EVENTS) {
		vcpu_mtd_copy(&ev, &v->st, VMTD_EVENTS);
	}
	vcpu_mtd_copy(&v->st, page, in);
	unsigned bad = vcpu_check_groups(&v->st, in, &limits);
	if (bad) {
		if (in & VMTD_EVENTS) {
			vcpu_mtd_copy(&v->st, &ev, VMTD_EVENTS);
		}
		v->fresh &= ~in;
		return bad;
	}
	virt->load(v, &v->st, in);
	v->fresh |= in & VMTD_STATE;
	return 0;
}

/*
 * VMTD_FETCH in mid-exit: the VMM wants more of the state the exit left. Only the groups in
 * mtd_req move; the groups it marked changed stay marked for its real resume; the guest stays out.
 */
static __noreturn void fetch_groups(struct ec *ec, uint32_t in, uint32_t req)
{
	struct vcpu *v = ec->vcpu;
	struct vireo_vm_state *page = v->page;
	page->mtd_in = in & ~VMTD_FETCH;
	page->mtd_req = 0;
	uint32_t missing = req & ~v->fresh;
	if (missing) {
		virt->store(v, &v->st, missing);
		v->fresh |= missing;
	}
	vcpu_mtd_copy(page, &v->st, req);
	page->mtd_out |= req;
	return_to_vmm(ec);
}

void vcpu_resume(struct ec *ec, struct pd *vm)
{
	struct vcpu *v = ec->vcpu;
	struct vireo_vm_state *page = v->page;
	uint32_t in = page_word(&page->mtd_in);
	uint32_t req = page_word(&page->mtd_req);
	if ((in & ~VMTD_IN_VALID) || (req & ~VMTD_STATE) || ((in & VMTD_FETCH) && !v->loaded)) {
		page->mtd_in = 0;
		refuse_to_vmm(ec, VM_EXIT_INVALID, VM_INVALID_MTD);
	}
	if (in & VMTD_FETCH) {
		fetch_groups(ec, in, req);
	}
	page->mtd_in = 0;
	if (!v->loaded) {
		in |= VMTD_STATE | VMTD_CTRL; /* the hardware state holds nothing yet */
	}
	unsigned bad = take_groups(v, in);
	if (bad) {
		refuse_to_vmm(ec, VM_EXIT_INVALID, bad);
	}
	v->loaded = true;
	if (ec->recall) {
		/* A recall that came while the VMM ran (ec.c kept it): this resume reports it. */
		ec->recall = false;
		refuse_to_vmm(ec, VM_EXIT_RECALL, 0);
	}
	obj_get(&vm->obj);
	v->vm = vm;
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
	/* Read once and check at use: another thread of the VMM may rewrite the page any time. */
	uint64_t ip = *(volatile uint64_t *)&pv->entry_ip, sp = *(volatile uint64_t *)&pv->entry_sp;
	ipc_regs_to_exc(&ec->regs, &pv->user, MTD_ALL & ~MTD_QUAL, 0);
	pv->cause = cause;
	pv->vector = vector;
	pv->error = error;
	pv->fault_addr = addr;
	pv->vif = 0; /* like an interrupt gate: the handler runs with virtual interrupts off */
	pv->events++;
	struct pd *task = ec->pv_task;
	ec->pv_task = NULL;
	ec->regs = (struct regs){
		.rip = ip, .rsp = sp, .cs = SEL_UCODE, .ss = SEL_UDATA, .rflags = 0x202
	};
	ec->cont = ec_ret_iret;
	obj_put(&task->obj);
	if (!ec_user_ip_valid(ip) || !ec_user_sp_valid(sp)) {
		/* IRETQ to it would fault in ring 0: the vCPU cannot take the event and dies. */
		ec_kill(ec, "vCPU entry point outside user space");
		sched_schedule();
	}
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
		arch_kick(target->cpu);
	}
	return VIREO_OK;
}

status_t vcpu_pv_resume(struct ec *ec, struct pd *task)
{
	struct vireo_vcpu_pv *pv = pv_of(ec->vcpu);
	/* Check and use one copy: other threads of the VMM may rewrite the page meanwhile. (The
	 * entry point is checked again when an event uses it.) */
	struct vireo_exc_state user;
	memcpy(&user, &pv->user, sizeof(user));
	uint64_t entry_ip = pv->entry_ip, entry_sp = pv->entry_sp;
	__asm__ volatile("" ::: "memory");
	if (user.rip >= USER_END || user.rsp >= USER_END || !ec_user_ip_valid(entry_ip) ||
	    !ec_user_sp_valid(entry_sp)) {
		return VIREO_BAD_PAR;
	}
	obj_get(&task->obj);
	ec->pv_task = task;
	ipc_exc_to_regs(&user, &ec->regs, MTD_ALL & ~MTD_QUAL);
	ec->regs.cs = SEL_UCODE;
	ec->regs.ss = SEL_UDATA;
	ec->regs.vector = 0; /* not a SYSCALL frame: back through IRET with every register */
	ec_ret_iret(ec);     /* delivers a pending IRQ at once if vif is open */
}
