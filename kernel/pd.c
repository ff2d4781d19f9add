/* SPDX-License-Identifier: MIT */
/* Protection domains: their three spaces, kernel-memory quotas, delegation and revocation. */
#include "pd.h"

#include <vireo/syscall.h>

#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "kstring.h"
#include "obj.h"
#include "slab.h"
#include "sm.h"
#include "tlb.h"
#include "x86/cpu.h"
#include "x86/iobitmap.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

#define IO_PORTS 65536
#define IO_BITMAP_BYTES (IO_PORTS / 8)

struct pt kernel_pt;
static struct slab_cache pd_cache;

static paddr_t table_alloc(void *ctx)
{
	paddr_t pa = frame_alloc(0);
	if (pa_valid(pa) && ctx && pd_charge(ctx, PAGE_SIZE) != VIREO_OK) {
		frame_free(pa, 0);
		return PADDR_INVALID;
	}
	return pa;
}

static void table_free(void *ctx, paddr_t pa)
{
	frame_free(pa, 0);
	if (ctx) {
		pd_refund(ctx, PAGE_SIZE);
	}
}

const struct pt_alloc kernel_pt_alloc = { table_alloc, table_free, NULL };

void pd_init_kernel(paddr_t root)
{
	kernel_pt = (struct pt){ .root = root, .fmt = PT_FMT_X86, .alloc = &kernel_pt_alloc };
	slab_cache_init(&pd_cache, "pd", sizeof(struct pd), 64);
}

unsigned pd_count(void)
{
	return obj_live[OBJ_PD];
}

status_t pd_charge(struct pd *pd, uint64_t bytes)
{
	if (!pd) {
		return VIREO_OK;
	}
	if (pd->used + bytes > pd->quota || pd->used + bytes < pd->used) {
		return VIREO_NO_MEM;
	}
	pd->used += bytes;
	return VIREO_OK;
}

void pd_refund(struct pd *pd, uint64_t bytes)
{
	if (pd) {
		CHECK(pd->used >= bytes);
		pd->used -= bytes;
	}
}

static status_t create(struct pd *parent, uint64_t quota, const char *name, enum pt_format fmt,
		       struct pd **out)
{
	status_t st = pd_charge(parent, quota);
	if (st != VIREO_OK) {
		return st;
	}
	struct pd *pd = slab_alloc(&pd_cache);
	if (!pd) {
		pd_refund(parent, quota);
		return VIREO_NO_MEM;
	}
	pd->obj.type = OBJ_PD;
	pd->quota = quota;
	pd->quota_parent = parent; /* referenced below once creation cannot fail any more */
	/* The PD pays for its own object and page tables out of its quota. */
	pd->used = sizeof(*pd);
	struct pt_alloc *alloc = &pd->table_alloc;
	*alloc = (struct pt_alloc){ table_alloc, table_free, pd };
	if (pd->used > quota || pt_init(&pd->pt, fmt, alloc) != VIREO_OK) {
		slab_free(&pd_cache, pd);
		pd_refund(parent, quota);
		return VIREO_NO_MEM;
	}
	pd->vm = fmt != PT_FMT_X86;
	if (!pd->vm) {
		pt_share_top(&pd->pt, &kernel_pt, PML4_KERNEL_FIRST, PML4_ENTRIES);
	}
	mdb_space_init(&pd->objs, MDB_OBJ, pd);
	mdb_space_init(&pd->mem, MDB_MEM, pd);
	mdb_space_init(&pd->io, MDB_IO, pd);
	memcpy(pd->name, name, strnlen(name, sizeof(pd->name) - 1));
	if (parent) {
		obj_get(&parent->obj); /* the quota goes back there, so it must outlive this PD */
	}
	obj_live[OBJ_PD]++;
	*out = pd;
	return VIREO_OK;
}

status_t pd_create(struct pd *parent, uint64_t quota, const char *name, struct pd **out)
{
	return create(parent, quota, name, PT_FMT_X86, out);
}

