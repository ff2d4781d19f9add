/* SPDX-License-Identifier: MIT */
/*
 * Fake CPUs for host unit tests: per-CPU blocks in an ordinary array, `this_cpu()` a variable,
 * and the arch.h hooks that would touch the machine (CR2, CR3, IPIs, idle) recorded instead.
 */
#include "fake_cpu.h"
#include "fake_apic.h"
#include "fake_x86.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "klock.h"
#include "tlb.h"

struct percpu percpu_area[MAX_CPUS];
unsigned cpus_online;
unsigned cpus_present;

struct fake_cpu_log fake_cpu_log;
void (*fake_irq_hook)(void);
void (*fake_klock_waiter)(void);
static unsigned cur;
static bool lock_held;
static bool serving; /* a CPU runs a tlb_call_on request: the lock is the requester's */

void fake_cpu_init(unsigned n)
{
	if (n == 0 || n > MAX_CPUS) {
		fprintf(stderr, "fake_cpu_init(%u): 1..%u CPUs\n", n, MAX_CPUS);
		abort();
	}
	memset(percpu_area, 0, sizeof(percpu_area));
	memset(&fake_cpu_log, 0, sizeof(fake_cpu_log));
	fake_x86_reset();
	fake_apic_reset();
	fake_irq_hook = NULL;
	fake_klock_waiter = NULL;
	for (unsigned i = 0; i < n; i++) {
		struct percpu *p = &percpu_area[i];
		p->self = p;
		p->id = i;
		p->apic_id = i;
		p->online = true;
		p->kstack_top = 0xffffffff8f000000ull + i * KSTACK_SIZE; /* never dereferenced */
	}
	cpus_online = cpus_present = n;
	cur = 0;
	lock_held = false;
	serving = false;
}

void fake_cpu_set(unsigned id)
{
	if (id >= MAX_CPUS || !percpu_area[id].online) {
		fprintf(stderr, "fake_cpu_set(%u): no such CPU\n", id);
		abort();
	}
	cur = id;
}

unsigned fake_cpu_id(void)
{
	return cur;
}

struct percpu *this_cpu(void)
{
	return &percpu_area[cur];
}

/* ---------------------------------------------------------------- the kernel lock: a flag */

void klock_acquire(void)
{
	if (serving) {
		fprintf(stderr,
			"fake klock: taken while serving another CPU's request (deadlock)\n");
		abort();
	}
	if (lock_held) {
		fprintf(stderr, "fake klock: acquired twice\n");
		abort();
	}
	lock_held = true;
	fake_cpu_log.klock_acquires++;
}

void klock_release(void)
{
	if (!lock_held) {
		fprintf(stderr, "fake klock: released while free\n");
		abort();
	}
	lock_held = false;
	if (fake_klock_waiter) {
		void (*f)(void) = fake_klock_waiter; /* another CPU takes the lock it waited for */
		fake_klock_waiter = NULL;
		f();
	}
}

bool klock_held(void)
{
	return lock_held && !serving; /* the serving CPU does not hold it */
}

void fake_klock_reset(void)
{
	lock_held = false;
	fake_klock_waiter = NULL;
}

/* ---------------------------------------------------------------- arch.h hooks */

uint64_t arch_fault_addr(void)
{
	return fake_cpu_log.fault_addr[cur];
}

uint64_t arch_space_root(void)
{
	return fake_cpu_log.space_root[cur];
}

void arch_space_load(uint64_t root)
{
	fake_cpu_log.space_root[cur] = root;
	fake_cpu_log.space_loads++;
}

void arch_set_entry_frame(struct regs *r)
{
	this_cpu()->regs_top = (uint64_t)(uintptr_t)(r + 1);
}

void arch_irq_window(void)
{
	fake_cpu_log.irq_windows++;
	if (fake_irq_hook) {
		fake_irq_hook();
	}
}

void arch_idle_wait(void)
{
	fprintf(stderr, "fake_cpu: arch_idle_wait would halt forever in a host test\n");
	abort();
}

void arch_kick(unsigned cpu)
{
	if (cpu == cur) {
		return;
	}
	if (cpu >= MAX_CPUS) {
		fprintf(stderr, "fake_cpu: kick of CPU %u\n", cpu);
		abort();
	}
	fake_cpu_log.kicks[cpu]++;
	fake_cpu_log.kicks_total++;
}

void iobitmap_load(const uint8_t *bitmap)
{
	fake_cpu_log.io_loaded[cur] = bitmap;
}

void iobitmap_invalidate(const uint8_t *bitmap)
{
	(void)bitmap;
	fake_cpu_log.io_invalidations++;
}

void tlb_shootdown(struct pd *pd)
{
	(void)pd;
	fake_cpu_log.shootdowns++;
}

void tlb_serve(void)
{
}

/* The target CPU runs the call at once, as it would at its next serving point, without the lock
 * (the requester keeps it), and the requester goes on only afterwards. */
void tlb_call_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	if (!lock_held || serving) {
		fprintf(stderr, "fake_cpu: tlb_call_on without the kernel lock, or nested\n");
		abort();
	}
	if (cpu >= MAX_CPUS || cpu == cur || !percpu_area[cpu].online) {
		fprintf(stderr, "fake_cpu: tlb_call_on CPU %u from CPU %u\n", cpu, cur);
		abort();
	}
	unsigned me = cur;
	fake_cpu_log.calls[cpu]++;
	cur = cpu;
	serving = true;
	fn(arg);
	serving = false;
	cur = me;
}

/* The kernel command line's `debug`: off, since the fake CPUs' kernel stacks are not the stacks
 * the tests run on (kstack_depth would be meaningless); test_kcore_vm measures stack growth. */
bool kernel_debug = false;
