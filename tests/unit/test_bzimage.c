/* SPDX-License-Identifier: MIT */
/* The bzImage loader (vmm/bzimage.c): header checks, layout, zero page, boot page tables. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"

#define SETUP_SECTS 3
#define KERNEL_BYTES (64u << 10)
#define IMG_SIZE ((SETUP_SECTS + 1) * 512 + KERNEL_BYTES)

static uint8_t img[IMG_SIZE];

static void put16(uint8_t *p, size_t o, uint32_t v)
{
	p[o] = (uint8_t)v, p[o + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t o, uint32_t v)
{
	put16(p, o, v), put16(p, o + 2, v >> 16);
}

static void put64(uint8_t *p, size_t o, uint64_t v)
{
	put32(p, o, (uint32_t)v), put32(p, o + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p, size_t o)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[o + (size_t)i];
	}
	return v;
}

static uint32_t get32(const uint8_t *p, size_t o)
{
	return (uint32_t)get64(p, o);
}

/* A synthetic but well-formed protocol-2.15 bzImage with a recognisable kernel body. */
static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[BZ_SETUP_SECTS] = SETUP_SECTS;
	put32(img, 0x1f4, KERNEL_BYTES / 16);
	put16(img, BZ_BOOT_FLAG, 0xaa55);
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a;
	put32(img, BZ_HEADER, BZ_MAGIC);
	put16(img, BZ_VERSION, 0x20f);
	img[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
	put32(img, BZ_INITRD_ADDR_MAX, 0x7fffffff);
	put32(img, BZ_KERNEL_ALIGNMENT, 0x200000);
	img[BZ_RELOCATABLE] = 1;
	put16(img, BZ_XLOADFLAGS, BZ_XLF_KERNEL_64);
	put32(img, BZ_CMDLINE_SIZE, 0x7ff);
	put64(img, BZ_PREF_ADDRESS, 0x1000000);
	put32(img, BZ_INIT_SIZE, 4u << 20);
	for (size_t i = 0; i < KERNEL_BYTES; i++) {
		img[(SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 13 + 5);
	}
}

static const char *parse(size_t size, struct bzimage_info *info)
{
	return bzimage_parse(img, size, info);
}

Test(bzimage, a_well_formed_image_parses_with_its_header_values)
{
	make_image();
	struct bzimage_info in;
	cr_assert_null(parse(IMG_SIZE, &in));
	cr_assert_eq(in.version, 0x20f);
	cr_assert_eq(in.kernel_offset, (SETUP_SECTS + 1) * 512);
	cr_assert_eq(in.kernel_size, KERNEL_BYTES);
	cr_assert_eq(in.kernel_alignment, 0x200000);
	cr_assert_eq(in.pref_address, 0x1000000);
	cr_assert(in.relocatable);
}

Test(bzimage, format_detection_tells_bzimage_boot_sector_and_junk_apart)
{
	make_image();
	cr_assert_eq(guest_image_format(img, IMG_SIZE), GUEST_BZIMAGE);
	uint8_t bs[512] = { 0 };
	bs[510] = 0x55, bs[511] = 0xaa;
	cr_assert_eq(guest_image_format(bs, sizeof(bs)), GUEST_BOOT_SECTOR);
	bs[511] = 0;
	cr_assert_eq(guest_image_format(bs, sizeof(bs)), GUEST_UNKNOWN);
	cr_assert_eq(guest_image_format(bs, 100), GUEST_UNKNOWN);
}

Test(bzimage, every_truncation_is_refused_with_a_reason)
{
	make_image();
	struct bzimage_info in;
	for (size_t size = 0; size < IMG_SIZE; size += (size < 0x300 ? 1 : 509)) {
		const char *why = parse(size, &in);
		cr_assert_not_null(why, "size %zu accepted", size);
	}
	cr_assert_str_eq(parse(IMG_SIZE - 1, &in),
			 "truncated: shorter than the kernel size the header gives (syssize)");
}

Test(bzimage, corrupt_headers_are_refused)
{
	struct bzimage_info in;
	struct {
		size_t off;
		unsigned width;
		uint64_t val;
	} bad[] = {
		{ BZ_HEADER, 4, 0x12345678 },	    /* magic */
		{ BZ_BOOT_FLAG, 2, 0x1234 },	    /* boot flag */
		{ BZ_VERSION, 2, 0x205 },	    /* too old */
		{ BZ_VERSION, 2, 0x20b },	    /* no 64-bit entry protocol */
		{ BZ_LOADFLAGS, 1, 0 },		    /* zImage */
		{ BZ_XLOADFLAGS, 2, 0 },	    /* no 64-bit entry */
		{ BZ_KERNEL_ALIGNMENT, 4, 0 },	    /* alignment 0 */
		{ BZ_KERNEL_ALIGNMENT, 4, 0x3000 }, /* not a power of two */
		{ BZ_INIT_SIZE, 4, 4096 },	    /* smaller than the kernel */
		{ 0x1f4, 4, 0 },		    /* syssize 0 */
		{ BZ_JUMP + 1, 1, 0x10 },	    /* header ends before init_size */
		{ BZ_SETUP_SECTS, 1, 200 },	    /* setup longer than the file */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_image();
		if (bad[i].width == 1) {
			img[bad[i].off] = (uint8_t)bad[i].val;
		} else if (bad[i].width == 2) {
			put16(img, bad[i].off, (uint32_t)bad[i].val);
		} else {
			put32(img, bad[i].off, (uint32_t)bad[i].val);
		}
		cr_assert_not_null(parse(IMG_SIZE, &in), "corruption %zu accepted", i);
	}
}

Test(bzimage, layout_puts_kernel_at_pref_address_and_initrd_at_the_top)
{
	make_image();
	struct bzimage_info in;
	struct bzimage_layout l;
	cr_assert_null(parse(IMG_SIZE, &in));
	cr_assert_null(bzimage_plan(&in, 256u << 20, 20, 1000000, &l));
	cr_assert_eq(l.kernel, 0x1000000);
	cr_assert_eq(l.entry, 0x1000200);
	cr_assert_eq(l.initrd % 4096, 0);
	cr_assert_leq(l.initrd + l.initrd_size, 256u << 20);
	cr_assert_gt(l.initrd + l.initrd_size, (256u << 20) - 4096);
	cr_assert_geq(l.initrd, l.kernel + in.init_size);
}

Test(bzimage, layout_honours_initrd_addr_max)
{
	make_image();
	put32(img, BZ_INITRD_ADDR_MAX, (64u << 20) - 1);
	struct bzimage_info in;
	struct bzimage_layout l;
	cr_assert_null(parse(IMG_SIZE, &in));
	cr_assert_null(bzimage_plan(&in, 256u << 20, 0, 4096, &l));
	cr_assert_leq(l.initrd + l.initrd_size, 64u << 20);
}

Test(bzimage, layout_refuses_what_does_not_fit)
{
	make_image();
	struct bzimage_info in;
	struct bzimage_layout l;
	cr_assert_null(parse(IMG_SIZE, &in));
	cr_assert_not_null(bzimage_plan(&in, 16u << 20, 0, 0, &l), "kernel beyond RAM");
	cr_assert_not_null(bzimage_plan(&in, 24u << 20, 0, 8u << 20, &l), "initrd over kernel");
	cr_assert_not_null(bzimage_plan(&in, 256u << 20, 0x800, 0, &l), "command line too long");
	cr_assert_not_null(bzimage_plan(&in, 4ull << 30, 0, 0, &l), "RAM over the PCI hole");
	cr_assert_null(bzimage_plan(&in, 256u << 20, 0x7ff, 0, &l));
}

Test(bzimage, load_builds_zero_page_e820_cmdline_initrd_and_boot_tables)
{
	make_image();
	struct bzimage_info in;
	struct bzimage_layout l;
	const uint64_t ram_size = 64u << 20;
	uint8_t *ram = calloc(1, ram_size);
	static uint8_t initrd[10000];
	memset(initrd, 0x5a, sizeof(initrd));
	const char *cmd = "console=ttyS0 noapic";
	cr_assert_null(parse(IMG_SIZE, &in));
	cr_assert_null(bzimage_plan(&in, ram_size, strlen(cmd), sizeof(initrd), &l));
	struct e820_entry map[8];
	unsigned n = bzimage_pc_e820(ram_size, map, 8);
	cr_assert_eq(n, 4);
	memset(ram, 0xcc, ram_size); /* the loader must clear what it owns */
	cr_assert_null(bzimage_load(ram, ram_size, img, IMG_SIZE, &in, &l, cmd, initrd, map, n));

	cr_assert_arr_eq(ram + l.kernel, img + in.kernel_offset, in.kernel_size);
	cr_assert_eq(ram[l.kernel + in.init_size - 1], 0, "bss beyond the image is cleared");
	const uint8_t *zp = ram + l.zero_page;
	cr_assert_eq(get32(zp, BZ_HEADER), BZ_MAGIC, "setup header copied");
	cr_assert_eq(zp[BZ_TYPE_OF_LOADER], 0xff);
	cr_assert_eq(zp[0], 0, "zero page cleared outside the header");
	cr_assert_str_eq((const char *)ram + get32(zp, BZ_CMD_LINE_PTR), cmd);
	cr_assert_eq(get32(zp, BZ_RAMDISK_IMAGE), l.initrd);
	cr_assert_eq(get32(zp, BZ_RAMDISK_SIZE), sizeof(initrd));
	cr_assert_arr_eq(ram + l.initrd, initrd, sizeof(initrd));
	cr_assert_eq(zp[ZP_E820_ENTRIES], 4);
	cr_assert_eq(get64(zp, ZP_E820_TABLE + 3 * 20), 1u << 20);
	cr_assert_eq(get64(zp, ZP_E820_TABLE + 3 * 20 + 8), ram_size - (1u << 20));
	cr_assert_eq(get32(zp, ZP_E820_TABLE + 1 * 20 + 16), E820_RESERVED);

	/* Walk the boot page tables: every 2 MiB page below 4 GiB maps to itself. */
	for (uint64_t va = 0; va < (4ull << 30); va += 0x1234567) {
		uint64_t e = get64(ram, l.pml4 + 8 * ((va >> 39) & 511));
		cr_assert(e & 1);
		e = get64(ram, (e & ~0xfffull) + 8 * ((va >> 30) & 511));
		cr_assert(e & 1);
		e = get64(ram, (e & ~0xfffull) + 8 * ((va >> 21) & 511));
		cr_assert(e & 0x81, "2 MiB page present");
		cr_assert_eq((e & ~0x1fffffull & ((1ull << 52) - 1)) | (va & 0x1fffff), va);
	}
	cr_assert_eq(get64(ram, l.gdt + BZ_BOOT_CS) >> 40 & 0xff, 0x9b, "code: present, exec/read");
	cr_assert(get64(ram, l.gdt + BZ_BOOT_CS) & (1ull << 53), "code is 64-bit (L)");
	cr_assert_eq(get64(ram, l.gdt + BZ_BOOT_DS) >> 40 & 0xff, 0x93,
		     "data: present, read/write");
	free(ram);
}

Test(bzimage, debian_kernel_if_built_parses_and_plans)
{
	FILE *f = fopen("build/guests/linux/bzImage", "rb");
	if (!f) {
		cr_skip_test("build/guests/linux/bzImage not built (make linux-guest)");
	}
	static uint8_t big[64u << 20];
	size_t n = fread(big, 1, sizeof(big), f);
	fclose(f);
	struct bzimage_info in;
	struct bzimage_layout l;
	const char *why = bzimage_parse(big, n, &in);
	cr_assert_null(why, "%s", why);
	cr_assert_null(bzimage_plan(&in, 256u << 20, 100, 2u << 20, &l));
	cr_assert_not_null(bzimage_parse(big, n - 4096, &in),
			   "a truncated Debian kernel is refused");
}
