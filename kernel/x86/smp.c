/* SPDX-License-Identifier: MIT */
/* AP bring-up: copy the trampoline below 1 MiB, INIT-SIPI-SIPI each CPU, wait for it to report online. */
#include "x86/smp.h"

#include "acpi.h"
#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "kstring.h"
#include "printk.h"
#include "sched.h"
#include "x86/cpu.h"
#include "x86/lapic.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

extern char trampoline_start[], trampoline_end[], trampoline_cr3[], trampoline_stack[],
	trampoline_efer[];
extern uint64_t boot_pml4[];

void ap_entry(void);

/* Handed from the BSP to the AP being started; one AP starts at a time. */
static volatile unsigned ap_next_id;
static volatile uint64_t ap_next_stack;

static void *tramp_var(const char *sym)
{
	return (char *)phys_to_virt(pa_init(AP_TRAMPOLINE_PA)) + (sym - trampoline_start);
}

void ap_entry(void)
{
	cpu_local_init(ap_next_id, ap_next_stack);
	sched_idle();
}

static bool start_one(unsigned id, uint32_t apic_id)
{
	paddr_t stack = frame_alloc_zeroed(2);
	CHECK(KSTACK_SIZE == 4 * PAGE_SIZE);
	if (!pa_valid(stack)) {
		pr_warn("smp: no memory for CPU %u's stack\n", id);
		return false;
	}
	uint64_t top = (uint64_t)phys_to_virt(stack) + KSTACK_SIZE;
	ap_next_id = id;
	ap_next_stack = top;
	*(volatile uint64_t *)tramp_var(trampoline_stack) = top;
	lapic_start_ap(apic_id, AP_TRAMPOLINE_PA >> 12);
	/* Wait up to a second of TSC time: Bochs is slow to start a CPU. */
	for (int i = 0; i < 100000 && !__atomic_load_n(&percpu_area[id].online, __ATOMIC_ACQUIRE);
	     i++) {
		lapic_udelay(10);
	}
	if (!percpu_area[id].online) {
		pr_warn("smp: CPU %u (APIC id %u) did not come up\n", id, apic_id);
		frame_free(stack, 2);
		return false;
	}
	return true;
}

void smp_boot(const struct acpi_info *acpi)
{
	size_t tlen = (size_t)(trampoline_end - trampoline_start);
	CHECK(tlen <= PAGE_SIZE);
	memcpy(phys_to_virt(pa_init(AP_TRAMPOLINE_PA)), trampoline_start, tlen);
	*(volatile uint64_t *)tramp_var(trampoline_cr3) =
		(uint64_t)boot_pml4; /* identity-linked .boot section */
	*(volatile uint64_t *)tramp_var(trampoline_efer) = rdmsr(MSR_EFER);

	uint32_t self = lapic_id();
	unsigned present = 1;
	for (size_t i = 0; i < acpi->ncpus; i++) {
		if (!acpi->cpus[i].enabled || acpi->cpus[i].apic_id == self) {
			continue;
		}
		if (present == MAX_CPUS) {
			pr_warn("smp: more than %d CPUs, ignoring the rest\n", MAX_CPUS);
			break;
		}
		present++;
		start_one(cpus_online, acpi->cpus[i].apic_id);
	}
	cpus_present = present;
}
