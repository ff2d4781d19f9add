/* SPDX-License-Identifier: MIT */
/* Fake local APIC and IOAPIC for host unit tests: what the kernel asked of them. */
#ifndef TESTS_FAKE_APIC_H
#define TESTS_FAKE_APIC_H

#include "arch.h"

#define FAKE_GSIS 24

struct fake_gsi {
	bool wired_level; /* set by a test: the line is level-triggered, active low (PCI style) */
	bool masked;	  /* current IOAPIC mask */
	bool level, active_low;
	uint8_t vector;
	uint32_t apic_id;
	unsigned routes;
};

struct fake_apic {
	unsigned ipis[MAX_CPUS][256]; /* by destination APIC id and vector */
	unsigned eois;
	unsigned nmi_broadcasts;
	unsigned idle_ticks;
	unsigned gsis; /* inputs the fake IOAPIC reports (a test may lower it) */
	struct fake_gsi gsi[FAKE_GSIS];
	uint64_t clock_ns;		/* the kernel clock; tests move it (fake_clock_advance) */
	uint64_t timer_delta[MAX_CPUS]; /* last one-shot programmed per CPU, ns */
	unsigned timer_shots[MAX_CPUS];
};

extern struct fake_apic fake_apic;

/* All lines masked, counters zero (fake_cpu_init calls it). */
void fake_apic_reset(void);
/* Time passes: the kernel clock moves `ns` forward (fake_timer moves it one tick first). */
void fake_clock_advance(uint64_t ns);

#endif
