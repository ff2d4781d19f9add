/* SPDX-License-Identifier: MIT */
/*
 * TLB shoot-down by IPI to the CPUs whose CR3 holds the PD or whose guest runs on it (a CR3 load
 * flushes all non-global entries; every VMRUN flushes the guest's). The waiter holds the kernel
 * lock, so a target must answer without it: in user mode or in a guest the IPI ends the run (the
 * VMCB intercepts physical interrupts with V_INTR_MASKING, and the exceptions a guest could loop
 * on, kernel/svm/svm.c), and a CPU spinning for the lock serves requests while it spins.
 * The same request can carry a call that must run on that very CPU (tlb_call_on: a backend's
 * VMCLEAR of a VMCS active there, docs/architecture.md#vmx).
 */
#include "tlb.h"

#include "assert.h"
#include "klock.h"
#include "pd.h"
#include "printk.h"
#include "spinlock.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/percpu.h"

static volatile uint64_t requested[MAX_CPUS];
static volatile uint64_t served[MAX_CPUS];
/* The call a request carries (tlb_call_on), or NULL. Written only by the holder of the kernel
 * lock before it raises `requested`, and it waits until the request is served: one at a time. */
static void (*volatile call_fn[MAX_CPUS])(void *);
static void *volatile call_arg[MAX_CPUS];

void tlb_serve(void)
{
	unsigned me = this_cpu()->id;
	uint64_t want = __atomic_load_n(&requested[me], __ATOMIC_ACQUIRE);
	if (served[me] != want) {
		void (*fn)(void *) = call_fn[me];
		if (fn) {
			call_fn[me] = NULL;
			fn(call_arg[me]);
		}
		write_cr3(read_cr3());
		__atomic_store_n(&served[me], want, __ATOMIC_RELEASE);
	}
}

static bool uses(const struct percpu *p, uint64_t root)
{
	return __atomic_load_n(&p->cr3, __ATOMIC_ACQUIRE) == root ||
	       __atomic_load_n(&p->vm_root, __ATOMIC_ACQUIRE) == root;
}

/* Wait until CPU c has flushed. CR3 and vm_root change only under the kernel lock, which the
 * caller holds, so c cannot leave the space meanwhile: it must answer. One that does not for long
 * (a CPU the IPI cannot reach: a kernel bug, or a guest that never exits) is reported once. */
static void wait_for(unsigned c, uint64_t target)
{
	for (uint64_t spins = 0; __atomic_load_n(&served[c], __ATOMIC_ACQUIRE) < target; spins++) {
		if (spins == 100000000ull) {
			pr_warn("tlb: CPU %u has not answered a shoot-down yet\n", c);
		}
		cpu_relax();
	}
}

void tlb_shootdown(struct pd *pd)
{
	uint64_t root = pa_addr(pd->pt.root);
	struct percpu *self = this_cpu();
	uint64_t target[MAX_CPUS] = { 0 };
	if (read_cr3() == root) {
		write_cr3(root);
	}
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		struct percpu *p = &percpu_area[c];
		if (c == self->id || !p->online || !uses(p, root)) {
			continue;
		}
		target[c] = __atomic_add_fetch(&requested[c], 1, __ATOMIC_ACQ_REL);
		lapic_send_ipi(p->apic_id, VEC_IPI_TLB);
	}
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (target[c]) {
			wait_for(c, target[c]);
		}
	}
}

void tlb_call_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	CHECK(klock_held());
	CHECK(cpu < MAX_CPUS && cpu != this_cpu()->id && percpu_area[cpu].online);
	call_arg[cpu] = arg;
	call_fn[cpu] = fn;
	uint64_t target = __atomic_add_fetch(&requested[cpu], 1, __ATOMIC_ACQ_REL);
	lapic_send_ipi(percpu_area[cpu].apic_id, VEC_IPI_TLB);
	wait_for(cpu, target);
}
