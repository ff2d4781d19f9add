/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 boot protocol, loader side (Linux Documentation/arch/x86/boot.rst, "The Real-Mode
 * Kernel Header" and "64-bit Boot Protocol"): check a bzImage's setup header, lay the kernel,
 * zero page, command line and initrd out in guest RAM, and compute the 64-bit entry state.
 * Pure C over a host view of guest RAM: no syscalls, so host tests and fuzzers link it unchanged.
 */
#ifndef VMM_BZIMAGE_H
#define VMM_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Offsets into the image (and the zero page, which starts with a copy of the same layout). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_BOOT_FLAG 0x1fe
#define BZ_JUMP 0x200
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HEADER_MIN_END 0x264 /* the fields above, all present from protocol 2.10 on */

#define BZ_MAGIC 0x53726448u /* "HdrS" */
#define BZ_LOADED_HIGH 0x01
#define BZ_XLF_KERNEL_64 0x01

/* Zero-page (struct boot_params) fields outside the setup header. */
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_MAX 128
#define ZP_SIZE 4096

enum e820_type { E820_RAM = 1, E820_RESERVED = 2 };

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

enum guest_format { GUEST_UNKNOWN, GUEST_BOOT_SECTOR, GUEST_BZIMAGE };

/* What a setup header says, once checked. */
struct bzimage_info {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t kernel_alignment;
	uint32_t init_size;	  /* memory the kernel needs from its load address */
	uint32_t cmdline_size;	  /* longest command line, without the NUL */
	uint32_t initrd_addr_max; /* highest byte an initrd may occupy */
	uint64_t pref_address;
	size_t kernel_offset; /* the protected-mode kernel in the file */
	size_t kernel_size;
};

/* Where everything goes in guest-physical memory, and how the vCPU starts. */
struct bzimage_layout {
	uint64_t kernel, zero_page, cmdline, initrd, initrd_size;
	uint64_t gdt, pml4; /* boot GDT and identity page tables the loader builds */
	uint64_t entry;	    /* RIP: the 64-bit entry point, kernel + 0x200 */
};

/* The fixed low-memory places the loader uses (all below the EBDA at 0x9fc00). */
#define BZ_GDT_ADDR 0x1000ull
#define BZ_PML4_ADDR 0x2000ull /* PML4, PDPT, then 4 page directories: 4 GiB in 2 MiB pages */
#define BZ_ZERO_PAGE_ADDR 0x8000ull
#define BZ_CMDLINE_ADDR 0x9000ull
#define BZ_LOW_END 0x9fc00ull
#define BZ_RAM_MAX (3ull << 30) /* RAM from 0 only: the PC's 32-bit device hole stays free */
#define BZ_BOOT_CS 0x10
#define BZ_BOOT_DS 0x18

enum guest_format guest_image_format(const void *img, size_t size);

/* Check the setup header. NULL and *out filled when the image can be booted, else the reason. */
const char *bzimage_parse(const void *img, size_t size, struct bzimage_info *out);

/*
 * Lay a checked image out in `ram_size` bytes of guest RAM with a command line of `cmdline_len`
 * bytes and an initrd of `initrd_size` (0: none). NULL on success, else the reason.
 */
const char *bzimage_plan(const struct bzimage_info *info, uint64_t ram_size, size_t cmdline_len,
			 size_t initrd_size, struct bzimage_layout *out);

/*
 * Write the kernel, zero page (setup header copy, e820 `map`, command line, initrd) and boot page
 * tables and GDT into `ram` (guest-physical 0 .. ram_size) as `lay` says. NULL or the reason.
 */
const char *bzimage_load(uint8_t *ram, uint64_t ram_size, const void *img, size_t img_size,
			 const struct bzimage_info *info, const struct bzimage_layout *lay,
			 const char *cmdline, const void *initrd, const struct e820_entry *map,
			 unsigned map_len);

/* The e820 map of a PC with `ram_size` bytes of RAM from 0 (at most BZ_RAM_MAX): low RAM, the EBDA and
 * BIOS hole reserved, RAM from 1 MiB. Returns the number of entries written (at most `max`). */
unsigned bzimage_pc_e820(uint64_t ram_size, struct e820_entry *map, unsigned max);

#endif
