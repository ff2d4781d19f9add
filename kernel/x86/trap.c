/* SPDX-License-Identifier: MIT */
/* Exception and interrupt dispatch from the entry stubs (Intel SDM vol. 3A 6.15 exception classes). */
#include "x86/trap.h"
#include "assert.h"
#include "ec.h"
#include "fpu.h"
#include "irq.h"
#include "klock.h"
#include "printk.h"
#include "sched.h"
#include "vcpu.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/percpu.h"

static const char *const exc_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved 15",
	"#MF x87 error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD error",
	"#VE virtualization",
	"#CP control protection",
	"reserved 22",
	"reserved 23",
	"reserved 24",
	"reserved 25",
	"reserved 26",
	"reserved 27",
	"#HV hypervisor injection",
	"#VC VMM communication",
	"#SX security",
	"reserved 31",
};

const char *trap_name(uint64_t vector)
{
	return vector < 32 ? exc_names[vector] : "interrupt";
}

void trap_dump(enum log_level lvl, const struct regs *r)
{
	printk(lvl, "  %s (vector %lu) error %#lx at rip %#lx cs %#lx rflags %#lx\n",
	       trap_name(r->vector), r->vector, r->error, r->rip, r->cs, r->rflags);
	if (r->vector == 14) {
		uint64_t err = r->error;
		printk(lvl, "  cr2 %#lx: %s %s in %s mode%s\n", read_cr2(),
		       err & 1 ? "protection violation" : "page not present",
		       err & 2	  ? "on write"
		       : err & 16 ? "on fetch"
				  : "on read",
		       err & 4 ? "user" : "kernel", err & 8 ? " (reserved bit set)" : "");
	}
	printk(lvl, "  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", r->rax, r->rbx, r->rcx,
	       r->rdx);
	printk(lvl, "  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", r->rsi, r->rdi, r->rbp,
	       r->rsp);
	printk(lvl, "  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", r->r8, r->r9, r->r10,
	       r->r11);
	printk(lvl, "  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", r->r12, r->r13, r->r14,
	       r->r15);
	printk(lvl, "  cr0 %016lx cr3 %016lx cr4 %016lx ss %#lx\n", read_cr0(), read_cr3(),
	       read_cr4(), r->ss);
}

/* A kernel-mode exception is a kernel bug: dump everything and stop. */
static __noreturn void kernel_fault(struct regs *r)
{
	printk(LOG_ERROR, "KERNEL BUG: exception in kernel mode on CPU %u\n", this_cpu()->id);
	trap_dump(LOG_ERROR, r);
	panic("unhandled kernel exception %s", trap_name(r->vector));
}

void x86_trap_kernel(struct regs *r)
{
	if (r->vector == 2) {
		irq_nmi(r);
		return;
	}
	if (r->vector < 32) {
		kernel_fault(r);
	}
	/* Interrupts reach kernel mode only in the idle loop, which does not hold the lock. */
	klock_acquire();
	irq_dispatch(r->vector);
	klock_release();
}

void x86_trap_user(struct regs *r)
{
	klock_acquire();
	struct ec *ec = ec_enter_kernel();
	if (!ec) {
		/* Its EC is gone; the interrupt still needs handling (and its EOI). */
		if (r->vector >= 32) {
			irq_dispatch(r->vector);
		}
		sched_schedule();
	}
	CHECK(r == &ec->regs);
	ec->cont = ec_ret_iret;
	/* Now, not when a handler takes the fault: it may be queued behind a busy pager. */
	ec->fault_addr = r->vector == 14 ? read_cr2() : 0;
	if (r->vector == 7 && fpu_nm(ec)) {
		ec_ret_iret(ec);
	}
	if (ec->pv_task && r->vector < 32) {
		/* Virtual user mode: the exception goes to the vCPU's entry point, not to a portal. */
		vcpu_pv_event(ec, VCPU_CAUSE_EXCEPTION, (unsigned)r->vector, r->error,
			      ec->fault_addr);
		ec_ret_iret(ec);
	}
	if (r->vector < 32) {
		ec_user_exception(ec);
	}
	irq_dispatch(r->vector);
	if (sched_need_resched() || ec->state != EC_READY) {
		sched_schedule();
	}
	ec_ret_iret(ec);
}
