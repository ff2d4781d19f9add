/* SPDX-License-Identifier: MIT */
/* Specification of the multiboot2 boot information parser, for well-formed and hostile input. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "x86/multiboot2.h"

/* Builds boot information the way GRUB lays it out: 8-byte header, 8-byte aligned tags. */
struct mbi {
	_Alignas(8) uint8_t b[8192];
	uint32_t len;
};

static void put32(struct mbi *m, uint32_t off, uint32_t v)
{
	memcpy(m->b + off, &v, 4);
}

static void put64(struct mbi *m, uint32_t off, uint64_t v)
{
	memcpy(m->b + off, &v, 8);
}

static void mbi_begin(struct mbi *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8;
}

/* Appends a tag of `size` bytes (payload copied from data when not NULL); returns its offset. */
static uint32_t mbi_tag(struct mbi *m, uint32_t type, uint32_t size, const void *data)
{
	uint32_t off = m->len;
	cr_assert(off + size + 8 <= sizeof(m->b));
	put32(m, off, type);
	put32(m, off + 4, size);
	if (data && size > 8) {
		memcpy(m->b + off + 8, data, size - 8);
	}
	m->len = (uint32_t)ALIGN_UP(off + size, 8);
	return off;
}

static uint32_t mbi_string(struct mbi *m, uint32_t type, const char *s)
{
	return mbi_tag(m, type, 8 + (uint32_t)strlen(s) + 1, s);
}

static uint32_t mbi_module(struct mbi *m, uint32_t start, uint32_t end, const char *s)
{
	uint32_t off = mbi_tag(m, MB2_TAG_MODULE, 16 + (uint32_t)strlen(s) + 1, NULL);
	put32(m, off + 8, start);
	put32(m, off + 12, end);
	memcpy(m->b + off + 16, s, strlen(s) + 1);
	return off;
}

struct e820 {
	uint64_t base, len;
	uint32_t type;
};

static uint32_t mbi_mmap(struct mbi *m, uint32_t entry_size, const struct e820 *e, size_t n)
{
	uint32_t off = mbi_tag(m, MB2_TAG_MMAP, 16 + entry_size * (uint32_t)n, NULL);
	put32(m, off + 8, entry_size);
	put32(m, off + 12, 0);
	for (size_t i = 0; i < n; i++) {
		uint32_t eo = off + 16 + entry_size * (uint32_t)i;
		put64(m, eo, e[i].base);
		put64(m, eo + 8, e[i].len);
		put32(m, eo + 16, e[i].type);
	}
	return off;
}

static void mbi_end(struct mbi *m)
{
	mbi_tag(m, MB2_TAG_END, 8, NULL);
	put32(m, 0, m->len);
}

static struct mb2_info info;

/* Parses a copy that is exactly `len` bytes long, so ASan catches any read beyond it. */
static status_t parse_exact(const void *data, size_t len, void **copy)
{
	void *c = malloc(len ? len : 1);
	cr_assert(c);
	memcpy(c, data, len);
	status_t st = mb2_parse(c, len, &info);
	if (copy) {
		*copy = c;
	} else {
		free(c);
	}
	return st;
}

static status_t parse(const struct mbi *m)
{
	return mb2_parse(m->b, m->len, &info);
}

static void expect_rejected(const struct mbi *m, size_t readable)
{
	memset(&info, 0x5a, sizeof(info));
	cr_expect_eq(parse_exact(m->b, readable, NULL), VIREO_BAD_PAR);
	cr_expect_null(info.cmdline, "output not cleared on failure");
	cr_expect_eq(info.navail + info.nreserved + info.nmodules + info.total_size, 0);
}

static void minimal(struct mbi *m)
{
	mbi_begin(m);
	mbi_end(m);
}

