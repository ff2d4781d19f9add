/* SPDX-License-Identifier: MIT */
/* Specification of ELF64 validation (what an untrusted boot module must satisfy) and loading. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "types.h" /* PAGE_SIZE, ALIGN_*, ARRAY_SIZE for the checks */

#define VA_LIMIT 0x00007ffffffff000ull
#define IMG_MAX 0x10000

/* Offsets of the fields the tests corrupt (System V gABI, ELF-64 header and program header). */
#define EH_CLASS 4
#define EH_DATA 5
#define EH_IDVERSION 6
#define EH_TYPE 16
#define EH_MACHINE 18
#define EH_VERSION 20
#define EH_ENTRY 24
#define EH_PHOFF 32
#define EH_PHENTSIZE 54
#define EH_PHNUM 56
#define PH_SIZE 56
#define PT_LOAD 1
#define PT_NOTE 4
#define PT_GNU_STACK 0x6474e551
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct seg_spec {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz;
};

/* The image under test: a header, program headers at 64, then file contents with a byte pattern. */
static uint8_t img[IMG_MAX];
static size_t img_len;
static struct elf_image out;

static void put16(size_t off, uint16_t v)
{
	memcpy(img + off, &v, 2);
}
static void put32(size_t off, uint32_t v)
{
	memcpy(img + off, &v, 4);
}
static void put64(size_t off, uint64_t v)
{
	memcpy(img + off, &v, 8);
}

static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 7 + 1);
}

static void build(const struct seg_spec *segs, size_t n, uint64_t entry, size_t len)
{
	static const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };

	cr_assert(len <= IMG_MAX && 64 + n * PH_SIZE <= len);
	for (size_t i = 0; i < len; i++) {
		img[i] = pattern(i);
	}
	memset(img, 0, 64 + n * PH_SIZE);
	memcpy(img, ident, sizeof(ident));
	put16(EH_TYPE, 2);     /* ET_EXEC */
	put16(EH_MACHINE, 62); /* EM_X86_64 */
	put32(EH_VERSION, 1);
	put64(EH_ENTRY, entry);
	put64(EH_PHOFF, 64);
	put16(52, 64); /* e_ehsize */
	put16(EH_PHENTSIZE, PH_SIZE);
	put16(EH_PHNUM, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t ph = 64 + i * PH_SIZE;
		put32(ph + 0, segs[i].type);
		put32(ph + 4, segs[i].flags);
		put64(ph + 8, segs[i].offset);
		put64(ph + 16, segs[i].vaddr);
		put64(ph + 24, segs[i].vaddr);
		put64(ph + 32, segs[i].filesz);
		put64(ph + 40, segs[i].memsz);
		put64(ph + 48, 0x1000);
	}
	img_len = len;
}

/* A typical static executable: text (R-X) and data+bss (RW-) on separate pages. */
static const struct seg_spec text = { PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x1800, 0x1800 };
static const struct seg_spec data = { PT_LOAD, PF_R | PF_W, 0x3000, 0x403000, 0x234, 0x3000 };
#define ENTRY 0x401010
#define LEN 0x3234

static void build_default(void)
{
	struct seg_spec s[] = { text, data };
	build(s, 2, ENTRY, LEN);
}

/* Parse from an exact-size heap copy, so ASan catches any read past the end of the file. */
static enum vireo_status parse_len(size_t len, uint64_t limit)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum vireo_status st;

	cr_assert(copy);
	memcpy(copy, img, len);
	st = elf_parse(copy, len, limit, &out);
	free(copy);
	return st;
}

static enum vireo_status parse(void)
{
	return parse_len(img_len, VA_LIMIT);
}

/* Program header i of the default layout. */
static size_t ph(unsigned i)
{
	return 64 + i * PH_SIZE;
}

#define PH_FLAGS 4
#define PH_OFFSET 8
#define PH_VADDR 16
#define PH_FILESZ 32
#define PH_MEMSZ 40

