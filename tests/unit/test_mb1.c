/* SPDX-License-Identifier: MIT */
/* Specification of the multiboot (version 1) boot information parser, for good and hostile input. */
#include <criterion/criterion.h>

#include "x86/multiboot1.h"

/* A fake physical memory of 64 KiB at physical 0: the boot information and what it points to. */
#define MEM_SIZE 0x10000u
#define INFO 0x1000u
#define STRINGS 0x2000u
#define MODS 0x3000u
#define MMAP 0x4000u

static uint8_t mem[MEM_SIZE];
static uint32_t str_next;

static const void *fake_phys(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	return pa < MEM_SIZE && len <= MEM_SIZE - pa ? mem + pa : NULL;
}

static void put32(uint32_t pa, uint32_t v)
{
	memcpy(mem + pa, &v, 4);
}

static void put64(uint32_t pa, uint64_t v)
{
	memcpy(mem + pa, &v, 8);
}

static uint32_t str(const char *s)
{
	uint32_t pa = str_next;
	memcpy(mem + pa, s, strlen(s) + 1);
	str_next += (uint32_t)strlen(s) + 1;
	return pa;
}

static uint32_t nmmap;

/* One memory map entry as QEMU writes them: size 20, then base, length, type. */
static void mmap_entry(uint64_t base, uint64_t len, uint32_t type)
{
	uint32_t at = MMAP + nmmap * 24;
	put32(at, 20);
	put64(at + 4, base);
	put64(at + 12, len);
	put32(at + 20, type);
	nmmap++;
	put32(INFO + 44, nmmap * 24);
}

/* Flags: memory (0), cmdline (2), modules (3), memory map (6), loader name (9). */
static void info_begin(void)
{
	memset(mem, 0, sizeof(mem));
	str_next = STRINGS;
	nmmap = 0;
	put32(INFO, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	put32(INFO + 4, 639);
	put32(INFO + 8, 511 * 1024);
	put32(INFO + 16, str("vireo.elf poweroff debug"));
	put32(INFO + 24, MODS);
	put32(INFO + 48, MMAP);
	put32(INFO + 64, str("qemu"));
	mmap_entry(0, 0x9fc00, 1);
	mmap_entry(0x9fc00, 0x400, 2);
	mmap_entry(0x100000, 0x1ff00000, 1);
}

static void module(uint32_t start, uint32_t end, const char *cmdline)
{
	uint32_t n = 0;
	memcpy(&n, mem + INFO + 20, 4);
	put32(MODS + n * 16, start);
	put32(MODS + n * 16 + 4, end);
	put32(MODS + n * 16 + 8, cmdline ? str(cmdline) : 0);
	put32(INFO + 20, n + 1);
}

static status_t parse(struct mb2_info *out)
{
	return mb1_parse(INFO, fake_phys, NULL, out);
}

static bool reserved_has(const struct mb2_info *o, uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < o->nreserved; i++) {
		if (o->reserved[i].base == base && o->reserved[i].size == size) {
			return true;
		}
	}
	return false;
}

Test(mb1, qemu_style_information_gives_modules_map_and_strings)
{
	struct mb2_info o;
	info_begin();
	module(0x300000, 0x301234, "build/roottask.elf roottask");
	module(0x302000, 0x400000, "build/vmm.elf vmm mem=256 heap=256");
	cr_assert_eq(parse(&o), VIREO_OK);
	cr_expect_str_eq(o.cmdline, "poweroff debug", "the path is dropped");
	cr_expect_str_eq(o.loader_name, "qemu");
	cr_expect(o.has_meminfo);
	cr_expect_eq(o.mem_lower_kb, 639);
	cr_assert_eq(o.nmodules, 2);
	cr_expect_eq(o.modules[0].start, 0x300000);
	cr_expect_eq(o.modules[0].end, 0x301234);
	cr_expect_str_eq(o.modules[0].cmdline, "roottask", "the path is dropped");
	cr_expect_str_eq(o.modules[1].cmdline, "vmm mem=256 heap=256");
	cr_assert_eq(o.navail, 2);
	cr_expect_eq(o.avail[1].base, 0x100000);
	cr_expect_eq(o.avail[1].size, 0x1ff00000);
	cr_expect(reserved_has(&o, 0x9fc00, 0x400), "the firmware's reserved range");
	cr_expect(reserved_has(&o, INFO, 88), "the structure itself");
	cr_expect(reserved_has(&o, MODS, 32), "the module list");
	cr_expect(reserved_has(&o, MMAP, 72), "the memory map");
	cr_expect(reserved_has(&o, STRINGS, sizeof("vireo.elf poweroff debug")),
		  "the command line");
	cr_expect_eq(o.total_size, 88);
}

