/* SPDX-License-Identifier: MIT */
/* The boot information page the kernel maps into the roottask (docs/ABI.md). */
#ifndef VIREO_BOOTINFO_H
#define VIREO_BOOTINFO_H

#include <stdint.h>

#define VIREO_BOOTINFO_MAGIC 0x544f4f424f524956ull /* "VIROBOOT" in memory order */
#define VIREO_BOOTINFO_MAX_MODULES 16
#define VIREO_CMDLINE_MAX 200

/* A boot module as the roottask sees it: physical range and command line. */
struct vireo_module {
	uint64_t phys; /* host-physical start */
	uint64_t size; /* bytes */
	char cmdline[VIREO_CMDLINE_MAX];
};

/* Mapped read-only into the roottask; its address is passed in RDI at start. */
struct vireo_bootinfo {
	uint64_t magic;
	uint32_t version;
	uint32_t cpus_online;
	uint64_t mem_free_bytes; /* free RAM when the roottask started */
	uint64_t tsc_khz;	 /* 0 when unknown */
	uint32_t nmodules;
	uint32_t self_module; /* index of the roottask's own module */
	struct vireo_module modules[VIREO_BOOTINFO_MAX_MODULES];
};

#endif
