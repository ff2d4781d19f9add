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
/* The fake has no other CPU to hand over to. */
static inline void klock_release_to_waiters(void)
{
	klock_release();
}
#else
/* Inline in the kernel: every system call takes and drops the lock, and CHECK(klock_held())
 * guards every IPC and scheduler step. The state and the contended wait are in klock.c. */
#include "assert.h"
#include "spinlock.h"
#include "x86/percpu.h"

extern spinlock_t klock_lock;
extern volatile int klock_owner;	/* CPU id holding it, or -1 */
extern volatile unsigned klock_waiters; /* CPUs in klock_wait_and_take */
/* Contended: wait for the lock, serving shoot-downs meanwhile, and take it. */
void klock_wait_and_take(void);
/* Just released with CPUs waiting: let one of them take it before this CPU goes on (klock.c). */
void klock_hand_over(void);

/* One attempt: take the lock if it is free right now. */
static inline __attribute__((always_inline)) bool klock_try_take(void)
{
	return spin_trylock(&klock_lock);
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

/* Released where this CPU goes on to run a guest or asks for the lock again at once: a CPU that
 * waits for it gets it first (klock_hand_over). */
static inline __attribute__((always_inline)) void klock_release_to_waiters(void)
{
	klock_release_as(false);
	if (__builtin_expect(__atomic_load_n(&klock_waiters, __ATOMIC_RELAXED) != 0, 0)) {
		klock_hand_over();
	}
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
