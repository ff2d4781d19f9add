/* SPDX-License-Identifier: MIT */
/* The user library: system call bindings and a tiny libc for Vireo tasks. */
#ifndef USER_VIREO_H
#define USER_VIREO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vireo/bootinfo.h>
#include <vireo/caps.h>
#include <vireo/status.h>
#include <vireo/syscall.h>
#include <vireo/utcb.h>
#include <vireo/vcpu.h>

#include "kstring.h"

/* Raw SYSCALL with up to five arguments; RDI and RSI come back as extra results. */
struct vireo_ret {
	long status;
	uint64_t rdi, rsi;
};

static inline struct vireo_ret vireo_syscall(long nr, uint64_t a0, uint64_t a1, uint64_t a2,
					     uint64_t a3, uint64_t a4)
{
	struct vireo_ret r;
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	__asm__ volatile("syscall"
			 : "=a"(r.status), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
			 : "a"(nr)
			 : "rcx", "r11", "r9", "memory");
	r.rdi = a0;
	r.rsi = a1;
	return r;
}

static inline enum vireo_status vireo_sys(long nr, uint64_t a0, uint64_t a1, uint64_t a2,
					  uint64_t a3, uint64_t a4)
{
	return (enum vireo_status)vireo_syscall(nr, a0, a1, a2, a3, a4).status;
}

static inline enum vireo_status sys_debug_write(const char *buf, size_t len)
{
	return vireo_sys(SYS_DEBUG_WRITE, (uintptr_t)buf, len, 0, 0, 0);
}

