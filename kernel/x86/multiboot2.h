/* SPDX-License-Identifier: MIT */
/* Defensive parser of the multiboot2 boot information (GRUB multiboot2 spec, boot info). */
#ifndef KERNEL_X86_MULTIBOOT2_H
#define KERNEL_X86_MULTIBOOT2_H

#include "memmap.h"
#include "types.h"

/* Byte-wise loads for both boot-information parsers: the buffer comes from outside (the loader),
 * so no alignment is assumed. */
static inline uint32_t mb_load32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t mb_load64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* EAX holds this at the kernel's entry when a multiboot2 loader started it. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

#define MB2_MAX_MODULES 16
#define MB2_MAX_RANGES 64

/* Boot information tag types the kernel reads; others are skipped. */
enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

/* Memory map entry types; only AVAILABLE is RAM the kernel may use, all others are reserved. */
enum mb2_mmap_type {
	MB2_MMAP_AVAILABLE = 1,
	MB2_MMAP_RESERVED = 2,
	MB2_MMAP_ACPI_RECLAIMABLE = 3,
	MB2_MMAP_NVS = 4,
	MB2_MMAP_BADRAM = 5,
};

/* A boot module: physical bytes [start, end) (GRUB sets end exclusive) and its command line. */
struct mb2_module {
	uint64_t start;
	uint64_t end;
	const char *cmdline;
};

/*
 * What the kernel needs from the boot information. All pointers point into the parsed buffer, so
 * it must stay mapped while they are used.
 */
struct mb2_info {
	const char *cmdline;			/* NULL when there is no tag */
	const char *loader_name;		/* NULL when there is no tag */
	struct mem_range avail[MB2_MAX_RANGES]; /* type 1 entries, in map order */
	size_t navail;
	struct mem_range reserved[MB2_MAX_RANGES]; /* every other type, in map order */
	size_t nreserved;
	struct mb2_module modules[MB2_MAX_MODULES]; /* in tag order */
	size_t nmodules;
	const void *rsdp; /* copy of the ACPI RSDP inside the boot information */
	size_t rsdp_len;
	int rsdp_version;      /* 0 none, 1 old (ACPI 1.0 RSDP), 2 new (XSDT-capable RSDP) */
	uint32_t total_size;   /* bytes of boot information, fixed header included */
	bool has_meminfo;      /* the basic memory information tag was present */
	uint32_t mem_lower_kb; /* basic meminfo: KiB of lower memory from 0 */
	uint32_t mem_upper_kb; /* basic meminfo: KiB of upper memory from 1 MiB */
	/*
	 * Entries that did not fit above, so were not recorded. Dropped available ranges only
	 * waste RAM; a dropped reserved range is RAM the kernel must not use but does not know
	 * about, so the caller must treat ndropped_reserved > 0 as a reason not to trust avail.
	 */
	size_t ndropped_avail;
	size_t ndropped_reserved;
	size_t ndropped_modules;
};

/*
 * Parses the boot information at info, of which only [info, info + readable_len) may be read.
 * Returns VIREO_OK, or VIREO_BAD_PAR with *out zeroed when any known part is malformed: NULL
 * pointers, total_size < 16 or > readable_len, a tag header or body running past total_size, a
 * tag size < 8, no end tag, a string not NUL-terminated inside its tag, a module with start > end,
 * a memory map whose entry_size is < 24 or not a multiple of 8 or that ends in a partial entry,
 * an RSDP tag too short for its RSDP version, a basic meminfo tag shorter than 16 bytes.
 *
 * Never fails for having too much: extra modules and ranges are counted in ndropped_*. Memory map
 * entries of size 0 are skipped; an entry whose base + length wraps past 2^64 is clamped to end
 * at 2^64 - 1 (no physical RAM lives there, and a clamped reserved range still reserves
 * everything it can), rather than rejecting a map only for that. When a tag appears more than
 * once the first command line, loader name and basic meminfo count, the new RSDP is preferred over
 * the old one, and every memory map and module is collected. Unknown tags are skipped.
 */
status_t mb2_parse(const void *info, size_t readable_len, struct mb2_info *out);

#endif
