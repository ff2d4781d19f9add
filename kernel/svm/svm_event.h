/* SPDX-License-Identifier: MIT */
/*
 * Event injection and re-injection for SVM (AMD APM vol. 2 15.20 "Event Injection", 15.7.2
 * "Intercepts During IDT Interrupt Delivery"): between the vendor-neutral inject/pending fields
 * and the VMCB's EVENTINJ/EXITINTINFO. Pure functions of a VMCB in memory: host unit tests run
 * them against a plain struct vmcb (tests/unit/svm_event.mk).
 */
#ifndef KERNEL_SVM_EVENT_H
#define KERNEL_SVM_EVENT_H

#include <vireo/vcpu.h>

#include "svm/vmcb.h"
#include "vcpu.h"

#define SVM_EVENT_VALID (1ull << 31)

/* A guest-raised event reported in EXITINTINFO, as the vendor-neutral event to re-deliver. */
uint32_t svm_event_classify(uint32_t info);
/* Before an entry: fill EVENTINJ from st->pending, else st->inject (each taken out of `st` once it
 * is in the slot; inject waits behind pending), step RIP past a SOFT event's instruction, and set
 * the interrupt-window request (VMM's intr_window, a queued inject, or more posted interrupts:
 * inj->more). Records the slot in inj. */
void svm_event_enter_take(struct vmcb *vmcb, struct vireo_vm_state *st, struct vcpu_injected *inj);
/*
 * svm_event_enter with nothing to inject and no window to ask for (take_event would give 0).
 * Only the kernel writes these fields (svm_event_enter_take, this) but for V_IRQ, which the CPU
 * only clears: after one entry in this state the next need not write it again (inj->none).
 */
static inline __attribute__((always_inline)) void svm_event_enter_none(struct vmcb *vmcb,
								       struct vcpu_injected *inj)
{
	if (inj->none) {
		return;
	}
	struct vmcb_control *c = &vmcb->ctl;
	c->eventinj = inj->event = 0;
	inj->len = 0;
	c->int_ctl = (c->int_ctl & ~(INT_CTL_V_IRQ | INT_CTL_V_IGN_TPR)) | INT_CTL_V_INTR_MASKING;
	c->intercept_misc1 &= ~MISC1_VINTR;
	inj->none = true;
}
static inline __attribute__((always_inline)) void
svm_event_enter(struct vmcb *vmcb, struct vireo_vm_state *st, struct vcpu_injected *inj)
{
	if (!((st->pending | st->inject) & VEVENT_VALID) && !st->intr_window && !inj->more) {
		svm_event_enter_none(vmcb, inj); /* most entries, in line */
		return;
	}
	svm_event_enter_take(vmcb, st, inj);
}
/* After an exit: the event cut off by it (EXITINTINFO) into st->pending, pending_err and
 * pending_len; an injected SOFT event puts RIP back on its instruction. */
void svm_event_exit_cut(struct vmcb *vmcb, struct vireo_vm_state *st,
			const struct vcpu_injected *inj);
static inline __attribute__((always_inline)) void
svm_event_exit(struct vmcb *vmcb, struct vireo_vm_state *st, const struct vcpu_injected *inj)
{
	st->pending = st->pending_err = 0;
	st->pending_len = 0;
	if (vmcb->ctl.exitintinfo & SVM_EVENT_VALID) {
		svm_event_exit_cut(vmcb, st, inj); /* an event was cut off: rare, apart */
	}
}

#endif