__attribute__((noreturn)) static inline void sys_ec_exit(void)
{
	vireo_sys(SYS_EC_EXIT, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

static inline enum vireo_status sys_call(uint64_t pt)
{
	return vireo_sys(SYS_CALL, pt, 0, 0, 0, 0);
}

__attribute__((noreturn)) static inline void sys_reply_wait(void)
{
	vireo_sys(SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

static inline enum vireo_status sys_create_pd(uint64_t dst, uint64_t pd, uint64_t quota)
{
	return vireo_sys(SYS_CREATE_PD, dst, pd, quota, 0, 0);
}

/* A PD whose SCs may have priorities up to max_prio (at most those of `pd`'s). */
static inline enum vireo_status sys_create_pd_prio(uint64_t dst, uint64_t pd, uint64_t quota,
						   unsigned max_prio)
{
	return vireo_sys(SYS_CREATE_PD, dst, pd, quota, VIREO_PD_MAX_PRIO, max_prio);
}

/* A VM PD: its memory space is guest-physical; BAD_FTR without hardware virtualization. */
static inline enum vireo_status sys_create_vm(uint64_t dst, uint64_t pd, uint64_t quota)
{
	return vireo_sys(SYS_CREATE_PD, dst, pd, quota, VIREO_PD_VM, 0);
}

/* Run the VM (a VM PD) or, in virtual user mode, the task (an ordinary PD) on the calling vCPU. */
static inline enum vireo_status sys_vcpu_resume(uint64_t pd)
{
	return vireo_sys(SYS_VCPU_RESUME, pd, 0, 0, 0, 0);
}

static inline enum vireo_status sys_vcpu_irq(uint64_t ec)
{
	return vireo_sys(SYS_VCPU_IRQ, ec, 0, 0, 0, 0);
}

/* Virtual user mode with VIREO_RESUME_* flags (typed items of the UTCB into the task first). */
static inline enum vireo_status sys_vcpu_resume_flags(uint64_t pd, uint64_t flags)
{
	return vireo_sys(SYS_VCPU_RESUME, pd, flags, 0, 0, 0);
}

/* An IRQ that arrives with `label` in the state page's irq_label. */
static inline enum vireo_status sys_vcpu_irq_label(uint64_t ec, uint64_t label)
{
	return vireo_sys(SYS_VCPU_IRQ, ec, label, 0, 0, 0);
}

/* Post external interrupt `vector` to a vCPU running a VM (docs/ABI.md "Posted interrupts"). */
static inline enum vireo_status sys_vcpu_post(uint64_t ec, unsigned vector)
{
	return vireo_sys(SYS_VCPU_POST, ec, vector, 0, 0, 0);
}

static inline enum vireo_status sys_create_ec(uint64_t dst, uint64_t pd,
					      const struct vireo_ec_create *a)
{
	return vireo_sys(SYS_CREATE_EC, dst, pd, (uintptr_t)a, 0, 0);
}

static inline enum vireo_status sys_create_sc(uint64_t dst, uint64_t pd, uint64_t ec, unsigned prio,
					      uint64_t quantum_us)
{
	return vireo_sys(SYS_CREATE_SC, dst, pd, ec, prio, quantum_us);
}

static inline enum vireo_status sys_create_pt(uint64_t dst, uint64_t pd, uint64_t ec, uintptr_t ip,
					      uint64_t mtd)
{
	return vireo_sys(SYS_CREATE_PT, dst, pd, ec, ip, mtd);
}

static inline enum vireo_status sys_create_sm(uint64_t dst, uint64_t pd, uint64_t count)
{
	return vireo_sys(SYS_CREATE_SM, dst, pd, count, 0, 0);
}

static inline enum vireo_status sys_pt_ctrl(uint64_t pt, uint64_t id)
{
	return vireo_sys(SYS_PT_CTRL, pt, id, 0, 0, 0);
}

static inline enum vireo_status sys_sm_up(uint64_t sm)
{
	return vireo_sys(SYS_SM_CTRL, sm, VIREO_SM_UP, 0, 0, 0);
}

static inline enum vireo_status sys_sm_down(uint64_t sm, uint64_t timeout_us)
{
	return vireo_sys(SYS_SM_CTRL, sm, VIREO_SM_DOWN, timeout_us, 0, 0);
}

static inline enum vireo_status sys_delegate(uint64_t dst_pd, uint64_t crd, uint64_t dst_base,
					     unsigned flags)
{
	return vireo_sys(SYS_DELEGATE, dst_pd, crd, dst_base, flags, 0);
}

static inline enum vireo_status sys_revoke(uint64_t crd, unsigned flags)
{
	return vireo_sys(SYS_REVOKE, crd, flags, 0, 0, 0);
}

/* The capability covering the CRD's base: its CRD in *found (0 if none), object type in *type. */
static inline enum vireo_status sys_lookup(uint64_t crd, uint64_t *found, unsigned *type)
{
	struct vireo_ret r = vireo_syscall(SYS_LOOKUP, crd, 0, 0, 0, 0);
	if (found) {
		*found = r.rdi;
	}
	if (type) {
		*type = (unsigned)r.rsi;
	}
	return (enum vireo_status)r.status;
}

static inline enum vireo_status sys_assign_gsi(uint64_t sm, unsigned gsi, unsigned cpu)
{
	return vireo_sys(SYS_ASSIGN_GSI, sm, gsi, cpu, 0, 0);
}

static inline enum vireo_status sys_ec_recall(uint64_t ec)
{
	return vireo_sys(SYS_EC_CTRL, ec, VIREO_EC_RECALL, 0, 0, 0);
}

static inline enum vireo_status sys_sc_consumed(uint64_t sc, uint64_t *us)
{
	struct vireo_ret r = vireo_syscall(SYS_SC_CTRL, sc, 0, 0, 0, 0);
	*us = r.rdi;
	return (enum vireo_status)r.status;
}

static inline enum vireo_status sys_kstat(struct vireo_kstat *k)
{
	return vireo_sys(SYS_KSTAT, (uintptr_t)k, 0, 0, 0, 0);
}

/* The same, with the quota of PD `pd` (SEL_SELF_PD in sys_kstat). */
static inline enum vireo_status sys_kstat_pd(struct vireo_kstat *k, uint64_t pd)
{
	return vireo_sys(SYS_KSTAT, (uintptr_t)k, pd, 0, 0, 0);
}

/* The program's main; `arg` is what the kernel or the starter passed in RDI. */
int main(uintptr_t arg);

__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);
__attribute__((noreturn)) void exit(int code);

#endif
