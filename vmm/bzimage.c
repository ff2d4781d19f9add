/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol loader (vmm/bzimage.h): header checks, layout, zero page, and the
 * identity-mapped long-mode environment the 64-bit entry requires (boot.rst "64-bit Boot
 * Protocol": paging on, the loaded ranges identity-mapped, a GDT with flat __BOOT_CS/__BOOT_DS
 * at 0x10/0x18, interrupts off, RSI = zero page).
 */
#include "bzimage.h"

#include <string.h>

static uint32_t rd8(const uint8_t *p, size_t o)
{
	return p[o];
}

static uint32_t rd16(const uint8_t *p, size_t o)
{
	return (uint32_t)p[o] | (uint32_t)p[o + 1] << 8;
}

static uint32_t rd32(const uint8_t *p, size_t o)
{
	return rd16(p, o) | rd16(p, o + 2) << 16;
}

static uint64_t rd64(const uint8_t *p, size_t o)
{
	return rd32(p, o) | (uint64_t)rd32(p, o + 4) << 32;
}

static void wr16(uint8_t *p, size_t o, uint32_t v)
{
	p[o] = (uint8_t)v;
	p[o + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, size_t o, uint32_t v)
{
	wr16(p, o, v);
	wr16(p, o + 2, v >> 16);
}

static void wr64(uint8_t *p, size_t o, uint64_t v)
{
	wr32(p, o, (uint32_t)v);
	wr32(p, o + 4, (uint32_t)(v >> 32));
}

enum guest_format guest_image_format(const void *img, size_t size)
{
	const uint8_t *p = img;
	if (size >= BZ_HEADER + 4 && rd32(p, BZ_HEADER) == BZ_MAGIC) {
		return GUEST_BZIMAGE;
	}
	/* A boot sector: at most what fits below the EBDA from 0x7c00, signed at 510. */
	if (size >= 512 && size <= BZ_LOW_END - 0x7c00 && rd16(p, BZ_BOOT_FLAG) == 0xaa55) {
		return GUEST_BOOT_SECTOR;
	}
	return GUEST_UNKNOWN;
}

const char *bzimage_parse(const void *img, size_t size, struct bzimage_info *out)
{
	const uint8_t *p = img;
	if (size < BZ_HEADER_MIN_END) {
		return "image too short for a setup header";
	}
	if (rd32(p, BZ_HEADER) != BZ_MAGIC) {
		return "no \"HdrS\" setup-header magic at 0x202: not a bzImage";
	}
	if (rd16(p, BZ_BOOT_FLAG) != 0xaa55) {
		return "boot flag at 0x1fe is not 0xaa55";
	}
	struct bzimage_info in = { .version = (uint16_t)rd16(p, BZ_VERSION) };
	if (in.version < 0x206) {
		return "boot protocol older than 2.06";
	}
	in.loadflags = (uint8_t)rd8(p, BZ_LOADFLAGS);
	if (!(in.loadflags & BZ_LOADED_HIGH)) {
		return "zImage (loaded low): only bzImages are supported";
	}
	if (in.version < 0x20c) {
		return "boot protocol older than 2.12: no 64-bit entry point";
	}
	/* The header ends where the short jump at 0x200 lands: every field read below lies inside. */
	if (rd8(p, BZ_JUMP) != 0xeb || BZ_HEADER + rd8(p, BZ_JUMP + 1) < BZ_HEADER_MIN_END) {
		return "setup header shorter than its protocol version says";
	}
	in.xloadflags = (uint16_t)rd16(p, BZ_XLOADFLAGS);
	if (!(in.xloadflags & BZ_XLF_KERNEL_64)) {
		return "kernel has no 64-bit entry point (xloadflags bit 0 clear)";
	}
	unsigned sects = rd8(p, BZ_SETUP_SECTS);
	if (!sects) {
		sects = 4; /* boot.rst: a value of 0 means 4 */
	}
	in.kernel_offset = (size_t)(sects + 1) * 512;
	if (in.kernel_offset >= size) {
		return "truncated: the image ends inside its setup code";
	}
	in.kernel_size = size - in.kernel_offset;
	uint64_t syssize = (uint64_t)rd32(p, 0x1f4) * 16;
	if (syssize == 0 || syssize > in.kernel_size) {
		return "truncated: shorter than the kernel size the header gives (syssize)";
	}
	in.relocatable = rd8(p, BZ_RELOCATABLE) != 0;
	in.kernel_alignment = rd32(p, BZ_KERNEL_ALIGNMENT);
	if (in.kernel_alignment == 0 || (in.kernel_alignment & (in.kernel_alignment - 1)) ||
	    in.kernel_alignment < 4096) {
		return "kernel_alignment is not a power of two of at least 4 KiB";
	}
	in.initrd_addr_max = rd32(p, BZ_INITRD_ADDR_MAX);
	in.cmdline_size = rd32(p, BZ_CMDLINE_SIZE);
	in.pref_address = rd64(p, BZ_PREF_ADDRESS);
	in.init_size = rd32(p, BZ_INIT_SIZE);
	if (in.init_size < in.kernel_size) {
		return "init_size is smaller than the kernel itself";
	}
	if (in.pref_address & (in.kernel_alignment - 1) && !in.relocatable) {
		return "non-relocatable kernel with a misaligned pref_address";
	}
	*out = in;
	return NULL;
}

const char *bzimage_plan(const struct bzimage_info *info, uint64_t ram_size, size_t cmdline_len,
			 size_t initrd_size, struct bzimage_layout *out)
{
	struct bzimage_layout l = { .gdt = BZ_GDT_ADDR,
				    .pml4 = BZ_PML4_ADDR,
				    .zero_page = BZ_ZERO_PAGE_ADDR,
				    .cmdline = BZ_CMDLINE_ADDR };
	if (ram_size < (2ull << 20) || ram_size > BZ_RAM_MAX) {
		return "guest RAM must be between 2 MiB and 3 GiB";
	}
	if (cmdline_len > info->cmdline_size || cmdline_len >= BZ_LOW_END - BZ_CMDLINE_ADDR) {
		return "command line longer than the kernel accepts (cmdline_size)";
	}
	/* A relocatable kernel may go anywhere aligned; pref_address is where it runs best. */
	l.kernel = info->pref_address;
	if (l.kernel < (1ull << 20)) {
		l.kernel = 1ull << 20;
	}
	l.kernel =
		(l.kernel + info->kernel_alignment - 1) & ~(uint64_t)(info->kernel_alignment - 1);
	uint64_t kernel_end = l.kernel + info->init_size;
	if (kernel_end > ram_size) {
		return "guest RAM too small for the kernel (pref_address + init_size)";
	}
	l.entry = l.kernel + 0x200;
	if (initrd_size) {
		uint64_t top = (uint64_t)info->initrd_addr_max + 1;
		if (top > ram_size) {
			top = ram_size;
		}
		if (initrd_size > top) {
			return "initrd larger than the memory it may occupy";
		}
		l.initrd = (top - initrd_size) & ~0xfffull;
		if (l.initrd < kernel_end) {
			return "guest RAM too small for kernel and initrd";
		}
		l.initrd_size = initrd_size;
	}
	*out = l;
	return NULL;
}

unsigned bzimage_pc_e820(uint64_t ram_size, struct e820_entry *map, unsigned max)
{
	const struct e820_entry pc[] = {
		{ 0, BZ_LOW_END, E820_RAM },
		{ BZ_LOW_END, 0xa0000 - BZ_LOW_END, E820_RESERVED },
		{ 0xf0000, 0x10000,
		  E820_RESERVED }, /* the BIOS area, where Linux scans for tables */
		{ 1ull << 20, ram_size > (1ull << 20) ? ram_size - (1ull << 20) : 0, E820_RAM },
	};
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof(pc) / sizeof(pc[0]) && n < max; i++) {
		if (pc[i].size) {
			map[n++] = pc[i];
		}
	}
	return n;
}