TestSuite(elf, .init = build_default);

/* ---------------------------------------------------------------- valid images */

Test(elf, parses_a_valid_executable)
{
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.entry, ENTRY);
	cr_assert_eq(out.nseg, 2);
	cr_assert_eq(out.seg[0].vaddr, 0x401000);
	cr_assert_eq(out.seg[0].memsz, 0x1800);
	cr_assert_eq(out.seg[0].offset, 0x1000);
	cr_assert_eq(out.seg[0].filesz, 0x1800);
	cr_assert_eq(out.seg[0].attr, ELF_SEG_R | ELF_SEG_X);
	cr_assert_eq(out.seg[1].vaddr, 0x403000);
	cr_assert_eq(out.seg[1].memsz, 0x3000);
	cr_assert_eq(out.seg[1].filesz, 0x234);
	cr_assert_eq(out.seg[1].attr, ELF_SEG_R | ELF_SEG_W);
}

Test(elf, every_segment_is_readable)
{
	put32(ph(1) + PH_FLAGS, PF_W);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.seg[1].attr, ELF_SEG_R | ELF_SEG_W);
	put32(ph(1) + PH_FLAGS, 0);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.seg[1].attr, ELF_SEG_R);
	put32(ph(0) + PH_FLAGS, PF_X);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.seg[0].attr, ELF_SEG_R | ELF_SEG_X);
	put32(ph(0) + PH_FLAGS, PF_R | PF_W | PF_X);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.seg[0].attr, ELF_SEG_R | ELF_SEG_W | ELF_SEG_X);
}

Test(elf, ignores_non_load_program_headers)
{
	struct seg_spec s[] = {
		{ PT_NOTE, PF_R, 0xffffffffffff0000ull, 0, 0xffffffff, 1 },
		text,
		{ PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0 },
		data,
	};
	build(s, 4, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.nseg, 2);
	cr_assert_eq(out.seg[1].vaddr, 0x403000);
}

Test(elf, skips_empty_load_segments)
{
	struct seg_spec s[] = { text, { PT_LOAD, PF_R, 0x1000, 0x401000, 0, 0 }, data };
	build(s, 3, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.nseg, 2);
}

Test(elf, accepts_segment_ending_exactly_at_the_limit)
{
	cr_assert_eq(parse_len(img_len, 0x406000), VIREO_OK);
	cr_assert_eq(parse_len(img_len, 0x405fff), VIREO_BAD_PAR);
}

Test(elf, accepts_program_headers_at_an_unaligned_offset)
{
	memmove(img + 0x41, img + 64, 2 * PH_SIZE);
	put64(EH_PHOFF, 0x41);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.nseg, 2);
}

Test(elf, accepts_segments_on_adjacent_pages)
{
	struct seg_spec s[] = { text, { PT_LOAD, PF_R, 0x3000, 0x403000, 0x100, 0x100 } };
	s[0].memsz = s[0].filesz = 0x2000;
	build(s, 2, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_OK);
}

Test(elf, accepts_bss_only_segment)
{
	struct seg_spec s[] = { text, { PT_LOAD, PF_R | PF_W, 0, 0x500000, 0, 0x10000 } };
	build(s, 2, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.seg[1].filesz, 0);
}

