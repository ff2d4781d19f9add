/* SPDX-License-Identifier: MIT */
/*
 * What real hardware would refuse at VM entry (AMD APM vol. 2 15.5.1 "VMRUN" consistency checks,
 * Intel SDM vol. 3C 26.3), checked before the kernel enters a guest: QEMU checks less, and a
 * refusal must reach the VMM as VM_EXIT_INVALID, never as a failed entry in the kernel.
 */
#include "vcpu_check.h"

#include "kstring.h"
#include "x86/cpu.h"

#define EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
/* VME, PVI, TSD, DE, PSE, PAE, MCE, PGE, PCE, OSFXSR, OSXMMEXCPT: every AMD64 CPU has them. */
#define CR4_BASE 0x7ffull

static uint64_t bit_if(uint32_t word, unsigned bit, uint64_t cr4_bit)
{
	return (word >> bit) & 1 ? cr4_bit : 0;
}

uint64_t vcpu_cr4_allowed(const struct vcpu_cpuid *c)
{
	/* VMXE and SMXE are not offered: SVM runs no nested VMX and no SMX in a guest. */
	return CR4_BASE | bit_if(c->l1_ecx, 17, CR4_PCIDE) | bit_if(c->l1_ecx, 26, CR4_OSXSAVE) |
	       bit_if(c->l7_ebx, 0, CR4_FSGSBASE) | bit_if(c->l7_ebx, 7, CR4_SMEP) |
	       bit_if(c->l7_ebx, 20, CR4_SMAP) | bit_if(c->l7_ecx, 2, CR4_UMIP) |
	       bit_if(c->l7_ecx, 3, CR4_PKE) | bit_if(c->l7_ecx, 7, CR4_CET) |
	       bit_if(c->l7_ecx, 16, CR4_LA57) | bit_if(c->l7_ecx, 31, CR4_PKS);
}

/* Exceptions that push an error code (SDM vol. 3A table 6-1). */
static bool has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

bool vcpu_event_ok(uint32_t ev, unsigned len)
{
	unsigned vector = VEVENT_VECTOR(ev);
	bool err = ev & VEVENT_ERR_VALID;
	if (!(ev & VEVENT_VALID)) {
		return len == 0;
	}
	if (ev & 0x7ffff000u) {
		return false;
	}
	if (VEVENT_TYPE(ev) == VEVENT_TYPE_SOFT) {
		return !err && len <= VEVENT_LEN_MAX;
	}
	if (len) {
		return false; /* only a software interrupt has an instruction to return past */
	}
	switch (VEVENT_TYPE(ev)) {
	case VEVENT_TYPE_INTR:
		return !err;
	case VEVENT_TYPE_NMI:
		return vector == 2 && !err;
	case VEVENT_TYPE_EXC:
		return vector < 32 && vector != 2 && (!err || has_error_code(vector));
	default:
		return false;
	}
}

bool vcpu_xcr0_ok(uint64_t xcr0, uint64_t host_xcr0)
{
	if (!(xcr0 & XCR0_X87)) {
		return false; /* x87 state can never be disabled */
	}
	if ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)) {
		return false;
	}
	/* Without XSAVE on the host the guest has no XSETBV either: only the reset value. */
	return !(xcr0 & ~(host_xcr0 | XCR0_X87));
}

static unsigned check_control(const struct vireo_vm_state *st, const struct vcpu_limits *lim)
{
	if ((st->cr0 >> 32) || ((st->cr0 & CR0_PG) && !(st->cr0 & CR0_PE)) ||
	    ((st->cr0 & CR0_NW) && !(st->cr0 & CR0_CD))) {
		return VM_INVALID_CR0;
	}
	if (st->cr4 & ~lim->cr4_allowed) {
		return VM_INVALID_CR4;
	}
	bool lme = st->efer & EFER_LME, pg = st->cr0 & CR0_PG;
	if ((st->efer & ~EFER_ALLOWED) || (lme && pg && !(st->cr4 & CR4_PAE)) ||
	    (!!(st->efer & EFER_LMA) != (lme && pg))) {
		return VM_INVALID_EFER;
	}
	if (!vcpu_xcr0_ok(st->xcr0, lim->host_xcr0)) {
		return VM_INVALID_XCR0;
	}
	return 0;
}

static bool segments_ok(const struct vireo_vm_state *st)
{
	if ((st->cr0 & CR0_PE) && !(st->cs.attr & VSEG_ATTR_P)) {
		return false;
	}
	return !((st->cs.attr & VSEG_ATTR_L) && (st->cs.attr & VSEG_ATTR_DB));
}

static bool events_ok(const struct vireo_vm_state *st)
{
	/* An injected software interrupt needs its length: its handler returns past it. */
	bool soft = (st->inject & VEVENT_VALID) && VEVENT_TYPE(st->inject) == VEVENT_TYPE_SOFT;
	return vcpu_event_ok(st->inject, st->inject_len) && !(soft && !st->inject_len) &&
	       vcpu_event_ok(st->pending, st->pending_len) && st->intr_window <= 1;
}

unsigned vcpu_check_state(const struct vireo_vm_state *st, const struct vcpu_limits *lim)
{
	unsigned bad = check_control(st, lim);
	if (bad) {
		return bad;
	}
	return vcpu_check_groups(st, VMTD_STATE & ~VMTD_CR, lim);
}

/* ---------------------------------------------------------------- state groups */

#define FIELD_SPAN(first, last)                                                                    \
	{                                                                                          \
		__builtin_offsetof(struct vireo_vm_state, first),                                  \
			__builtin_offsetof(struct vireo_vm_state, last) +                          \
				sizeof(((struct vireo_vm_state *)0)->last) -                       \
				__builtin_offsetof(struct vireo_vm_state, first)                   \
	}

