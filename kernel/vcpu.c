/* SPDX-License-Identifier: MIT */
/*
 * vCPU mode (docs/architecture.md#vcpu): an EC with a state page runs a VM with
 * SYS_VCPU_RESUME. The kernel checks the state the VMM wrote, enters the guest through the
 * vendor backend, handles host interrupts and its own scheduling transparently (a guest that
 * spins forever is preempted like any EC), and returns to the VMM only for exits it must see.
 * The general run loop's guest runs without the kernel lock held; the resume fast path's first
 * entry keeps it, and a CPU waiting for it kicks the guest out (kernel/klock_kick.h).
 */
#include "vcpu.h"

#include <vireo/syscall.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "fastpath.h"
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
#include "syscall_entry.h"
#include "vcpu_check.h"
#include "vcpu_round.h"
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
	syscall_resume_entry = syscall_resume_for(virt);
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

/*
 * A posted vector's bit and the summary bit of its word (vcpu->posted_words). The word's bit is
 * set before the summary's and the summary is cleared only after its word was seen empty and then
 * looked at again, so that a summary bit is never clear while its word holds a request, even for
 * a post that races with the take (every caller holds the kernel lock today).
 */
static void vcpu_posted_set(struct vcpu *v, unsigned vec)
{
	__atomic_fetch_or(&v->posted[vec / 64], 1ull << (vec % 64), __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&v->posted_words, (uint8_t)(1u << (vec / 64)), __ATOMIC_SEQ_CST);
}

static void vcpu_posted_clear(struct vcpu *v, unsigned vec)
{
	unsigned w = vec / 64;
	uint64_t bit = 1ull << (vec % 64);
	if (__atomic_fetch_and(&v->posted[w], ~bit, __ATOMIC_SEQ_CST) != bit) {
		return; /* other requests stay in the word */
	}
	__atomic_fetch_and(&v->posted_words, (uint8_t) ~(1u << w), __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->posted[w], __ATOMIC_SEQ_CST)) {
		/* a post came in between */
		__atomic_fetch_or(&v->posted_words, (uint8_t)(1u << w), __ATOMIC_SEQ_CST);
	}
}

/* A posted vector still waiting in the inject slot goes back to the bitmap: the VMM owns the slot
 * and may put its own event there (it never sees a post there, so none can be overwritten). */
static void return_posted(struct vcpu *v)
{
	uint32_t ev = v->posted_slot;
	if (ev && v->st.inject == ev) {
		vcpu_posted_set(v, VEVENT_VECTOR(ev));
		v->st.inject = 0;
		v->injected.deferred = false;
	}
	v->posted_slot = 0;
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
	return_posted(v);
	uint32_t out = vcpu_exit_groups(page, v->st.exit);
	/* The groups the backend holds whole go from the hardware straight into the page: one
	 * copy, not two through `st` (which stays as it was; `fresh` says so). Not after a refused
	 * entry: the hardware state then holds nothing to read. */
	uint32_t direct = v->st.exit != VM_EXIT_INVALID ? out & virt->store_direct : 0;
	uint32_t missing = out & ~direct & ~v->fresh;
	if (missing) {
		virt->store(v, &v->st, missing);
		v->fresh |= missing;
	}
	vcpu_exit_info_copy(page, &v->st);
	if (out & ~direct) {
		vcpu_mtd_copy(page, &v->st, out & ~direct);
	}
	if (direct) {
		virt->store(v, page, direct);
	}
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
	v->st.gpa = v->st.gla = v->st.next_rip = 0;
	v->st.insn_len = 0;
	v->st.io = (struct vireo_vm_io){ 0 }; /* all of it: a fused exit left `st`'s as they were */
	if (exit == VM_EXIT_RECALL) {
		exit_to_vmm(ec);
	}
	v->page->mtd_req = 0;
	vcpu_exit_info_copy(v->page, &v->st);
	v->page->mtd_out = 0;
	return_to_vmm(ec);
}

static __noreturn void run_loop(struct ec *ec);

/*
 * The continuation of a vCPU preempted while its guest ran. A recall that came meanwhile (often
 * from the very thread that preempted it, on this CPU: the VMM's waker) ends the run here; the
 * guest's next exit may be a host tick away.
 */
static __noreturn void vcpu_continue(struct ec *ec)
{
	if (ec->recall) {
		ec->recall = false;
		virt->load(ec->vcpu, &ec->vcpu->st, 0); /* only makes its hardware state current */
		refuse_to_vmm(ec, VM_EXIT_RECALL, 0);
	}
	run_loop(ec);
}

/*
 * After an exit the kernel handled (a host interrupt, a reflected #DB/#AC): a recall or a
 * preemption that came meanwhile, then the loop enters the guest again.
 */
static void after_host_exit(struct ec *ec)
{
	if (ec->recall) {
		ec->recall = false;
		refuse_to_vmm(ec, VM_EXIT_RECALL, 0);
	}
	if (sched_need_resched()) {
		this_cpu()->vm_root = 0;
		ec->cont = vcpu_continue;
		sched_schedule();
	}
}

