/* SPDX-License-Identifier: MIT */
/* A kernel core on fake hardware: set-up, object builders and kernel entries for host tests. */
#include "fake_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_apic.h"
#include "fake_arch.h"
#include "frame.h"
#include "klock.h"
#include "mdb.h"
#include "obj.h"
#include "sched.h"
#include "syscall_entry.h"
#include "timer.h"
#include "vcpu.h"
#include "virt.h"
#include "x86/idt.h"

static void die(const char *what, status_t st)
{
	fprintf(stderr, "fake_kernel: %s failed with status %d\n", what, (int)st);
	abort();
}

void fake_kernel_init(uint64_t ram_bytes, unsigned cpus)
{
	fake_phys_init(ram_bytes);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), fake_phys_size());
	mdb_init();
	fake_cpu_init(cpus);
	fake_idle_fn = sched_idle;
	paddr_t root = frame_alloc(0);
	if (!pa_valid(root)) {
		die("kernel page table", VIREO_NO_MEM);
	}
	memset(phys_to_virt(root), 0, PAGE_SIZE);
	klock_acquire();
	pd_init_kernel(root);
	/* As at boot: the fake CPU's CPUID shows no SVM or VMX unless a test says otherwise, so
	 * `virt` stays NULL (fake_virt_init changes that). */
	virt_init();
	klock_release();
}

void fake_kernel_fini(void)
{
	frame_init();
	fake_phys_fini();
}

struct pd *fake_pd(const char *name, uint64_t quota)
{
	struct pd *pd;
	klock_acquire();
	status_t st = pd_create(NULL, quota, PD_PRIO_INHERIT, name, &pd);
	klock_release();
	if (st != VIREO_OK) {
		die("pd_create", st);
	}
	obj_get(&pd->obj); /* the test's reference */
	return pd;
}

struct ec *fake_ec(struct pd *pd, const char *name, bool local, unsigned cpu, uint64_t evt_base)
{
	static unsigned n;
	struct ec *ec;
	uint64_t utcb = FAKE_UTCB_BASE + (uint64_t)(n++ % 4096) * PAGE_SIZE;
	klock_acquire();
	status_t st =
		ec_create(pd, name, FAKE_USER_IP, FAKE_USER_SP, utcb, evt_base, 0, cpu, local, &ec);
	klock_release();
	if (st != VIREO_OK) {
		die("ec_create", st);
	}
	obj_get(&ec->obj);
	return ec;
}

struct sc *fake_sc(struct ec *ec, unsigned prio, uint64_t quantum_us)
{
	struct sc *sc;
	/* As under SYS_CREATE_SC: binding makes the EC runnable, which needs the kernel lock. */
	klock_acquire();
	status_t st = sc_create(ec->pd, ec, prio, quantum_us, &sc);
	klock_release();
	if (st != VIREO_OK) {
		die("sc_create", st);
	}
	obj_get(&sc->obj);
	return sc;
}

struct portal *fake_portal(struct ec *handler, uint64_t ip, uint64_t mtd, uint64_t id)
{
	struct portal *pt;
	klock_acquire();
	status_t st = portal_create(handler->pd, handler, ip, mtd, &pt);
	klock_release();
	if (st != VIREO_OK) {
		die("portal_create", st);
	}
	pt->id = id;
	obj_get(&pt->obj);
	return pt;
}

void fake_cap(struct pd *pd, uint64_t sel, struct kobj *obj, unsigned rights)
{
	klock_acquire();
	status_t st = pd_install_obj(pd, sel, obj, rights);
	klock_release();
	if (st != VIREO_OK) {
		die("pd_install_obj", st);
	}
}

void fake_user_mem(struct pd *pd, uint64_t va, uint64_t size, const void *data, size_t len)
{
	klock_acquire();
	status_t st = pd_map_anon(pd, va, size, MAP_W);
	if (st == VIREO_OK && data) {
		st = pd_copy_to_user(pd, va, data, len);
	}
	klock_release();
	if (st != VIREO_OK) {
		die("fake_user_mem", st);
	}
}

