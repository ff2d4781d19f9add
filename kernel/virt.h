/* SPDX-License-Identifier: MIT */
/*
 * The vendor-neutral virtualization interface: one ops table per vendor (kernel/svm/, kernel/vmx/),
 * picked once at boot from CPUID. Generic code (kernel/vcpu.c) never names a vendor.
 */
#ifndef KERNEL_VIRT_H
#define KERNEL_VIRT_H

#include <vireo/vcpu.h>

#include "pt.h"
#include "types.h"

struct ec;
struct pd;
struct regs;
struct vcpu;

struct virt_ops {
	const char *name;
	enum pt_format gpt_format; /* guest-physical page tables: NPT or EPT */
	/* Enable virtualization on this CPU. */
	status_t (*cpu_init)(void);
	/* Per-vCPU hardware state (VMCB / VMCS); NO_MEM on failure. */
	status_t (*vcpu_init)(struct vcpu *v);
	void (*vcpu_fini)(struct vcpu *v);
	/*
	 * State groups (docs/architecture.md#vcpu): load writes the groups in `mtd` (VMTD_*; with
	 * VMTD_CTRL also st->ctrl, already checked) from `st` into the hardware state; store reads
	 * the groups in `mtd` from it into `st`. Neither touches any other field. The general
	 * registers the hardware does not hold stay in st->gpr (the entry code uses them there).
	 */
	void (*load)(struct vcpu *v, const struct vireo_vm_state *st, uint32_t mtd);
	/* Enter the guest once; called with interrupts off and the kernel lock released. Returns
	 * true for an exit the kernel handles itself (a host interrupt), false for one the VMM gets. */
	bool (*run)(struct vcpu *v, paddr_t gpt_root);
	/* After run returned false: the exit information (exit .. exits but `exits`) into `st`. */
	void (*exit_info)(struct vcpu *v, struct vireo_vm_state *st);
	void (*store)(struct vcpu *v, struct vireo_vm_state *st, uint32_t mtd);
	/* The groups store writes whole: the hardware's words, and from v->st the words the
	 * backend keeps there (the GPRs the entry code saves, the events). An exit stores these
	 * groups straight into the state page, one copy (docs/architecture.md#resume-fast-path). */
	uint32_t store_direct;
	/*
	 * Optional, for a backend whose store_direct is every group: unless the entry was refused
	 * (false: exit_info into v->st, nothing written to the page), what exit_info and then
	 * exit_to_vmm write, in one call and straight into the page: the exit information (not
	 * into v->st: none of it is read there before the next exit or refusal), the groups
	 * vcpu_exit_groups names, mtd_out (docs/architecture.md#resume-fast-path).
	 */
	bool (*exit_to_page)(struct vcpu *v, struct vireo_vm_state *page);
	/*
	 * Optional: the SYS_VCPU_RESUME entry in one function of the backend's, for a backend with
	 * exit_to_page (docs/architecture.md#resume-fast-path): syscall.c's syscall_resume with
	 * vcpu_resume_fast's round in line: the same start (syscall_enter), decode
	 * (vcpu_fast_take), then vcpu.c's fused_round with load, run and exit_to_page in line, and
	 * syscall_general when the fast path does not take the resume.
	 */
	void (*resume_entry)(struct regs *r);
	/*
	 * Optional, with resume_entry: the same entry built without the tests of `debug` and of the
	 * fast paths' switch, which syscall_resume_for picks when `debug` is off and the fast paths
	 * are on (neither changes after the boot; DEBUG_CHECK_UNLESS).
	 */
	void (*resume_entry_lean)(struct regs *r);
	/*
	 * The guest space of `vm` lost translations (a revoke) or is new: no CPU may use what its
	 * TLB holds for it at its next entry (SVM: new ASIDs; VMX: INVEPT/VPID). Called under the
	 * kernel lock, before the shoot-down that makes CPUs running the guest exit
	 * (docs/architecture.md#asids).
	 */
	void (*flush_guest)(struct pd *vm);
	/* Guest page tables may use 1 GiB leaves on this CPU (2 MiB ones they always may). */
	bool (*gpt_1g)(void);
	/* Optional: the intercept control area (already checked against the ABI) against what this
	 * CPU can do; VM_INVALID_CTRL refuses it before any of it applies, 0 accepts it. */
	unsigned (*check_ctrl)(const struct vireo_vm_ctrl *c);
	/*
	 * A VM's I/O intercept map (docs/architecture.md#vm-io-space): 2^io_map_order pages that
	 * kernel/pd.c allocates, charged to the PD that created the VM, when the first port is
	 * delegated to it; every vCPU of the VM enters with it. io_map_init marks every port
	 * intercepted (BAD_FTR: this CPU cannot pass ports through; the map is freed again);
	 * io_map_set passes [port, port + count) through or intercepts it again. Called under the
	 * kernel lock while no CPU runs the VM's guest (the caller made them leave it).
	 */
	unsigned io_map_order;
	status_t (*io_map_init)(void *map);
	void (*io_map_set)(void *map, uint32_t port, uint32_t count, bool pass);
};

/* The backend in use, or NULL when the CPU has no usable hardware virtualization. */
extern const struct virt_ops *virt;

/* Backends: each returns its table if the CPU supports it, else NULL. */
const struct virt_ops *svm_probe(void);
const struct virt_ops *vmx_probe(void);

#endif