/* A GRUB-like boot information: every tag the kernel reads. */
static void typical(struct mbi *m)
{
	static const struct e820 map[] = {
		{ 0, 0x9fc00, MB2_MMAP_AVAILABLE },
		{ 0x9fc00, 0x400, MB2_MMAP_RESERVED },
		{ 0xf0000, 0x10000, MB2_MMAP_RESERVED },
		{ 0x100000, 0x7ee0000, MB2_MMAP_AVAILABLE },
		{ 0x7fe0000, 0x20000, MB2_MMAP_ACPI_RECLAIMABLE },
		{ 0xfffc0000, 0x40000, MB2_MMAP_NVS },
	};
	uint8_t rsdp[36] = "RSD PTR ";
	uint32_t meminfo[2] = { 639, 130944 };

	mbi_begin(m);
	mbi_string(m, MB2_TAG_CMDLINE, "fpu=lazy quiet");
	mbi_string(m, MB2_TAG_LOADER_NAME, "GRUB 2.06");
	mbi_module(m, 0x200000, 0x210000, "roottask");
	mbi_module(m, 0x210000, 0x230123, "vmm debug=1");
	mbi_tag(m, MB2_TAG_BASIC_MEMINFO, 16, meminfo);
	mbi_tag(m, 5, 20, "\x80\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff"); /* BIOS boot device */
	mbi_mmap(m, 24, map, ARRAY_SIZE(map));
	mbi_tag(m, MB2_TAG_ACPI_NEW, 8 + 36, rsdp);
	mbi_end(m);
}

/* ------------------------------------------------------------------ well-formed input */

Test(mb2, minimal_info_with_only_end_tag_parses_empty)
{
	struct mbi m;
	minimal(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.total_size, 16);
	cr_expect_null(info.cmdline);
	cr_expect_null(info.loader_name);
	cr_expect_eq(info.navail + info.nreserved + info.nmodules, 0);
	cr_expect_eq(info.rsdp_version, 0);
	cr_expect_null(info.rsdp);
	cr_expect_not(info.has_meminfo);
}

Test(mb2, typical_grub_info_yields_every_field)
{
	struct mbi m;
	typical(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.total_size, m.len);
	cr_expect_str_eq(info.cmdline, "fpu=lazy quiet");
	cr_expect_str_eq(info.loader_name, "GRUB 2.06");
	cr_assert_eq(info.nmodules, 2);
	cr_expect_eq(info.modules[0].start, 0x200000);
	cr_expect_eq(info.modules[0].end, 0x210000);
	cr_expect_str_eq(info.modules[0].cmdline, "roottask");
	cr_expect_eq(info.modules[1].end, 0x230123);
	cr_expect_str_eq(info.modules[1].cmdline, "vmm debug=1");
	cr_expect(info.has_meminfo);
	cr_expect_eq(info.mem_lower_kb, 639);
	cr_expect_eq(info.mem_upper_kb, 130944);
	cr_assert_eq(info.navail, 2);
	cr_expect_eq(info.avail[0].base, 0);
	cr_expect_eq(info.avail[0].size, 0x9fc00);
	cr_expect_eq(info.avail[1].base, 0x100000);
	cr_expect_eq(info.avail[1].size, 0x7ee0000);
	cr_assert_eq(info.nreserved, 4);
	cr_expect_eq(info.reserved[3].base, 0xfffc0000);
	cr_expect_eq(info.rsdp_version, 2);
	cr_expect_eq(info.rsdp_len, 36);
	cr_expect_eq(memcmp(info.rsdp, "RSD PTR ", 8), 0);
	cr_expect_eq(info.ndropped_avail + info.ndropped_reserved + info.ndropped_modules, 0);
}

