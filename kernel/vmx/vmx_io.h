/* SPDX-License-Identifier: MIT */
/*
 * A VM's I/O ports on VT-x: the I/O bitmaps A and B (Intel SDM vol. 3C 24.6.4) in place of
 * unconditional I/O exiting once the VMM delegated ports to the VM (docs/architecture.md#vm-io-space).
 */
#ifndef KERNEL_VMX_VMX_IO_H
#define KERNEL_VMX_VMX_IO_H

#include "types.h"

struct vcpu;

#ifndef PROC_USE_IO_BITMAPS
#define PROC_USE_IO_BITMAPS (1u << 25) /* primary processor-based control (table 24-6) */
#endif

/* The proc-based capability MSR in force (IA32_VMX_PROCBASED_CTLS or its TRUE_ twin, A.3.2):
 * whether "use I/O bitmaps" may be 1 and "unconditional I/O exiting" may be 0. */
void vmx_io_probe(uint64_t proc_cap);
/* virt_ops.io_map_*: bitmap A (ports 0-0x7fff) then B (0x8000-0xffff), one order-1 block. */
status_t vmx_io_map_init(void *map);
void vmx_io_map_set(void *map, uint32_t port, uint32_t count, bool pass);
/* On the current VMCS before an entry, after the controls are written: the VM's bitmaps if it has
 * them (the control then replaces unconditional I/O exiting), else nothing changes. */
void vmx_io_enter(const struct vcpu *v);

#endif
