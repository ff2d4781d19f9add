/* SPDX-License-Identifier: MIT */
/*
 * Validation of ELF64 executables from boot modules (untrusted input) and page-by-page loading,
 * shared by the kernel (the roottask's image) and the roottask (every other task's image).
 */
#ifndef COMMON_ELF_H
#define COMMON_ELF_H

#include <stddef.h>
#include <stdint.h>
#include <vireo/status.h>

#define ELF_MAX_SEGMENTS 16
#define ELF_PAGE_SIZE 4096u /* the AMD64 psABI page size segments are aligned to */

/* Segment rights: every segment is readable (x86 cannot map write- or execute-only). */
#define ELF_SEG_R 0x1u
#define ELF_SEG_W 0x2u
#define ELF_SEG_X 0x4u

/* One PT_LOAD segment; attr is ELF_SEG_R plus ELF_SEG_W / ELF_SEG_X from the segment's flags. */
struct elf_segment {
	uint64_t vaddr, memsz, offset, filesz;
	unsigned attr;
};

struct elf_image {
	uint64_t entry;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	size_t nseg; /* in program-header order; no two segments share a 4 KiB page */
};

/*
 * Check the x86-64 executable img[0, len) and describe what to map. Every segment lies inside the
 * file and inside [ELF_PAGE_SIZE, va_limit) (va_limit is exclusive and should be page aligned), and
 * the entry point is in an executable segment. VIREO_BAD_PAR for anything else.
 */
enum vireo_status elf_parse(const void *img, size_t len, uint64_t va_limit, struct elf_image *out);

/*
 * Fill the 4 KiB page dst_page that will map virtual page page_va (page aligned, else CHECK fails) with what
 * segment s of img (as described by elf_parse) puts there: its file bytes, and zeros for the bss
 * and for the parts of the page outside the segment.
 */
void elf_copy_page(const void *img, const struct elf_segment *s, uint64_t page_va, void *dst_page);

#endif
