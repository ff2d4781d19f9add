/* SPDX-License-Identifier: MIT */
/* Interrupt dispatch by vector: the local timer drives scheduling; device IRQs signal semaphores. */
#include "irq.h"

#include "acpi.h"
#include "ec.h"
#include "printk.h"
#include "sched.h"
#include "sm.h"
#include "timer.h"
#include "tlb.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/ioapic.h"
#include "x86/lapic.h"
#include "x86/percpu.h"
#include "x86/power.h"

static volatile bool halting;
static bool nmi_test;
static void nmi_test_tick(void);
static struct sm *gsi_sm[VEC_IRQ_COUNT];
static bool gsi_level[VEC_IRQ_COUNT];

static void device_irq(unsigned gsi)
{
	struct sm *sm = gsi_sm[gsi];
	if (!sm) {
		ioapic_mask(gsi, true);
		return;
	}
	/* A level-triggered line stays masked until the driver waits again (it has serviced it). */
	if (gsi_level[gsi]) {
		ioapic_mask(gsi, true);
	}
	sm_up(sm);
}

void irq_dispatch(uint64_t vector)
{
	switch (vector) {
	case VEC_TIMER:
		if (!timer_interrupt()) {
			break; /* a timeout, not yet the scheduler's tick */
		}
		this_cpu()->ticks++;
		if (nmi_test) {
			nmi_test_tick();
		}
		sched_tick();
		if (this_cpu()->id == 0) {
			power_idle_tick(ec_count());
		}
		break;
	case VEC_IPI_RESCHED:
		break;
	case VEC_IPI_TLB:
		tlb_serve();
		break;
	case VEC_SPURIOUS:
		return; /* no EOI for spurious interrupts (Intel SDM vol. 3A 11.9) */
	default:
		if (vector >= VEC_IRQ_BASE && vector < VEC_IRQ_BASE + VEC_IRQ_COUNT) {
			device_irq((unsigned)(vector - VEC_IRQ_BASE));
		} else {
			pr_warn("irq: unexpected vector %lu on CPU %u\n", vector, this_cpu()->id);
		}
		break;
	}
	lapic_eoi();
}

status_t irq_assign_gsi(struct sm *sm, unsigned gsi, unsigned cpu)
{
	if (gsi >= VEC_IRQ_COUNT || gsi >= ioapic_gsi_count()) {
		return VIREO_BAD_DEV;
	}
	if (cpu >= MAX_CPUS || !percpu_area[cpu].online) {
		return VIREO_BAD_CPU;
	}
	if (gsi_sm[gsi] && gsi_sm[gsi] != sm) {
		return VIREO_BUSY;
	}
	bool level = false, active_low = false;
	ioapic_gsi_polarity(gsi, &level, &active_low);
	gsi_sm[gsi] = sm;
	gsi_level[gsi] = level;
	sm->gsi = (int)gsi;
	ioapic_route(gsi, (uint8_t)(VEC_IRQ_BASE + gsi), percpu_area[cpu].apic_id, level,
		     active_low);
	return VIREO_OK;
}

/* One semaphore may serve several GSIs (sm->gsi is the last one bound, >= 0 while any is). */
void irq_sm_down_hook(struct sm *sm)
{
	for (unsigned gsi = 0; sm->gsi >= 0 && gsi < VEC_IRQ_COUNT; gsi++) {
		if (gsi_sm[gsi] == sm && gsi_level[gsi]) {
			ioapic_mask(gsi, false);
		}
	}
}

/* The semaphore dies: no line may point at it any more. */
void irq_sm_gone(struct sm *sm)
{
	for (unsigned gsi = 0; sm->gsi >= 0 && gsi < VEC_IRQ_COUNT; gsi++) {
		if (gsi_sm[gsi] == sm) {
			ioapic_mask(gsi, true);
			gsi_sm[gsi] = NULL;
		}
	}
	sm->gsi = -1;
}

/*
 * An NMI is handled and returns, wherever it came from (a host NMI that ended a guest run arrives
 * here after STGI). Only the NMI a panicking CPU sends stops the CPU. Runs without the kernel lock
 * and may interrupt any code: it only counts.
 */
void irq_nmi(struct regs *r)
{
	(void)r;
	if (halting) {
		for (;;) {
			irq_disable();
			cpu_halt();
		}
	}
	this_cpu()->nmis++;
}

void irq_nmi_test(bool on)
{
	nmi_test = on;
}

void irq_nmi_selftest(void)
{
	uint64_t before = this_cpu()->nmis;
	lapic_nmi_self_in_swapgs_window();
	/* this_cpu() works again: the NMI's exit gave back the GS the window had, then SWAPGS. */
	if (this_cpu()->nmis == before + 1) {
		pr_info("nmi: an NMI in ring 0 with the user's GS was handled\n");
	} else {
		pr_info("nmi: self-test FAILED: %lu NMIs counted in the SWAPGS window\n",
			this_cpu()->nmis - before);
	}
}

/* `nmitest`: every CPU sends an NMI to all others at each tick; CPU 0 reports once a second. */
static void nmi_test_tick(void)
{
	if (cpus_online < cpus_present) {
		return; /* a CPU still in its start-up code has no IDT yet */
	}
	lapic_send_nmi_all_others();
	if (this_cpu()->id != 0 || this_cpu()->ticks % TIMER_HZ) {
		return;
	}
	uint64_t n = 0, exits = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		n += percpu_area[c].nmis;
		exits += percpu_area[c].nmi_exits;
	}
	pr_info("nmi: %lu handled, %lu of them ended a guest run\n", n, exits);
}

void panic_halt_others(void)
{
	if (!halting) {
		halting = true;
		lapic_send_nmi_all_others();
	}
}
