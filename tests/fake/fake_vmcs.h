/* SPDX-License-Identifier: MIT */
/*
 * A VMCS in host memory behind the accessors of kernel/vmx/vmcs.h, and the VMX instructions as
 * calls that record what they were given: host unit tests run the VMX backend's state translation
 * and exit handling on it. A field holds what was written, cut to the width its encoding says
 * (Intel SDM vol. 3C 24.11.2: bits 14:13 of the encoding).
 */
#ifndef TESTS_FAKE_VMCS_H
#define TESTS_FAKE_VMCS_H

#include <stdint.h>

struct fake_vmx_log {
	unsigned vmxon, vmclear, vmptrld, invept, enters;
	uint64_t last_vmptrld, last_invept_type, last_invept_eptp;
	uint64_t last_vmclear;
	unsigned last_vmclear_cpu; /* the fake CPU that executed it (fake_cpu_id) */
	unsigned launches; /* enters with VMLAUNCH (launched == 0); the others were VMRESUME */
	/* VMCLEARs and VMPTRLDs of a region active on another CPU than the one executing them:
	 * the SDM leaves that CPU's copy alive (vol. 3C 24.1, 24.11.1). */
	unsigned vmclear_elsewhere, vmptrld_elsewhere;
};
extern struct fake_vmx_log fake_vmx_log;
/* vmx_enter's result: 0 = the guest ran and exited, 1 = VMLAUNCH/VMRESUME failed. */
extern int fake_vmx_enter_result;

/*
 * What the fake CPUs keep of VMCS regions (SDM vol. 3C 24.1): a region is clear or active on one
 * CPU, and each CPU has at most one current VMCS. VMPTRLD makes the region active and current on
 * the CPU that executes it; VMCLEAR there makes it clear and, if current, no longer current. A
 * VMCLEAR on another CPU changes nothing of the CPU that holds the region (vmclear_elsewhere).
 */
/* The CPU where region `pa` is active, or -1 when it is clear. */
int fake_vmcs_active_cpu(uint64_t pa);
/* The current VMCS of `cpu`, or ~0 when it has none. */
uint64_t fake_vmcs_current(unsigned cpu);
/* Called at each VMCLEAR, before it takes effect, with the region and the executing CPU. */
extern void (*fake_vmclear_hook)(uint64_t pa, unsigned cpu);

/* Every field 0, the log cleared, every region clear, no CPU with a current VMCS. */
void fake_vmcs_reset(void);
uint64_t fake_vmcs_get(uint32_t enc);
void fake_vmcs_set(uint32_t enc, uint64_t v);

#endif
