/* SPDX-License-Identifier: MIT */
/*
 * The kernel lock: one lock serialises all kernel object state (capabilities, the mapping database,
 * IPC, scheduling decisions). The kernel is non-preemptible and short-running, so on a few CPUs
 * this costs little; finer locks can replace it object by object later.
 */
#ifndef KERNEL_KLOCK_H
#define KERNEL_KLOCK_H

#include "types.h"

/* Taken on every kernel entry from user mode and by the idle loop; released on exit. While
 * spinning, a CPU still answers TLB shoot-down requests so a CPU holding the lock can wait for it. */
#ifdef HOST_TEST
void klock_acquire(void);
void klock_release(void);
bool klock_held(void);
/* The fake's lock checks its use always, lean or not. */
static inline void klock_acquire_as(bool lean)
{
	(void)lean;
	klock_acquire();
}
static inline void klock_release_as(bool lean)
{
	(void)lean;
	klock_release();
}
#else
/* Inline in the kernel: every system call takes and drops the lock, and CHECK(klock_held())
 * guards every IPC and scheduler step. The state and the contended wait are in klock.c. */
#include "assert.h"
#include "spinlock.h"
#include "x86/percpu.h"

extern spinlock_t klock_lock;
extern volatile int klock_owner; /* CPU id holding it, or -1 */
/* Contended: wait for the lock, serving shoot-downs meanwhile, and take it. */
void klock_wait_and_take(void);

/* One attempt: take the lock if it is free right now. */
static inline __attribute__((always_inline)) bool klock_try_take(void)
{
	uint16_t next = __atomic_load_n(&klock_lock.next, __ATOMIC_RELAXED);
	if (__atomic_load_n(&klock_lock.owner, __ATOMIC_ACQUIRE) != next) {
		return false;
	}
	return __atomic_compare_exchange_n(&klock_lock.next, &next, (uint16_t)(next + 1), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline)) bool klock_held(void)
{
	return klock_owner == (int)this_cpu_field(id);
}

/* Taking it twice or dropping it unheld is checked with `debug` (every entry passes here twice);
 * `lean`: DEBUG_CHECK_UNLESS's. */
static inline __attribute__((always_inline)) void klock_acquire_as(bool lean)
{
	DEBUG_CHECK_UNLESS(lean, !klock_held());
	if (!klock_try_take()) {
		klock_wait_and_take();
	}
	klock_owner = (int)this_cpu_field(id);
}

static inline __attribute__((always_inline)) void klock_release_as(bool lean)
{
	DEBUG_CHECK_UNLESS(lean, klock_held());
	klock_owner = -1;
	spin_unlock(&klock_lock);
}

static inline __attribute__((always_inline)) void klock_acquire(void)
{
	klock_acquire_as(false);
}

static inline __attribute__((always_inline)) void klock_release(void)
{
	klock_release_as(false);
}
#endif

#endif