status_t pd_create_vm(struct pd *parent, uint64_t quota, enum pt_format fmt, struct pd **out)
{
	return create(parent, quota, "vm", fmt, out);
}

/* ---------------------------------------------------------------- kernel-owned user memory */

static void free_range_frames(struct pd *pd, uint64_t va, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		paddr_t pa;
		if (pt_lookup(&pd->pt, va + off, &pa, NULL, NULL)) {
			frame_free(pa, 0);
			pd_refund(pd, PAGE_SIZE);
		}
	}
}

static status_t map_one_anon(struct pd *pd, uint64_t va, unsigned attr)
{
	if (pt_lookup(&pd->pt, va, NULL, NULL, NULL)) {
		return VIREO_BUSY;
	}
	status_t st = pd_charge(pd, PAGE_SIZE);
	if (st != VIREO_OK) {
		return st;
	}
	paddr_t pa = frame_alloc(0);
	if (!pa_valid(pa)) {
		pd_refund(pd, PAGE_SIZE);
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	st = pt_map(&pd->pt, va, pa, PAGE_SIZE, attr | MAP_R | MAP_U, 0);
	if (st != VIREO_OK) {
		frame_free(pa, 0);
		pd_refund(pd, PAGE_SIZE);
	}
	return st;
}

status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) || size == 0 ||
	    va + size < va || va + size > USER_END || va == 0) {
		return VIREO_BAD_PAR;
	}
	if (pd->nanon == PD_MAX_ANON) {
		return VIREO_NO_MEM;
	}
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		status_t st = map_one_anon(pd, va + off, attr);
		if (st != VIREO_OK) {
			/* Undo only what this call mapped: the failing page may be someone else's. */
			free_range_frames(pd, va, off);
			if (off) {
				pt_unmap(&pd->pt, va, off);
			}
			return st;
		}
	}
	pd->anon[pd->nanon++] = (struct pd_anon){ va, size };
	return VIREO_OK;
}

status_t pd_map_page(struct pd *pd, uint64_t va, unsigned attr, void **kptr)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || va == 0 || va >= USER_END) {
		return VIREO_BAD_PAR;
	}
	status_t st = map_one_anon(pd, va, attr);
	if (st == VIREO_OK) {
		paddr_t pa;
		CHECK(pt_lookup(&pd->pt, va, &pa, NULL, NULL));
		*kptr = phys_to_virt(pa);
	}
	return st;
}

void pd_unmap_page(struct pd *pd, uint64_t va)
{
	paddr_t pa;
	if (!pt_lookup(&pd->pt, va, &pa, NULL, NULL)) {
		return;
	}
	/* A 4 KiB mapping made by pd_map_page: unmapping it never needs memory. */
	CHECK(pt_unmap(&pd->pt, va, PAGE_SIZE) == VIREO_OK);
	tlb_shootdown(pd);
	frame_free(pa, 0);
	pd_refund(pd, PAGE_SIZE);
}

