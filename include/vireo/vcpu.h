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
	VM_EXIT_MMIO = 2, /* nested-paging fault (no RAM there): gpa, qual = VNPF_* bits */
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
	/* Exits of intercepts the VMM chose (ctrl, below); qual as described. */
	VM_EXIT_CR_ACCESS = 15,	  /* MOV to/from CR0/3/4/8: qual = VCR_QUAL_* */
	VM_EXIT_DR_ACCESS = 16,	  /* MOV to/from DR0-7: qual = VDR_QUAL_* */
	VM_EXIT_XSETBV = 17,	  /* rcx = XCR index, edx:eax = value */
	VM_EXIT_INVLPG = 18,	  /* qual = linear address when the hardware gives it, else 0 */
	VM_EXIT_TASK_SWITCH = 19, /* qual = new TSS selector */
	VM_EXIT_NMI_WINDOW = 20,  /* the guest can take an NMI now */
	VM_EXIT_INIT = 21,	  /* INIT signal to this vCPU */
	VM_EXIT_SIPI = 22,	  /* startup IPI: qual = vector */
	VM_EXIT_RDTSC = 23,	  /* RDTSC (qual 0) or RDTSCP (qual 1) */
	VM_EXIT_PAUSE = 24,
	VM_EXIT_MWAIT = 25, /* MONITOR (qual 1) or MWAIT (qual 0) */
	VM_EXIT_COUNT = 26, /* the size of mtd_exit[] */
};

/* qual of VM_EXIT_MMIO (the nested-paging fault). */
#define VNPF_READ 0x1ull
#define VNPF_WRITE 0x2ull
#define VNPF_EXEC 0x4ull
#define VNPF_PRESENT 0x8ull	  /* the guest-physical page was mapped (a permission fault) */
#define VNPF_PAGE_WALK 0x10ull	  /* during the guest's own page-table walk */
#define VNPF_LINEAR_VALID 0x20ull /* gla holds the guest-linear address (not on SVM) */
/* qual of VM_EXIT_CR_ACCESS: CR number 3:0, write bit 4, GPR 11:8 when valid (bit 12). */
#define VCR_QUAL_CR(q) ((q)&0xf)
#define VCR_QUAL_WRITE 0x10ull
#define VCR_QUAL_GPR_VALID 0x1000ull
#define VCR_QUAL_GPR(q) (((q) >> 8) & 0xf)
/* qual of VM_EXIT_DR_ACCESS: the same layout with the DR number. */
#define VDR_QUAL_DR(q) ((q)&0xf)
#define VDR_QUAL_WRITE 0x10ull

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
	VM_INVALID_MTD = 10,	  /* mtd_in, mtd_req or an mtd_exit[] word has an unknown bit */
	VM_INVALID_CTRL = 11,	  /* the intercept control area (ctrl) asks for what it may not */
	VM_INVALID_ACTIVITY = 12, /* activity is not a vireo_vm_activity */
};

/*
 * State groups (NOVA's message transfer descriptor for VMs; docs/ABI.md "State groups"): the
 * guest state lives in the hardware structure in the kernel; only the groups named in a mask
 * move between it and this page. At SYS_VCPU_RESUME the kernel loads the groups in mtd_in (the
 * VMM changed them); at an exit it writes the exit information (always) and the groups in
 * mtd_exit[exit] | mtd_req, and says in mtd_out which groups the page now holds.
 */
#define VMTD_GPR_ACDB 0x0001u /* gpr[0..3]: rax, rcx, rdx, rbx */
#define VMTD_RIP 0x0002u      /* rip, rflags */
#define VMTD_CR 0x0004u	      /* cr0, cr2, cr3, cr4, efer */
#define VMTD_DR 0x0008u	      /* dr6, dr7 */
#define VMTD_XCR0 0x0010u     /* xcr0 */
#define VMTD_CS_SS 0x0020u    /* cs, ss */
#define VMTD_DS_ES 0x0040u    /* ds, es */
#define VMTD_FS_GS 0x0080u    /* fs, gs */
#define VMTD_TR_LDTR 0x0100u  /* tr, ldtr */
#define VMTD_DTR 0x0200u      /* gdtr, idtr */
#define VMTD_SYSCALL 0x0400u  /* kernel_gs_base, star, lstar, cstar, sfmask */
#define VMTD_SYSENTER 0x0800u /* sysenter_cs, sysenter_esp, sysenter_eip */
#define VMTD_PAT 0x1000u      /* pat */
#define VMTD_EVENTS 0x2000u   /* pending*, intr_shadow, guest_if, inject*, intr_window, activity */
#define VMTD_TSC 0x4000u      /* tsc_offset */
#define VMTD_GPR_HI 0x8000u   /* gpr[4..15]: rsp, rbp, rsi, rdi, r8-r15 */
#define VMTD_STATE 0xffffu    /* every state group */
#define VMTD_GPR (VMTD_GPR_ACDB | VMTD_GPR_HI) /* gpr[16] */
#define VMTD_SEG (VMTD_CS_SS | VMTD_DS_ES | VMTD_FS_GS | VMTD_TR_LDTR)
#define VMTD_CTRL 0x10000u /* mtd_in only: the intercept control area ctrl changed */
/* mtd_in only: write the groups in mtd_req to the page and return at once, without entering
 * the guest and without loading anything (the other mtd_in bits stay for the next resume; exit
 * information untouched): more of the state in mid-exit. */