Test(mb2, pointers_point_into_the_parsed_buffer)
{
	struct mbi m;
	typical(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	const char *lo = (const char *)m.b, *hi = lo + m.len;
	cr_expect(info.cmdline >= lo && info.cmdline < hi);
	cr_expect(info.modules[1].cmdline >= lo && info.modules[1].cmdline < hi);
	cr_expect((const char *)info.rsdp >= lo && (const char *)info.rsdp + info.rsdp_len <= hi);
}

Test(mb2, unknown_tags_are_skipped)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, 21, 12, "abcd");
	mbi_tag(&m, 0xdeadbeef, 8, NULL);
	mbi_string(&m, MB2_TAG_CMDLINE, "x");
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_str_eq(info.cmdline, "x");
}

Test(mb2, empty_strings_are_accepted)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "");
	mbi_module(&m, 0x1000, 0x2000, "");
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_str_eq(info.cmdline, "");
	cr_expect_str_eq(info.modules[0].cmdline, "");
}

Test(mb2, zero_length_module_is_accepted)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_module(&m, 0x5000, 0x5000, "empty");
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.nmodules, 1);
}

Test(mb2, string_nul_before_end_of_tag_is_accepted)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_CMDLINE, 8 + 6, "ab\0cd\0");
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_str_eq(info.cmdline, "ab");
}

Test(mb2, first_cmdline_and_loader_name_win_over_duplicates)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "first");
	mbi_string(&m, MB2_TAG_LOADER_NAME, "loader1");
	mbi_string(&m, MB2_TAG_CMDLINE, "second");
	mbi_string(&m, MB2_TAG_LOADER_NAME, "loader2");
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_str_eq(info.cmdline, "first");
	cr_expect_str_eq(info.loader_name, "loader1");
}

Test(mb2, new_rsdp_wins_over_old_in_either_order)
{
	uint8_t v1[20] = "RSD PTR 1", v2[36] = "RSD PTR 2";
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_ACPI_NEW, 8 + 36, v2);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, 8 + 20, v1);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.rsdp_version, 2);
	cr_expect_eq(((const char *)info.rsdp)[8], '2');

	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, 8 + 20, v1);
	mbi_tag(&m, MB2_TAG_ACPI_NEW, 8 + 36, v2);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.rsdp_version, 2);
	cr_expect_eq(info.rsdp_len, 36);
}

Test(mb2, old_rsdp_alone_is_version_1)
{
	uint8_t v1[20] = "RSD PTR ";
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, 8 + 20, v1);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.rsdp_version, 1);
	cr_expect_eq(info.rsdp_len, 20);
}

Test(mb2, non_available_mmap_types_are_all_reserved)
{
	const struct e820 map[] = {
		{ 0x1000, 0x1000, 2 }, { 0x2000, 0x1000, 3 }, { 0x3000, 0x1000, 4 },
		{ 0x4000, 0x1000, 5 }, { 0x5000, 0x1000, 0 }, { 0x6000, 0x1000, 0xffffffff },
		{ 0x7000, 0x1000, 1 },
	};
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, map, ARRAY_SIZE(map));
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.navail, 1);
	cr_expect_eq(info.avail[0].base, 0x7000);
	cr_expect_eq(info.nreserved, 6);
}

Test(mb2, larger_mmap_entry_size_is_honoured)
{
	/* A future entry_version may append fields: entries are entry_size apart. */
	const struct e820 map[] = { { 0x100000, 0x1000, 1 }, { 0x200000, 0x2000, 2 } };
	struct mbi m;
	mbi_begin(&m);
	uint32_t off = mbi_mmap(&m, 40, map, 2);
	put32(&m, off + 12, 1);
	memset(m.b + off + 16 + 24, 0xee, 16); /* the unknown extra fields */
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_assert_eq(info.navail, 1);
	cr_assert_eq(info.nreserved, 1);
	cr_expect_eq(info.reserved[0].base, 0x200000);
	cr_expect_eq(info.reserved[0].size, 0x2000);
}

Test(mb2, empty_mmap_is_accepted)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, NULL, 0);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.navail + info.nreserved, 0);
}