Test(mb1, module_without_arguments_or_string_gets_an_empty_command_line)
{
	struct mb2_info o;
	info_begin();
	module(0x300000, 0x300010, "  /boot/guest.bin  ");
	module(0x301000, 0x301010, NULL);
	cr_assert_eq(parse(&o), VIREO_OK);
	cr_assert_eq(o.nmodules, 2);
	cr_expect_str_eq(o.modules[0].cmdline, "");
	cr_expect_str_eq(o.modules[1].cmdline, "");
}

Test(mb1, no_memory_map_is_refused)
{
	struct mb2_info o;
	info_begin();
	put32(INFO, 1u << 0);
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	cr_expect_eq(o.nmodules, 0);
	cr_expect_eq(o.navail, 0);
}

Test(mb1, unreadable_information_is_refused)
{
	struct mb2_info o;
	cr_expect_eq(mb1_parse(MEM_SIZE - 40, fake_phys, NULL, &o), VIREO_BAD_PAR);
	cr_expect_eq(mb1_parse(INFO, NULL, NULL, &o), VIREO_BAD_PAR);
	cr_expect_eq(mb1_parse(INFO, fake_phys, NULL, NULL), VIREO_BAD_PAR);
}

Test(mb1, string_without_nul_is_refused)
{
	struct mb2_info o;
	info_begin();
	memset(mem + MEM_SIZE - 16, 'x', 16); /* runs into unreadable memory */
	put32(INFO + 16, MEM_SIZE - 16);
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	info_begin();
	memset(mem + 0x8000, 'y', 0x2000); /* longer than any command line may be */
	put32(INFO + 64, 0x8000);
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	cr_expect_null(o.cmdline, "a refused parse leaves nothing behind");
}

Test(mb1, module_list_or_module_string_out_of_memory_is_refused)
{
	struct mb2_info o;
	info_begin();
	module(0x300000, 0x300010, "a b");
	put32(INFO + 24, MEM_SIZE - 8);
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	info_begin();
	module(0x300000, 0x300010, "a b");
	put32(MODS + 8, 0x7fffffff);
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
}

Test(mb1, module_ending_before_it_starts_is_refused)
{
	struct mb2_info o;
	info_begin();
	module(0x300000, 0x2fffff, "m x");
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
}

Test(mb1, huge_module_count_is_read_only_in_part_and_counted)
{
	struct mb2_info o;
	info_begin();
	for (int i = 0; i < 20; i++) {
		module(0x300000 + i * 0x1000, 0x300100 + i * 0x1000, "m x");
	}
	cr_assert_eq(parse(&o), VIREO_OK);
	cr_expect_eq(o.nmodules, MB2_MAX_MODULES);
	cr_expect_eq(o.ndropped_modules, 4);
	put32(INFO + 20, 0xffffffffu); /* only the first 64 entries are read, the rest counted */
	cr_assert_eq(parse(&o), VIREO_OK);
	cr_expect_eq(o.nmodules, MB2_MAX_MODULES);
	cr_expect_eq(o.ndropped_modules, 0xffffffffu - MB2_MAX_MODULES);
	put32(INFO + 24, MEM_SIZE - 64 * 16 + 16); /* those 64 would run past memory */
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
}

Test(mb1, memory_map_entry_sizes_are_checked)
{
	struct mb2_info o;
	info_begin();
	put32(MMAP + 24, 12); /* below the 20 bytes an entry has */
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	info_begin();
	put32(MMAP + 48, 100); /* runs past mmap_length */
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
	info_begin();
	put32(INFO + 44, 24 * 3 + 2); /* a partial entry at the end */
	cr_expect_eq(parse(&o), VIREO_BAD_PAR);
}

Test(mb1, larger_entries_skip_their_extra_bytes_and_wrapping_ranges_are_clamped)
{
	struct mb2_info o;
	info_begin();
	nmmap = 0;
	put32(MMAP, 28); /* 8 bytes more than version 1 defines */
	put64(MMAP + 4, 0x100000);
	put64(MMAP + 12, 0x100000);
	put32(MMAP + 20, 1);
	put32(MMAP + 32, 20);
	put64(MMAP + 36, 0xfffffffffffff000ull);
	put64(MMAP + 44, 0x2000);
	put32(MMAP + 52, 2);
	put32(INFO + 44, 56);
	cr_assert_eq(parse(&o), VIREO_OK);
	cr_assert_eq(o.navail, 1);
	cr_expect_eq(o.avail[0].size, 0x100000);
	cr_expect(reserved_has(&o, 0xfffffffffffff000ull, 0xfff));
}
