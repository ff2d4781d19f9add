/* SPDX-License-Identifier: MIT */
/* The boot information page the kernel maps into the roottask (docs/ABI.md). */
#ifndef VIREO_BOOTINFO_H
#define VIREO_BOOTINFO_H

#include <stdint.h>

#define VIREO_BOOTINFO_MAGIC 0x544f4f424f524956ull /* "VIROBOOT" in memory order */
#define VIREO_BOOTINFO_MAX_MODULES 12
#define VIREO_BOOTINFO_MAX_MEM 32
#define VIREO_CMDLINE_MAX 200

/* A boot module as the roottask sees it: physical range and command line. */
struct vireo_module {
	uint64_t phys; /* host-physical start */
	uint64_t size; /* bytes */
	char cmdline[VIREO_CMDLINE_MAX];
};

/*
 * RAM the roottask owns: mapped in its address space at `va` (= VIREO_ROOT_PHYS_WINDOW + phys) with
 * read, write and execute rights, delegatable to other PDs (memory CRDs name pages by va >> 12).
 * Each region is held as the largest naturally aligned capabilities it contains, so a flexpage
 * inside one of them (up to 1 GiB and more) can be delegated in one call (docs/ABI.md).
 */
struct vireo_mem_region {
	uint64_t phys;
	uint64_t va;
	uint64_t size;
};

/* Where the roottask sees its RAM, and read-only its boot modules: physical address + this offset. */
#define VIREO_ROOT_PHYS_WINDOW 0x0000400000000000ull
/* The roottask's UTCB. */
#define VIREO_ROOT_UTCB 0x00007fffd0000000ull
/* Selector base of the roottask's event portals (its exceptions go to EVT_ROOT_BASE + vector). */
#define VIREO_ROOT_EVT_BASE 64

/* Version 3. Mapped read-only into the roottask; its address is passed in RDI at start. */
struct vireo_bootinfo {
	uint64_t magic;
	uint32_t version;
	uint32_t cpus_online;
	uint64_t mem_free_bytes; /* free RAM when the roottask started */
	uint64_t tsc_khz;	 /* 0 when unknown */
	uint32_t nmodules;
	uint32_t self_module; /* index of the roottask's own module */
	struct vireo_module modules[VIREO_BOOTINFO_MAX_MODULES];
	uint64_t kernel_quota; /* kernel memory the roottask may spend on objects, bytes */
	uint64_t utcb;	       /* address of the roottask's UTCB */
	uint32_t nmem;
	uint32_t module_caps; /* bit i: module i is held as read-only capabilities (delegatable) */
	struct vireo_mem_region mem[VIREO_BOOTINFO_MAX_MEM];
};

#endif
