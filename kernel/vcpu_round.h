/* SPDX-License-Identifier: MIT */
/*
 * The resume fast path (docs/architecture.md#resume-fast-path) in the pieces vcpu.c's generic
 * round and a backend's own (virt_ops.resume_fast) share, in line in both: the decode, leaving
 * the kernel lock for the guest, coming back under it, and the return to the VMM.
 */
#ifndef KERNEL_VCPU_ROUND_H
#define KERNEL_VCPU_ROUND_H

#include <vireo/status.h>

#include "arch.h"
#include "ec.h"
#include "fastpath.h"
#include "fpu.h"
#include "klock.h"
#include "obj.h"
#include "pd.h"
#include "sched.h"
#include "vcpu.h"
#include "vcpu_check.h"
#include "virt.h"
#include "x86/percpu.h"
#include "x86/regs.h"

/* ---------------------------------------------------------------- the decode */

/* Why SYS_VCPU_RESUMEs left the fast path, per enum vcpu_fast_why (under the kernel lock). */
extern uint64_t vcpu_fast_counts[VCPU_FAST_WHY_COUNT];

/* The groups the fast path takes: only RIP/RFLAGS have a check (vcpu_rflags_ok). */
#define VCPU_FAST_IN (VMTD_GPR_ACDB | VMTD_GPR_HI | VMTD_RIP)

/* Any posted vector waiting? Every entry asks: one byte, the summary of the four words. */
static inline __attribute__((always_inline)) bool vcpu_posted_any(const struct vcpu *v)
{
	_Static_assert(VIREO_VCPU_POST_VECTORS / 64 <= 8, "a bit per word of posted vectors");
	return __atomic_load_n(&v->posted_words, __ATOMIC_ACQUIRE) != 0;
}

static inline __attribute__((always_inline)) enum vcpu_fast_why
vcpu_fast_check(const struct ec *ec, const struct vcpu *v, uint32_t in, uint32_t req)
{
	if (!v->loaded) {
		return VCPU_FAST_NOT_LOADED;
	}
	if ((in & ~VCPU_FAST_IN) || (req & ~VMTD_STATE)) {
		return VCPU_FAST_GROUPS;
	}
	if (ec->recall) {
		return VCPU_FAST_RECALL;
	}
	if (v->st.activity != VM_ACTIVITY_RUNNING) {
		return VCPU_FAST_ACTIVITY;
	}
	if (((v->st.inject | v->st.pending) & VEVENT_VALID) || v->st.intr_window) {
		return VCPU_FAST_EVENTS;
	}
	return vcpu_posted_any(v) ? VCPU_FAST_POSTED : VCPU_FAST_TAKEN;
}

/*
 * The VM PD capability `sel` names in the EC's object space, with the CTRL right, as the general
 * path looks it up (pd_lookup_obj), or NULL. The last hit is remembered with the space's
 * generation: every removal from the space (a revoke, a grant away, an overwrite, which removes
 * first, the space's end) bumps it, and a node's rights and object change only while it is out of
 * the index, so an equal generation means the same node, rights and object are in that slot. The
 * object is a PD until the last capability to it goes, which is such a removal.
 */
static inline __attribute__((always_inline)) struct pd *vcpu_fast_vm(const struct ec *ec,
								     struct vcpu *v, uint64_t sel)
{
	uint64_t gen = ec->pd->objs.gen;
	if (v->vm_cap && sel == v->vm_cap_sel && gen == v->vm_cap_gen) {
		return v->vm_cap;
	}
	struct pd *vm = (struct pd *)pd_lookup_obj(ec->pd, sel, OBJ_PD, RIGHT_PD_CTRL);
	if (!vm || !vm->vm) {
		return NULL;
	}
	v->vm_cap = vm;
	v->vm_cap_sel = sel;
	v->vm_cap_gen = gen;
	return vm;
}

/*
 * SYS_VCPU_RESUME by `ec` (frame `r`, the kernel lock held) in the common case of a VM exit
 * handled by the VMM (docs/architecture.md#resume-fast-path): the vCPU ran before, the VMM
 * changed only general registers and RIP/RFLAGS, and no event, recall, activity change or posted
 * interrupt needs the general path. Then this is vcpu_resume for those groups without the general
 * decoding: the same capability lookup and rights, the same RFLAGS check on one read of the page.
 * True: the groups `*in` are in v->st and v->vm is the VM, the round may start. No reference is
 * taken: the round holds the kernel lock until it returns, and takes one where it goes on without
 * the lock (vcpu_round_general).
 * False: nothing changed, and the general path decides. Counted per reason either way.
 * `have_virt`: there is a backend (`virt`; a backend's own resume_entry knows it). `lean`: the
 * boot picked this entry because the fast paths are on and `debug` is off (syscall_resume_for),
 * so neither is asked (DEBUG_CHECK_UNLESS).
 */
