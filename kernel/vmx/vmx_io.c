/* SPDX-License-Identifier: MIT */
/*
 * I/O pass-through on VT-x (Intel SDM vol. 3C 24.6.4, 25.1.3): a VM whose VMM delegated ports to
 * it runs with "use I/O bitmaps" instead of "unconditional I/O exiting"; a set bit in bitmap A
 * (ports 0-0x7fff) or B (0x8000-0xffff) makes an access to that port exit, and an access that
 * wraps past 0xffff always exits. The kernel changes the bitmaps only while no CPU runs the VM
 * (kernel/pd.c vm_io_set), as 24.11.4 asks.
 */
#include "vmx/vmx_io.h"

#include "kstring.h"
#include "pd.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_ctl.h"

#define IO_BITMAPS_BYTES (2 * PAGE_SIZE)

static bool usable;	      /* "use I/O bitmaps" may be 1 on this CPU */
static uint32_t uncond_fixed; /* PROC_UNCOND_IO if the CPU forces it to 1 (harmless: ignored) */

void vmx_io_probe(uint64_t proc_cap)
{
	usable = ((proc_cap >> 32) & PROC_USE_IO_BITMAPS) != 0;
	uncond_fixed = (uint32_t)proc_cap & PROC_UNCOND_IO;
}

status_t vmx_io_map_init(void *map)
{
	if (!usable) {
		return VIREO_BAD_FTR;
	}
	memset(map, 0xff, IO_BITMAPS_BYTES);
	return VIREO_OK;
}

void vmx_io_map_set(void *map, uint32_t port, uint32_t count, bool pass)
{
	uint8_t *m = map; /* B follows A: bit p of the block is port p */
	for (uint32_t p = port; p < port + count && p < 0x10000; p++) {
		uint8_t bit = (uint8_t)(1u << (p % 8));
		m[p / 8] = pass ? m[p / 8] & (uint8_t)~bit : m[p / 8] | bit;
	}
}

void vmx_io_enter(const struct vcpu *v)
{
	const void *map = v->vm ? v->vm->vm_io_map : NULL;
	if (!map) {
		/* Unconditional I/O exiting, as vmx_ctls.proc has it: vmx_run_enter writes the
		 * controls from it at every entry, so a vCPU that ran a VM with a map before does
		 * not keep "use I/O bitmaps" (and that VM's freed bitmaps). */
		return;
	}
	uint64_t pa = pa_addr(virt_to_phys(map));
	vmwrite64(VMCS_IO_BITMAP_A, pa);
	vmwrite64(VMCS_IO_BITMAP_B, pa + PAGE_SIZE);
	uint32_t proc = vmread32(VMCS_PROC_CTLS);
	/* With the bitmaps in use, unconditional I/O exiting is ignored (24.6.2): cleared where the
	 * CPU allows, so the VMCS says what happens. */
	vmwrite32(VMCS_PROC_CTLS, (proc & ~(PROC_UNCOND_IO & ~uncond_fixed)) | PROC_USE_IO_BITMAPS);
}
