/* SPDX-License-Identifier: MIT */
/* Local APIC in xAPIC MMIO mode (Intel SDM vol. 3A 11.4-11.6; 11.5.4: the timer, one-shot mode). */
#include "x86/lapic.h"

#include "arch.h"
#include "assert.h"
#include "printk.h"
#include "spinlock.h"
#include "timer.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/percpu.h"
#include "x86/pit.h"

enum {
	LAPIC_ID = 0x20,
	LAPIC_VER = 0x30,
	LAPIC_TPR = 0x80,
	LAPIC_EOI = 0xb0,
	LAPIC_SVR = 0xf0,
	LAPIC_IRR = 0x200, /* eight 32-bit words, 0x10 apart */
	LAPIC_ESR = 0x280,
	LAPIC_ICR_LO = 0x300,
	LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_LINT0 = 0x350,
	LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_INIT = 0x380,
	LAPIC_TIMER_CUR = 0x390,
	LAPIC_TIMER_DIV = 0x3e0,
};
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define ICR_PENDING (1u << 12)
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_NMI 0x400
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)
#define TIMER_DIV_16 0x3

static volatile uint32_t *lapic_base;
static uint32_t ticks_per_ms;
static uint64_t tsc_khz;
/* The kernel clock: ns = TSC * ns_mult >> 32 (TSC at boot subtracted). */
static uint64_t ns_mult, tsc_boot;

static inline uint32_t rd(unsigned reg)
{
	return lapic_base[reg / 4];
}

static inline void wr(unsigned reg, uint32_t v)
{
	lapic_base[reg / 4] = v;
}

/* Measure the LAPIC timer and the TSC against 10 ms of PIT channel 2. */
static void calibrate(void)
{
	wr(LAPIC_TIMER_DIV, TIMER_DIV_16);
	wr(LAPIC_LVT_TIMER, LVT_MASKED);
	pit_oneshot_start(10000);
	wr(LAPIC_TIMER_INIT, 0xffffffff);
	uint64_t t0 = rdtsc();
	uint64_t spins = 0;
	while (!pit_oneshot_done() && ++spins < 100000000ull) {
		cpu_relax();
	}
	uint64_t t1 = rdtsc();
	uint32_t elapsed = 0xffffffff - rd(LAPIC_TIMER_CUR);
	wr(LAPIC_TIMER_INIT, 0);
	ticks_per_ms = elapsed / 10;
	tsc_khz = (t1 - t0) / 10;
	if (ticks_per_ms == 0) {
		pr_warn("lapic: timer calibration failed; assuming 100 MHz bus\n");
		ticks_per_ms = 100000 / 16;
	}
	if (tsc_khz == 0) {
		tsc_khz = 1000000;
	}
	ns_mult = (1000000ull << 32) / tsc_khz;
	tsc_boot = t1;
}

void lapic_init(uint64_t phys)
{
	lapic_base = phys_to_virt(pa_init(phys));
	/* Global enable in the base MSR (firmware normally leaves it on). */
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	wr(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	calibrate();
	pr_info("lapic: timer %u.%03u MHz (divide by 16), TSC %lu.%03lu MHz, tick %u Hz\n",
		ticks_per_ms / 1000, ticks_per_ms % 1000, tsc_khz / 1000, tsc_khz % 1000, TIMER_HZ);
}

void lapic_cpu_init(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	wr(LAPIC_TPR, 0);
	wr(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	wr(LAPIC_LVT_LINT0, LVT_MASKED);
	wr(LAPIC_LVT_LINT1, LVT_MASKED);
	wr(LAPIC_LVT_ERROR, LVT_MASKED);
	wr(LAPIC_ESR, 0);
	wr(LAPIC_TIMER_DIV, TIMER_DIV_16);
	wr(LAPIC_LVT_TIMER, VEC_TIMER); /* one-shot: timer.c programs every deadline */
	timer_cpu_init();
}

uint64_t lapic_clock_ns(void)
{
	/* 128-bit product, no division: the clock is read at every timer interrupt. */
	return (uint64_t)(((unsigned __int128)(rdtsc() - tsc_boot) * ns_mult) >> 32);
}

void lapic_timer_oneshot(uint64_t delta_ns)
{
	/* Callers bound delta_ns (TIMER_SHOT_MAX_NS): the product cannot overflow. */
	uint64_t count = delta_ns * ticks_per_ms / 1000000;
	if (count == 0) {
		count = 1; /* an initial count of 0 stops the timer */
	}
	if (count > 0xffffffffull) {
		count = 0xffffffffull;
	}
	wr(LAPIC_TIMER_INIT, (uint32_t)count);
}

uint32_t lapic_id(void)
{
	return rd(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	wr(LAPIC_EOI, 0);
}

void lapic_repoll(void)
{
	for (unsigned i = 0; i < 8; i++) {
		if (rd(LAPIC_IRR + 0x10 * i)) {
			/* A TPR write makes the APIC evaluate its requests for the CPU again. */
			wr(LAPIC_TPR, rd(LAPIC_TPR));
			return;
		}
	}
}

static void icr_wait(void)
{
	for (int i = 0; i < 1000000 && (rd(LAPIC_ICR_LO) & ICR_PENDING); i++) {
		cpu_relax();
	}
}

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	icr_wait();
	wr(LAPIC_ICR_HI, apic_id << 24);
	wr(LAPIC_ICR_LO, lo);
	icr_wait();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id, vector);
}

void lapic_send_nmi_all_others(void)
{
	if (lapic_base) {
		icr_send(0, ICR_NMI | ICR_ASSERT | ICR_ALL_BUT_SELF);
	}
}

void nmi_swapgs_window_probe(volatile uint32_t *icr_lo, uint32_t icr);

void lapic_nmi_self_in_swapgs_window(void)
{
	if (lapic_base) {
		wr(LAPIC_ICR_HI, this_cpu()->apic_id << 24);
		nmi_swapgs_window_probe(&lapic_base[LAPIC_ICR_LO / 4], ICR_NMI | ICR_ASSERT);
	}
}

void lapic_udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us * (tsc_khz ? tsc_khz : 1000000) / 1000;
	while (rdtsc() < end) {
		cpu_relax();
	}
}

bool lapic_start_ap(uint32_t apic_id, uint8_t vector_page)
{
	/* The universal start-up algorithm (Intel SDM vol. 3A 8.4.4.1): INIT, 10 ms, SIPI twice. */
	icr_send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	lapic_udelay(10000);
	icr_send(apic_id, ICR_STARTUP | vector_page);
	lapic_udelay(200);
	icr_send(apic_id, ICR_STARTUP | vector_page);
	return !(rd(LAPIC_ICR_LO) & ICR_PENDING);
}

uint64_t lapic_tsc_khz(void)
{
	return tsc_khz;
}

uint32_t lapic_timer_ticks_per_ms(void)
{
	return ticks_per_ms;
}