static inline __attribute__((always_inline)) bool
vcpu_fast_take(struct ec *ec, const struct regs *r, bool have_virt, bool lean, uint32_t *in)
{
	struct vcpu *v = ec->vcpu;
	struct pd *vm = NULL;
	enum vcpu_fast_why why = VCPU_FAST_OFF;
	if (lean || fastpath_enabled()) {
		vm = v && have_virt ? vcpu_fast_vm(ec, v, r->rdi) : NULL;
		why = vm ? VCPU_FAST_TAKEN : VCPU_FAST_NOT_VM;
	}
	uint32_t mtd = 0;
	uint64_t rip = 0, rflags = 0;
	if (why == VCPU_FAST_TAKEN) {
		/* Decode: each word of the page the VMM may rewrite meanwhile is read once. */
		struct vireo_vm_state *page = v->page;
		mtd = vcpu_page_word(&page->mtd_in);
		why = vcpu_fast_check(ec, v, mtd, vcpu_page_word(&page->mtd_req));
		if (why == VCPU_FAST_TAKEN && (mtd & VMTD_RIP)) {
			rip = *(const volatile uint64_t *)&page->rip;
			rflags = *(const volatile uint64_t *)&page->rflags;
			why = vcpu_rflags_ok(rflags) ? VCPU_FAST_TAKEN : VCPU_FAST_RFLAGS;
		}
	}
	if (why != VCPU_FAST_TAKEN) {
		vcpu_fast_counts[why]++;
		return false;
	}
	vcpu_fast_counts[VCPU_FAST_TAKEN]++; /* apart: one add to memory on the path */
	/* Act: what vcpu_resume and take_groups do for these groups, nothing else to refuse. */
	struct vireo_vm_state *page = v->page;
	page->mtd_in = 0;
	const volatile uint64_t *g = page->gpr; /* each word read once */
	if (mtd & VMTD_GPR_ACDB) {
		for (unsigned i = 0; i < 4; i++) {
			v->st.gpr[i] = g[i];
		}
	}
	if (mtd & VMTD_GPR_HI) {
		for (unsigned i = 4; i < 16; i++) {
			v->st.gpr[i] = g[i];
		}
	}
	if (mtd & VMTD_RIP) {
		v->st.rip = rip;
		v->st.rflags = rflags;
	}
	v->vm = vm;
	*in = mtd;
	return true;
}

/* ---------------------------------------------------------------- the round */

/* A round whose exit the kernel handled (a host interrupt, a reflected #DB/#AC): a recall or
 * preemption that came meanwhile, then the general run loop. */
__noreturn void vcpu_round_handled(struct ec *ec);
/* A round whose entry the CPU refused, its exit information in v->st (exit_info): to the VMM,
 * and the next resume loads every group. */
__noreturn void vcpu_round_refused(struct ec *ec);

/* Before a guest run, either round's: this CPU runs `v->vm`, with the guest's FPU state. */
static inline __attribute__((always_inline)) void vcpu_round_load(struct vcpu *v)
{
	this_cpu_field(vm_root) = pa_addr(v->vm->pt.root);
	fpu_load_area(v->guest_fpu);
}

/* Into the guest, the lock released (the general run loop: kernel/vcpu.c run_guest). */
static inline __attribute__((always_inline)) void vcpu_round_leave(struct ec *ec, struct vcpu *v)
{
	vcpu_round_load(v);
	ec->running = true;
	klock_release_to_waiters(); /* the guest may run long: a waiting CPU first */
}

/* The lock again after a guest run without it (the general loop's, or a fused round going on in
 * it): the host interrupt that ended the run comes in first, outside the lock it takes, and the
 * EC may have died meanwhile. */
static inline __attribute__((always_inline)) void vcpu_round_relock(void)
{
	arch_irq_window();
	klock_acquire();
	if (!ec_enter_kernel()) {
		sched_schedule(); /* the vCPU was destroyed meanwhile */
	}
}

/* The guest changed its hardware state; the events and the GPRs the hardware does not hold are
 * kept in `st` by the backend, but RAX/RSP and the interrupt shadow are not. */
