/* SPDX-License-Identifier: MIT */
/*
 * The guest's MSRs. Every RDMSR and WRMSR exits to the VMM; the MSRs whose state the vCPU state page
 * carries are emulated there with the checks hardware makes (Intel SDM vol. 4 and vol. 3A 2.2.1,
 * AMD APM vol. 2 appendix A); every other one raises #GP in the guest, as on a CPU without that
 * MSR, and is logged once per MSR number. cpuid.c hides the features whose MSRs are missing here.
 */
#include "vmm.h"

#include "x86defs.h"

/* Canonical 48-bit virtual address (bits 63:47 all equal). */
static bool canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

/* Each PAT entry must be a defined memory type: UC, WC, WT, WP, WB or UC- (Intel SDM vol. 3A,
 * "Page Attribute Table"; reserved types make WRMSR raise #GP). */
static bool pat_valid(uint64_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(v >> (8 * i));
		if (t > 7 || t == 2 || t == 3) {
			return false;
		}
	}
	return true;
}

/*
 * EFER: SCE, LME and NXE are the guest's; LMA is the CPU's (LME with paging on), so a written LMA
 * is ignored; LME cannot change while paging is on; every other bit is reserved here (SVME too,
 * since the guest is not told about SVM).
 */
static bool efer_write(struct vireo_vm_state *st, uint64_t v)
{
	uint64_t guest_bits = EFER_SCE | EFER_LME | EFER_NXE;
	if (v & ~(guest_bits | EFER_LMA)) {
		return false;
	}
	if ((st->cr0 & CR0_PG) && ((v ^ st->efer) & EFER_LME)) {
		return false;
	}
	uint64_t efer = v & guest_bits;
	st->efer = efer | ((efer & EFER_LME) && (st->cr0 & CR0_PG) ? EFER_LMA : 0);
	return true;
}

/* The MSRs that live in the state page, as a pointer to their field; NULL for the others. */
static uint64_t *state_msr(struct vireo_vm_state *st, uint32_t msr)
{
	switch (msr) {
	case MSR_STAR:
		return &st->star;
	case MSR_LSTAR:
		return &st->lstar;
	case MSR_CSTAR:
		return &st->cstar;
	case MSR_SFMASK:
		return &st->sfmask;
	case MSR_KERNEL_GS_BASE:
		return &st->kernel_gs_base;
	case MSR_FS_BASE:
		return &st->fs.base;
	case MSR_GS_BASE:
		return &st->gs.base;
	case MSR_SYSENTER_CS:
		return &st->sysenter_cs;
	case MSR_SYSENTER_ESP:
		return &st->sysenter_esp;
	case MSR_SYSENTER_EIP:
		return &st->sysenter_eip;
	case MSR_PAT:
		return &st->pat;
	default:
		return NULL;
	}
}

/* The state group of an MSR of state_msr (or of EFER). */
static uint32_t msr_group(uint32_t msr)
{
	switch (msr) {
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		return VMTD_FS_GS;
	case MSR_SYSENTER_CS:
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		return VMTD_SYSENTER;
	case MSR_PAT:
		return VMTD_PAT;
	case MSR_EFER:
		return VMTD_CR;
	default:
		return VMTD_SYSCALL;
	}
}

/* Values hardware refuses with #GP for the MSRs of state_msr. */
static bool state_msr_valid(uint32_t msr, uint64_t v)
{
	switch (msr) {
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		return canonical(v);
	case MSR_SFMASK:
		return v >> 32 == 0;
	case MSR_PAT:
		return pat_valid(v);
	default:
		return true;
	}
}

#define MSR_K8_INT_PENDING_MSG 0xc0010055u /* AMD BKDG fam 10h: C1E and SMI on pending message */
#define MSR_MISC_ENABLE 0x1a0u		   /* Intel SDM vol. 4 table 2-2: IA32_MISC_ENABLE */

static uint64_t host_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * An MSR the VMM does not emulate: say so the first time only (a guest may probe in a loop). Not
 * "vmm: guest <name>: ", the prefix of the messages that stop a VM: this is the guest's business.
 */
static void refuse(struct vm *vm, uint32_t msr, bool write)
{
	for (unsigned i = 0; i < vm->msr_nlogged && i < VMM_MSR_LOG_MAX; i++) {
		if (vm->msr_logged[i] == msr) {
			return;
		}
	}
	if (vm->msr_nlogged < VMM_MSR_LOG_MAX) {
		vm->msr_logged[vm->msr_nlogged++] = msr;
		printf("vmm: %s: %s of MSR %#x, which is not emulated: #GP\n", vm->name,
		       write ? "wrmsr" : "rdmsr", msr);
	} else if (vm->msr_nlogged == VMM_MSR_LOG_MAX) {
		vm->msr_nlogged++;
		printf("vmm: %s: more MSRs that are not emulated; no more are logged\n", vm->name);
	}
}

bool msr_read(struct vm *vm, uint32_t msr, uint64_t *value)
{
	struct vireo_vm_state *st = vm->st;
	uint64_t *field = state_msr(st, msr);
	if (field) {
		vm_state(vm, msr_group(msr));
		*value = *field;
	} else if (msr == MSR_EFER) {
		*value = vm_state(vm, VMTD_CR)->efer;
	} else if (msr == MSR_TSC) {
		/* RDTSC is not intercepted: the guest's TSC is the host's plus its offset. */
		*value = host_tsc() + st->tsc_offset;
	} else if (msr == MSR_K8_INT_PENDING_MSG) {
		/* AMD family 0Fh/10h (erratum 400): Linux reads it on such a CPU model (QEMU's
		 * qemu64 is one) to see whether C1E is on. It is not: the vCPU idles in HLT. */
		*value = 0;
	} else if (msr == MSR_MISC_ENABLE) {
		/* Intel CPUs: Linux's verify_cpu reads it with a plain RDMSR before it has an IDT (a
		 * #GP there is a triple fault). Fast strings on, nothing disabled. */
		*value = 1;
	} else {
		refuse(vm, msr, false);
		return false;
	}
	return true;
}

bool msr_write(struct vm *vm, uint32_t msr, uint64_t value)
{
	struct vireo_vm_state *st = vm->st;
	uint64_t *field = state_msr(st, msr);
	if (field) {
		if (!state_msr_valid(msr, value)) {
			return false;
		}
		vm_state_mod(vm, msr_group(msr));
		*field = value;
		return true;
	}
	if (msr == MSR_EFER) {
		return efer_write(vm_state_mod(vm, VMTD_CR), value);
	}
	/* MSR_TSC too: the VMM keeps each vCPU's TSC offset fixed (a guest that moved its own TSC
	 * would be out of step with the device models, which keep time by it). */
	refuse(vm, msr, true);
	return false;
}
