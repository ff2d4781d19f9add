/* SPDX-License-Identifier: MIT */
/*
 * The vCPU state page seen through state groups (docs/ABI.md "State groups"): which groups each
 * exit brings, a group fetched when a handler needs one the exit did not bring, changes marked
 * for the next resume. And the states a guest starts in: a boot sector in real mode at 0000:7c00,
 * as after a BIOS boot, or a Linux kernel at its 64-bit entry point.
 */
#include "vmm.h"

#include "x86defs.h"

/* Instruction exits: the registers they read or write, and what skipping the instruction needs
 * (its address and the code mode; QEMU's SVM gives no length, so the VMM decodes it). */
#define INSN (VMTD_RIP | VMTD_CS_SS | VMTD_CR)
/* Most handlers use only RAX, RCX, RDX and RBX. */
#define ACDB VMTD_GPR_ACDB

static const uint32_t exit_groups[VM_EXIT_COUNT] = {
	[VM_EXIT_IO] = INSN | ACDB,
	[VM_EXIT_MMIO] = INSN | VMTD_GPR,
	[VM_EXIT_CPUID] = INSN | ACDB,
	[VM_EXIT_RDMSR] = INSN | ACDB,
	[VM_EXIT_WRMSR] = INSN | ACDB,
	[VM_EXIT_HLT] = INSN | VMTD_EVENTS,
	[VM_EXIT_VMCALL] = INSN | ACDB,
	[VM_EXIT_SHUTDOWN] = 0,
	[VM_EXIT_INTR_WINDOW] = VMTD_EVENTS,
	[VM_EXIT_EXCEPTION] = VMTD_STATE,
	[VM_EXIT_INVALID] = VMTD_STATE,
	[VM_EXIT_RECALL] = 0,
	[VM_EXIT_CACHE] = INSN,
	[VM_EXIT_OTHER] = VMTD_STATE,
	[VM_EXIT_CR_ACCESS] = INSN | VMTD_GPR,
	[VM_EXIT_XSETBV] = INSN | ACDB | VMTD_XCR0,
};

void vm_state_defaults(struct vireo_vm_state *st)
{
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		st->mtd_exit[r] = exit_groups[r] || r == VM_EXIT_SHUTDOWN || r == VM_EXIT_RECALL
					  ? exit_groups[r]
					  : VMTD_STATE;
	}
}

struct vireo_vm_state *vm_state(struct vm *vm, uint32_t groups)
{
	struct vireo_vm_state *st = vm->st;
	uint32_t missing = groups & VMTD_STATE & ~st->mtd_out;
	if (missing) {
		vm->fetches++;
		if (vm->fetch) {
			st->mtd_req = missing;
			vm->fetch(vm); /* the kernel writes them and adds them to mtd_out */
		} else {
			st->mtd_out |= missing; /* no kernel (unit tests): the page is the state */
		}
	}
	return st;
}

void vm_apply_ctrl(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_CR);
	st->ctrl = (struct vireo_vm_ctrl){ .msr_pass = vm->msr_pass,
					   .cr4_mask = vm->cr4_mask,
					   .cr4_shadow = vm->cr4_shadow };
	/* The VMM's CR4 bits are set in the real register; the guest sees the shadow. */
	st->cr4 |= vm->cr4_mask;
	st->mtd_in |= VMTD_CTRL;
}

struct vireo_vm_state *vm_state_mod(struct vm *vm, uint32_t groups)
{
	struct vireo_vm_state *st = vm_state(vm, groups);
	st->mtd_in |= groups;
	return st;
}

static struct vireo_seg real_seg(uint16_t attr)
{
	return (struct vireo_seg){ .sel = 0, .attr = attr, .limit = 0xffff, .base = 0 };
}

void vm_reset_state(struct vireo_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	/* Present, accessed, read/write data or execute/read code segments (APM vol. 2 15.5.1). */
	st->cs = real_seg(VSEG_ATTR_P | VSEG_ATTR_S | 0xb);
	st->ds = st->es = st->fs = st->gs = st->ss = real_seg(VSEG_ATTR_P | VSEG_ATTR_S | 0x3);
	st->ldtr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0x2, .limit = 0xffff };
	st->tr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0xb, .limit = 0xffff };
	st->gdtr = (struct vireo_seg){ .limit = 0xffff };
	st->idtr = (struct vireo_seg){ .limit = 0x3ff };
	st->cr0 = 0x10; /* ET */
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->xcr0 = 1; /* x87 only, the reset value */
	st->rflags = 0x2;
	st->rip = GUEST_LOAD_ADDR;
	st->gpr[2] = 0x80; /* DL: the boot drive */
	st->pat = 0x0007040600070406ull;
	/* The VMM wrote every group: the page holds them all, the kernel loads them all. */
	vm_state_defaults(st);
	st->mtd_out = VMTD_STATE;
	st->mtd_in = VMTD_STATE | VMTD_CTRL;
}

/* Flat 4 GiB segment of the boot GDT with the given type and attributes (APM vol. 2 4.8). */
static struct vireo_seg flat_seg(uint16_t sel, uint16_t attr)
{
	return (struct vireo_seg){ .sel = sel,
				   .attr = attr | VSEG_ATTR_P | VSEG_ATTR_S | VSEG_ATTR_G,
				   .limit = 0xffffffff,
				   .base = 0 };
}

/* Linux Documentation/arch/x86/boot.rst, "64-bit Boot Protocol". */
void vm_linux_state(struct vireo_vm_state *st, uint64_t entry, uint64_t zero_page, uint64_t pml4,
		    uint64_t gdt, uint16_t cs, uint16_t ds)
{
	vm_reset_state(st);
	st->cs = flat_seg(cs, 0xb | VSEG_ATTR_L);
	st->ds = st->es = st->ss = flat_seg(ds, 0x3 | VSEG_ATTR_DB);
	st->fs = st->gs = st->ds;
	/* A 64-bit busy TSS and an LDT, as long mode needs them to be described. */
	st->tr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0xb, .limit = 0x67 };
	st->gdtr = (struct vireo_seg){ .base = gdt, .limit = 0x1f };
	st->idtr = (struct vireo_seg){ .limit = 0 };
	st->cr0 = CR0_PE | CR0_ET | CR0_PG;
	st->cr3 = pml4;
	st->cr4 = CR4_PAE;
	st->efer = EFER_LME | EFER_LMA;
	st->rflags = 0x2; /* IF clear */
	st->rip = entry;
	st->gpr[2] = 0;
	st->gpr[6] = zero_page; /* RSI */
}