Test(elf, accepts_exactly_max_segments)
{
	struct seg_spec s[ELF_MAX_SEGMENTS];
	for (unsigned i = 0; i < ELF_MAX_SEGMENTS; i++) {
		s[i] = (struct seg_spec){ PT_LOAD, PF_R | PF_X, 0x1000, 0x401000 + i * 0x2000,
					  0x100,   0x100 };
	}
	build(s, ELF_MAX_SEGMENTS, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(out.nseg, ELF_MAX_SEGMENTS);
}

/* ---------------------------------------------------------------- bad headers */

Test(elf, rejects_image_shorter_than_the_header)
{
	cr_assert_eq(parse_len(0, VA_LIMIT), VIREO_BAD_PAR);
	cr_assert_eq(parse_len(1, VA_LIMIT), VIREO_BAD_PAR);
	cr_assert_eq(parse_len(63, VA_LIMIT), VIREO_BAD_PAR);
}

Test(elf, rejects_bad_magic)
{
	for (int i = 0; i < 4; i++) {
		img[i] ^= 0x20;
		cr_assert_eq(parse(), VIREO_BAD_PAR, "magic byte %d", i);
		img[i] ^= 0x20;
	}
	cr_assert_eq(parse(), VIREO_OK);
}

Test(elf, rejects_32_bit_class)
{
	img[EH_CLASS] = 1;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	img[EH_CLASS] = 0;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_big_endian_data)
{
	img[EH_DATA] = 2;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_unknown_versions)
{
	img[EH_IDVERSION] = 2;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	img[EH_IDVERSION] = 1;
	put32(EH_VERSION, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_non_executable_types)
{
	static const uint16_t types[] = { 0, 1, 3, 4, 0xfe00 };
	for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
		put16(EH_TYPE, types[i]);
		cr_assert_eq(parse(), VIREO_BAD_PAR, "type %u", types[i]);
	}
}

Test(elf, rejects_other_machines)
{
	put16(EH_MACHINE, 3); /* EM_386 */
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put16(EH_MACHINE, 183); /* EM_AARCH64 */
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_wrong_program_header_size)
{
	put16(EH_PHENTSIZE, 32);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put16(EH_PHENTSIZE, 64);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_program_headers_past_end_of_file)
{
	cr_assert_eq(parse_len(64 + 2 * PH_SIZE - 1, VA_LIMIT), VIREO_BAD_PAR);
	put64(EH_PHOFF, img_len - PH_SIZE - 1);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_PHOFF, img_len + 1);
	put16(EH_PHNUM, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_program_header_table_whose_end_overflows)
{
	put64(EH_PHOFF, UINT64_MAX - 8);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_PHOFF, 64);
	put16(EH_PHNUM, 0xffff);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_image_without_program_headers)
{
	put16(EH_PHNUM, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_image_without_load_segment)
{
	struct seg_spec s[] = { { PT_NOTE, PF_R, 0x1000, 0x401000, 0x10, 0x10 } };
	build(s, 1, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_image_whose_only_load_segments_are_empty)
{
	struct seg_spec s[] = { { PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0, 0 } };
	build(s, 1, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

/* ---------------------------------------------------------------- bad segments */

Test(elf, rejects_segment_past_end_of_file)
{
	put64(ph(1) + PH_FILESZ, 0x235);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(ph(1) + PH_FILESZ, 0x234);
	cr_assert_eq(parse_len(LEN - 1, VA_LIMIT), VIREO_BAD_PAR);
}

Test(elf, rejects_segment_starting_past_end_of_file)
{
	put64(ph(1) + PH_OFFSET, 0x5000);
	put64(ph(1) + PH_FILESZ, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_segment_whose_file_end_overflows)
{
	put64(ph(1) + PH_OFFSET, 0xfffffffffffff000ull);
	put64(ph(1) + PH_FILESZ, 0x2000);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_file_size_larger_than_memory_size)
{
	put64(ph(1) + PH_MEMSZ, 0x233);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_segment_whose_end_overflows)
{
	put64(ph(1) + PH_VADDR, 0xfffffffffffff000ull);
	put64(ph(1) + PH_OFFSET, 0x3000);
	put64(ph(1) + PH_MEMSZ, 0x2000);
	cr_assert_eq(parse_len(img_len, UINT64_MAX), VIREO_BAD_PAR);
	put64(ph(1) + PH_MEMSZ, 0xfff);
	cr_assert_eq(parse_len(img_len, UINT64_MAX), VIREO_BAD_PAR);
}

Test(elf, rejects_segment_above_the_limit)
{
	put64(ph(1) + PH_VADDR, VA_LIMIT);
	put64(ph(1) + PH_OFFSET, 0x3000);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(ph(1) + PH_VADDR, VA_LIMIT - 0x1000);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(ph(1) + PH_VADDR, 0xffffffff80000000ull);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_segment_in_page_zero)
{
	put64(ph(0) + PH_VADDR, 0);
	put64(ph(0) + PH_OFFSET, 0);
	put64(EH_ENTRY, 0x10);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(ph(0) + PH_VADDR, 0xf00);
	put64(ph(0) + PH_OFFSET, 0xf00);
	put64(EH_ENTRY, 0xf10);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_file_offset_not_congruent_to_address)
{
	put64(ph(1) + PH_OFFSET, 0x3010);
	put64(ph(1) + PH_FILESZ, 0x200);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(ph(1) + PH_OFFSET, 0x2000);
	cr_assert_eq(parse(), VIREO_OK);
	put64(ph(1) + PH_VADDR, 0x403800);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_more_than_max_segments)
{
	struct seg_spec s[ELF_MAX_SEGMENTS + 1];
	for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++) {
		s[i] = (struct seg_spec){ PT_LOAD, PF_R | PF_X, 0x1000, 0x401000 + i * 0x2000,
					  0x100,   0x100 };
	}
	build(s, ELF_MAX_SEGMENTS + 1, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_segments_touching_the_same_page)
{
	/* data starts in the page where text ends */
	put64(ph(1) + PH_VADDR, 0x402800);
	put64(ph(1) + PH_OFFSET, 0x2800);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_overlapping_segments)
{
	struct seg_spec s[] = { text, data, { PT_LOAD, PF_R, 0x1000, 0x400000, 0x100, 0x10000 } };
	build(s, 3, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	s[2] = text;
	build(s, 3, ENTRY, LEN);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(elf, rejects_entry_outside_executable_segments)
{
	put64(EH_ENTRY, 0x403000); /* data: not executable */
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_ENTRY, 0x402800); /* just past text */
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_ENTRY, 0x400fff); /* just before text */
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_ENTRY, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	put64(EH_ENTRY, 0x4027ff); /* last byte of text */
	cr_assert_eq(parse(), VIREO_OK);
}

Test(elf, output_is_cleared_on_error)
{
	cr_assert_eq(parse(), VIREO_OK);
	put64(EH_ENTRY, 0x403000);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	cr_assert_eq(out.nseg, 0);
	cr_assert_eq(out.entry, 0);
}

static uint64_t page_end(const struct elf_segment *s)
{
	return ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
}

/* The invariants elf_parse promises for an image it accepted from a file of len bytes. */
static void check_accepted(size_t len)
{
	bool entry_in_x = false;

	for (size_t i = 0; i < out.nseg; i++) {
		const struct elf_segment *s = &out.seg[i];
		cr_assert(s->offset <= len && s->filesz <= len - s->offset);
		cr_assert(s->filesz <= s->memsz && s->memsz > 0);
		cr_assert(s->vaddr >= PAGE_SIZE && page_end(s) <= VA_LIMIT);
		if ((s->attr & ELF_SEG_X) && out.entry >= s->vaddr &&
		    out.entry - s->vaddr < s->memsz) {
			entry_in_x = true;
		}
		for (size_t j = 0; j < i; j++) {
			const struct elf_segment *o = &out.seg[j];
			cr_assert(page_end(o) <= ALIGN_DOWN(s->vaddr, PAGE_SIZE) ||
				  page_end(s) <= ALIGN_DOWN(o->vaddr, PAGE_SIZE));
		}
	}
	cr_assert(entry_in_x);
}

/* Random corruption of a valid image: never an out-of-bounds read; whatever passes is sane. */
Test(elf, random_corruption_never_yields_an_unsafe_image)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned accepted = 0;

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = LEN;
		build_default();
		for (int k = 0; k < 1 + iter % 4; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			img[(rng >> 33) % (64 + 2 * PH_SIZE)] = (uint8_t)(rng >> 20);
		}
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		if (iter % 8 == 0) {
			len = (rng >> 33) % LEN;
		}
		if (parse_len(len, VA_LIMIT) == VIREO_OK) {
			check_accepted(len);
			accepted++;
		}
	}
	cr_assert_gt(accepted, 100);
}

/* ---------------------------------------------------------------- elf_copy_page */

static uint8_t page[PAGE_SIZE];

static void check_page(size_t from, size_t to, size_t file_off)
{
	for (size_t i = 0; i < PAGE_SIZE; i++) {
		uint8_t want = (i >= from && i < to) ? pattern(file_off + (i - from)) : 0;
		cr_assert_eq(page[i], want, "byte %#zx: %#x, want %#x", i, page[i], want);
	}
}

Test(elf, copy_page_copies_whole_file_pages)
{
	cr_assert_eq(parse(), VIREO_OK);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[0], 0x401000, page);
	check_page(0, PAGE_SIZE, 0x1000);
}

Test(elf, copy_page_zero_fills_after_the_file_bytes)
{
	cr_assert_eq(parse(), VIREO_OK);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[0], 0x402000, page);
	check_page(0, 0x800, 0x2000);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[1], 0x403000, page);
	check_page(0, 0x234, 0x3000);
}

