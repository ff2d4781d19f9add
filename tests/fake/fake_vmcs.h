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
	unsigned launches; /* enters with VMLAUNCH (launched == 0); the others were VMRESUME */
};
extern struct fake_vmx_log fake_vmx_log;
/* vmx_enter's result: 0 = the guest ran and exited, 1 = VMLAUNCH/VMRESUME failed. */
extern int fake_vmx_enter_result;

/* Every field 0, the log cleared. */
void fake_vmcs_reset(void);
uint64_t fake_vmcs_get(uint32_t enc);
void fake_vmcs_set(uint32_t enc, uint64_t v);

#endif