#define VMTD_FETCH 0x80000000u
#define VMTD_IN_VALID (VMTD_STATE | VMTD_CTRL | VMTD_FETCH)

/*
 * Intercept control (ctrl, loaded when mtd_in has VMTD_CTRL; checked whole before any effect).
 * MSRs the guest may read and write without an exit (VMSR_PASS_*; only these): each has a
 * VMTD_SEG/VMTD_SYSCALL/VMTD_SYSENTER field that stays current through the groups.
 */
#define VMSR_PASS_FS_BASE 0x001u
#define VMSR_PASS_GS_BASE 0x002u
#define VMSR_PASS_KERNEL_GS_BASE 0x004u
#define VMSR_PASS_STAR 0x008u
#define VMSR_PASS_LSTAR 0x010u
#define VMSR_PASS_CSTAR 0x020u
#define VMSR_PASS_SFMASK 0x040u
#define VMSR_PASS_SYSENTER_CS 0x080u
#define VMSR_PASS_SYSENTER_ESP 0x100u
#define VMSR_PASS_SYSENTER_EIP 0x200u
#define VMSR_PASS_ALL 0x3ffu

/* Optional intercepts (ctrl.intercept): each set bit makes the event exit with its reason. */
#define VINT_RDTSC 0x0001u    /* VM_EXIT_RDTSC (RDTSC and RDTSCP) */
#define VINT_PAUSE 0x0002u    /* VM_EXIT_PAUSE */
#define VINT_INVLPG 0x0004u   /* VM_EXIT_INVLPG */
#define VINT_DR 0x0008u	      /* VM_EXIT_DR_ACCESS for every MOV DR */
#define VINT_CR8 0x0010u      /* VM_EXIT_CR_ACCESS for MOV to/from CR8 */
#define VINT_CR3 0x0020u      /* VM_EXIT_CR_ACCESS for MOV to/from CR3 */
#define VINT_MWAIT 0x0040u    /* VM_EXIT_MWAIT for MONITOR and MWAIT */
#define VINT_HLT_PASS 0x0080u /* HLT does not exit: the CPU waits in the guest (host IRQs end it) */
#define VINT_XSETBV_PASS                                                                           \
	0x0100u /* XSETBV does not exit (the kernel still checks xcr0 at each resume and loads it) */
#define VINT_ALL 0x01ffu