static inline __attribute__((always_inline)) void vcpu_round_ran(struct vcpu *v)
{
	v->fresh = 0;
	v->st.exits++;
}

/* Back under the lock after the general loop's guest ran. */
static inline __attribute__((always_inline)) void vcpu_round_back(struct vcpu *v)
{
	vcpu_round_relock();
	vcpu_round_ran(v);
}

/*
 * The start of a fused round, after vcpu_fast_take: the entry is quiet (the decode found no event
 * in `st`, no window asked for and, under the lock every vcpu_post takes, nothing posted, so
 * vcpu_take_posted would only clear `more`). Unlike the general loop's entry it keeps the kernel
 * lock while the guest runs: no other CPU can change anything the round uses until it returns or
 * goes on in the general path, and a CPU that waits for the lock kicks this one out of the guest
 * (lock_in_guest, klock_kick.h). The EC stays `running` = false meanwhile (in the kernel), as
 * nobody can look before the round sets it. `lean`: vcpu_fast_take's.
 */
static inline __attribute__((always_inline)) void vcpu_round_start(struct vcpu *v, bool lean)
{
	if (!lean) {
		sched_check_stack();
	}
	DEBUG_CHECK_UNLESS(lean, !v->posted_slot &&
					 !((v->st.inject | v->st.pending) & VEVENT_VALID) &&
					 !v->st.intr_window && klock_held());
	v->injected.more = false;
	vcpu_round_load(v);
	this_cpu_field(lock_in_guest) = true;
}

/* Back from a fused round's guest, the lock still held: nothing but the vCPU's hardware state
 * changed, and the EC is alive. A host interrupt that ended the run waits (the CPU's IF is
 * clear) for vcpu_round_handled's window or the return to user mode. */
static inline __attribute__((always_inline)) void vcpu_round_end(struct vcpu *v)
{
	this_cpu_field(lock_in_guest) = false;
	vcpu_round_ran(v);
}

/* A fused round goes on in the general path, which expects v->vm to hold a reference. */
static inline __attribute__((always_inline)) void vcpu_round_general(struct vcpu *v)
{
	obj_get(&v->vm->obj);
}

/*
 * The return of a fused round to the VMM, the page written (exit_to_page): return_to_vmm for a
 * round that took no posted vector, then ec_ret_syscall without the para-virtual and recall
 * checks when they have nothing to do. check_recall is a no-op for a VMM's EC (it keeps a recall
 * for its next resume). `lean`: vcpu_fast_take's.
 */
static inline __attribute__((always_inline, noreturn)) void
vcpu_round_return(struct ec *ec, struct vcpu *v, bool lean)
{
	this_cpu_field(vm_root) = 0;
	v->vm = NULL; /* the round took no reference (vcpu_fast_take) */
	ec->regs.rax = VIREO_OK;
	if (v->pv_irq_count || ec->waiters) {
		ec_ret_syscall(ec); /* vcpu_pv_check decides */
	}
	/*
	 * prepare_space without what is still in place: the system call entered on this CPU from
	 * this EC's user mode in its own PD (not a task: syscall_enter checked), and the round ran
	 * no other EC here (a run the kernel handled left for the general loop; a host interrupt in
	 * kernel mode runs none). So this CPU's current EC, entry frame and CR3 (and cpu->cr3,
	 * which shoot-downs read) are still this EC's; #VMEXIT restored the host CR3 that VMRUN
	 * saved. The I/O bitmap is not: another CPU may invalidate this CPU's copy any time.
	 */
	DEBUG_CHECK_UNLESS(lean,
			   ec->vcpu == v && !ec->pv_task && this_cpu()->current == ec &&
				   this_cpu()->regs_top == (uint64_t)(uintptr_t)(&ec->regs + 1) &&
				   arch_space_root() == pa_addr(ec->pd->pt.root) &&
				   this_cpu()->cr3 == pa_addr(ec->pd->pt.root));
	ec->running = true;
	ec->cont = ec_ret_iret;
	iobitmap_load(ec->pd->io_bitmap);
	/* The round loaded the guest's FPU state; nothing on this CPU switched it since (a host
	 * interrupt taken in arch_irq_window runs no EC, and a run the kernel handled did not
	 * come here). */
	fpu_switch_from(ec->fpu, v->guest_fpu, lean);
	klock_release_as(lean);
	if (ec->regs.rip < USER_END) {
		ret_user_sysret(&ec->regs);
	}
	ret_user_iret(&ec->regs);
}

#endif
