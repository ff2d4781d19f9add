/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-x backend (kernel/vmx/vmx.c) and what host unit tests reach of it: the per-vCPU
 * data behind vcpu->hw, the controls in use, and the two halves of run() around VMLAUNCH/VMRESUME
 * (kernel/vmx/vmx_exit.c), which work on the current VMCS through the accessors of vmcs.h only.
 */
#ifndef KERNEL_VMX_VMX_H
#define KERNEL_VMX_VMX_H

#include "virt.h"
#include "vmx/vmx_ctl.h"

/* One entry of a VM-entry/VM-exit MSR area (SDM vol. 3C 24.7.2, table 24-12). */
struct vmx_msr {
	uint32_t index;
	uint32_t reserved;
	uint64_t value;
};

/* The MSRs VM entry and exit do not switch themselves: through the MSR areas. */
enum { VMX_MSR_KGS, VMX_MSR_STAR, VMX_MSR_LSTAR, VMX_MSR_CSTAR, VMX_MSR_SFMASK, VMX_MSRS };

/* Exit reasons (SDM vol. 3C appendix C); bit 31 set: the VM entry failed. */
enum vmx_exit_reason {
	VMX_EXIT_EXC_NMI = 0,
	VMX_EXIT_EXT_INTR = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INTR_WINDOW = 7,
	VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_INVLPG = 14,
	VMX_EXIT_RDTSC = 16,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_DR_ACCESS = 29,
	VMX_EXIT_IO = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_BAD_GUEST = 33,
	VMX_EXIT_BAD_MSR_LOAD = 34,
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_PAUSE = 40,
	VMX_EXIT_MCE_ENTRY = 41,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_RDTSCP = 51,
	VMX_EXIT_PREEMPT_TIMER = 52,
	VMX_EXIT_WBINVD = 54,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_INVPCID = 58,
};
#define VMX_EXIT_ENTRY_FAILED (1u << 31)
/* Not a hardware reason: VMLAUNCH/VMRESUME itself failed (VMfail; VM-instruction error in the VMCS). */
#define VMX_EXIT_INSN_FAILED 0xffffu

/* The VMCS interruptibility state (24.4.2, table 24-3). */
#define VMX_INTR_STI (1u << 0)
#define VMX_INTR_MOVSS (1u << 1)
#define VMX_INTR_NMI (1u << 3)

struct vmx_vcpu {
	struct vmx_msr guest_msrs[VMX_MSRS] __aligned(16); /* entry load and exit store */
	struct vmx_msr host_msrs[VMX_MSRS] __aligned(16);  /* exit load */
	paddr_t vmcs;
	int cpu;	 /* where the VMCS is active, -1 when clear */
	bool launched;	 /* VMRESUME, not VMLAUNCH, enters it */
	bool host_nmi;	 /* the last exit was an NMI for the host */
	bool vmmcall;	 /* the last exit was AMD's VMMCALL, seen as #UD: reported as VMCALL */
	bool cr_vmm;	 /* the last exit was a CR access the VMM intercepted (cr_access) */
	uint32_t reason; /* of the last exit (VMX_EXIT_INSN_FAILED: the instruction failed) */
	uint32_t insn_error;
	/* The guest space's flush tag and the CPU at its last INVEPT: a revoke (flush_guest), a move
	 * to another CPU or a paging state the VMM loads makes the next entry flush again. */
	uint64_t flushed_tag;
	int flushed_cpu;
	/* The VMM's intercept control in the VMCS (load_ctrl, docs/ABI.md "Intercept control"): the
	 * primary controls added to and taken from vmx_ctls.proc, and the CR0/CR4 bits the VMM
	 * owns (the guest/host masks hold these and the bits VMX forces, which the kernel owns). */
	uint32_t proc_set, proc_clear;
	uint64_t cr0_vmm, cr4_vmm;
	uint64_t cr8; /* the guest's task priority (MOV CR8) while the VMM does not intercept it */
};

/* The controls of every vCPU (vmx_probe computes them; tests set them). */
extern struct vmx_ctls vmx_ctls;
/* The VMX-preemption timer's value at each entry (with PIN_PREEMPT_TIMER): one host tick. */
extern uint32_t vmx_preempt_ticks;
extern const struct virt_ops vmx_ops;

/* CR0 and CR4 bits the guest cannot clear under VMX (fixed-0 settings, A.7-A.8; with unrestricted
 * guest PE and PG are the guest's): owned by the host through the guest/host masks, the guest
 * sees its own value in the read shadow. */
uint64_t vmx_cr0_forced(void);
uint64_t vmx_cr4_forced(void);

/* The MSRs a VMM may pass through, in VMSR_PASS_* bit order, and the bitmap bits of one MSR
 * (SDM vol. 3C 24.6.9: read bitmaps for 0-0x1fff and 0xc0000000-0xc0001fff at bytes 0 and 1024,
 * the write bitmaps at 2048 and 3072); false for an MSR outside both ranges (it always exits). */
extern const uint32_t vmx_pass_msrs[10];
bool vmx_msr_bitmap_bit(uint32_t msr, bool write, size_t *bit);
/* ctrl (checked whole by generic code) against this CPU: VM_INVALID_CTRL for an option it cannot
 * honour, else 0; decided before anything of ctrl applies. */
unsigned vmx_check_ctrl(const struct vireo_vm_ctrl *c);

/* Before the entry, on the current VMCS: EPTP, VPID, the next event, window exiting. */
void vmx_run_enter(struct vcpu *v, paddr_t gpt_root);
/* After the exit (failed: VMLAUNCH/VMRESUME did not enter): the cut-off event back into pending,
 * #AC/#DB reflected, masked CR writes emulated. True when the kernel handled it and the guest goes
 * on; false when the VMM must see it. */
bool vmx_run_exit(struct vcpu *v, bool failed);
/* The exit reason and its details into st (exit, qual, gpa, io, insn_len, next_rip). */
void vmx_store_exit(struct vcpu *v, struct vireo_vm_state *st);

#endif
