/* SPDX-License-Identifier: MIT */
/* Defensive parser of the multiboot (version 1) boot information (Multiboot Specification 0.6.96). */
#include "x86/multiboot1.h"

#include "kstring.h"

/* Flags of the boot information: which fields are valid. */
#define MB1_INFO_MEMORY (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)

/* Offsets in the fixed structure, which has 88 bytes up to and including the APM table field. */
#define MB1_INFO_SIZE 88u
#define MB1_MEM_LOWER 4u
#define MB1_MEM_UPPER 8u
#define MB1_CMDLINE 16u
#define MB1_MODS_COUNT 20u
#define MB1_MODS_ADDR 24u
#define MB1_MMAP_LENGTH 44u
#define MB1_MMAP_ADDR 48u
#define MB1_LOADER_NAME 64u
#define MB1_MODULE_SIZE 16u    /* u32 mod_start, mod_end, string, reserved */
#define MB1_MMAP_ENTRY_MIN 20u /* after the u32 size: u64 base_addr, u64 length, u32 type */
#define MB1_STRING_MAX 4096u
#define MB1_MAX_MODULES_READ 64u /* more are counted as dropped without reading them */

struct mb1 {
	mb1_phys_fn phys;
	void *ctx;
	struct mb2_info *out;
};

static void reserve(struct mb1 *m, uint64_t pa, uint64_t len)
{
	struct mb2_info *o = m->out;
	if (o->nreserved == MB2_MAX_RANGES) {
		o->ndropped_reserved++;
		return;
	}
	o->reserved[o->nreserved++] = (struct mem_range){ pa, len };
}

/* The NUL-terminated string at pa, read byte by byte (it may end just before unreadable memory). */
static const char *string_at(struct mb1 *m, uint64_t pa)
{
	const char *s = m->phys(pa, 1, m->ctx);
	for (uint32_t n = 0; s && n < MB1_STRING_MAX; n++) {
		const char *c = m->phys(pa + n, 1, m->ctx);
		if (!c) {
			return NULL;
		}
		if (!*c) {
			reserve(m, pa, n + 1);
			return s;
		}
	}
	return NULL;
}

/* A command line without its first word (the kernel's or module's path). */
static const char *without_path(const char *s)
{
	while (*s == ' ') {
		s++;
	}
	while (*s && *s != ' ') {
		s++;
	}
	while (*s == ' ') {
		s++;
	}
	return s;
}

static status_t parse_modules(struct mb1 *m, uint32_t count, uint64_t addr)
{
	struct mb2_info *o = m->out;
	uint32_t nread = count < MB1_MAX_MODULES_READ ? count : MB1_MAX_MODULES_READ;
	const uint8_t *list = m->phys(addr, (size_t)nread * MB1_MODULE_SIZE, m->ctx);
	if (nread && !list) {
		return VIREO_BAD_PAR;
	}
	reserve(m, addr, (uint64_t)nread * MB1_MODULE_SIZE);
	o->ndropped_modules += count - nread;
	for (uint32_t i = 0; i < nread; i++) {
		const uint8_t *e = list + i * MB1_MODULE_SIZE;
		uint32_t start = mb_load32(e), end = mb_load32(e + 4), str = mb_load32(e + 8);
		const char *s = str ? string_at(m, str) : "";
		if (start > end || !s) {
			return VIREO_BAD_PAR;
		}
		if (o->nmodules == MB2_MAX_MODULES) {
			o->ndropped_modules++;
			continue;
		}
		o->modules[o->nmodules++] = (struct mb2_module){ start, end, without_path(s) };
	}
	return VIREO_OK;
}

static void add_entry(struct mb2_info *o, uint64_t base, uint64_t len, uint32_t type)
{
	struct mem_range *r = type == 1 ? o->avail : o->reserved;
	size_t *n = type == 1 ? &o->navail : &o->nreserved;
	size_t *dropped = type == 1 ? &o->ndropped_avail : &o->ndropped_reserved;
	if (len == 0) {
		return;
	}
	if (len > UINT64_MAX - base) {
		len = UINT64_MAX - base;
	}
	if (*n == MB2_MAX_RANGES) {
		(*dropped)++;
		return;
	}
	r[(*n)++] = (struct mem_range){ base, len };
}

static status_t parse_mmap(struct mb1 *m, uint32_t length, uint64_t addr)
{
	const uint8_t *map = m->phys(addr, length, m->ctx);
	if (!map) {
		return VIREO_BAD_PAR;
	}
	for (uint32_t off = 0; off < length;) {
		if (length - off < 4) {
			return VIREO_BAD_PAR;
		}
		uint32_t size = mb_load32(map + off);
		if (size < MB1_MMAP_ENTRY_MIN || size > length - off - 4) {
			return VIREO_BAD_PAR;
		}
		const uint8_t *e = map + off + 4;
		add_entry(m->out, mb_load64(e), mb_load64(e + 8), mb_load32(e + 16));
		off += size + 4;
	}
	return VIREO_OK;
}

static status_t parse(struct mb1 *m, const uint8_t *info, uint64_t info_pa)
{
	struct mb2_info *o = m->out;
	uint32_t flags = mb_load32(info);
	status_t st = VIREO_OK;
	if (!(flags & MB1_INFO_MMAP)) {
		return VIREO_BAD_PAR;
	}
	reserve(m, info_pa, MB1_INFO_SIZE);
	if (flags & MB1_INFO_MEMORY) {
		o->has_meminfo = true;
		o->mem_lower_kb = mb_load32(info + MB1_MEM_LOWER);
		o->mem_upper_kb = mb_load32(info + MB1_MEM_UPPER);
	}
	if (flags & MB1_INFO_CMDLINE) {
		const char *s = string_at(m, mb_load32(info + MB1_CMDLINE));
		if (!s) {
			return VIREO_BAD_PAR;
		}
		o->cmdline = without_path(s);
	}
	if ((flags & MB1_INFO_LOADER_NAME) &&
	    !(o->loader_name = string_at(m, mb_load32(info + MB1_LOADER_NAME)))) {
		return VIREO_BAD_PAR;
	}
	if (flags & MB1_INFO_MODS) {
		st = parse_modules(m, mb_load32(info + MB1_MODS_COUNT),
				   mb_load32(info + MB1_MODS_ADDR));
	}
	if (st == VIREO_OK) {
		uint32_t len = mb_load32(info + MB1_MMAP_LENGTH);
		uint64_t addr = mb_load32(info + MB1_MMAP_ADDR);
		st = parse_mmap(m, len, addr);
		if (st == VIREO_OK) {
			reserve(m, addr, len);
		}
	}
	return st;
}

status_t mb1_parse(uint64_t info_pa, mb1_phys_fn phys, void *ctx, struct mb2_info *out)
{
	if (!out) {
		return VIREO_BAD_PAR;
	}
	memset(out, 0, sizeof(*out));
	const uint8_t *info = phys ? phys(info_pa, MB1_INFO_SIZE, ctx) : NULL;
	if (!info) {
		return VIREO_BAD_PAR;
	}
	struct mb1 m = { phys, ctx, out };
	status_t st = parse(&m, info, info_pa);
	if (st != VIREO_OK) {
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->total_size = MB1_INFO_SIZE;
	return VIREO_OK;
}
