/* SPDX-License-Identifier: MIT */
/* vCPU mode of an EC: its state page and the resume loop that runs a VM (docs/architecture.md#vcpu). */
#ifndef KERNEL_VCPU_H
#define KERNEL_VCPU_H

#include <vireo/syscall.h>
#include <vireo/vcpu.h>

#include "asid.h"
#include "types.h"

struct ec;
struct pd;
struct regs;

/* The event the backend put into the hardware's injection slot at the last entry, so that the
 * exit can tell it from one the guest raised itself; len: SOFT instruction length added to RIP. */
struct vcpu_injected {
	uint64_t event;
	unsigned len;
	bool deferred; /* inject waited behind pending: an INTR then needs the guest's window */
	bool more; /* more posted vectors wait: exit (to the kernel) at the guest's next window */
	/* SVM: the VMCB's event fields hold "nothing to inject, no window" and `event`/`len` are 0,
	 * as svm_event_enter_none left them (false: not known, as at the start). */
	bool none;
};

struct vcpu {
	struct vireo_vm_state *page; /* kernel view of the state page the VMM writes */
	uint64_t page_va;
	struct vireo_vm_state st; /* private copy: checked before entry, never seen half-written */
	struct pd *vm;		  /* the VM it runs now (a reference while running) */
	void *guest_fpu;	  /* the guest's FPU state, apart from the VMM's */
	struct quota *quota;	  /* its PD's: pays for this, the guest FPU state and hw */
	void *hw;		  /* the backend's VMCB/VMCS data */
	paddr_t hw_pa;
	bool loaded;	/* the whole state was loaded once (the first resume loads everything) */
	uint32_t fresh; /* state groups (VMTD_*) of `st` that equal the hardware's */
	uint64_t guest_xcr0;	   /* the XCR0 the guest runs with (VMTD_XCR0, checked) */
	struct vireo_vm_ctrl ctrl; /* the intercept control in force (checked) */
	paddr_t msrpm;		   /* the backend's per-vCPU MSR map once it needs one */
	struct vcpu_injected injected;
	/* Virtual user mode: IRQ labels waiting for vif, oldest first (a ring). */
	uint64_t pv_irq[VIREO_VCPU_IRQ_QUEUE];
	unsigned pv_irq_head, pv_irq_count;
	/* Virtual user mode, calls (docs/ABI.md "Calls to a vCPU"): the callers wait in the EC's
	 * `waiters` line; each queued IRQ and call takes the next number of `pv_seq`, so that the
	 * two kinds are delivered in the order they came. */
	uint64_t pv_irq_seq[VIREO_VCPU_IRQ_QUEUE];
	uint64_t pv_seq;
	struct ec *pv_caller; /* the caller whose call was delivered (NULL once it died) */
	bool pv_serving;      /* a call was delivered and is not replied to yet */
	void *pv_own_fpu; /* in virtual user mode: the vCPU's own FPU state (ec->fpu is the task's) */
	struct asid_tag asid; /* the ASID/VPID the backend last entered with */
	/* SYS_VCPU_POST: one bit per vector, set atomically by any CPU, taken (highest vector
	 * first) into `inject` at an entry whose inject slot is free (docs/ABI.md "Posted
	 * interrupts"). Never cleared otherwise: no post is lost, posts of one vector coalesce. */
	uint64_t posted[VIREO_VCPU_POST_VECTORS / 64];
	/* Bit w: posted[w] may be non-zero (vcpu_posted_set and _clear keep it so, kernel/vcpu.c):
	 * the one word every entry reads to ask whether anything is posted. */
	uint8_t posted_words;
	uint32_t posted_slot; /* the posted event vcpu_take_posted put into st.inject, or 0 */
	/* The resume fast path's VM capability: the VM PD selector `vm_cap_sel` of the EC's
	 * object space named when that space had generation `vm_cap_gen` (NULL: none). */
	struct pd *vm_cap;
	uint64_t vm_cap_sel, vm_cap_gen;
};