/* One run of the guest on this CPU, lock released around it; true: the kernel handled the exit. */
static inline __attribute__((always_inline)) bool run_guest(struct ec *ec, struct vcpu *v)
{
	vcpu_round_leave(ec, v);
	bool handled = virt->run(v, v->vm->pt.root);
	vcpu_round_back(v);
	return handled;
}

static __noreturn void run_loop(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	struct percpu *cpu = this_cpu();
	for (;;) {
		sched_check_stack();
		vcpu_take_posted(v);
		cpu->current = ec;
		bool handled = run_guest(ec, v);
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
		after_host_exit(ec);
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
		if (vcpu_check_ctrl(&c) || (virt->check_ctrl && virt->check_ctrl(&c))) {
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
	uint32_t in = vcpu_page_word(&page->mtd_in);
	uint32_t req = vcpu_page_word(&page->mtd_req);
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
	if (v->st.activity != VM_ACTIVITY_RUNNING) {
		/* The events live in `st`; whether a HALTED vCPU takes an interrupt needs RFLAGS. */
		if (!(v->fresh & VMTD_RIP)) {
			virt->store(v, &v->st, VMTD_RIP);
			v->fresh |= VMTD_RIP;
		}
		if (!vcpu_can_enter(&v->st)) {
			/* Halted with nothing to deliver, or waiting for SIPI: nothing to run
			 * (docs/ABI.md "Activity"); the page keeps what the VMM wrote. */
			refuse_to_vmm(ec, VM_EXIT_HLT, v->st.activity);
		}
	}
	v->st.activity = VM_ACTIVITY_RUNNING;
	obj_get(&vm->obj);
	v->vm = vm;
	run_loop(ec);
}

/* ---------------------------------------------------------------- the resume fast path */

/*
 * SYS_VCPU_RESUME in the common case of a VM exit handled by the VMM
 * (docs/architecture.md#resume-fast-path): its decode and the steps of its round are in line in
 * kernel/vcpu_round.h, shared with a backend's own resume_fast; here are the generic round and
 * the ways a round leaves for the general path.
 */
uint64_t vcpu_fast_counts[VCPU_FAST_WHY_COUNT];

const uint64_t *vcpu_fast_stats(void)
{
	return vcpu_fast_counts;
}

/*
 * The exit of a fused round to the VMM for a backend without exit_to_page: exit_to_vmm for a
 * round that took no posted vector (posted_slot 0) and a backend that stores every group straight
 * into the page (store_direct whole: nothing is missing in `st`, nothing goes through it).
 */
static __noreturn void fused_exit(struct ec *ec, struct vcpu *v)
{
	struct vireo_vm_state *page = v->page;
	uint32_t out = vcpu_exit_groups(page, v->st.exit);
	vcpu_exit_info_copy(page, &v->st);
	if (out) {
		virt->store(v, page, out);
	}
	page->mtd_out = out;
	vcpu_round_return(ec, v, false);
}

void vcpu_round_handled(struct ec *ec)
{
	vcpu_round_general(ec->vcpu);
	/* As the general loop after its run, the lock released for the host interrupt (or a
	 * waiter's kick) that ended the run: other CPUs get the lock meanwhile. */
	ec->running = true;
	klock_release_to_waiters(); /* often to the CPU whose kick ended the run */
	vcpu_round_relock();
	after_host_exit(ec);
	run_loop(ec);
}

void vcpu_round_refused(struct ec *ec)
{
	vcpu_round_general(ec->vcpu);
	ec->vcpu->loaded = false; /* as run_loop after a refused entry */
	exit_to_vmm(ec);
}

/*
 * The first entry of a fast resume, fused (docs/architecture.md#resume-fast-path): run_loop's
 * iteration without what vcpu_fast_check proved idle, and an exit for the VMM straight back to it.
 * Under the kernel lock, which every vcpu_post and recall takes, the check found nothing posted:
 * vcpu_take_posted would only clear `more`. An exit the kernel handles, a refused entry or a
 * backend that does not store whole groups continues on the general path where run_loop would.
 */
static __noreturn void fused_round(struct ec *ec, struct vcpu *v)
{
	assert(!v->posted_slot && !(v->st.inject & VEVENT_VALID));
	vcpu_round_start(v, false);
	bool handled = virt->run(v, v->vm->pt.root);
	vcpu_round_end(v);
	if (handled) {
		vcpu_round_handled(ec);
	}
	/* Nothing took a posted vector into the inject slot: vcpu_take_posted did not run. */
	assert(!v->posted_slot);
	if (virt->exit_to_page) {
		if (virt->exit_to_page(v, v->page)) {
			vcpu_round_return(ec, v, false);
		}
		vcpu_round_refused(ec);
	}
	virt->exit_info(v, &v->st);
	if (v->st.exit == VM_EXIT_INVALID || virt->store_direct != VMTD_STATE) {
		if (v->st.exit == VM_EXIT_INVALID) {
			v->loaded = false;
		}
		vcpu_round_general(v);
		exit_to_vmm(ec);
	}
	fused_exit(ec, v);
}

void vcpu_resume_fast(struct ec *ec, const struct regs *r)
{
	uint32_t in;
	if (!vcpu_fast_take(ec, r, virt != NULL, false, &in)) {
		return;
	}
	struct vcpu *v = ec->vcpu;
	if (in) {
		virt->load(v, &v->st, in);
		v->fresh |= in;
	}
	fused_round(ec, v);
}

/* ---------------------------------------------------------------- posted interrupts */

status_t vcpu_post(struct ec *target, unsigned vector)
{
	struct vcpu *v = target->vcpu;
	if (!v || vector >= VIREO_VCPU_POST_VECTORS) {
		return !v ? VIREO_BAD_CAP : VIREO_BAD_PAR;
	}
	/* Set before the kick: the kicked CPU's next entry (or the next resume) sees it. */
	vcpu_posted_set(v, vector);
	if (target->running && target->cpu != this_cpu()->id) {
		/* A host interrupt: the guest exits, the run loop goes on. */
		arch_kick(target->cpu);
	}
	return VIREO_OK;
}

void vcpu_take_posted(struct vcpu *v)
{
	/* With more requests than the one slot, the guest's next window brings the next in. */
	v->injected.more = vcpu_posted_any(v);
	if (!v->injected.more || (v->st.inject & VEVENT_VALID)) {
		return; /* none, or the VMM's event or an earlier post goes in first */
	}
	for (unsigned w = VIREO_VCPU_POST_VECTORS / 64; w-- > 0;) {
		uint64_t bits = __atomic_load_n(&v->posted[w], __ATOMIC_ACQUIRE);
		if (bits) {
			unsigned b = 63 - (unsigned)__builtin_clzll(bits);
			vcpu_posted_clear(v, w * 64 + b);
			v->st.inject = VEVENT_VALID | VEVENT_TYPE_INTR | (w * 64 + b);
			v->st.inject_err = 0;
			v->st.inject_len = 0;
			v->posted_slot = v->st.inject;
			/* Unlike the VMM, the kernel has not looked at RFLAGS.IF and the interrupt
			 * shadow: the backend holds it until the guest's window opens. */
			v->injected.deferred = true;
			v->injected.more = vcpu_posted_any(v);
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

/* The oldest queued call becomes the event: the caller's portal id and words, as for a handler. */
static void deliver_call(struct ec *ec, struct vireo_vcpu_pv *pv)
{
	struct ec *c = ipc_vcpu_take_call(ec);
	uint64_t id = c->entry.id;
	vcpu_pv_event(ec, VCPU_CAUSE_IPC, 0, 0, 0);
	pv->ipc_label = id;
	ec->regs.rdi = id;
}

/*
 * On the way back to user mode: the oldest queued event (an IRQ or a call, in the order they
 * came) enters at the entry point if the virtual IF of where the vCPU goes is open: `vif` for its
 * task, `vif_own` for its own code. Calls wait while one is served (until its reply). A VMM never
 * opens vif_own, so this never touches the VM path.
 */
void vcpu_pv_check(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	if (!v || !v->page) {
		return;
	}
	bool call = ec->waiters && !v->pv_serving;
	if (!v->pv_irq_count && !call) {
		return;
	}
	struct vireo_vcpu_pv *pv = pv_of(v);
	if (!*(volatile uint32_t *)(ec->pv_task ? &pv->vif : &pv->vif_own)) {
		return;
	}
	if (call && (!v->pv_irq_count || ec->waiters->pv_seq < v->pv_irq_seq[v->pv_irq_head])) {
		deliver_call(ec, pv);
		return;
	}
	uint64_t label = v->pv_irq[v->pv_irq_head];
	v->pv_irq_head = (v->pv_irq_head + 1) % VIREO_VCPU_IRQ_QUEUE;
	v->pv_irq_count--;
	pv->irq_pending = v->pv_irq_count;
	pv->irq_label = label;
	vcpu_pv_event(ec, VCPU_CAUSE_IRQ, 0, 0, 0);
}

bool vcpu_pv_accepts_calls(struct ec *ec)
{
	return *(volatile uint32_t *)&pv_of(ec->vcpu)->ipc_accept != 0;
}

void vcpu_pv_calls_changed(struct ec *ec)
{
	struct vcpu *v = ec->vcpu;
	if (!v->page) {
		return; /* going: nothing will be delivered */
	}
	uint32_t n = 0;
	for (struct ec *w = ec->waiters; w; w = w->wait_next) {
		n++;
	}
	pv_of(v)->ipc_pending = n;
	if (n && ec->running && ec->cpu != this_cpu()->id) {
		arch_kick(ec->cpu); /* it takes the call on its way back to user mode */
	}
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
	unsigned slot = (v->pv_irq_head + v->pv_irq_count) % VIREO_VCPU_IRQ_QUEUE;
	v->pv_irq[slot] = label;
	v->pv_irq_seq[slot] = v->pv_seq++;
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
