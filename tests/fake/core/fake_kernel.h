/* SPDX-License-Identifier: MIT */
/*
 * A kernel core on fake hardware for host unit tests: fake RAM with the frame allocator, the
 * mapping database and the kernel page table set up, fake CPUs, and helpers that build PDs, ECs,
 * SCs and portals the way the system calls do, then enter the kernel as a task would (a system
 * call, an exception, a timer tick) and report where it went back to user mode.
 */
#ifndef TESTS_FAKE_CORE_FAKE_KERNEL_H
#define TESTS_FAKE_CORE_FAKE_KERNEL_H

#include <vireo/caps.h>
#include <vireo/syscall.h>
#include <vireo/utcb.h>

#include "ec.h"
#include "fake_cpu.h"
#include "fake_hw.h"
#include "pd.h"
#include "portal.h"
#include "sc.h"

/* Where fake_ec puts things in a PD's user half (all canonical, all below USER_END). */
#define FAKE_UTCB_BASE 0x7f0000000000ull /* + 0x1000 per EC of that PD */
#define FAKE_USER_IP 0x400000ull
#define FAKE_USER_SP 0x7ffff000ull

/*
 * The builders below take the kernel lock around the kernel calls they make, as a system call
 * would; a test that calls kernel functions directly should do the same (klock_acquire /
 * klock_release) once the kernel CHECKs that the lock is held.
 */

/* Fake RAM of `ram_bytes`, `cpus` CPUs, frame allocator, MDB, kernel page table. */
void fake_kernel_init(uint64_t ram_bytes, unsigned cpus);
void fake_kernel_fini(void);

/* A PD with `quota` bytes from the kernel (no parent). */
struct pd *fake_pd(const char *name, uint64_t quota);
/* An EC in `pd` on CPU `cpu`; global ECs start at FAKE_USER_IP, local ones wait for calls. */
struct ec *fake_ec(struct pd *pd, const char *name, bool local, unsigned cpu, uint64_t evt_base);
/* An SC for global EC `ec` (it becomes runnable). */
struct sc *fake_sc(struct ec *ec, unsigned prio, uint64_t quantum_us);
/* A portal to local EC `handler`, entered at `ip`, with exception state `mtd`. */
struct portal *fake_portal(struct ec *handler, uint64_t ip, uint64_t mtd, uint64_t id);
/* Install a capability with `rights` for `obj` at `sel` in `pd` (asserts success). */
void fake_cap(struct pd *pd, uint64_t sel, struct kobj *obj, unsigned rights);

/* Back [va, va + size) of `pd` with fresh zeroed pages (user read/write) and copy `len` bytes of
 * `data` to its start (data may be NULL). Asserts success. */
void fake_user_mem(struct pd *pd, uint64_t va, uint64_t size, const void *data, size_t len);

/* What leak checks compare: live objects by type, MDB nodes, free frames. */
struct fake_counts {
	unsigned objs[OBJ_SM + 1];
	size_t mdb_nodes;
	uint64_t free_pages;
};
struct fake_counts fake_counts(void);
/* Print every difference to stderr; true when there is none. */
bool fake_counts_equal(const struct fake_counts *before, const struct fake_counts *after);

/* The EC whose frame `x` returns to user mode with (NULL if it went idle). */
struct ec *fake_exit_ec(struct fake_exit x);

/* `ec` makes system call `nr` with arguments in RDI, RSI, RDX, R10, R8. */
struct fake_exit fake_syscall(struct ec *ec, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
			      uint64_t a3, uint64_t a4);
/* `ec` takes exception `vector` in user mode (CR2 = `fault_addr` for a page fault). */
struct fake_exit fake_exception(struct ec *ec, uint64_t vector, uint64_t error,
				uint64_t fault_addr);
/* Interrupt `vector` (a device's VEC_IRQ_BASE + gsi, an IPI) arrives while `ec` runs. */
struct fake_exit fake_interrupt(struct ec *ec, uint64_t vector);
/* A timer interrupt arrives while `ec` runs in user mode. */
struct fake_exit fake_timer(struct ec *ec);
/* Enter the scheduler with nothing running on this CPU (after boot, or from idle). */
struct fake_exit fake_schedule(void);

#endif