/* Each group is one contiguous run of 8-byte words in the state (checked below). */
static const struct {
	uint16_t off, len;
} groups[] = {
	{ __builtin_offsetof(struct vireo_vm_state, gpr), 4 * 8 }, /* rax, rcx, rdx, rbx */
	FIELD_SPAN(rip, rflags),
	FIELD_SPAN(cr0, efer),
	FIELD_SPAN(dr6, dr7),
	FIELD_SPAN(xcr0, xcr0),
	FIELD_SPAN(cs, ss),
	FIELD_SPAN(ds, es),
	FIELD_SPAN(fs, gs),
	FIELD_SPAN(tr, ldtr),
	FIELD_SPAN(gdtr, idtr),
	FIELD_SPAN(kernel_gs_base, sfmask),
	FIELD_SPAN(sysenter_cs, sysenter_eip),
	FIELD_SPAN(pat, pat),
	FIELD_SPAN(pending, activity),
	FIELD_SPAN(tsc_offset, tsc_offset),
	{ __builtin_offsetof(struct vireo_vm_state, gpr) + 4 * 8, 12 * 8 }, /* rsp .. r15 */
};

_Static_assert(sizeof(groups) / sizeof(groups[0]) == 16 && VMTD_EVENTS == 1u << 13 &&
		       VMTD_GPR_HI == 1u << 15,
	       "one span per VMTD_* state group, in bit order");
_Static_assert(__builtin_offsetof(struct vireo_vm_state, pending) % 8 == 0, "events aligned");
_Static_assert((__builtin_offsetof(struct vireo_vm_state, mtd_in) -
		__builtin_offsetof(struct vireo_vm_state, pending)) == 32,
	       "the events group is four words");
_Static_assert(__builtin_offsetof(struct vireo_vm_state, exit) % 8 == 0 &&
		       (__builtin_offsetof(struct vireo_vm_state, exits) + 8 -
			__builtin_offsetof(struct vireo_vm_state, exit)) %
				       8 ==
			       0,
	       "exit info aligned, whole words");

/* `n` words at byte offset `off`, in a loop: the groups are one to twelve words, too short for a
 * call to memcpy (REP MOVSQ) to pay. */
static inline void copy_words(void *dst, const void *src, size_t off, size_t n)
{
	uint64_t *d = (uint64_t *)((char *)dst + off);
	const uint64_t *s = (const uint64_t *)((const char *)src + off);
	for (size_t i = 0; i < n; i++) {
		d[i] = s[i];
	}
}

void vcpu_mtd_copy(struct vireo_vm_state *dst, const struct vireo_vm_state *src, uint32_t mtd)
{
	for (mtd &= (1u << ARRAY_SIZE(groups)) - 1; mtd; mtd &= mtd - 1) {
		unsigned g = (unsigned)__builtin_ctz(mtd);
		copy_words(dst, src, groups[g].off, groups[g].len / 8);
	}
}

uint32_t vcpu_check_deps(uint32_t mtd)
{
	/* The segment check reads CR0 and CS together, the EFER check CR0 and CR4 (one group). */
	return mtd & (VMTD_CR | VMTD_CS_SS) ? VMTD_CR | VMTD_CS_SS : 0;
}

unsigned vcpu_check_groups(const struct vireo_vm_state *st, uint32_t mtd,
			   const struct vcpu_limits *lim)
{
	if (mtd & VMTD_CR) {
		unsigned bad = check_control(st, lim);
		if (bad && bad != VM_INVALID_XCR0) {
			return bad;
		}
	}
	if ((mtd & VMTD_XCR0) && !vcpu_xcr0_ok(st->xcr0, lim->host_xcr0)) {
		return VM_INVALID_XCR0;
	}
	if ((mtd & VMTD_RIP) && !vcpu_rflags_ok(st->rflags)) {
		return VM_INVALID_RFLAGS;
	}
	if ((mtd & (VMTD_CR | VMTD_CS_SS)) && !segments_ok(st)) {
		return VM_INVALID_SEGMENT;
	}
	if ((mtd & VMTD_DR) && ((st->dr6 >> 32) || (st->dr7 >> 32))) {
		return VM_INVALID_DR;
	}
	if ((mtd & VMTD_EVENTS) && !events_ok(st)) {
		return VM_INVALID_EVENT;
	}
	if (st->activity > VM_ACTIVITY_WAIT_SIPI) {
		return VM_INVALID_ACTIVITY;
	}
	return 0;
}

bool vcpu_can_enter(const struct vireo_vm_state *st)
{
	switch (st->activity) {
	case VM_ACTIVITY_RUNNING:
		return true;
	case VM_ACTIVITY_HALTED:
		/* HLT ends with any event the CPU delivers: an interrupt only while the guest's IF is
		 * set; an NMI, an exception or a cut-off event always (HLT in Intel SDM vol. 2A; the
		 * guest activity state of the VMCS, vol. 3C). */
		if (st->pending & VEVENT_VALID) {
			return true;
		}
		if (!(st->inject & VEVENT_VALID)) {
			return false;
		}
		return VEVENT_TYPE(st->inject) != VEVENT_TYPE_INTR || (st->rflags & RFLAGS_IF);
	default:
		return false; /* WAIT_SIPI: the VMM makes it RUNNING at the start-up IPI */
	}
}

unsigned vcpu_check_ctrl(const struct vireo_vm_ctrl *c)
{
	bool ok = !(c->msr_pass & ~VMSR_PASS_ALL) && !(c->intercept & ~VINT_ALL) && !c->reserved &&
		  !(c->exc_bitmap & (1u << 2)) && !(c->cr0_mask >> 32) && !(c->cr0_shadow >> 32);
	return ok ? 0 : VM_INVALID_CTRL;
}
