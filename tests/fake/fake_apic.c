/* SPDX-License-Identifier: MIT */
/*
 * Fake local APIC and IOAPIC for host unit tests: IPIs and EOIs are counted, IOAPIC routes and
 * masks are a table the test reads, and the power-off watch only counts ticks.
 */
#include "fake_apic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "x86/ioapic.h"
#include "x86/lapic.h"
#include "x86/power.h"

struct fake_apic fake_apic;

void fake_apic_reset(void)
{
	memset(&fake_apic, 0, sizeof(fake_apic));
	fake_apic.gsis = FAKE_GSIS;
	fake_apic.clock_ns = 1000000000ull; /* not 0: no deadline may be mistaken for none */
	for (unsigned g = 0; g < FAKE_GSIS; g++) {
		fake_apic.gsi[g].masked = true;
	}
}

/* ---------------------------------------------------------------- local APIC */

void lapic_init(uint64_t phys)
{
	(void)phys;
}

void lapic_cpu_init(void)
{
}

uint32_t lapic_id(void)
{
	return this_cpu()->apic_id;
}

void lapic_eoi(void)
{
	fake_apic.eois++;
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	if (apic_id >= MAX_CPUS) {
		fprintf(stderr, "fake_apic: IPI to APIC id %u\n", apic_id);
		abort();
	}
	fake_apic.ipis[apic_id][vector]++;
}

void lapic_send_nmi_all_others(void)
{
	fake_apic.nmi_broadcasts++;
}

/* The boot self-test's NMI inside a SWAPGS window needs a real CPU: here it only counts. */
void lapic_nmi_self_in_swapgs_window(void)
{
	fake_apic.nmi_broadcasts++;
}

bool lapic_start_ap(uint32_t apic_id, uint8_t vector_page)
{
	(void)apic_id, (void)vector_page;
	return false;
}

void lapic_udelay(uint64_t us)
{
	(void)us;
}

uint64_t lapic_tsc_khz(void)
{
	return 1000000;
}

uint64_t lapic_clock_ns(void)
{
	return fake_apic.clock_ns;
}

void lapic_timer_oneshot(uint64_t delta_ns)
{
	unsigned cpu = this_cpu()->id;
	fake_apic.timer_delta[cpu] = delta_ns;
	fake_apic.timer_shots[cpu]++;
}

void fake_clock_advance(uint64_t ns)
{
	fake_apic.clock_ns += ns;
}

uint32_t lapic_timer_ticks_per_ms(void)
{
	return 1000;
}

/* ---------------------------------------------------------------- IOAPIC */

unsigned ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base)
{
	(void)id, (void)phys, (void)gsi_base;
	return FAKE_GSIS;
}

unsigned ioapic_gsi_count(void)
{
	return fake_apic.gsis;
}

static struct fake_gsi *gsi_of(unsigned gsi)
{
	if (gsi >= FAKE_GSIS) {
		fprintf(stderr, "fake_apic: GSI %u beyond the fake IOAPIC\n", gsi);
		abort();
	}
	return &fake_apic.gsi[gsi];
}

void ioapic_mask(unsigned gsi, bool masked)
{
	gsi_of(gsi)->masked = masked;
}

void ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low)
{
	struct fake_gsi *g = gsi_of(gsi);
	g->vector = vector;
	g->apic_id = apic_id;
	g->level = level;
	g->active_low = active_low;
	g->masked = false;
	g->routes++;
}

void ioapic_set_overrides(const struct acpi_info *acpi)
{
	(void)acpi;
}

void ioapic_gsi_polarity(unsigned gsi, bool *level, bool *active_low)
{
	*level = gsi_of(gsi)->wired_level;
	*active_low = gsi_of(gsi)->wired_level;
}

/* ---------------------------------------------------------------- power */

void power_init(const struct acpi_info *acpi, bool poweroff_when_done)
{
	(void)acpi, (void)poweroff_when_done;
}

void power_off(void)
{
	fprintf(stderr, "fake_apic: power_off in a host test\n");
	abort();
}

void power_idle_tick(unsigned live_ecs)
{
	(void)live_ecs;
	fake_apic.idle_ticks++;
}
