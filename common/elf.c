/* SPDX-License-Identifier: MIT */
/*
 * ELF64 executable validation: every check an untrusted boot module passes before the kernel maps
 * it. Formats from the System V gABI ("ELF-64 Object File Format", chapters "ELF Header" and
 * "Program Header") and the AMD64 psABI (EM_X86_64, 4 KiB pages).
 */
#include "elf.h"

#include <stdbool.h>

#include "check.h"
#include "kstring.h"

#define PAGE_SIZE ((uint64_t)ELF_PAGE_SIZE)
#define PAGE_MASK (PAGE_SIZE - 1)

static uint64_t page_down(uint64_t x)
{
	return x & ~PAGE_MASK;
}

/* Wraps to 0 at the top of the address space; callers check. */
static uint64_t page_up(uint64_t x)
{
	return page_down(x + PAGE_MASK);
}

#define ELFMAG "\177ELF"
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_X 0x1
#define PF_W 0x2
#define PF_R 0x4

struct elf64_ehdr {
	uint8_t ident[16];  /* 0x00 */
	uint16_t type;	    /* 0x10 */
	uint16_t machine;   /* 0x12 */
	uint32_t version;   /* 0x14 */
	uint64_t entry;	    /* 0x18 */
	uint64_t phoff;	    /* 0x20 */
	uint64_t shoff;	    /* 0x28 */
	uint32_t flags;	    /* 0x30 */
	uint16_t ehsize;    /* 0x34 */
	uint16_t phentsize; /* 0x36 */
	uint16_t phnum;	    /* 0x38 */
	uint16_t shentsize; /* 0x3a */
	uint16_t shnum;	    /* 0x3c */
	uint16_t shstrndx;  /* 0x3e */
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header is 64 bytes");

struct elf64_phdr {
	uint32_t type;	 /* 0x00 */
	uint32_t flags;	 /* 0x04 */
	uint64_t offset; /* 0x08 */
	uint64_t vaddr;	 /* 0x10 */
	uint64_t paddr;	 /* 0x18 */
	uint64_t filesz; /* 0x20 */
	uint64_t memsz;	 /* 0x28 */
	uint64_t align;	 /* 0x30 */
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header is 56 bytes");

/* Does [off, off + n) lie inside a file of len bytes? Written so nothing can overflow. */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static bool header_ok(const struct elf64_ehdr *eh, size_t len)
{
	if (memcmp(eh->ident, ELFMAG, 4) != 0 || eh->ident[EI_CLASS] != ELFCLASS64 ||
	    eh->ident[EI_DATA] != ELFDATA2LSB || eh->ident[EI_VERSION] != EV_CURRENT) {
		return false;
	}
	if (eh->type != ET_EXEC || eh->machine != EM_X86_64 || eh->version != EV_CURRENT) {
		return false;
	}
	if (eh->phentsize != sizeof(struct elf64_phdr)) {
		return false;
	}
	/* phnum is 16 bits, so the product cannot overflow. */
	return in_file(eh->phoff, (uint64_t)eh->phnum * sizeof(struct elf64_phdr), len);
}

/* Program headers need not be aligned in the image: copy them out. */
static void read_phdr(const void *img, const struct elf64_ehdr *eh, unsigned i,
		      struct elf64_phdr *ph)
{
	memcpy(ph, (const uint8_t *)img + eh->phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* The segment's pages lie in [PAGE_SIZE, va_limit): page 0 stays unmapped to catch NULL. */
static bool segment_va_ok(const struct elf64_phdr *ph, uint64_t va_limit)
{
	uint64_t end = ph->vaddr + ph->memsz;
	uint64_t page_end = page_up(end);

	if (ph->vaddr < PAGE_SIZE || end < ph->vaddr || page_end < end) {
		return false;
	}
	return page_end <= va_limit;
}

static bool segment_ok(const struct elf64_phdr *ph, size_t len, uint64_t va_limit)
{
	if (!in_file(ph->offset, ph->filesz, len) || ph->filesz > ph->memsz) {
		return false;
	}
	/* File and virtual pages must line up, or a page could not come straight from the file. */
	if (((ph->vaddr - ph->offset) & PAGE_MASK) != 0) {
		return false;
	}
	return segment_va_ok(ph, va_limit);
}

/* x86 page tables cannot express write-only or execute-only, so every segment is readable. */
static unsigned segment_attr(uint32_t flags)
{
	unsigned attr = ELF_SEG_R;

	if (flags & PF_W) {
		attr |= ELF_SEG_W;
	}
	if (flags & PF_X) {
		attr |= ELF_SEG_X;
	}
	return attr;
}

static uint64_t seg_first_page(const struct elf_segment *s)
{
	return page_down(s->vaddr);
}

/* Exclusive end of the last page; segment_va_ok made sure it does not wrap. */
static uint64_t seg_page_end(const struct elf_segment *s)
{
	return page_up(s->vaddr + s->memsz);
}

/* Two segments in one page would need one frame with two sets of contents or rights. */
static bool share_a_page(const struct elf_segment *a, const struct elf_segment *b)
{
	return seg_first_page(a) < seg_page_end(b) && seg_first_page(b) < seg_page_end(a);
}

static enum vireo_status add_segment(struct elf_image *out, const struct elf64_phdr *ph)
{
	struct elf_segment s = {
		.vaddr = ph->vaddr,
		.memsz = ph->memsz,
		.offset = ph->offset,
		.filesz = ph->filesz,
		.attr = segment_attr(ph->flags),
	};

	if (out->nseg == ELF_MAX_SEGMENTS) {
		return VIREO_BAD_PAR;
	}
	for (size_t i = 0; i < out->nseg; i++) {
		if (share_a_page(&out->seg[i], &s)) {
			return VIREO_BAD_PAR;
		}
	}
	out->seg[out->nseg++] = s;
	return VIREO_OK;
}

static bool entry_ok(const struct elf_image *img, uint64_t entry)
{
	for (size_t i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		if ((s->attr & ELF_SEG_X) && entry >= s->vaddr && entry - s->vaddr < s->memsz) {
			return true;
		}
	}
	return false;
}

static enum vireo_status parse_segments(const void *img, size_t len, const struct elf64_ehdr *eh,
					uint64_t va_limit, struct elf_image *out)
{
	for (unsigned i = 0; i < eh->phnum; i++) {
		struct elf64_phdr ph;
		read_phdr(img, eh, i, &ph);
		if (ph.type != PT_LOAD) {
			continue;
		}
		if (!segment_ok(&ph, len, va_limit)) {
			return VIREO_BAD_PAR;
		}
		/* An empty segment maps nothing: it can neither overlap nor hold the entry. */
		if (ph.memsz == 0) {
			continue;
		}
		if (add_segment(out, &ph) != VIREO_OK) {
			return VIREO_BAD_PAR;
		}
	}
	return out->nseg > 0 ? VIREO_OK : VIREO_BAD_PAR;
}

enum vireo_status elf_parse(const void *img, size_t len, uint64_t va_limit, struct elf_image *out)
{
	struct elf64_ehdr eh;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(eh)) {
		return VIREO_BAD_PAR;
	}
	memcpy(&eh, img, sizeof(eh));
	if (!header_ok(&eh, len) || parse_segments(img, len, &eh, va_limit, out) != VIREO_OK ||
	    !entry_ok(out, eh.entry)) {
		memset(out, 0, sizeof(*out));
		return VIREO_BAD_PAR;
	}
	out->entry = eh.entry;
	return VIREO_OK;
}

void elf_copy_page(const void *img, const struct elf_segment *s, uint64_t page_va, void *dst_page)
{
	uint8_t *dst = dst_page;
	const uint8_t *src;
	uint64_t page_last = page_va + PAGE_MASK;
	uint64_t lo, hi;

	CHECK((page_va & PAGE_MASK) == 0);
	memset(dst, 0, PAGE_SIZE);
	if (s->filesz == 0) {
		return;
	}
	/* Inclusive bounds, so a page at the top of the address space does not wrap. */
	lo = page_va > s->vaddr ? page_va : s->vaddr;
	hi = s->vaddr + s->filesz - 1;
	hi = page_last < hi ? page_last : hi;
	if (lo > hi) {
		return;
	}
	src = (const uint8_t *)img + s->offset + (lo - s->vaddr);
	memcpy(dst + (lo - page_va), src, hi - lo + 1);
}
