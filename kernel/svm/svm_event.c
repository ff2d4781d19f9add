/* SPDX-License-Identifier: MIT */
/*
 * SVM event injection (AMD APM vol. 2 15.20) and the re-delivery of an event cut off by an exit
 * (15.7.2, EXITINTINFO). EVENTINJ and EXITINTINFO share the layout of the vendor-neutral VEVENT_*
 * word: vector 7:0, type 10:8, error-code valid 11, valid 31, error code in the high half.
 *
 * The type EXITINTINFO reports for an event the guest raised is not always the one to inject:
 * - INT n, INT3, INTO (software interrupts and software exceptions: SOFT, or EXCEPTION with vector
 *   3 or 4) are not injected again: RIP still points at the instruction, which raises the event
 *   again when executed; injecting it would need its length, which the kernel does not know.
 * - QEMU reports external interrupts and NMIs as EXCEPTION (vector >= 32, or 2): those are INTR
 *   and NMI again; an EXCEPTION with vector >= 32 would make VMRUN fail.
 * An event the kernel injected itself at this entry keeps its injected form (and length).
 */
#include "svm/svm_event.h"

#define TYPE_MASK 0x700u
#define ERR_CLEAR(e) ((e) & ~VEVENT_ERR_VALID)

static bool is_soft(uint32_t ev)
{
	return (ev & VEVENT_VALID) && VEVENT_TYPE(ev) == VEVENT_TYPE_SOFT;
}

uint32_t svm_event_classify(uint32_t info)
{
	unsigned vector = VEVENT_VECTOR(info);
	uint32_t base = info & ~TYPE_MASK;
	if (!(info & VEVENT_VALID)) {
		return 0;
	}
	switch (VEVENT_TYPE(info)) {
	case VEVENT_TYPE_SOFT:
		return ERR_CLEAR(base) | VEVENT_TYPE_SOFT;
	case VEVENT_TYPE_EXC:
		if (vector == 2) {
			return ERR_CLEAR(base) | VEVENT_TYPE_NMI;
		}
		if (vector >= 32) {
			return ERR_CLEAR(base) | VEVENT_TYPE_INTR;
		}
		if (vector == 3 || vector == 4) {
			return ERR_CLEAR(base) | VEVENT_TYPE_SOFT; /* INT3, INTO */
		}
		return info;
	case VEVENT_TYPE_INTR:
	case VEVENT_TYPE_NMI:
		return ERR_CLEAR(info);
	default:
		return info; /* reserved: left for the entry checks to refuse, never dropped */
	}
}

/* Can the guest take an external interrupt at this entry (RFLAGS.IF, no interrupt shadow)? */
static bool window_open(const struct vmcb *vmcb)
{
	return (vmcb->save.rflags & (1ull << 9)) && !(vmcb->ctl.int_shadow & 1);
}

/* The slot for this entry: the cut-off event first, then the VMM's inject. */
static uint64_t take_event(struct vmcb *vmcb, struct vireo_vm_state *st, struct vcpu_injected *inj)
{
	unsigned *len = &inj->len;
	*len = 0;
	if (st->pending & VEVENT_VALID) {
		uint32_t ev = st->pending;
		unsigned plen = st->pending_len;
		uint64_t err = st->pending_err;
		st->pending = st->pending_err = 0;
		st->pending_len = 0;
		if (!is_soft(ev) || plen) {
			vmcb->save.rip += is_soft(ev) ? plen : 0;
			*len = is_soft(ev) ? plen : 0;
			inj->deferred |= (st->inject & VEVENT_VALID) != 0;
			return ev | err << 32;
		}
		/* A SOFT event of unknown length: the guest executes the instruction again. */
	}
	/* An IRQ the VMM gave for an earlier window waits for the guest's next one. */
	bool closed =
		inj->deferred && VEVENT_TYPE(st->inject) == VEVENT_TYPE_INTR && !window_open(vmcb);
	if ((st->inject & VEVENT_VALID) && !closed) {
		uint32_t ev = st->inject;
		uint64_t err = st->inject_err;
		*len = is_soft(ev) ? st->inject_len : 0;
		vmcb->save.rip += *len;
		st->inject = st->inject_err = 0;
		st->inject_len = 0;
		inj->deferred = false;
		return ev | err << 32;
	}
	return 0;
}

/* svm_event_enter with an event to inject or a window to ask for. */
void svm_event_enter_take(struct vmcb *vmcb, struct vireo_vm_state *st, struct vcpu_injected *inj)
{
	struct vmcb_control *c = &vmcb->ctl;
	inj->none = false;
	c->eventinj = take_event(vmcb, st, inj);
	inj->event = c->eventinj;
	/* A V_IRQ with the VINTR intercept exits once the guest can take an interrupt (15.21.4). */
	if (st->intr_window || (st->inject & VEVENT_VALID) || inj->more) {
		c->int_ctl |= INT_CTL_V_IRQ | INT_CTL_V_IGN_TPR;
		c->intercept_misc1 |= MISC1_VINTR;
	} else {
		c->int_ctl &= ~(INT_CTL_V_IRQ | INT_CTL_V_IGN_TPR);
		c->intercept_misc1 &= ~MISC1_VINTR;
	}
	c->int_ctl |= INT_CTL_V_INTR_MASKING;
}

/* svm_event_exit when EXITINTINFO holds an event (pending cleared by the caller). */
void svm_event_exit_cut(struct vmcb *vmcb, struct vireo_vm_state *st,
			const struct vcpu_injected *inj)
{
	uint64_t info = vmcb->ctl.exitintinfo;
	if ((inj->event & SVM_EVENT_VALID) && (uint32_t)info == (uint32_t)inj->event) {
		/* Our own injection did not complete: report it as it was given. */
		st->pending = (uint32_t)inj->event;
		st->pending_err = (uint32_t)(inj->event >> 32);
		if (is_soft(st->pending)) {
			vmcb->save.rip -= inj->len;
			st->pending_len = (uint8_t)inj->len;
		}
		return;
	}
	st->pending = svm_event_classify((uint32_t)info);
	st->pending_err = st->pending & VEVENT_ERR_VALID ? (uint32_t)(info >> 32) : 0;
}