struct vireo_vm_ctrl {
	uint32_t msr_pass;   /* VMSR_PASS_* */
	uint32_t intercept;  /* VINT_* */
	uint32_t exc_bitmap; /* guest exceptions (vector bit) that exit as VM_EXIT_EXCEPTION */
	uint32_t reserved;   /* 0 */
	/*
	 * CR0/CR4 guest/host masks and read shadows (the VMX model): bits set in a mask belong to
	 * the VMM; the guest reads them from the shadow, and a MOV to the register that would give
	 * a VMM bit a value other than its shadow exits (VM_EXIT_CR_ACCESS). Bits clear in the mask
	 * the guest owns: it changes them without an exit. All 0: no CR0/CR4 intercepts. (On SVM,
	 * which has no masks, a non-zero mask intercepts every read and write of that register; the
	 * VMM applies the same rule: docs/architecture.md#vcpu.)
	 */
	uint64_t cr0_mask, cr0_shadow;
	uint64_t cr4_mask, cr4_shadow;
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
	struct vireo_seg cs, ss, ds, es, fs, gs, tr, ldtr;
	struct vireo_seg gdtr, idtr; /* base and limit only */
	uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, pat;
	/* Filled by the kernel at every exit. */
	uint32_t exit;	   /* enum vireo_vm_exit */
	uint32_t insn_len; /* length of the exiting instruction if the hardware told, else 0 */
	uint64_t qual;
	uint64_t gpa;
	uint64_t gla;	   /* guest-linear address where the hardware gives one (VNPF_LINEAR_VALID,
			    * the #PF address of an intercepted page fault), else 0 */
	uint64_t next_rip; /* after an IO exit when the hardware provides it, else 0 */
	struct vireo_vm_io io;
	uint64_t exits; /* VM exits of this vCPU so far, all reasons */
	/* An event that was being delivered when the exit happened: re-delivered at the next resume
	 * unless the VMM clears it (docs/ABI.md "Events"); pending_len below. */
	uint32_t pending;
	uint32_t pending_err;
	uint32_t
		intr_shadow; /* the guest cannot take interrupts for one instruction (STI/MOV SS) */
	uint32_t guest_if;   /* RFLAGS.IF as the guest sees it */
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
	/* State groups (VMTD_*, docs/ABI.md "State groups"). */
	uint32_t mtd_in; /* VMM: groups it changed since the exit; the kernel clears it at resume */
	uint32_t mtd_out; /* kernel: groups this page holds since the last exit (or fetch) */
	uint32_t mtd_req; /* VMM: groups wanted at the next exit besides mtd_exit[]; cleared then */
	uint32_t mtd_reserved;
	/* VMM: groups written at an exit, per reason; the kernel sets every word to VMTD_STATE when
	 * it maps the page (an unaware VMM gets everything). */
	uint32_t mtd_exit[VM_EXIT_COUNT];
	struct vireo_vm_ctrl ctrl; /* intercept control, loaded with VMTD_CTRL */
	/*
	 * Time (docs/ABI.md "TSC offset"), set by the VMM, loaded with VMTD_TSC: the guest's TSC
	 * reads as the host's plus tsc_offset (two's complement, so it may go back). SVM applies it
	 * as the VMCB's TSC_OFFSET; VMX as the VMCS TSC offset.
	 */
	uint64_t tsc_offset;
};

/*
 * The para-virtual half of the state page (docs/architecture.md#virtual-user-mode), at
 * VIREO_VCPU_PV_OFFSET: SYS_VCPU_RESUME on an ordinary PD runs `user` in that task; an exception
 * or page fault there, a SYSCALL from it, or an IRQ or a portal call while `vif` is 1 saves the
 * task's state into `user`, clears `vif` and continues the vCPU EC at entry_ip/entry_sp in its
 * own PD.
 */
enum vireo_vcpu_cause {
	VCPU_CAUSE_NONE = 0,
	VCPU_CAUSE_EXCEPTION = 1, /* vector, error; fault_addr for page faults (14) */
	VCPU_CAUSE_SYSCALL = 2,	  /* the task executed SYSCALL: user.rip is after it */
	VCPU_CAUSE_IRQ = 3,	  /* an IRQ (SYS_VCPU_IRQ) arrived while vif was 1; irq_label */
	/* A portal call to the vCPU EC arrived while vif was 1 (docs/ABI.md "Calls to a vCPU"):
	 * ipc_label = the portal's id (also in RDI), the message words in the vCPU's UTCB as for a
	 * portal handler; SYS_REPLY_WAIT replies and returns, then the vCPU resumes. */
	VCPU_CAUSE_IPC = 4,
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
	/* Calls (VCPU_CAUSE_IPC) queued for the vCPU, not yet delivered (kernel-written). One call
	 * is served at a time: the next is delivered after the reply. */
	uint32_t ipc_pending;
	uint64_t ipc_label; /* VCPU_CAUSE_IPC: the id of the portal the caller called */
	/* Written by the vCPU: 1 while it takes portal calls as events. A call made while it is 0
	 * returns BAD_CAP at once (a vCPU that never serves calls cannot hold a caller for good);
	 * calls already waiting stay queued when it is cleared. */
	uint32_t ipc_accept;
	uint32_t pv_reserved;
};

#define VIREO_VCPU_PV_OFFSET 2048

_Static_assert(sizeof(struct vireo_vm_state) <= VIREO_VCPU_PV_OFFSET, "VM state below the PV half");
_Static_assert(VIREO_VCPU_PV_OFFSET + sizeof(struct vireo_vcpu_pv) <= 4096,
	       "the state page is one page");

#endif