struct fake_counts fake_counts(void)
{
	struct fake_counts c = { .mdb_nodes = mdb_node_count(), .free_pages = frame_free_pages() };
	memcpy(c.objs, obj_live, sizeof(c.objs));
	return c;
}

bool fake_counts_equal(const struct fake_counts *before, const struct fake_counts *after)
{
	static const char *const names[] = { "null", "PD", "EC", "SC", "PT", "SM" };
	bool same = true;
	for (unsigned t = 0; t <= OBJ_SM; t++) {
		if (before->objs[t] != after->objs[t]) {
			fprintf(stderr, "live %s objects: %u before, %u after\n",
				t < ARRAY_SIZE(names) ? names[t] : "?", before->objs[t],
				after->objs[t]);
			same = false;
		}
	}
	if (before->mdb_nodes != after->mdb_nodes) {
		fprintf(stderr, "MDB nodes: %zu before, %zu after\n", before->mdb_nodes,
			after->mdb_nodes);
		same = false;
	}
	if (before->free_pages != after->free_pages) {
		fprintf(stderr, "free pages: %llu before, %llu after\n",
			(unsigned long long)before->free_pages,
			(unsigned long long)after->free_pages);
		same = false;
	}
	return same;
}

struct ec *fake_exit_ec(struct fake_exit x)
{
	/* The frame is the first member of an EC. */
	return x.regs ? container_of(x.regs, struct ec, regs) : NULL;
}

/* The CPU was in user mode on `ec`: as the entry code leaves it for the kernel. */
static void from_user(struct ec *ec)
{
	struct percpu *cpu = this_cpu();
	if (cpu->current && cpu->current != ec) {
		cpu->current->running = false;
	}
	cpu->current = ec;
	ec->running = true;
}

static struct fake_exit finish(struct fake_exit x)
{
	if (x.kind == FAKE_EXIT_STACK) {
		/* The idle loop would release the lock while it halts. */
		fake_klock_reset();
	}
	return x;
}

static void do_syscall(void *arg)
{
	struct ec *ec = arg;
	/* As the SYSCALL entry (kernel/x86/entry64.S) picks. */
	if (ec->regs.rax == SYS_VCPU_RESUME) {
		/* syscall_resume_entry as virt_init picks it, for the backend the test installed */
		syscall_resume_for(virt)(&ec->regs);
	}
	syscall_dispatch(&ec->regs);
}

struct fake_exit fake_syscall(struct ec *ec, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
			      uint64_t a3, uint64_t a4)
{
	from_user(ec);
	ec->regs.rax = nr;
	ec->regs.rdi = a0;
	ec->regs.rsi = a1;
	ec->regs.rdx = a2;
	ec->regs.r10 = a3;
	ec->regs.r8 = a4;
	ec->regs.vector = VECTOR_SYSCALL;
	return finish(fake_kernel_run(do_syscall, ec));
}

/* The trap entry's C half, as entry64.S calls it for a vector taken in user mode. */
static void do_trap(void *arg)
{
	struct ec *ec = arg;
	x86_trap_user(&ec->regs);
}

struct fake_exit fake_exception(struct ec *ec, uint64_t vector, uint64_t error, uint64_t fault_addr)
{
	from_user(ec);
	ec->regs.vector = vector;
	ec->regs.error = error;
	fake_cpu_log.fault_addr[this_cpu()->id] = fault_addr;
	return finish(fake_kernel_run(do_trap, ec));
}

struct fake_exit fake_interrupt(struct ec *ec, uint64_t vector)
{
	from_user(ec);
	ec->regs.vector = vector;
	ec->regs.error = 0;
	return finish(fake_kernel_run(do_trap, ec));
}

struct fake_exit fake_timer(struct ec *ec)
{
	fake_clock_advance(TIMER_TICK_NS); /* the timer fires at the next tick */
	return fake_interrupt(ec, VEC_TIMER);
}

static void do_schedule(void *arg)
{
	(void)arg;
	klock_acquire();
	sched_schedule();
}

struct fake_exit fake_schedule(void)
{
	struct percpu *cpu = this_cpu();
	if (cpu->current) {
		cpu->current->running = false;
		cpu->current = NULL;
	}
	return finish(fake_kernel_run(do_schedule, NULL));
}