Test(elf, copy_page_gives_zeros_for_pure_bss)
{
	cr_assert_eq(parse(), VIREO_OK);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[1], 0x405000, page);
	check_page(0, 0, 0);
}

Test(elf, copy_page_zero_fills_before_a_segment_starting_mid_page)
{
	struct seg_spec s[] = { { PT_LOAD, PF_R | PF_X, 0x1234, 0x401234, 0x100, 0x200 } };
	build(s, 1, 0x401234, LEN);
	cr_assert_eq(parse(), VIREO_OK);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[0], 0x401000, page);
	check_page(0x234, 0x334, 0x1234);
}

Test(elf, copy_page_outside_the_segment_gives_zeros)
{
	cr_assert_eq(parse(), VIREO_OK);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[0], 0x403000, page);
	check_page(0, 0, 0);
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &out.seg[1], 0x400000, page);
	check_page(0, 0, 0);
}

Test(elf, copy_page_at_the_top_of_the_address_space_does_not_wrap)
{
	struct elf_segment s = { 0xfffffffffffff800ull, 0x800, 0x1800, 0x800, ELF_SEG_R };
	memset(page, 0xcc, sizeof(page));
	elf_copy_page(img, &s, 0xfffffffffffff000ull, page);
	check_page(0x800, PAGE_SIZE, 0x1800);
}

Test(elf, copy_page_loads_a_whole_image)
{
	/* the loader's loop: every page of every segment, compared byte by byte */
	cr_assert_eq(parse(), VIREO_OK);
	for (size_t i = 0; i < out.nseg; i++) {
		const struct elf_segment *s = &out.seg[i];
		for (uint64_t va = ALIGN_DOWN(s->vaddr, PAGE_SIZE); va < s->vaddr + s->memsz;
		     va += PAGE_SIZE) {
			elf_copy_page(img, s, va, page);
			for (uint64_t b = 0; b < PAGE_SIZE; b++) {
				uint64_t a = va + b;
				uint8_t want = (a >= s->vaddr && a < s->vaddr + s->filesz)
						       ? img[s->offset + (a - s->vaddr)]
						       : 0;
				cr_assert_eq(page[b], want);
			}
		}
	}
}

Test(elf, copy_page_with_unaligned_page_panics, .signal = SIGABRT)
{
	cr_assert_eq(parse(), VIREO_OK);
	elf_copy_page(img, &out.seg[0], 0x401010, page);
}
