/* SPDX-License-Identifier: MIT */
/* Intel VT-x backend: not written yet; the probe says so, and generic code runs without VMs. */
#include "printk.h"
#include "virt.h"
#include "x86/cpu.h"

const struct virt_ops *vmx_probe(void)
{
	if (cpuid(1, 0).ecx & (1u << 5)) {
		pr_info("vmx: VT-x present, but this kernel has no VMX backend yet\n");
	}
	return NULL;
}
