/* SPDX-License-Identifier: MIT */
/*
 * Defensive parser of the multiboot (version 1) boot information (Multiboot Specification 0.6.96,
 * "Boot information format"), into the same struct the multiboot2 parser fills. QEMU's -kernel
 * speaks only version 1: with it QEMU loads the kernel and modules itself (docs/benchmarks.md).
 */
#ifndef KERNEL_X86_MULTIBOOT1_H
#define KERNEL_X86_MULTIBOOT1_H

#include "x86/multiboot2.h"

/* EAX holds this at the kernel's entry when a multiboot (version 1) loader started it. */
#define MB1_BOOTLOADER_MAGIC 0x2badb002u

/*
 * How the parser reads physical memory: a pointer to `len` readable bytes at physical `pa`, or
 * NULL when they are not all readable. The pointers it keeps (strings) must stay valid.
 */
typedef const void *(*mb1_phys_fn)(uint64_t pa, size_t len, void *ctx);

/*
 * Parses the boot information at physical info_pa. Version 1 points to its parts (command lines,
 * module list, memory map) instead of holding them, so every part the kernel keeps a pointer to
 * is added to out->reserved, and the fixed structure's size is out->total_size. The kernel's and
 * each module's command line start with the file's path by convention (QEMU and GRUB legacy do
 * so): the first word is dropped, so that they read as multiboot2 loaders give them.
 *
 * Returns VIREO_BAD_PAR with *out zeroed when a part the flags announce is unreadable, a string
 * has no NUL within 4 KiB, a module has start > end, or a memory map entry's size field is
 * below 20 or runs past mmap_length. No memory map (flags bit 6 clear) is an error too: the
 * kernel will not guess where RAM is. Extra modules and ranges are counted in ndropped_*.
 */
status_t mb1_parse(uint64_t info_pa, mb1_phys_fn phys, void *ctx, struct mb2_info *out);

#endif
