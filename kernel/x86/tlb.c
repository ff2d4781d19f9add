/* SPDX-License-Identifier: MIT */
/* TLB shoot-down by IPI to the CPUs whose CR3 holds the PD (a CR3 load flushes all non-global entries). */
#include "tlb.h"

#include "pd.h"
#include "spinlock.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/lapic.h"
#include "x86/percpu.h"

static volatile uint64_t requested[MAX_CPUS];
static volatile uint64_t served[MAX_CPUS];

void tlb_serve(void)
{
	unsigned me = this_cpu()->id;
	uint64_t want = __atomic_load_n(&requested[me], __ATOMIC_ACQUIRE);
	if (served[me] != want) {
		write_cr3(read_cr3());
		__atomic_store_n(&served[me], want, __ATOMIC_RELEASE);
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
		bool uses = __atomic_load_n(&p->cr3, __ATOMIC_ACQUIRE) == root ||
			    __atomic_load_n(&p->vm_root, __ATOMIC_ACQUIRE) == root;
		if (c == self->id || !p->online || !uses) {
			continue;
		}
		target[c] = __atomic_add_fetch(&requested[c], 1, __ATOMIC_ACQ_REL);
		lapic_send_ipi(p->apic_id, VEC_IPI_TLB);
	}
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		while (target[c] && __atomic_load_n(&served[c], __ATOMIC_ACQUIRE) < target[c]) {
			cpu_relax();
		}
	}
}
