/* SPDX-License-Identifier: MIT */
/*
 * The vCPU state page (docs/architecture.md#vcpu): an EC in vCPU mode runs a VM with
 * SYS_VCPU_RESUME; the guest's architectural state and the cause of each VM exit are exchanged
 * here in a vendor-neutral layout. The VMM never sees a VMCB or a VMCS encoding.
 */
#ifndef VIREO_VCPU_H
#define VIREO_VCPU_H

#include <stdint.h>
#include <vireo/utcb.h>

/* Segment register; attributes in the compressed 12-bit form (type, S, DPL, P, AVL, L, D/B, G). */
struct vireo_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};

#define VSEG_ATTR_TYPE(a) ((a)&0xf)
#define VSEG_ATTR_S 0x010
#define VSEG_ATTR_DPL(d) ((d) << 5)
#define VSEG_ATTR_P 0x080
#define VSEG_ATTR_L 0x200
#define VSEG_ATTR_DB 0x400
#define VSEG_ATTR_G 0x800

/* Why the guest stopped. */
enum vireo_vm_exit {
	VM_EXIT_NONE = 0,
	VM_EXIT_IO = 1,	  /* port I/O: io.* */
	VM_EXIT_MMIO = 2, /* guest-physical access to no RAM: gpa, qual = fault error code */
	VM_EXIT_CPUID = 3,
	VM_EXIT_RDMSR = 4, /* rcx = MSR */
	VM_EXIT_WRMSR = 5,
	VM_EXIT_HLT = 6,
	VM_EXIT_VMCALL = 7,   /* VMMCALL (AMD) / VMCALL (Intel) */
	VM_EXIT_SHUTDOWN = 8, /* triple fault: the guest cannot continue */
	VM_EXIT_INTR_WINDOW =
		9,		/* the guest can take an interrupt now (requested by intr_window) */
	VM_EXIT_EXCEPTION = 10, /* an intercepted guest exception: qual = vector, error in gpa */
	VM_EXIT_INVALID = 11,	/* the state could not be entered: qual = reason (VM_INVALID_*) */
	VM_EXIT_RECALL = 12,	/* SYS_EC_CTRL recall of the vCPU */
	VM_EXIT_CACHE = 13,	/* INVD or WBINVD: the caches are the host's; skipping it is safe */
	VM_EXIT_OTHER = 14,	/* anything else: qual = vendor exit code, for the log */
};

/* Reasons in qual of VM_EXIT_INVALID. */
enum vireo_vm_invalid {
	VM_INVALID_CR0 = 1,
	VM_INVALID_CR4 = 2,
	VM_INVALID_EFER = 3,
	VM_INVALID_RFLAGS = 4,
	VM_INVALID_SEGMENT = 5,
	VM_INVALID_EVENT = 6,
	VM_INVALID_DR = 7,
	VM_INVALID_HARDWARE = 8,  /* the CPU refused VMRUN / VM entry */
	VM_INVALID_XCR0 = 9,	  /* x87 bit clear, AVX without SSE, or a bit the host lacks */
	VM_INVALID_ACTIVITY = 10, /* activity is not a vireo_vm_activity */
};

/*
 * What the vCPU is doing (`activity`, docs/ABI.md "Activity"): the VMM sets it; a resume enters
 * the guest only when it is RUNNING, or HALTED with an event to deliver (which makes it RUNNING).
 * Otherwise the resume returns at once with VM_EXIT_HLT and qual = the activity.
 */
enum vireo_vm_activity {
	VM_ACTIVITY_RUNNING = 0,
	VM_ACTIVITY_HALTED = 1,	   /* in HLT: waits for an interrupt (or NMI, or another event) */
	VM_ACTIVITY_WAIT_SIPI = 2, /* after INIT: only a start-up IPI (the VMM's) makes it run */
};

/* Event injection (inject / pending). */
#define VEVENT_VALID 0x80000000u
#define VEVENT_TYPE_INTR (0u << 8)
#define VEVENT_TYPE_NMI (2u << 8)
#define VEVENT_TYPE_EXC (3u << 8)
#define VEVENT_TYPE_SOFT (4u << 8)
#define VEVENT_ERR_VALID 0x800u
#define VEVENT_VECTOR(e) ((e)&0xff)
#define VEVENT_TYPE(e) ((e)&0x700u)
/* Longest x86 instruction: the bound of inject_len and pending_len. */
#define VEVENT_LEN_MAX 15

/* Port I/O exit details. */
struct vireo_vm_io {
	uint16_t port;
	uint8_t size;	/* 1, 2, 4 */
	uint8_t in;	/* 1: IN/INS, 0: OUT/OUTS */
	uint8_t string; /* INS/OUTS: the VMM emulates the memory side */
	uint8_t rep;
	uint8_t reserved[2];
};

