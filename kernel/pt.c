/* SPDX-License-Identifier: MIT */
/*
 * The 4-level page-table walker behind host page tables, AMD NPT and Intel EPT (formats in
 * x86/pte.h). Every change is prepared, then committed: a first walk counts the table pages the
 * change needs and allocates all of them into a private pool, a second walk applies the change and
 * cannot fail (Hafnium's mm.c prepare/commit). So an allocation failure leaves the table untouched.
 */
#include "pt.h"

#include "arch.h"
#include "assert.h"
#include "kstring.h"
#include "x86/pte.h"

typedef uint64_t pte_t;

#define TOP_LEVEL (PT_LEVELS - 1)
#define X86_HALF (1ull << 47)		/* first non-canonical address of the lower half */
#define X86_UPPER 0xffff800000000000ull /* first canonical address of the upper half */
#define GPA_LIMIT (1ull << 48)		/* what four levels of EPT/NPT translate */
#define PA_LIMIT (1ull << 52)		/* architectural MAXPHYADDR limit */

/* Table pages allocated ahead of a commit, linked through their first word. */
struct pt_pool {
	paddr_t head;
	uint64_t count;
};

/* One pt_map or pt_unmap in progress. */
struct pt_op {
	struct pt *pt;
	uint64_t va; /* first address of the whole range */
	uint64_t pa; /* where va goes (pt_map only) */
	unsigned attr;
	unsigned flags;
	struct pt_pool pool;
};

static unsigned level_shift(int level)
{
	return PAGE_SHIFT + PTE_INDEX_BITS * (unsigned)level;
}

static uint64_t level_size(int level)
{
	return 1ull << level_shift(level);
}

static unsigned pt_index(uint64_t va, int level)
{
	return (va >> level_shift(level)) & (PTE_PER_TABLE - 1);
}

static pte_t *table_of(paddr_t pa)
{
	return phys_to_virt(pa);
}

/* A single 64-bit access: the CPU's walker (and its A/D updates) may race with us. */
static pte_t pte_read(const pte_t *e)
{
	return __atomic_load_n(e, __ATOMIC_RELAXED);
}

