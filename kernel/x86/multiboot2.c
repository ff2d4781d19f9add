/* SPDX-License-Identifier: MIT */
/* Defensive parser of the multiboot2 boot information (GRUB multiboot2 spec, boot info). */
#include "x86/multiboot2.h"

#include "kstring.h"

/* Sizes and offsets from the spec; all fields little-endian, tags 8-byte aligned. */
#define MB2_HEADER_SIZE 8u     /* u32 total_size, u32 reserved */
#define MB2_TAG_HEADER_SIZE 8u /* u32 type, u32 size */
#define MB2_TAG_ALIGN 8u
#define MB2_MODULE_STRING 16u  /* u32 type, size, mod_start, mod_end, then the string */
#define MB2_MMAP_ENTRIES 16u   /* u32 type, size, entry_size, entry_version, then entries */
#define MB2_MMAP_ENTRY_MIN 24u /* u64 base_addr, u64 length, u32 type, u32 reserved */
#define MB2_MEMINFO_SIZE 16u   /* u32 type, size, mem_lower, mem_upper */
#define ACPI_RSDP_V1_LEN 20u
#define ACPI_RSDP_V2_LEN 36u

/* One tag, already checked to lie inside the boot information. */
struct tag {
	const uint8_t *p;
	uint32_t type;
	uint32_t size; /* >= MB2_TAG_HEADER_SIZE, without padding */
};

/* The NUL-terminated string at offset off of the tag, or NULL when it has no NUL inside the tag. */
static const char *tag_string(const struct tag *t, uint32_t off)
{
	if (t->size <= off) {
		return NULL;
	}
	const char *s = (const char *)t->p + off;
	return strnlen(s, t->size - off) < t->size - off ? s : NULL;
}

/* First occurrence wins, so a bogus duplicate tag cannot override what the loader put first. */
static status_t parse_string(const struct tag *t, const char **dst)
{
	const char *s = tag_string(t, MB2_TAG_HEADER_SIZE);
	if (!s) {
		return VIREO_BAD_PAR;
	}
	if (!*dst) {
		*dst = s;
	}
	return VIREO_OK;
}

static status_t parse_module(const struct tag *t, struct mb2_info *out)
{
	const char *cmdline = tag_string(t, MB2_MODULE_STRING);
	if (!cmdline) {
		return VIREO_BAD_PAR;
	}
	uint32_t start = mb_load32(t->p + 8);
	uint32_t end = mb_load32(t->p + 12);
	if (start > end) {
		return VIREO_BAD_PAR;
	}
	if (out->nmodules == MB2_MAX_MODULES) {
		out->ndropped_modules++;
		return VIREO_OK;
	}
	out->modules[out->nmodules++] = (struct mb2_module){ start, end, cmdline };
	return VIREO_OK;
}

static status_t parse_meminfo(const struct tag *t, struct mb2_info *out)
{
	if (t->size < MB2_MEMINFO_SIZE) {
		return VIREO_BAD_PAR;
	}
	if (!out->has_meminfo) {
		out->has_meminfo = true;
		out->mem_lower_kb = mb_load32(t->p + 8);
		out->mem_upper_kb = mb_load32(t->p + 12);
	}
	return VIREO_OK;
}

static void add_range(struct mem_range *ranges, size_t *n, size_t *ndropped, uint64_t base,
		      uint64_t len)
{
	if (*n == MB2_MAX_RANGES) {
		(*ndropped)++;
		return;
	}
	ranges[(*n)++] = (struct mem_range){ base, len };
}

static void parse_mmap_entry(const uint8_t *e, struct mb2_info *out)
{
	uint64_t base = mb_load64(e);
	uint64_t len = mb_load64(e + 8);
	uint32_t type = mb_load32(e + 16);

	if (len == 0) {
		return;
	}
	if (len > UINT64_MAX - base) {
		len = UINT64_MAX - base;
	}
	if (type == MB2_MMAP_AVAILABLE) {
		add_range(out->avail, &out->navail, &out->ndropped_avail, base, len);
	} else {
		add_range(out->reserved, &out->nreserved, &out->ndropped_reserved, base, len);
	}
}

