/* SPDX-License-Identifier: MIT */
/* vCPUs on the fake machine: the SVM backend with a scripted guest instead of VMRUN. */
#include "fake_virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_apic.h"
#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_x86.h"
#include "klock.h"
#include "pd.h"
#include "sched.h"
#include "svm/svm.h"
#include "timer.h"
#include "x86/idt.h"

struct fake_virt_log fake_virt_log;
static struct virt_ops ops;
static fake_guest_fn guest_fn;
static bool tick_pending;

struct vmcb *fake_vmcb(struct vcpu *v)
{
	return v->hw;
}

/* svm_run without VMRUN: the guest step plays guest and CPU, then the same classification. */
static bool fake_run(struct vcpu *v, paddr_t gpt_root)
{
	/* The frame address, not a local's: ASan may keep locals on a separate fake stack. */
	uintptr_t depth = (uintptr_t)__builtin_frame_address(0);
	struct fake_virt_log *l = &fake_virt_log;
	if (++l->runs == 1) {
		l->stack_first = l->stack_deepest = depth;
	}
	if (depth < l->stack_deepest) {
		l->stack_deepest = depth;
	}
	l->gpt_root = gpt_root;
	l->lock_held_in_guest |= klock_held();
	if (l->runs > 100000) {
		fprintf(stderr, "fake_virt: 100000 guest runs without an exit to the VMM\n");
		abort();
	}
	struct vmcb *vmcb = fake_vmcb(v);
	svm_run_enter(v, gpt_root); /* svm_run's own halves, VMRUN replaced by the guest step */
	l->asid = vmcb->ctl.asid;
	l->tlb_control = vmcb->ctl.tlb_control;
	l->tlb_flushes += vmcb->ctl.tlb_control == TLB_FLUSH_ALL;
	/* VMRUN delivers EVENTINJ at entry and the CPU clears it (APM 15.20). */
	l->injected = vmcb->ctl.eventinj;
	l->injections += (vmcb->ctl.eventinj & VEVENT_VALID) != 0;
	vmcb->ctl.eventinj = 0;
	guest_fn(v, vmcb, l->runs);
	return svm_run_exit(v);
}

/* The host interrupt the guest exit let in: the timer, taken in kernel mode. */
static void take_tick(void)
{
	if (!tick_pending) {
		return;
	}
	tick_pending = false;
	fake_clock_advance(TIMER_TICK_NS);
	struct regs frame = { .vector = VEC_TIMER };
	x86_trap_kernel(&frame);
}

void fake_virt_tick_pending(void)
{
	tick_pending = true;
}

void fake_virt_init(fake_guest_fn guest)
{
	fake_cpuid_amd_svm();
	virt = svm_probe(); /* what virt_init picks now (fake_kernel_init ran it for no CPU) */
	if (!virt) {
		fprintf(stderr, "fake_virt: svm_probe refused the fake CPU\n");
		abort();
	}
	virt_cpu_init();
	ops = *virt;
	ops.run = fake_run;
	virt = &ops;
	guest_fn = guest;
	fake_virt_log = (struct fake_virt_log){ 0 };
	fake_irq_hook = take_tick;
	tick_pending = false;
}

void fake_vm_reset_state(struct vireo_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->rip = 0x7c00;
	st->rflags = 0x2;
	st->cr0 = 0x10;
	st->cs = (struct vireo_seg){ .attr = 0x9b, .limit = 0xffff };
	st->ds = st->es = st->ss = st->fs = st->gs =
		(struct vireo_seg){ .attr = 0x93, .limit = 0xffff };
	st->ldtr = (struct vireo_seg){ .attr = 0x82, .limit = 0xffff };
	st->tr = (struct vireo_seg){ .attr = 0x8b, .limit = 0xffff };
	st->gdtr.limit = st->idtr.limit = 0xffff;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->xcr0 = 1; /* x87 state is always enabled (XCR0 bit 0) */
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		st->mtd_exit[r] = VMTD_STATE;
	}
	st->mtd_in = VMTD_STATE | VMTD_CTRL;
}

struct ec *fake_vm_world(fake_guest_fn guest, uint64_t sel_vm, uint64_t state_va, struct pd **vmm,
			 struct pd **vm)
{
	fake_kernel_init(32 << 20, 2);
	fake_virt_init(guest);
	*vmm = fake_pd("vmm", 4 << 20);
	if (pd_create_vm(*vmm, 1 << 20, virt->gpt_format, vm) != VIREO_OK) {
		fprintf(stderr, "fake_vm_world: no VM\n");
		abort();
	}
	fake_cap(*vmm, sel_vm, &(*vm)->obj, RIGHTS_ALL);
	struct ec *ec = fake_ec(*vmm, "vcpu", false, 0, 0);
	if (vcpu_attach(ec, state_va) != VIREO_OK) {
		fprintf(stderr, "fake_vm_world: no vCPU\n");
		abort();
	}
	return ec;
}