/* Release order: a table's contents are written before the entry that publishes it. */
static void pte_write(pte_t *e, pte_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

static bool is_ept(const struct pt *pt)
{
	return pt->fmt == PT_FMT_EPT;
}

/* EPT has no present bit: an entry that allows no access at all is not present. */
static bool pte_present(const struct pt *pt, pte_t e)
{
	return is_ept(pt) ? (e & EPT_RWX) != 0 : (e & PTE_P) != 0;
}

/* Bit 7 is PS (x86) and "large page" (EPT) alike; only PDPTEs and PDEs may map pages directly. */
static bool pte_is_leaf(const struct pt *pt, pte_t e, int level)
{
	if (!pte_present(pt, e) || level == TOP_LEVEL) {
		return false;
	}
	return level == 0 || (e & PTE_PS) != 0;
}

static bool pte_is_table(const struct pt *pt, pte_t e, int level)
{
	return level > 0 && pte_present(pt, e) && !pte_is_leaf(pt, e, level);
}

static paddr_t pte_table_addr(pte_t e)
{
	return pa_init(e & PTE_ADDR_MASK);
}

static uint64_t leaf_addr_mask(int level)
{
	static const uint64_t mask[] = { PTE_ADDR_MASK, PTE_ADDR_MASK_2M, PTE_ADDR_MASK_1G };
	return mask[level];
}

/* Non-leaf entries grant everything; the leaf decides (Intel SDM Vol. 3A §4.6 access rights). */
static pte_t make_table(const struct pt *pt, paddr_t table)
{
	if (is_ept(pt)) {
		return pa_addr(table) | EPT_RWX;
	}
	return pa_addr(table) | PTE_P | PTE_RW | PTE_US;
}

static pte_t make_leaf_x86(const struct pt *pt, int level, uint64_t pa, unsigned attr)
{
	pte_t e = pa | PTE_P;

	if (attr & MAP_W) {
		e |= PTE_RW;
	}
	/* NPT walks are user accesses (AMD APM Vol. 2 §15.25.5), so guest memory is always U. */
	if ((attr & MAP_U) || pt->fmt == PT_FMT_NPT) {
		e |= PTE_US;
	}
	if (!(attr & MAP_X)) {
		e |= PTE_NX;
	}
	if (attr & MAP_G) {
		e |= PTE_G;
	}
	/* PAT entry 3 (PCD|PWT) is UC in the power-on PAT (Intel SDM Vol. 3A §11.12.4). */
	if (attr & MAP_UC) {
		e |= PTE_PCD | PTE_PWT;
	}
	if (level > 0) {
		e |= PTE_PS;
	}
	return e;
}

static pte_t make_leaf_ept(int level, uint64_t pa, unsigned attr)
{
	pte_t e = pa;

	if (attr & MAP_R) {
		e |= EPT_R;
	}
	if (attr & MAP_W) {
		e |= EPT_W;
	}
	if (attr & MAP_X) {
		e |= EPT_X;
	}
	e |= ((attr & MAP_UC) ? EPT_MT_UC : EPT_MT_WB) << EPT_MT_SHIFT;
	if (level > 0) {
		e |= EPT_LARGE;
	}
	return e;
}

static pte_t make_leaf(const struct pt *pt, int level, uint64_t pa, unsigned attr)
{
	if (is_ept(pt)) {
		return make_leaf_ept(level, pa, attr);
	}
	return make_leaf_x86(pt, level, pa, attr);
}

static unsigned leaf_attr(const struct pt *pt, pte_t e)
{
	unsigned attr = 0;

	if (is_ept(pt)) {
		attr |= (e & EPT_R) ? MAP_R : 0;
		attr |= (e & EPT_W) ? MAP_W : 0;
		attr |= (e & EPT_X) ? MAP_X : 0;
		attr |= ((e & EPT_MT_MASK) >> EPT_MT_SHIFT) == EPT_MT_UC ? MAP_UC : 0;
		return attr;
	}
	attr = MAP_R;
	attr |= (e & PTE_RW) ? MAP_W : 0;
	attr |= (e & PTE_US) ? MAP_U : 0;
	attr |= (e & PTE_NX) ? 0 : MAP_X;
	attr |= (e & PTE_G) ? MAP_G : 0;
	attr |= (e & PTE_PCD) ? MAP_UC : 0;
	return attr;
}

/* The non-address bits a large leaf at `level` hands to the pages one level down replacing it. */
static pte_t split_flags(const struct pt *pt, pte_t e, int level)
{
	pte_t flags = e & ~leaf_addr_mask(level);

	if (level - 1 > 0) {
		return flags;
	}
	/* A 4 KiB PTE has no PS bit; its PAT bit is where PS was (Intel SDM Vol. 3A Table 4-20). */
	flags &= ~(PTE_PS | PTE_PAT_LARGE);
	if (!is_ept(pt) && (e & PTE_PAT_LARGE)) {
		flags |= PTE_PAT;
	}
	return flags;
}

/* Fill table t with leaves one level below `level` that translate exactly as leaf e did. */
static void split_into(const struct pt *pt, pte_t *t, pte_t e, int level)
{
	pte_t flags = split_flags(pt, e, level);
	uint64_t base = e & leaf_addr_mask(level);
	uint64_t step = level_size(level - 1);

	for (unsigned i = 0; i < PTE_PER_TABLE; i++) {
		t[i] = (base + i * step) | flags;
	}
}

/* ---------------------------------------------------------------- table page pool */

static void pool_add(struct pt_pool *pool, paddr_t pa)
{
	*(uint64_t *)phys_to_virt(pa) = pa_addr(pool->head);
	pool->head = pa;
	pool->count++;
}

static paddr_t pool_pop(struct pt_pool *pool)
{
	paddr_t pa = pool->head;

	CHECK(pool->count > 0);
	pool->head = pa_init(*(uint64_t *)phys_to_virt(pa));
	pool->count--;
	return pa;
}

static void pool_drain(const struct pt *pt, struct pt_pool *pool)
{
	while (pool->count > 0) {
		pt->alloc->free_page(pt->alloc->ctx, pool_pop(pool));
	}
}

static paddr_t alloc_table_page(const struct pt *pt)
{
	paddr_t pa = pt->alloc->alloc_page(pt->alloc->ctx);

	CHECK(!pa_valid(pa) || IS_ALIGNED(pa_addr(pa), PAGE_SIZE));
	return pa;
}

/* All or nothing: on failure every page taken so far goes back. */
static status_t pool_fill(const struct pt *pt, struct pt_pool *pool, uint64_t n)
{
	for (; n > 0; n--) {
		paddr_t pa = alloc_table_page(pt);
		if (!pa_valid(pa)) {
			pool_drain(pt, pool);
			return VIREO_NO_MEM;
		}
		pool_add(pool, pa);
	}
	return VIREO_OK;
}

/* A zeroed table page; the prepare step guaranteed there is one. */
static paddr_t pool_take(struct pt_pool *pool)
{
	paddr_t pa = pool_pop(pool);

	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

/* ---------------------------------------------------------------- freeing */

/* Free the table at `level` and every table below it; leaf frames belong to the caller. */
static void free_tree(const struct pt *pt, paddr_t table, int level)
{
	pte_t *t = table_of(table);

	for (unsigned i = 0; i < PTE_PER_TABLE; i++) {
		pte_t e = pte_read(&t[i]);
		if (pte_is_table(pt, e, level)) {
			free_tree(pt, pte_table_addr(e), level - 1);
		}
	}
	pt->alloc->free_page(pt->alloc->ctx, table);
}

static bool table_empty(const struct pt *pt, const pte_t *t)
{
	for (unsigned i = 0; i < PTE_PER_TABLE; i++) {
		if (pte_present(pt, pte_read(&t[i]))) {
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- range helpers */

/* Last address of the entry at `level` that covers va. */
static uint64_t entry_last(uint64_t va, int level)
{
	return va | (level_size(level) - 1);
}

/* Does [cur, clast] cover the whole entry at `level`? */
static bool covers_entry(uint64_t cur, uint64_t clast, int level)
{
	return IS_ALIGNED(cur, level_size(level)) && clast == entry_last(cur, level);
}

static bool level_allows_leaf(unsigned flags, int level)
{
	switch (level) {
	case 0:
		return true;
	case 1:
		return (flags & (PT_LARGE_OK | PT_1G_OK)) != 0;
	case 2:
		return (flags & PT_1G_OK) != 0;
	default:
		return false;
	}
}

static uint64_t op_pa(const struct pt_op *op, uint64_t va)
{
	return op->pa + (va - op->va);
}

/* Can [cur, clast] be one leaf at `level`? */
static bool map_leaf_ok(const struct pt_op *op, int level, uint64_t cur, uint64_t clast)
{
	return level_allows_leaf(op->flags, level) && covers_entry(cur, clast, level) &&
	       IS_ALIGNED(op_pa(op, cur), level_size(level));
}

/* The entries of a table at `level` that [va, last] touches, one at a time: [cur, clast] is the
 * part of the range inside the current entry. */
struct chunk {
	uint64_t cur, clast, last;
	int level;
};

static struct chunk chunk_first(uint64_t va, uint64_t last, int level)
{
	return (struct chunk){ va, MIN(entry_last(va, level), last), last, level };
}

/* Written so the walk ends at the top of the address space without wrapping around. */
static bool chunk_next(struct chunk *c)
{
	if (c->clast == c->last) {
		return false;
	}
	c->cur = c->clast + 1;
	c->clast = MIN(entry_last(c->cur, c->level), c->last);
	return true;
}

/* ---------------------------------------------------------------- pt_map */

/* Table pages needed to map [cur, clast] inside entry e at `level`. */
static uint64_t map_count(const struct pt_op *op, pte_t e, int level, uint64_t cur, uint64_t clast)
{
	bool table = pte_is_table(op->pt, e, level);
	const pte_t *t = table ? table_of(pte_table_addr(e)) : NULL;
	uint64_t n = table ? 0 : 1;
	struct chunk c;

	if (map_leaf_ok(op, level, cur, clast)) {
		return 0;
	}
	/* Below a page-directory entry everything is a 4 KiB leaf: no more tables. */
	if (level == 1) {
		return n;
	}
	c = chunk_first(cur, clast, level - 1);
	do {
		/* A new table (empty or split from a leaf) has no tables below it yet. */
		pte_t ce = table ? pte_read(&t[pt_index(c.cur, level - 1)]) : 0;
		n += map_count(op, ce, level - 1, c.cur, c.clast);
	} while (chunk_next(&c));
	return n;
}

static uint64_t map_count_root(const struct pt_op *op, uint64_t va, uint64_t last)
{
	const pte_t *root = table_of(op->pt->root);
	struct chunk c = chunk_first(va, last, TOP_LEVEL);
	uint64_t n = 0;

	do {
		pte_t e = pte_read(&root[pt_index(c.cur, TOP_LEVEL)]);
		n += map_count(op, e, TOP_LEVEL, c.cur, c.clast);
	} while (chunk_next(&c));
	return n;
}

static void map_range(struct pt_op *op, pte_t *t, int level, uint64_t va, uint64_t last);

static void map_entry(struct pt_op *op, pte_t *e, int level, uint64_t cur, uint64_t clast)
{
	pte_t old = pte_read(e);
	paddr_t tpa;

	if (map_leaf_ok(op, level, cur, clast)) {
		pte_write(e, make_leaf(op->pt, level, op_pa(op, cur), op->attr));
		if (pte_is_table(op->pt, old, level)) {
			free_tree(op->pt, pte_table_addr(old), level - 1);
		}
		return;
	}
	if (pte_is_table(op->pt, old, level)) {
		map_range(op, table_of(pte_table_addr(old)), level - 1, cur, clast);
		return;
	}
	/* Build the new table completely, then publish it with one store. */
	tpa = pool_take(&op->pool);
	if (pte_is_leaf(op->pt, old, level)) {
		split_into(op->pt, table_of(tpa), old, level);
	}
	map_range(op, table_of(tpa), level - 1, cur, clast);
	pte_write(e, make_table(op->pt, tpa));
}

static void map_range(struct pt_op *op, pte_t *t, int level, uint64_t va, uint64_t last)
{
	struct chunk c = chunk_first(va, last, level);

	do {
		map_entry(op, &t[pt_index(c.cur, level)], level, c.cur, c.clast);
	} while (chunk_next(&c));
}

/* ---------------------------------------------------------------- pt_unmap */

/* Table pages needed to unmap [cur, clast] inside entry e at `level` (splits of large leaves). */
static uint64_t unmap_count(const struct pt *pt, pte_t e, int level, uint64_t cur, uint64_t clast)
{
	bool leaf = pte_is_leaf(pt, e, level);
	const pte_t *t;
	uint64_t n = leaf ? 1 : 0;
	struct chunk c;

	if (!pte_present(pt, e) || covers_entry(cur, clast, level)) {
		return 0;
	}
	t = leaf ? NULL : table_of(pte_table_addr(e));
	c = chunk_first(cur, clast, level - 1);
	do {
		/* The pieces of a split leaf are leaves too; their address does not matter here. */
		pte_t ce =
			leaf ? split_flags(pt, e, level) : pte_read(&t[pt_index(c.cur, level - 1)]);
		n += unmap_count(pt, ce, level - 1, c.cur, c.clast);
	} while (chunk_next(&c));
	return n;
}

static uint64_t unmap_count_root(const struct pt *pt, uint64_t va, uint64_t last)
{
	const pte_t *root = table_of(pt->root);
	struct chunk c = chunk_first(va, last, TOP_LEVEL);
	uint64_t n = 0;

	do {
		pte_t e = pte_read(&root[pt_index(c.cur, TOP_LEVEL)]);
		n += unmap_count(pt, e, TOP_LEVEL, c.cur, c.clast);
	} while (chunk_next(&c));
	return n;
}

static void unmap_range(struct pt_op *op, pte_t *t, int level, uint64_t va, uint64_t last);

static void unmap_entry(struct pt_op *op, pte_t *e, int level, uint64_t cur, uint64_t clast)
{
	pte_t old = pte_read(e);
	paddr_t tpa;

	if (!pte_present(op->pt, old)) {
		return;
	}
	/* Top-level entries stay until pt_destroy: pt_share_top may have copied them elsewhere. */
	if (covers_entry(cur, clast, level) && level < TOP_LEVEL) {
		pte_write(e, 0);
		if (pte_is_table(op->pt, old, level)) {
			free_tree(op->pt, pte_table_addr(old), level - 1);
		}
		return;
	}
	if (pte_is_leaf(op->pt, old, level)) {
		tpa = pool_take(&op->pool);
		split_into(op->pt, table_of(tpa), old, level);
		unmap_range(op, table_of(tpa), level - 1, cur, clast);
		pte_write(e, make_table(op->pt, tpa));
		return;
	}
	tpa = pte_table_addr(old);
	unmap_range(op, table_of(tpa), level - 1, cur, clast);
	if (level < TOP_LEVEL && table_empty(op->pt, table_of(tpa))) {
		pte_write(e, 0);
		op->pt->alloc->free_page(op->pt->alloc->ctx, tpa);
	}
}

static void unmap_range(struct pt_op *op, pte_t *t, int level, uint64_t va, uint64_t last)
{
	struct chunk c = chunk_first(va, last, level);

	do {
		unmap_entry(op, &t[pt_index(c.cur, level)], level, c.cur, c.clast);
	} while (chunk_next(&c));
}

/* ---------------------------------------------------------------- argument checks */

static pte_t shared_bit(const struct pt *pt)
{
	return is_ept(pt) ? EPT_SW_SHARED : PTE_SW_SHARED;
}

/* Page aligned, non-empty, translatable in this format, and not inside a shared top-level entry. */
static status_t check_va_range(const struct pt *pt, uint64_t va, uint64_t size)
{
	uint64_t last = va + size - 1;
	const pte_t *root = table_of(pt->root);

	if (size == 0 || !IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) || last < va) {
		return VIREO_BAD_PAR;
	}
	if (pt->fmt == PT_FMT_X86) {
		if (last >= X86_HALF && va < X86_UPPER) {
			return VIREO_BAD_PAR;
		}
	} else if (last >= GPA_LIMIT) {
		return VIREO_BAD_PAR;
	}
	for (unsigned i = pt_index(va, TOP_LEVEL); i <= pt_index(last, TOP_LEVEL); i++) {
		if (pte_read(&root[i]) & shared_bit(pt)) {
			return VIREO_BAD_PAR;
		}
	}
	return VIREO_OK;
}

static bool attr_ok(const struct pt *pt, unsigned attr)
{
	if (attr & ~MAP_ATTR_ALL) {
		return false;
	}
	/* EPT: write without read is an "EPT misconfiguration" (Intel SDM Vol. 3C §28.2.3.1). */
	if (is_ept(pt)) {
		return (attr & (MAP_R | MAP_W | MAP_X)) != 0 &&
		       !((attr & MAP_W) && !(attr & MAP_R));
	}
	/* x86: every present page is readable; there is no way to say otherwise. */
	return (attr & MAP_R) != 0;
}

static bool pa_range_ok(paddr_t pa, uint64_t size)
{
	uint64_t a = pa_addr(pa);

	return IS_ALIGNED(a, PAGE_SIZE) && a < PA_LIMIT && size <= PA_LIMIT - a;
}

/* ---------------------------------------------------------------- public interface */

status_t pt_init(struct pt *pt, enum pt_format fmt, const struct pt_alloc *alloc)
{
	paddr_t root;

	if (fmt != PT_FMT_X86 && fmt != PT_FMT_EPT && fmt != PT_FMT_NPT) {
		return VIREO_BAD_PAR;
	}
	pt->fmt = fmt;
	pt->alloc = alloc;
	root = alloc_table_page(pt);
	if (!pa_valid(root)) {
		pt->root = PADDR_INVALID;
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(root), 0, PAGE_SIZE);
	pt->root = root;
	return VIREO_OK;
}

void pt_destroy(struct pt *pt)
{
	pte_t *root;

	if (!pa_valid(pt->root)) {
		return;
	}
	root = table_of(pt->root);
	for (unsigned i = 0; i < PTE_PER_TABLE; i++) {
		pte_t e = pte_read(&root[i]);
		if (pte_is_table(pt, e, TOP_LEVEL) && !(e & shared_bit(pt))) {
			free_tree(pt, pte_table_addr(e), TOP_LEVEL - 1);
		}
	}
	pt->alloc->free_page(pt->alloc->ctx, pt->root);
	pt->root = PADDR_INVALID;
}

status_t pt_map(struct pt *pt, uint64_t va, paddr_t pa, uint64_t size, unsigned attr,
		unsigned flags)
{
	struct pt_op op = { .pt = pt, .va = va, .pa = pa_addr(pa), .attr = attr, .flags = flags };
	uint64_t last = va + size - 1;
	status_t st;

	st = check_va_range(pt, va, size);
	if (st != VIREO_OK) {
		return st;
	}
	if (!pa_range_ok(pa, size) || !attr_ok(pt, attr) || (flags & ~(PT_LARGE_OK | PT_1G_OK))) {
		return VIREO_BAD_PAR;
	}
	st = pool_fill(pt, &op.pool, map_count_root(&op, va, last));
	if (st != VIREO_OK) {
		return st;
	}
	map_range(&op, table_of(pt->root), TOP_LEVEL, va, last);
	assert(op.pool.count == 0);
	pool_drain(pt, &op.pool);
	return VIREO_OK;
}

status_t pt_unmap(struct pt *pt, uint64_t va, uint64_t size)
{
	struct pt_op op = { .pt = pt, .va = va };
	uint64_t last = va + size - 1;
	status_t st;

	st = check_va_range(pt, va, size);
	if (st != VIREO_OK) {
		return st;
	}
	st = pool_fill(pt, &op.pool, unmap_count_root(pt, va, last));
	if (st != VIREO_OK) {
		return st;
	}
	unmap_range(&op, table_of(pt->root), TOP_LEVEL, va, last);
	assert(op.pool.count == 0);
	pool_drain(pt, &op.pool);
	return VIREO_OK;
}

static bool va_translatable(const struct pt *pt, uint64_t va)
{
	if (pt->fmt == PT_FMT_X86) {
		return va < X86_HALF || va >= X86_UPPER;
	}
	return va < GPA_LIMIT;
}

bool pt_lookup(const struct pt *pt, uint64_t va, paddr_t *pa, unsigned *attr, uint64_t *page_size)
{
	const pte_t *t = table_of(pt->root);

	if (!va_translatable(pt, va)) {
		return false;
	}
	for (int level = TOP_LEVEL; level >= 0; level--) {
		pte_t e = pte_read(&t[pt_index(va, level)]);
		if (!pte_present(pt, e)) {
			return false;
		}
		if (pte_is_leaf(pt, e, level)) {
			uint64_t sz = level_size(level);
			if (pa) {
				*pa = pa_init((e & leaf_addr_mask(level)) | (va & (sz - 1)));
			}
			if (attr) {
				*attr = leaf_attr(pt, e);
			}
			if (page_size) {
				*page_size = sz;
			}
			return true;
		}
		t = table_of(pte_table_addr(e));
	}
	return false;
}

void pt_share_top(struct pt *dst, const struct pt *src, unsigned first, unsigned last)
{
	pte_t *d = table_of(dst->root);
	const pte_t *s = table_of(src->root);
	pte_t shared = shared_bit(dst);

	CHECK(dst->fmt == src->fmt && first <= last && last <= PTE_PER_TABLE);
	for (unsigned i = first; i < last; i++) {
		pte_t se = pte_read(&s[i]);
		pte_t de = pte_read(&d[i]);
		/* Overwriting one of dst's own subtrees would leak it and lose its mappings. */
		CHECK(!pte_present(dst, de) || (de & shared));
		pte_write(&d[i], pte_present(src, se) ? se | shared : 0);
	}
}
