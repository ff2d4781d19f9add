/* SPDX-License-Identifier: MIT */
/* Fake CPUs for host unit tests: which one runs kernel code, and what the arch hooks did. */
#ifndef TESTS_FAKE_CPU_H
#define TESTS_FAKE_CPU_H

#include "arch.h"

/* What the kernel asked of the "hardware"; tests read it, and set fault_addr before a #PF. */
struct fake_cpu_log {
	uint64_t fault_addr[MAX_CPUS];	    /* what arch_fault_addr() returns (CR2) */
	uint64_t space_root[MAX_CPUS];	    /* the loaded memory space (CR3) */
	const uint8_t *io_loaded[MAX_CPUS]; /* the I/O bitmap copied in */
	unsigned kicks[MAX_CPUS];	    /* reschedule IPIs received */
	unsigned kicks_total;
	unsigned space_loads;
	unsigned shootdowns;
	unsigned io_invalidations;
	unsigned irq_windows;
	unsigned klock_acquires;
	unsigned calls[MAX_CPUS]; /* tlb_call_on requests each CPU served */
};

extern struct fake_cpu_log fake_cpu_log;

/* `n` CPUs online (ids and APIC ids 0..n-1), CPU 0 runs, the log is cleared, the lock is free. */
void fake_cpu_init(unsigned n);
/* Kernel code runs on CPU `id` from now on (this_cpu()). */
void fake_cpu_set(unsigned id);
/* The CPU kernel code runs on now (for fakes of instructions that say which CPU executed them). */
unsigned fake_cpu_id(void);
/* Forget that the lock is held (after a kernel path left for the idle loop). */
void fake_klock_reset(void);
/* Called where the kernel lets a pending host interrupt in (arch_irq_window), if set. */
extern void (*fake_irq_hook)(void);
/* Another CPU waiting for the kernel lock: called once, right after the next klock_release. */
extern void (*fake_klock_waiter)(void);

/* FPU states: let the next `n` allocations succeed and fail the rest (-1: never fail). */
void fake_fpu_fail_after(int n);

#endif