/* Why a SYS_VCPU_RESUME left the resume fast path (vcpu_resume_fast; counted per reason). */
enum vcpu_fast_why {
	VCPU_FAST_TAKEN,
	VCPU_FAST_OFF,	  /* fast paths switched off (`nofastpath` on the kernel command line) */
	VCPU_FAST_NOT_VM, /* not a vCPU, no backend, or no VM PD capability with CTRL */
	VCPU_FAST_NOT_LOADED, /* the first resume, or the first after a refused entry */
	VCPU_FAST_GROUPS,     /* mtd_in names more than GPRs and RIP/RFLAGS, or mtd_req is bad */
	VCPU_FAST_RFLAGS,     /* the RFLAGS in the page would be refused */
	VCPU_FAST_RECALL,     /* a recall waits for this resume */
	VCPU_FAST_ACTIVITY,   /* the vCPU is not RUNNING */
	VCPU_FAST_EVENTS,     /* an event waits in `st`, or an interrupt window is asked for */
	VCPU_FAST_POSTED,     /* posted interrupts wait */
	VCPU_FAST_WHY_COUNT
};

/* The VMM's words of the state page, read once: other threads of the VMM may write them any time. */
static inline __attribute__((always_inline)) uint32_t vcpu_page_word(const uint32_t *w)
{
	return *(const volatile uint32_t *)w;
}

/*
 * The groups an exit gives the VMM (docs/ABI.md "State groups"): its reason's default and the
 * one-shot request, each word of the page read once; the request is used up. For exit_to_vmm and
 * a backend's exit_to_page (kernel/virt.h).
 */
static inline __attribute__((always_inline)) uint32_t vcpu_exit_groups(struct vireo_vm_state *page,
								       uint32_t exit)
{
	uint32_t reason = exit < VM_EXIT_COUNT ? exit : VM_EXIT_OTHER;
	uint32_t out = (vcpu_page_word(&page->mtd_exit[reason]) | vcpu_page_word(&page->mtd_req)) &
		       VMTD_STATE;
	page->mtd_req = 0;
	return out;
}

/* Give `ec` vCPU mode with its state page at `va` in its PD. */
status_t vcpu_attach(struct ec *ec, uint64_t va);
/* The EC dies: its state page goes now; the rest waits for vcpu_free, when no CPU runs it. */
void vcpu_release_page(struct ec *ec);
void vcpu_free(struct vcpu *v);
/* SYS_VCPU_RESUME: run `vm` until an exit the VMM must see; returns through the EC's continuation. */
__noreturn void vcpu_resume(struct ec *ec, struct pd *vm);
/* SYS_VCPU_RESUME by `ec` (frame `r`) in the common case (vcpu_fast_take, kernel/vcpu_round.h)
 * for a backend without its own resume_fast: enter the guest and never return, or
 * return with nothing changed for the general path (sys_vcpu_resume). */
void vcpu_resume_fast(struct ec *ec, const struct regs *r);
/* Counts per enum vcpu_fast_why since boot (under the kernel lock). */
const uint64_t *vcpu_fast_stats(void);
/* Virtual user mode (docs/architecture.md#virtual-user-mode): run the state page's `user` registers in `task`. */
status_t vcpu_pv_resume(struct ec *ec, struct pd *task,
			uint64_t flags); /* returns only a refusal */
/* An event in virtual user mode: save the task's state, continue at the entry point. */
void vcpu_pv_event(struct ec *ec, unsigned cause, unsigned vector, uint64_t error, uint64_t addr);
/* The EC goes: if it is in virtual user mode, ec->fpu becomes its own state again. */
void vcpu_pv_fpu_restore(struct ec *ec);
/* On the way back to user mode: deliver a pending IRQ if the task runs with vif open. */
void vcpu_pv_check(struct ec *ec);
/* Does vCPU `ec` take portal calls (its state page's ipc_accept)? */
bool vcpu_pv_accepts_calls(struct ec *ec);
/* The line of callers waiting for vCPU `ec` changed: publish its length, kick a running vCPU. */
void vcpu_pv_calls_changed(struct ec *ec);
/* SYS_VCPU_IRQ: queue an IRQ with `label`; BUSY when VIREO_VCPU_IRQ_QUEUE are waiting. */
status_t vcpu_pv_irq(struct ec *target, uint64_t label);
/* SYS_VCPU_POST: request external interrupt `vector` (< 256) at `target`'s next entry; a CPU
 * running it in its guest is kicked out. BAD_CAP if `target` is no vCPU. */
status_t vcpu_post(struct ec *target, unsigned vector);
/* An entry: move the highest posted vector into st->inject if that slot is free. */
void vcpu_take_posted(struct vcpu *v);
void virt_init(void);
void virt_cpu_init(void);

#endif
