/* SPDX-License-Identifier: MIT */
/*
 * The checks of a guest state the VMM wrote, before the kernel enters it: pure functions of the
 * state and of what this machine allows, so host unit tests run them (tests/unit/vcpu_check.mk).
 */
#ifndef KERNEL_VCPU_CHECK_H
#define KERNEL_VCPU_CHECK_H

#include <vireo/vcpu.h>

#include "types.h"

/* What the host CPU lets a guest have, fixed at boot (vcpu_limits_from_cpuid). */
struct vcpu_limits {
	uint64_t cr4_allowed; /* CR4 bits the hardware implements (and a guest may own) */
	uint64_t host_xcr0;   /* the kernel's XCR0; 0 when the host has no XSAVE */
};

/* The CPUID words the CR4 mask depends on: leaf 1 ECX, leaf 7 subleaf 0 EBX and ECX (0 when
 * leaf 7 is absent). */
struct vcpu_cpuid {
	uint32_t l1_ecx, l7_ebx, l7_ecx;
};

/* CR4 bits this CPU implements, from CPUID (Intel SDM vol. 3A 2.5, AMD APM vol. 2 3.1.3). */
uint64_t vcpu_cr4_allowed(const struct vcpu_cpuid *c);
/* Is `ev` (VEVENT_*) with instruction length `len` an event the hardware can inject? */
bool vcpu_event_ok(uint32_t ev, unsigned len);
/* Would the CPU enter with these RFLAGS: reserved bits 3, 5, 15 and 22-63 clear, bit 1 set (AMD
 * APM vol. 2 15.5.1; Intel SDM vol. 3C 26.3.1.4)? Inline: the resume fast path checks it. */
static inline bool vcpu_rflags_ok(uint64_t rflags)
{
	return !(rflags & 0xffffffffffc08028ull) && (rflags & 0x2);
}
/* Is `xcr0` a value XSETBV would accept on this host (SDM vol. 1 13.3)? */
bool vcpu_xcr0_ok(uint64_t xcr0, uint64_t host_xcr0);
/* 0 if the state may be entered, else a VM_INVALID_* reason. */
unsigned vcpu_check_state(const struct vireo_vm_state *st, const struct vcpu_limits *lim);
/* May a checked state be entered now, given its activity (RUNNING, or HALTED with an event)? */
bool vcpu_can_enter(const struct vireo_vm_state *st);
/* The same checks, only those that read a group in `mtd` (VMTD_*): with vcpu_check_deps(mtd)
 * current in `st` too, this is what a resume that loads `mtd` must pass. */
unsigned vcpu_check_groups(const struct vireo_vm_state *st, uint32_t mtd,
			   const struct vcpu_limits *lim);
/* Groups the checks of `mtd` read besides `mtd` itself. */
uint32_t vcpu_check_deps(uint32_t mtd);
/* 0 if the intercept control area may be applied, else VM_INVALID_CTRL. */
unsigned vcpu_check_ctrl(const struct vireo_vm_ctrl *c);
/* Copy the state groups in `mtd` (VMTD_STATE bits; the others are ignored), word by word. */
void vcpu_mtd_copy(struct vireo_vm_state *dst, const struct vireo_vm_state *src, uint32_t mtd);
/* Copy the exit information (exit .. exits), which every exit writes: seven words, in line. */
static inline __attribute__((always_inline)) void
vcpu_exit_info_copy(struct vireo_vm_state *dst, const struct vireo_vm_state *src)
{
	dst->exit = src->exit;
	dst->insn_len = src->insn_len;
	dst->qual = src->qual;
	dst->gpa = src->gpa;
	dst->gla = src->gla;
	dst->next_rip = src->next_rip;
	dst->io = src->io;
	dst->exits = src->exits;
}

#endif