Test(mb2, zero_length_mmap_entries_are_skipped)
{
	const struct e820 map[] = { { 0x100000, 0, 1 }, { 0x200000, 0, 2 }, { 0x300000, 1, 1 } };
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, map, 3);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.navail, 1);
	cr_expect_eq(info.nreserved, 0);
}

Test(mb2, mmap_entry_wrapping_past_2_64_is_clamped)
{
	const struct e820 map[] = { { 0xfffffffffffff000ull, 0x2000, 1 },
				    { 0x100000000ull, UINT64_MAX, 2 } };
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, map, 2);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_assert_eq(info.navail, 1);
	cr_expect_eq(info.avail[0].base, 0xfffffffffffff000ull);
	cr_expect_eq(info.avail[0].size, 0xfff);
	cr_assert_eq(info.nreserved, 1);
	cr_expect_eq(info.reserved[0].base + info.reserved[0].size, UINT64_MAX);
}

Test(mb2, several_mmap_tags_are_collected)
{
	const struct e820 a[] = { { 0x100000, 0x1000, 1 } }, b[] = { { 0x200000, 0x1000, 1 } };
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, a, 1);
	mbi_mmap(&m, 24, b, 1);
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.navail, 2);
}

Test(mb2, too_many_ranges_keep_the_first_and_count_the_rest)
{
	struct e820 map[MB2_MAX_RANGES * 2 + 6];
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		map[i] = (struct e820){ i * 0x10000, 0x1000, i % 2 ? 2 : 1 };
	}
	struct mbi m;
	mbi_begin(&m);
	mbi_mmap(&m, 24, map, ARRAY_SIZE(map));
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.navail, MB2_MAX_RANGES);
	cr_expect_eq(info.nreserved, MB2_MAX_RANGES);
	cr_expect_eq(info.ndropped_avail, 3);
	cr_expect_eq(info.ndropped_reserved, 3);
	cr_expect_eq(info.avail[0].base, 0);
	cr_expect_eq(info.avail[MB2_MAX_RANGES - 1].base, (MB2_MAX_RANGES - 1) * 2 * 0x10000);
}

Test(mb2, too_many_modules_keep_the_first_and_count_the_rest)
{
	struct mbi m;
	mbi_begin(&m);
	for (uint32_t i = 0; i < MB2_MAX_MODULES + 2; i++) {
		mbi_module(&m, i * 0x1000, i * 0x1000 + 0x800, i == 0 ? "first" : "more");
	}
	mbi_end(&m);
	cr_assert_eq(parse(&m), VIREO_OK);
	cr_expect_eq(info.nmodules, MB2_MAX_MODULES);
	cr_expect_eq(info.ndropped_modules, 2);
	cr_expect_str_eq(info.modules[0].cmdline, "first");
	cr_expect_eq(info.modules[MB2_MAX_MODULES - 1].start, (MB2_MAX_MODULES - 1) * 0x1000);
}

Test(mb2, bytes_after_end_tag_are_ignored)
{
	struct mbi m;
	minimal(&m);
	put32(&m, 0, 64); /* total_size claims more, as padding by a loader might */
	put32(&m, 16, MB2_TAG_CMDLINE);
	put32(&m, 20, 0xffff);
	cr_assert_eq(mb2_parse(m.b, 64, &info), VIREO_OK);
	cr_expect_null(info.cmdline);
}

Test(mb2, readable_len_larger_than_total_size_is_fine)
{
	struct mbi m;
	typical(&m);
	cr_expect_eq(mb2_parse(m.b, sizeof(m.b), &info), VIREO_OK);
	cr_expect_eq(info.total_size, m.len);
}

Test(mb2, unaligned_buffer_is_parsed_without_alignment_faults)
{
	struct mbi m;
	static uint8_t shifted[sizeof(m.b) + 1];
	typical(&m);
	memcpy(shifted + 1, m.b, m.len);
	cr_assert_eq(mb2_parse(shifted + 1, m.len, &info), VIREO_OK);
	cr_expect_str_eq(info.cmdline, "fpu=lazy quiet");
	cr_expect_eq(info.navail, 2);
}