struct vireo_vm_state {
	/* General registers in hardware encoding order: rax rcx rdx rbx rsp rbp rsi rdi r8-r15. */
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer, dr6, dr7, xcr0;
	struct vireo_seg es, cs, ss, ds, fs, gs, ldtr, tr;
	struct vireo_seg gdtr, idtr; /* base and limit only */
	uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, pat;
	/* Filled by the kernel at every exit. */
	uint32_t exit;	   /* enum vireo_vm_exit */
	uint32_t insn_len; /* length of the exiting instruction if the hardware told, else 0 */
	uint64_t qual;
	uint64_t gpa;
	uint64_t next_rip; /* after an IO exit when the hardware provides it, else 0 */
	struct vireo_vm_io io;
	/* An event that was being delivered when the exit happened: re-delivered at the next resume
	 * unless the VMM clears it (docs/ABI.md "Events"); pending_len below. */
	uint32_t pending;
	uint32_t pending_err;
	uint32_t
		intr_shadow; /* the guest cannot take interrupts for one instruction (STI/MOV SS) */
	uint32_t guest_if;   /* RFLAGS.IF as the guest sees it */
	uint64_t exits;	     /* VM exits of this vCPU so far, all reasons */
	/* Set by the VMM before SYS_VCPU_RESUME. */
	/* Event to inject (VEVENT_*); cleared by the kernel once it went in. With `pending` also
	 * valid, pending goes first and inject stays set until the next entry (docs/ABI.md). */
	uint32_t inject;
	uint32_t inject_err;
	uint32_t
		intr_window; /* 1: exit with VM_EXIT_INTR_WINDOW as soon as the guest can take one */
	/* VEVENT_TYPE_SOFT only: length of the INT n / INT3 / INTO instruction at rip; the handler
	 * returns to rip + len. 0 for other types. A SOFT pending with pending_len 0 (the kernel does
	 * not know the length) is re-delivered by executing the instruction at rip again. */
	uint8_t inject_len;
	uint8_t pending_len;
	uint16_t activity; /* enum vireo_vm_activity (set by the VMM; RUNNING once entered) */
	uint32_t reserved2;
	/*
	 * Time (docs/ABI.md "TSC offset"), set by the VMM, read at every SYS_VCPU_RESUME: the
	 * guest's TSC reads as the host's plus tsc_offset (two's complement, so it may go back).
	 * SVM applies it as the VMCB's TSC_OFFSET; VMX will use the VMCS TSC offset.
	 */
	uint64_t tsc_offset;
};

/*
 * The para-virtual half of the state page (docs/architecture.md#virtual-user-mode), at
 * VIREO_VCPU_PV_OFFSET: SYS_VCPU_RESUME on an ordinary PD runs `user` in that task; an exception
 * or page fault there, a SYSCALL from it, or an IRQ while `vif` is 1 saves the task's state into
 * `user`, clears `vif` and continues the vCPU EC at entry_ip/entry_sp in its own PD.
 */
enum vireo_vcpu_cause {
	VCPU_CAUSE_NONE = 0,
	VCPU_CAUSE_EXCEPTION = 1, /* vector, error; fault_addr for page faults (14) */
	VCPU_CAUSE_SYSCALL = 2,	  /* the task executed SYSCALL: user.rip is after it */
	VCPU_CAUSE_IRQ = 3,	  /* an IRQ (SYS_VCPU_IRQ) arrived while vif was 1; irq_label */
};

/* IRQs waiting for vif are queued in the kernel, in order, up to this many (then BUSY). */
#define VIREO_VCPU_IRQ_QUEUE 32

struct vireo_vcpu_pv {
	uint64_t entry_ip, entry_sp; /* where events continue the vCPU in its own PD (user space) */
	uint32_t vif;		     /* virtual IF SYS_VCPU_RESUME applies (vif_own below) */
	uint32_t irq_pending;	     /* IRQs queued (kernel-written; read-only) */
	uint32_t cause;		     /* enum vireo_vcpu_cause of the last entry */
	uint32_t vector;
	uint64_t error;
	uint64_t fault_addr;
	uint64_t events;	     /* entries so far */
	struct vireo_exc_state user; /* the interrupted registers (rip, rsp, rflags and all GPRs) */
	uint64_t irq_label;	     /* VCPU_CAUSE_IRQ: the label SYS_VCPU_IRQ raised it with */
	uint32_t from_own;	     /* 1: the event interrupted the vCPU's own code */
	/* The virtual IF of the vCPU's own code now (its sti/cli): IRQs interrupt it while 1. `vif`
	 * is the one SYS_VCPU_RESUME applies: to the task, or to vif_own when it resumes its own
	 * PD (so that reopening and returning are one step). Every event clears both. */
	uint32_t vif_own;
};

#define VIREO_VCPU_PV_OFFSET 2048

_Static_assert(sizeof(struct vireo_vm_state) <= VIREO_VCPU_PV_OFFSET, "VM state below the PV half");
_Static_assert(VIREO_VCPU_PV_OFFSET + sizeof(struct vireo_vcpu_pv) <= 4096,
	       "the state page is one page");

#endif