static status_t parse_mmap(const struct tag *t, struct mb2_info *out)
{
	if (t->size < MB2_MMAP_ENTRIES) {
		return VIREO_BAD_PAR;
	}
	/* entry_version is 0 today; later versions only append fields, which entry_size skips. */
	uint32_t entry_size = mb_load32(t->p + 8);
	uint32_t bytes = t->size - MB2_MMAP_ENTRIES;
	if (entry_size < MB2_MMAP_ENTRY_MIN || entry_size % 8 || bytes % entry_size) {
		return VIREO_BAD_PAR;
	}
	for (uint32_t off = 0; off < bytes; off += entry_size) {
		parse_mmap_entry(t->p + MB2_MMAP_ENTRIES + off, out);
	}
	return VIREO_OK;
}

static status_t parse_rsdp(const struct tag *t, int version, struct mb2_info *out)
{
	size_t len = t->size - MB2_TAG_HEADER_SIZE;
	if (len < (version == 2 ? ACPI_RSDP_V2_LEN : ACPI_RSDP_V1_LEN)) {
		return VIREO_BAD_PAR;
	}
	/* The new RSDP reaches the XSDT, so it wins whatever the tag order. */
	if (version > out->rsdp_version) {
		out->rsdp = t->p + MB2_TAG_HEADER_SIZE;
		out->rsdp_len = len;
		out->rsdp_version = version;
	}
	return VIREO_OK;
}

static status_t parse_tag(const struct tag *t, struct mb2_info *out)
{
	switch (t->type) {
	case MB2_TAG_CMDLINE:
		return parse_string(t, &out->cmdline);
	case MB2_TAG_LOADER_NAME:
		return parse_string(t, &out->loader_name);
	case MB2_TAG_MODULE:
		return parse_module(t, out);
	case MB2_TAG_BASIC_MEMINFO:
		return parse_meminfo(t, out);
	case MB2_TAG_MMAP:
		return parse_mmap(t, out);
	case MB2_TAG_ACPI_OLD:
		return parse_rsdp(t, 1, out);
	case MB2_TAG_ACPI_NEW:
		return parse_rsdp(t, 2, out);
	default:
		return VIREO_OK;
	}
}

/* Walks the tags of [p, p + total) up to the end tag; every read stays below p + total. */
static status_t parse_tags(const uint8_t *p, uint32_t total, struct mb2_info *out)
{
	uint32_t off = MB2_HEADER_SIZE;

	for (;;) {
		if (total - off < MB2_TAG_HEADER_SIZE) {
			return VIREO_BAD_PAR; /* ran out before an end tag */
		}
		struct tag t = { p + off, mb_load32(p + off), mb_load32(p + off + 4) };
		if (t.size < MB2_TAG_HEADER_SIZE || t.size > total - off) {
			return VIREO_BAD_PAR;
		}
		if (t.type == MB2_TAG_END) {
			return VIREO_OK;
		}
		status_t st = parse_tag(&t, out);
		if (st != VIREO_OK) {
			return st;
		}
		uint64_t next = ALIGN_UP((uint64_t)t.size, MB2_TAG_ALIGN);
		if (next > total - off) {
			return VIREO_BAD_PAR; /* the padding, hence the end tag, lies outside */
		}
		off += (uint32_t)next;
	}
}

status_t mb2_parse(const void *info, size_t readable_len, struct mb2_info *out)
{
	if (!out) {
		return VIREO_BAD_PAR;
	}
	memset(out, 0, sizeof(*out));
	if (!info || readable_len < MB2_HEADER_SIZE + MB2_TAG_HEADER_SIZE) {
		return VIREO_BAD_PAR;
	}
	uint32_t total = mb_load32(info);
	if (total < MB2_HEADER_SIZE + MB2_TAG_HEADER_SIZE || total > readable_len) {
		return VIREO_BAD_PAR;
	}
	status_t st = parse_tags(info, total, out);
	if (st != VIREO_OK) {
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->total_size = total;
	return VIREO_OK;
}