/* ------------------------------------------------------------------ malformed input */

Test(mb2, null_arguments_are_rejected)
{
	struct mbi m;
	minimal(&m);
	cr_expect_eq(mb2_parse(NULL, 16, &info), VIREO_BAD_PAR);
	cr_expect_eq(mb2_parse(m.b, m.len, NULL), VIREO_BAD_PAR);
}

Test(mb2, total_size_above_readable_len_is_rejected)
{
	struct mbi m;
	typical(&m);
	for (size_t len = 0; len < m.len; len++) {
		expect_rejected(&m, len);
	}
}

Test(mb2, total_size_below_16_is_rejected)
{
	struct mbi m;
	for (uint32_t t = 0; t < 16; t++) {
		minimal(&m);
		put32(&m, 0, t);
		cr_expect_eq(mb2_parse(m.b, sizeof(m.b), &info), VIREO_BAD_PAR, "total_size %u", t);
	}
}

Test(mb2, missing_end_tag_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "no end");
	put32(&m, 0, m.len);
	expect_rejected(&m, m.len);
}

Test(mb2, end_tag_cut_by_total_size_is_rejected)
{
	struct mbi m;
	typical(&m);
	for (uint32_t t = 16; t < m.len; t++) {
		put32(&m, 0, t);
		expect_rejected(&m, t);
	}
}

Test(mb2, tag_size_below_8_is_rejected)
{
	struct mbi m;
	for (uint32_t size = 0; size < 8; size++) {
		mbi_begin(&m);
		mbi_tag(&m, 21, 8, NULL);
		put32(&m, 12, size);
		mbi_end(&m);
		expect_rejected(&m, m.len);
	}
}

Test(mb2, end_tag_with_size_below_8_is_rejected)
{
	struct mbi m;
	minimal(&m);
	put32(&m, 12, 0); /* a zero size would otherwise loop forever */
	expect_rejected(&m, m.len);
}

Test(mb2, tag_running_past_total_size_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	uint32_t off = mbi_string(&m, MB2_TAG_CMDLINE, "abc");
	mbi_end(&m);
	put32(&m, off + 4, m.len - off + 1);
	expect_rejected(&m, m.len);
	put32(&m, off + 4, UINT32_MAX);
	expect_rejected(&m, m.len);
}

Test(mb2, tag_padding_running_past_total_size_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, 21, 12, "abcd");
	put32(&m, 0, 20); /* the tag ends at 20, its padding at 24 */
	expect_rejected(&m, 20);
}

Test(mb2, string_without_nul_in_its_tag_is_rejected)
{
	struct mbi m;
	uint32_t types[] = { MB2_TAG_CMDLINE, MB2_TAG_LOADER_NAME };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		mbi_begin(&m);
		uint32_t off = mbi_string(&m, types[i], "abcdefg"); /* size 16, NUL at 15 */
		mbi_end(&m);
		m.b[off + 15] = 'h'; /* the NUL now lies only in the padding, then next tag */
		expect_rejected(&m, m.len);
	}
}

Test(mb2, string_tag_without_any_byte_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_CMDLINE, 8, NULL);
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, module_string_without_nul_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	uint32_t off = mbi_module(&m, 0x1000, 0x2000, "abcdefg");
	mbi_end(&m);
	m.b[off + 16 + 7] = 'h';
	expect_rejected(&m, m.len);
}

Test(mb2, module_tag_too_short_for_its_fields_is_rejected)
{
	struct mbi m;
	for (uint32_t size = 8; size <= 16; size++) {
		mbi_begin(&m);
		mbi_tag(&m, MB2_TAG_MODULE, size, NULL);
		mbi_end(&m);
		expect_rejected(&m, m.len);
	}
}