/* Identity map of the low 4 GiB in 2 MiB pages, and the boot GDT (flat 64-bit code, data). */
static void build_boot_env(uint8_t *ram, const struct bzimage_layout *l)
{
	const uint64_t P = 1, W = 2, PS = 0x80;
	uint64_t pdpt = l->pml4 + 0x1000, pd = l->pml4 + 0x2000;
	memset(ram + l->pml4, 0, 6 * 0x1000);
	wr64(ram, l->pml4, pdpt | P | W);
	for (unsigned g = 0; g < 4; g++) {
		wr64(ram, pdpt + 8 * g, (pd + 0x1000 * g) | P | W);
		for (unsigned i = 0; i < 512; i++) {
			uint64_t pa = ((uint64_t)g << 30) | ((uint64_t)i << 21);
			wr64(ram, pd + 0x1000 * g + 8 * i, pa | P | W | PS);
		}
	}
	memset(ram + l->gdt, 0, 32);
	wr64(ram, l->gdt + BZ_BOOT_CS, 0x00af9b000000ffffull); /* 64-bit code, present, DPL 0 */
	wr64(ram, l->gdt + BZ_BOOT_DS, 0x00cf93000000ffffull); /* flat data, read/write */
}

const char *bzimage_load(uint8_t *ram, uint64_t ram_size, const void *img, size_t img_size,
			 const struct bzimage_info *info, const struct bzimage_layout *lay,
			 const char *cmdline, const void *initrd, const struct e820_entry *map,
			 unsigned map_len)
{
	const uint8_t *p = img;
	size_t cl = strlen(cmdline);
	if (lay->kernel + info->init_size > ram_size || lay->zero_page + ZP_SIZE > BZ_LOW_END ||
	    lay->cmdline + cl + 1 > BZ_LOW_END || lay->initrd + lay->initrd_size > ram_size ||
	    info->kernel_offset + info->kernel_size > img_size || map_len > ZP_E820_MAX) {
		return "layout does not fit guest RAM";
	}
	memcpy(ram + lay->kernel, p + info->kernel_offset, info->kernel_size);
	memset(ram + lay->kernel + info->kernel_size, 0, info->init_size - info->kernel_size);

	uint8_t *zp = ram + lay->zero_page;
	memset(zp, 0, ZP_SIZE);
	size_t hdr_end = BZ_HEADER + rd8(p, BZ_JUMP + 1);
	if (hdr_end > 0x290) { /* boot_params reserves up to 0x290 for the header */
		hdr_end = 0x290;
	}
	memcpy(zp + BZ_SETUP_SECTS, p + BZ_SETUP_SECTS, hdr_end - BZ_SETUP_SECTS);
	zp[BZ_TYPE_OF_LOADER] = 0xff; /* "undefined" loader: no registered id */
	wr16(zp, 0x1fa, 0xffff);      /* vid_mode: normal */
	wr32(zp, BZ_CMD_LINE_PTR, (uint32_t)lay->cmdline);
	wr32(zp, ZP_EXT_CMD_LINE_PTR, (uint32_t)(lay->cmdline >> 32));
	memcpy(ram + lay->cmdline, cmdline, cl + 1);
	if (lay->initrd_size) {
		memcpy(ram + lay->initrd, initrd, lay->initrd_size);
		wr32(zp, BZ_RAMDISK_IMAGE, (uint32_t)lay->initrd);
		wr32(zp, BZ_RAMDISK_SIZE, (uint32_t)lay->initrd_size);
		wr32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(lay->initrd >> 32));
		wr32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)lay->initrd_size >> 32));
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)map_len;
	for (unsigned i = 0; i < map_len; i++) {
		size_t o = ZP_E820_TABLE + 20 * (size_t)i;
		wr64(zp, o, map[i].addr);
		wr64(zp, o + 8, map[i].size);
		wr32(zp, o + 16, map[i].type);
	}
	build_boot_env(ram, lay);
	return NULL;
}