void pd_activate(struct pd *pd)
{
	uint64_t root = pa_addr(pd ? pd->pt.root : kernel_pt.root);
	if (read_cr3() != root) {
		write_cr3(root);
	}
	__atomic_store_n(&this_cpu()->cr3, root, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- user copies */

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

/* ---------------------------------------------------------------- capabilities */

/*
 * A capability holds a reference on its object; for a PD it is also counted in pd->caps. The
 * kernel's own references to a PD (its ECs', semaphores', children's) keep the structure, not the
 * PD's reachability: once the last capability to a PD is gone nobody can name it again, so its
 * object space is emptied (obj_pd_orphaned). That frees what only it held, its ECs and VMs among
 * them, and so the references they hold on it: a PD holding its own threads is no cycle.
 */
static void unmap_node(struct mdb_node *n, void *arg);

void pd_cap_get(struct kobj *o)
{
	obj_get(o);
	if (o->type == OBJ_PD) {
		((struct pd *)o)->caps++;
	}
}

void pd_cap_put(struct kobj *o)
{
	if (o->type == OBJ_PD) {
		struct pd *pd = (struct pd *)o;
		CHECK(pd->caps > 0);
		if (--pd->caps == 0) {
			obj_pd_orphaned(o);
		}
	}
	obj_put(o);
}

void pd_drop_objects(struct pd *pd)
{
	obj_defer_begin();
	mdb_space_destroy(&pd->objs, unmap_node, NULL);
	obj_defer_end();
}

struct kobj *pd_lookup_obj(struct pd *pd, uint64_t sel, enum vireo_obj_type type, unsigned rights)
{
	if (sel >= VIREO_CAP_SPACE_SIZE) {
		return NULL;
	}
	struct mdb_node *n = mdb_lookup(&pd->objs, sel);
	if (!n) {
		return NULL;
	}
	struct kobj *o = (struct kobj *)(uintptr_t)n->res;
	if (o->type != type || (n->rights & rights) != rights) {
		return NULL;
	}
	return o;
}

status_t pd_install_obj(struct pd *pd, uint64_t sel, struct kobj *obj, unsigned rights)
{
	struct mdb_node *n;
	if (sel >= VIREO_CAP_SPACE_SIZE) {
		return VIREO_BAD_CAP;
	}
	if (mdb_lookup(&pd->objs, sel)) {
		return VIREO_BAD_CAP;
	}
	status_t st = mdb_insert_root(&pd->objs, sel, 0, rights, (uint64_t)(uintptr_t)obj, &n);
	if (st == VIREO_OK) {
		pd_cap_get(obj);
	}
	return st;
}

/* ---------------------------------------------------------------- delegation */

static unsigned mem_attr(unsigned rights)
{
	return MAP_R | MAP_U | (rights & MEM_W ? MAP_W : 0) | (rights & MEM_X ? MAP_X : 0);
}

static void io_bitmap_set(struct pd *pd, uint64_t port, unsigned order, bool allow)
{
	for (uint64_t p = port; p < port + (1ull << order) && p < IO_PORTS; p++) {
		if (allow) {
			pd->io_bitmap[p / 8] &= (uint8_t) ~(1u << (p % 8));
		} else {
			pd->io_bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
		}
	}
}

/* The hardware side of a new capability: page-table entries, bitmap bits, a reference. */
static status_t apply_node(struct mdb_node *n)
{
	struct pd *pd = n->space->owner;
	switch (n->space->kind) {
	case MDB_OBJ:
		pd_cap_get((struct kobj *)(uintptr_t)n->res);
		return VIREO_OK;
	case MDB_MEM:
		return pt_map(&pd->pt, n->base << PAGE_SHIFT, pa_init(n->res << PAGE_SHIFT),
			      PAGE_SIZE << n->order, mem_attr(n->rights), PT_LARGE_OK);
	case MDB_IO:
		if (!pd->io_bitmap) {
			return VIREO_NO_MEM;
		}
		io_bitmap_set(pd, n->base, n->order, true);
		iobitmap_invalidate(pd->io_bitmap);
		return VIREO_OK;
	}
	return VIREO_BAD_PAR;
}

/* Revocation callback: undo apply_node. Memory flushes are batched by the caller. */
static void unmap_node(struct mdb_node *n, void *arg)
{
	struct pd *pd = n->space->owner;
	(void)arg;
	switch (n->space->kind) {
	case MDB_OBJ:
		pd_cap_put((struct kobj *)(uintptr_t)n->res);
		break;
	case MDB_MEM:
		/* Splitting a large page can need memory; a failure leaves it mapped, which we must not. */
		CHECK(pt_unmap(&pd->pt, n->base << PAGE_SHIFT, PAGE_SIZE << n->order) == VIREO_OK);
		tlb_shootdown(pd);
		break;
	case MDB_IO:
		if (pd->io_bitmap) {
			io_bitmap_set(pd, n->base, n->order, false);
			iobitmap_invalidate(pd->io_bitmap);
			tlb_shootdown(pd);
		}
		break;
	}
}

static struct mdb_space *space_of(struct pd *pd, unsigned sp)
{
	switch (sp) {
	case CRD_MEM:
		return &pd->mem;
	case CRD_IO:
		return &pd->io;
	case CRD_OBJ:
		return &pd->objs;
	default:
		return NULL;
	}
}

static status_t ensure_io_bitmap(struct pd *pd)
{
	if (pd->io_bitmap) {
		return VIREO_OK;
	}
	if (pd_charge(pd, IO_BITMAP_BYTES) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	paddr_t pa = frame_alloc(1);
	if (!pa_valid(pa)) {
		pd_refund(pd, IO_BITMAP_BYTES);
		return VIREO_NO_MEM;
	}
	pd->io_bitmap = phys_to_virt(pa);
	memset(pd->io_bitmap, 0xff, IO_BITMAP_BYTES);
	return VIREO_OK;
}

static bool range_ok(unsigned sp, uint64_t base, unsigned order);

/* Guest-physical addresses of a VM: 48 bits (NPT and 4-level EPT). */
#define VM_PAGES (1ull << 36)

/* Range checks per space: user-half pages (any guest-physical page of a VM), 16-bit ports,
 * selectors inside the object space. */
static bool range_ok_in(const struct pd *pd, unsigned sp, uint64_t base, unsigned order)
{
	if (pd->vm && sp == CRD_MEM) {
		return order < 36 && IS_ALIGNED(base, 1ull << order) &&
		       base + (1ull << order) <= VM_PAGES;
	}
	return range_ok(sp, base, order);
}

static bool range_ok(unsigned sp, uint64_t base, unsigned order)
{
	if (order >= 52 || !IS_ALIGNED(base, 1ull << order)) {
		return false;
	}
	uint64_t end = base + (1ull << order);
	switch (sp) {
	case CRD_MEM:
		return base != 0 && end <= (USER_END >> PAGE_SHIFT);
	case CRD_IO:
		return end <= IO_PORTS;
	case CRD_OBJ:
		return end <= VIREO_CAP_SPACE_SIZE;
	default:
		return false;
	}
}

/*
 * Removing part of a memory capability mapped with large pages must split the page-table entry,
 * which needs memory: do it up front (re-mapping the same translation with small pages), so the
 * removal itself cannot fail. NO_MEM here leaves everything as it was.
 */
static status_t split_for_removal(struct pd *pd, uint64_t base, unsigned order)
{
	struct mdb_node *n = mdb_lookup(&pd->mem, base);
	if (!n || n->order <= order || order >= 9) {
		return VIREO_OK;
	}
	uint64_t pa = (n->res + (base - n->base)) << PAGE_SHIFT;
	return pt_map(&pd->pt, base << PAGE_SHIFT, pa_init(pa), PAGE_SIZE << order,
		      mem_attr(n->rights), 0);
}

static void unapply_source(struct pd *src, unsigned sp, uint64_t base, unsigned order,
			   struct mdb_node *n)
{
	switch (sp) {
	case CRD_OBJ:
		pd_cap_put(
			(struct kobj *)(uintptr_t)n->res); /* the source capability's reference */
		break;
	case CRD_MEM:
		CHECK(pt_unmap(&src->pt, base << PAGE_SHIFT, PAGE_SIZE << order) == VIREO_OK);
		tlb_shootdown(src);
		break;
	case CRD_IO:
		io_bitmap_set(src, base, order, false);
		iobitmap_invalidate(src->io_bitmap);
		tlb_shootdown(src);
		break;
	}
}

status_t pd_delegate(struct pd *src, struct pd *dst, uint64_t crd, uint64_t dst_base,
		     unsigned flags)
{
	unsigned sp = vireo_crd_space(crd), order = vireo_crd_order(crd);
	uint64_t base = vireo_crd_base(crd);
	if (!range_ok_in(src, sp, base, order) || !range_ok_in(dst, sp, dst_base, order)) {
		return VIREO_BAD_PAR;
	}
	if (sp == CRD_IO && ensure_io_bitmap(dst) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	bool grant = flags & VIREO_DELEGATE_GRANT;
	if (grant && sp == CRD_MEM) {
		/* The source loses the range: make sure its page table can drop exactly that part. */
		status_t st = split_for_removal(src, base, order);
		if (st != VIREO_OK) {
			return st;
		}
	}
	/* Objects: one node per selector, so each can be revoked on its own. */
	unsigned step = sp == CRD_OBJ ? 0 : order;
	for (uint64_t i = 0; i < (1ull << order); i += 1ull << step) {
		struct mdb_node *n;
		/* A repeated identical map returns the node already there: it is applied already. */
		struct mdb_node *had = mdb_lookup(space_of(dst, sp), dst_base + i);
		status_t st = mdb_delegate(space_of(src, sp), base + i, step, space_of(dst, sp),
					   dst_base + i, vireo_crd_rights(crd), grant, &n);
		if (st == VIREO_OK && n && n != had) {
			st = apply_node(n);
			if (st == VIREO_OK && grant) {
				/* A grant moves the node without an unmap: the source's side is ours to undo. */
				unapply_source(src, sp, base + i, step, n);
			}
			if (st != VIREO_OK) {
				obj_defer_begin();
				mdb_revoke(n->space, n->base, n->order, true, NULL, NULL);
				obj_defer_end();
			}
		}
		if (st != VIREO_OK) {
			return st;
		}
	}
	return VIREO_OK;
}

status_t pd_revoke(struct pd *pd, uint64_t crd, bool self)
{
	unsigned sp = vireo_crd_space(crd), order = vireo_crd_order(crd);
	uint64_t base = vireo_crd_base(crd);
	if (!range_ok_in(pd, sp, base, order)) {
		return VIREO_BAD_PAR;
	}
	status_t st = self && sp == CRD_MEM ? split_for_removal(pd, base, order) : VIREO_OK;
	if (st == VIREO_OK) {
		obj_defer_begin();
		st = mdb_revoke(space_of(pd, sp), base, order, self, unmap_node, NULL);
		obj_defer_end();
	}
	return st;
}

status_t pd_grant_memory(struct pd *pd, uint64_t va, paddr_t pa, unsigned order, unsigned rights)
{
	struct mdb_node *n;
	status_t st = mdb_insert_root(&pd->mem, va >> PAGE_SHIFT, order, rights,
				      pa_addr(pa) >> PAGE_SHIFT, &n);
	if (st == VIREO_OK) {
		st = apply_node(n);
	}
	return st;
}

status_t pd_grant_ports(struct pd *pd, uint32_t port, unsigned order)
{
	struct mdb_node *n;
	status_t st = ensure_io_bitmap(pd);
	if (st == VIREO_OK) {
		st = mdb_insert_root(&pd->io, port, order, IO_RW, port, &n);
	}
	if (st == VIREO_OK) {
		st = apply_node(n);
	}
	return st;
}

/* ---------------------------------------------------------------- destruction */

void pd_destroy(struct pd *pd)
{
	if (read_cr3() == pa_addr(pd->pt.root)) {
		pd_activate(NULL);
	}
	obj_defer_begin();
	mdb_space_destroy(&pd->objs, unmap_node, NULL);
	mdb_space_destroy(&pd->mem, unmap_node, NULL);
	mdb_space_destroy(&pd->io, unmap_node, NULL);
	obj_defer_end();
	for (unsigned i = 0; i < pd->nanon; i++) {
		free_range_frames(pd, pd->anon[i].va, pd->anon[i].size);
	}
	if (pd->io_bitmap) {
		frame_free(virt_to_phys(pd->io_bitmap), 1);
	}
	pt_destroy(&pd->pt);
	struct pd *parent = pd->quota_parent;
	/* Semaphores it paid for may outlive it: its parent pays for them from now on. */
	pd_refund(parent, pd->quota - sm_pass_charges(pd, parent));
	obj_live[OBJ_PD]--;
	slab_free(&pd_cache, pd);
	if (parent) {
		obj_put(&parent->obj);
	}
}
