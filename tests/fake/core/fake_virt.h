/* SPDX-License-Identifier: MIT */
/*
 * vCPUs on the fake machine: the real SVM backend (VMCB set-up, state <-> VMCB translation) with
 * only VMRUN replaced by a test's guest step, which edits the VMCB as the guest and the CPU
 * would and sets the exit code. The kernel's run loop around it is the real one.
 */
#ifndef TESTS_FAKE_CORE_FAKE_VIRT_H
#define TESTS_FAKE_CORE_FAKE_VIRT_H

#include "svm/vmcb.h"
#include "vcpu.h"
#include "virt.h"

/* One guest run: n counts runs of this vCPU from 1. Set vmcb->ctl.exitcode (and exitinfo*). */
typedef void (*fake_guest_fn)(struct vcpu *v, struct vmcb *vmcb, unsigned n);

struct fake_virt_log {
	unsigned runs;		 /* guest entries */
	uintptr_t stack_first;	 /* address of a local in the first run: the stack depth then */
	uintptr_t stack_deepest; /* the lowest such address over all runs (the stack grows down) */
	paddr_t gpt_root;	 /* the guest-physical table the last run used */
	bool lock_held_in_guest; /* the kernel lock was held while a guest ran */
	uint64_t injected;	 /* EVENTINJ at the entry of the last run (0: none) */
	unsigned injections;	 /* entries that delivered an event */
	uint32_t asid;		 /* the VMCB's ASID at the last entry */
	uint8_t tlb_control;	 /* and its TLB control */
	unsigned tlb_flushes;	 /* entries with TLB control "flush all" */
};
extern struct fake_virt_log fake_virt_log;

/* CPUID says AMD SVM with nested paging; svm_probe and virt_cpu_init run; then every run() goes
 * to `guest`. After this `virt` is the fake-VMRUN copy of the SVM ops table. */
void fake_virt_init(fake_guest_fn guest);
/* The reset state of an x86 CPU in real mode at 0000:7c00 (a boot sector), as a VMM writes it
 * before the first resume: every exit gives it the whole state, every group marked changed. */
void fake_vm_reset_state(struct vireo_vm_state *st);
/* The usual VM test world on a fresh 2-CPU fake kernel with `guest` as the scripted guest: a VMM
 * PD "vmm" (4 MiB quota) holding its VM (1 MiB quota) at selector `sel_vm`, and a vCPU EC of the
 * VMM on CPU 0 with its state page at `state_va`. Returns the vCPU EC; aborts on any failure. */
struct ec *fake_vm_world(fake_guest_fn guest, uint64_t sel_vm, uint64_t state_va, struct pd **vmm,
			 struct pd **vm);
/* The VMCB of a vCPU. */
struct vmcb *fake_vmcb(struct vcpu *v);
/* A timer tick "arrives" at the next arch_irq_window (after a guest run ended by an interrupt). */
void fake_virt_tick_pending(void);

#endif