Test(mb2, module_start_after_end_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_module(&m, 0x2001, 0x2000, "bad");
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, mmap_entry_size_below_24_is_rejected)
{
	struct mbi m;
	for (uint32_t es = 0; es < 24; es += 8) {
		mbi_begin(&m);
		uint32_t off = mbi_mmap(&m, 24, (struct e820[]){ { 0x1000, 0x1000, 1 } }, 1);
		put32(&m, off + 8, es);
		mbi_end(&m);
		expect_rejected(&m, m.len);
	}
}

Test(mb2, mmap_entry_size_not_multiple_of_8_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	uint32_t off = mbi_mmap(&m, 28, (struct e820[]){ { 0x1000, 0x1000, 1 } }, 1);
	put32(&m, off + 8, 28);
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, mmap_ending_in_a_partial_entry_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	uint32_t off = mbi_mmap(&m, 24, (struct e820[]){ { 0x1000, 0x1000, 1 } }, 1);
	put32(&m, off + 4, 16 + 24 + 8); /* one entry and a third */
	m.len = off + 16 + 24 + 8;
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, mmap_tag_shorter_than_its_header_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_MMAP, 12, "\x18\0\0\0");
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, rsdp_tags_too_short_for_their_version_are_rejected)
{
	uint8_t rsdp[36] = { 0 };
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, 8 + 19, rsdp);
	mbi_end(&m);
	expect_rejected(&m, m.len);

	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_ACPI_NEW, 8 + 20, rsdp); /* a v1-sized copy in a v2 tag */
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, basic_meminfo_shorter_than_16_is_rejected)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_tag(&m, MB2_TAG_BASIC_MEMINFO, 12, "\1\0\0\0");
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

Test(mb2, one_bad_tag_rejects_everything_parsed_before_it)
{
	struct mbi m;
	mbi_begin(&m);
	mbi_string(&m, MB2_TAG_CMDLINE, "good");
	mbi_module(&m, 0x1000, 0x2000, "good");
	mbi_module(&m, 0x3000, 0x2000, "bad");
	mbi_end(&m);
	expect_rejected(&m, m.len);
}

/* ------------------------------------------------------------------ robustness */

Test(mb2, every_single_byte_corruption_stays_inside_the_buffer)
{
	/* ASan turns a read past the exact-size copy into a crash; results are OK or BAD_PAR. */
	static const uint8_t values[] = { 0x00, 0x01, 0x07, 0x08, 0x0f, 0x10, 0x7f, 0x80, 0xff };
	struct mbi m;
	typical(&m);
	for (uint32_t i = 0; i < m.len; i++) {
		for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
			struct mbi c = m;
			c.b[i] = values[v];
			status_t st = parse_exact(c.b, m.len, NULL);
			cr_assert(st == VIREO_OK || st == VIREO_BAD_PAR, "byte %u = %#x: %d", i,
				  values[v], st);
		}
	}
}

Test(mb2, random_corruption_stays_inside_the_buffer)
{
	struct mbi m;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	typical(&m);
	for (int round = 0; round < 20000; round++) {
		struct mbi c = m;
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			c.b[(x >> 8) % m.len] = (uint8_t)x;
		}
		size_t len = (x >> 40) % 4 ? m.len : (x >> 20) % (m.len + 1);
		void *copy;
		status_t st = parse_exact(c.b, len, &copy);
		cr_assert(st == VIREO_OK || st == VIREO_BAD_PAR);
		if (st == VIREO_OK) {
			cr_assert(info.total_size <= len);
			cr_assert(info.navail <= MB2_MAX_RANGES &&
				  info.nmodules <= MB2_MAX_MODULES);
			for (size_t i = 0; i < info.nmodules; i++) {
				cr_assert(info.modules[i].start <= info.modules[i].end);
				cr_assert(strlen(info.modules[i].cmdline) < len);
			}
		}
		free(copy);
	}
}
