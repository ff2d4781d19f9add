/* SPDX-License-Identifier: MIT */
/*
 * The few architecture hooks generic kernel code calls. kernel/x86/ implements them for the
 * machine; tests/fake/ implements them over host memory so kernel logic runs in unit tests.
 * Generic code includes this header, never kernel/x86/ directly: what it needs of the x86 layout
 * (the register frame, the per-CPU block, the user/kernel split) comes through here.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include "printk.h"
#include "types.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"
#include "x86/regs.h"

/* Kernel pointer to physical memory (through the direct map). */
void *phys_to_virt(paddr_t pa);
/* Inverse of phys_to_virt for pointers into the direct map. */
paddr_t virt_to_phys(const void *va);

/* Local timer interrupts per second: the scheduler's tick and the unit of timeouts. */
#define TIMER_HZ 100

/* ---------------------------------------------------------------- this CPU */

/* Faulting address of the last page fault taken on this CPU. */
uint64_t arch_fault_addr(void);
/*
 * Root of the memory space this CPU translates with now, and switching to another one; and
 * arch_set_entry_frame(r): the next entry from user mode on this CPU saves the user state into
 * `r` (docs/architecture.md#kernel-stack: the frame lives in the EC). Inline in the kernel
 * (kernel/x86/arch_inline.h): they are on every way back to user mode, as arch_irq_window
 * below is on every guest exit.
 */
#ifdef HOST_TEST
uint64_t arch_space_root(void);
void arch_space_load(uint64_t root);
void arch_set_entry_frame(struct regs *r);
#else
#include "x86/arch_inline.h"
#endif
/* Let a host interrupt that is pending right now be taken (after a guest ran with it masked);
 * inline in the kernel too: every guest exit passes. */
#ifdef HOST_TEST
void arch_irq_window(void);
#endif
/* Idle: enable interrupts and wait for one, atomically (no wake-up lost in between); returns
 * with interrupts disabled again. */
void arch_idle_wait(void);

/* ---------------------------------------------------------------- other CPUs */

/* Make CPU `cpu` enter the kernel and reschedule (no-op for this CPU). */
void arch_kick(unsigned cpu);

/* ---------------------------------------------------------------- I/O space */

/* Make `bitmap` (8 KiB, 0 = allowed; NULL = no ports) this CPU's I/O permissions. */
#ifdef HOST_TEST
void iobitmap_load(const uint8_t *bitmap);
#else
/* The copy, for a bitmap this CPU does not hold yet (kernel/x86/iobitmap.c). */
void iobitmap_copy_in(const uint8_t *bitmap);
static inline __attribute__((always_inline)) void iobitmap_load(const uint8_t *bitmap)
{
	if (this_cpu_field(io_owner) != bitmap) {
		iobitmap_copy_in(bitmap);
	}
}
#endif
/* A PD's bitmap changed: CPUs that copied it reload it at their next kernel exit (callers then
 * shoot down, so CPUs in user mode on that PD take an IPI and exit through the kernel first). */
void iobitmap_invalidate(const uint8_t *bitmap);

/* ---------------------------------------------------------------- kernel entry and exit */

/* The system-call entry calls this with the caller's saved frame; syscall_resume_entry
 * (kernel/syscall_entry.h) instead when the call is SYS_VCPU_RESUME (RAX). */
__noreturn void syscall_dispatch(struct regs *r);
/* Leave the kernel for user mode with the given frame. */
__noreturn void ret_user_iret(struct regs *r);
__noreturn void ret_user_sysret(struct regs *r);
/* Discard the kernel stack: run `fn` on a fresh stack whose top is `stack_top`. */
__noreturn void continue_on_stack(uint64_t stack_top, void (*fn)(void));

/* Name of an exception vector, and a dump of a saved frame (for a task killed by one). */
const char *trap_name(uint64_t vector);
void trap_dump(enum log_level lvl, const struct regs *r);

#endif
