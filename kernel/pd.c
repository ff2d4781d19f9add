/* SPDX-License-Identifier: MIT */
/* Protection domains: memory spaces built from frames, and the checked user-copy helpers. */
#include "pd.h"

#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "kstring.h"
#include "slab.h"
#include "x86/cpu.h"
#include "x86/memlayout.h"

struct pt kernel_pt;
static struct slab_cache pd_cache;

static paddr_t table_alloc(void *ctx)
{
	(void)ctx;
	return frame_alloc(0);
}

static void table_free(void *ctx, paddr_t pa)
{
	(void)ctx;
	frame_free(pa, 0);
}

const struct pt_alloc kernel_pt_alloc = { table_alloc, table_free, NULL };

void pd_init_kernel(paddr_t root)
{
	kernel_pt = (struct pt){ .root = root, .fmt = PT_FMT_X86, .alloc = &kernel_pt_alloc };
	slab_cache_init(&pd_cache, "pd", sizeof(struct pd), 64);
}

struct pd *pd_create(const char *name)
{
	struct pd *pd = slab_alloc(&pd_cache);
	if (!pd) {
		return NULL;
	}
	if (pt_init(&pd->pt, PT_FMT_X86, &kernel_pt_alloc) != VIREO_OK) {
		slab_free(&pd_cache, pd);
		return NULL;
	}
	pt_share_top(&pd->pt, &kernel_pt, PML4_KERNEL_FIRST, PML4_ENTRIES);
	memcpy(pd->name, name, strnlen(name, sizeof(pd->name) - 1));
	return pd;
}

static void free_range_frames(struct pd *pd, uint64_t va, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		paddr_t pa;
		if (pt_lookup(&pd->pt, va + off, &pa, NULL, NULL)) {
			frame_free(pa, 0);
		}
	}
}

status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) || size == 0 ||
	    va + size < va || va + size > USER_END) {
		return VIREO_BAD_PAR;
	}
	if (pd->nanon == PD_MAX_ANON) {
		return VIREO_NO_MEM;
	}
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		paddr_t pa = frame_alloc(0);
		status_t st = pa_valid(pa) ? VIREO_OK : VIREO_NO_MEM;
		if (st == VIREO_OK) {
			memset(phys_to_virt(pa), 0, PAGE_SIZE);
			st = pt_map(&pd->pt, va + off, pa, PAGE_SIZE, attr | MAP_U, 0);
			if (st != VIREO_OK) {
				frame_free(pa, 0);
			}
		}
		if (st != VIREO_OK) {
			free_range_frames(pd, va, off);
			pt_unmap(&pd->pt, va, off);
			return st;
		}
	}
	pd->anon[pd->nanon++] = (struct pd_anon){ va, size };
	return VIREO_OK;
}

void pd_activate(struct pd *pd)
{
	uint64_t root = pa_addr(pd ? pd->pt.root : kernel_pt.root);
	if (read_cr3() != root) {
		write_cr3(root);
	}
}

/* Kernel pointer to user address `uva` if the page is mapped with at least `need` rights. */
static void *user_ptr(struct pd *pd, uint64_t uva, unsigned need)
{
	paddr_t pa;
	unsigned attr;
	if (uva >= USER_END || !pt_lookup(&pd->pt, uva, &pa, &attr, NULL)) {
		return NULL;
	}
	if ((attr & (need | MAP_U)) != (need | MAP_U)) {
		return NULL;
	}
	return phys_to_virt(pa);
}

static status_t copy_user(struct pd *pd, uint64_t uva, void *kbuf, size_t len, bool to_user)
{
	if (uva + len < uva || uva + len > USER_END) {
		return VIREO_BAD_PAR;
	}
	unsigned char *k = kbuf;
	while (len) {
		size_t chunk = MIN(len, PAGE_SIZE - (uva & PAGE_MASK));
		void *u = user_ptr(pd, uva, to_user ? (MAP_R | MAP_W) : MAP_R);
		if (!u) {
			return VIREO_BAD_PAR;
		}
		if (to_user) {
			memcpy(u, k, chunk);
		} else {
			memcpy(k, u, chunk);
		}
		k += chunk;
		uva += chunk;
		len -= chunk;
	}
	return VIREO_OK;
}

status_t pd_copy_from_user(struct pd *pd, void *dst, uint64_t uva, size_t len)
{
	return copy_user(pd, uva, dst, len, false);
}

status_t pd_copy_to_user(struct pd *pd, uint64_t uva, const void *src, size_t len)
{
	return copy_user(pd, uva, (void *)src, len, true);
}

void pd_put(struct pd *pd)
{
	CHECK(pd->refs > 0);
	if (--pd->refs) {
		return;
	}
	if (read_cr3() == pa_addr(pd->pt.root)) {
		write_cr3(pa_addr(kernel_pt.root));
	}
	for (unsigned i = 0; i < pd->nanon; i++) {
		free_range_frames(pd, pd->anon[i].va, pd->anon[i].size);
	}
	pt_destroy(&pd->pt);
	slab_free(&pd_cache, pd);
}
