/* SPDX-License-Identifier: MIT */
/* The kernel's virtual memory layout; shared by C and assembly. */
#ifndef KERNEL_X86_MEMLAYOUT_H
#define KERNEL_X86_MEMLAYOUT_H

/* The kernel image: linked at KERNEL_VBASE + KERNEL_PBASE, loaded at physical KERNEL_PBASE. */
#define KERNEL_VBASE 0xffffffff80000000
#define KERNEL_PBASE 0x200000
/* All of physical memory appears at PHYSMAP_BASE (PML4 slot 256). */
#define PHYSMAP_BASE 0xffff800000000000
/* Device MMIO (LAPIC, IOAPIC) is mapped uncached at IOMAP_BASE (PML4 slot 511, below the image). */
#define IOMAP_BASE 0xffffffff00000000
#define IOMAP_SIZE 0x40000000
/* User space: everything below USER_END (the lower canonical half, minus the top page). */
#define USER_END 0x00007ffffffff000
/* PML4 slots shared by every address space: the upper canonical half. */
#define PML4_KERNEL_FIRST 256
#define PML4_ENTRIES 512

/* Per-CPU kernel stack size. */
#define KSTACK_SIZE 0x4000
/* Physical page the AP trampoline runs from (below 1 MiB, never handed to the frame allocator). */
#define AP_TRAMPOLINE_PA 0x8000

/* Boot GDT selectors; user selectors are laid out for SYSRET (STAR). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS 0x28

#endif
