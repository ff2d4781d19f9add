/* SPDX-License-Identifier: MIT */
/* Protection domains: their three spaces, kernel-memory quotas, delegation and revocation. */
#include "pd.h"

#include <vireo/syscall.h>

#include "arch.h"
#include "assert.h"
#include "fpu.h"
#include "frame.h"
#include "ioport.h"
#include "kstring.h"
#include "obj.h"
#include "sc.h"
#include "slab.h"
#include "sm.h"
#include "tlb.h"
#include "virt.h"
#include "x86/cpu.h"

#define IO_PORTS 65536
#define IO_BITMAP_BYTES (IO_PORTS / 8)

struct pt kernel_pt;
static struct slab_cache pd_cache;

/* Page-table pages: charged to the PD whose table they are (ctx), or to nobody (the kernel's). */
static paddr_t table_alloc(void *ctx)
{
	return quota_frames(pd_quota(ctx), 0);
}

static void table_free(void *ctx, paddr_t pa)
{
	quota_frames_free(pd_quota(ctx), pa, 0);
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

void *pd_alloc(struct pd *pd, struct slab_cache *c)
{
	return quota_alloc(pd_quota(pd), c);
}

void pd_free(struct pd *pd, struct slab_cache *c, void *obj)
{
	quota_free(pd_quota(pd), c, obj);
}

/*
 * The parent pays for the PD object like for any object it creates, and hands over `quota`; the
 * new PD pays for its page tables and everything else out of that.
 */
static status_t create(struct pd *parent, uint64_t quota, unsigned max_prio, const char *name,
		       enum pt_format fmt, struct pd **out)
{
	unsigned parent_prio = parent ? parent->max_prio : SC_PRIOS - 1;
	if (max_prio == PD_PRIO_INHERIT) {
		max_prio = parent_prio;
	}
	if (max_prio > parent_prio) {
		return VIREO_BAD_PAR;
	}
	status_t st = quota_charge(pd_quota(parent), quota);
	if (st != VIREO_OK) {
		return st;
	}
	struct pd *pd = pd_alloc(parent, &pd_cache);
	if (!pd) {
		quota_refund(pd_quota(parent), quota);
		return VIREO_NO_MEM;
	}
	pd->obj.type = OBJ_PD;
	pd->quota = (struct quota){ .limit = quota };
	pd->quota_parent = parent; /* referenced below once creation cannot fail any more */
	pd->max_prio = max_prio;
	struct pt_alloc *alloc = &pd->table_alloc;
	*alloc = (struct pt_alloc){ table_alloc, table_free, pd };
	if (pt_init(&pd->pt, fmt, alloc) != VIREO_OK) {
		pd_free(parent, &pd_cache, pd);
		quota_refund(pd_quota(parent), quota);
		return VIREO_NO_MEM;
	}
	pd->vm = fmt != PT_FMT_X86;
	if (!pd->vm) {
		pt_share_top(&pd->pt, &kernel_pt, PML4_KERNEL_FIRST, PML4_ENTRIES);
	}
	mdb_space_init(&pd->objs, MDB_OBJ, pd);
	mdb_space_init(&pd->mem, MDB_MEM, pd);
	mdb_space_init(&pd->io, MDB_IO, pd);
	mdb_space_set_quota(&pd->objs, &pd->quota);
	mdb_space_set_quota(&pd->mem, &pd->quota);
	mdb_space_set_quota(&pd->io, &pd->quota);
	memcpy(pd->name, name, strnlen(name, sizeof(pd->name) - 1));
	if (parent) {
		obj_get(&parent->obj); /* the quota goes back there, so it must outlive this PD */
	}
	obj_live[OBJ_PD]++;
	*out = pd;
	return VIREO_OK;
}

status_t pd_create(struct pd *parent, uint64_t quota, unsigned max_prio, const char *name,
		   struct pd **out)
{
	return create(parent, quota, max_prio, name, PT_FMT_X86, out);
}

/* The guest space of a VM lost translations: the backend makes CPUs drop them (new ASIDs). */
static void flush_guest(struct pd *pd)
{
	if (pd->vm && virt && virt->flush_guest) {
		virt->flush_guest(pd);
	}
}

status_t pd_create_vm(struct pd *parent, uint64_t quota, enum pt_format fmt, struct pd **out)
{
	status_t st = create(parent, quota, PD_PRIO_INHERIT, "vm", fmt, out);
	if (st == VIREO_OK) {
		flush_guest(*out); /* its first tag: no vCPU has an ASID for this space yet */
	}
	return st;
}

/* ---------------------------------------------------------------- kernel-owned user memory */

static void unmap_node(struct mdb_node *n, void *arg);

static unsigned mem_rights(unsigned attr)
{
	return MEM_R | (attr & MAP_W ? MEM_W : 0) | (attr & MAP_X ? MEM_X : 0);
}

/*
 * One zeroed frame at va, recorded as a kernel-owned node: from then on the mapping database
 * refuses delegations onto it, and removing the node (unmap_node) frees that very frame.
 */
static status_t map_kernel_page(struct pd *pd, uint64_t va, unsigned attr, paddr_t *out)
{
	struct mdb_node *n;
	if (pt_lookup(&pd->pt, va, NULL, NULL, NULL) || mdb_lookup(&pd->mem, va >> PAGE_SHIFT)) {
		return VIREO_BUSY;
	}
	paddr_t pa = quota_frames(&pd->quota, 0);
	if (!pa_valid(pa)) {
		return VIREO_NO_MEM;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	status_t st = mdb_insert_kernel(&pd->mem, va >> PAGE_SHIFT, mem_rights(attr),
					pa_addr(pa) >> PAGE_SHIFT, &n);
	if (st != VIREO_OK) {
		quota_frames_free(&pd->quota, pa, 0);
		return st;
	}
	st = pt_map(&pd->pt, va, pa, PAGE_SIZE, attr | MAP_R | MAP_U, 0);
	if (st != VIREO_OK) {
		uint64_t res;
		/* unmap_node frees the frame; pt_unmap of a page never mapped is harmless. */
		CHECK(mdb_remove_kernel(&pd->mem, va >> PAGE_SHIFT, unmap_node, NULL, &res) ==
		      VIREO_OK);
		return st;
	}
	*out = pa;
	return VIREO_OK;
}

status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) || size == 0 ||
	    va + size < va || va + size > USER_END || va == 0) {
		return VIREO_BAD_PAR;
	}
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		paddr_t pa;
		status_t st = map_kernel_page(pd, va + off, attr, &pa);
		if (st != VIREO_OK) {
			/* Undo only what this call mapped: the failing page may be someone else's. */
			for (uint64_t done = 0; done < off; done += PAGE_SIZE) {
				pd_unmap_page(pd, va + done);
			}
			return st;
		}
	}
	return VIREO_OK;
}

status_t pd_map_page(struct pd *pd, uint64_t va, unsigned attr, void **kptr)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || va == 0 || va >= USER_END) {
		return VIREO_BAD_PAR;
	}
	paddr_t pa;
	status_t st = map_kernel_page(pd, va, attr, &pa);
	if (st == VIREO_OK) {
		*kptr = phys_to_virt(pa);
	}
	return st;
}

void pd_unmap_page(struct pd *pd, uint64_t va)
{
	uint64_t res;
	/* Nobody but the kernel removes a kernel-owned node: it must still be there. */
	CHECK(mdb_remove_kernel(&pd->mem, va >> PAGE_SHIFT, unmap_node, NULL, &res) == VIREO_OK);
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
		if (obj->type == OBJ_PD && !((struct pd *)obj)->root_cap) {
			((struct pd *)obj)->root_cap = n;
		}
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

/*
 * Leaf sizes a memory capability may use: 2 MiB always; 1 GiB in a VM's guest page table when the
 * backend allows it, in a host page table when the CPU has 1 GiB pages (CPUID
 * 0x80000001 EDX bit 26, Intel SDM vol. 3A 4.1.4). A capability is mapped with the largest leaves
 * its alignment allows, so 1 GiB of guest RAM in one capability is one entry.
 */
static unsigned map_flags(const struct pd *pd)
{
	static int host_1g = -1;
	if (pd->vm) {
		return virt && virt->gpt_1g && virt->gpt_1g() ? PT_1G_OK : PT_LARGE_OK;
	}
	if (host_1g < 0) {
		host_1g = cpuid(0x80000000, 0).eax >= 0x80000001 &&
			  (cpuid(0x80000001, 0).edx & (1u << 26));
	}
	return host_1g ? PT_1G_OK : PT_LARGE_OK;
}

/* ---------------------------------------------------------------- a VM's I/O space */

/*
 * A VM's I/O space (docs/architecture.md#vm-io-space) is the backend's intercept map: a port
 * delegated to the VM is passed through (the guest's IN/OUT reach the port without an exit), a
 * revoked one is intercepted again. Every CPU running the VM's guest leaves it before the map
 * changes (the shoot-down makes them exit and wait for the kernel lock this CPU holds): the
 * hardware never sees the map change under a running guest (Intel SDM vol. 3C 24.11.4), and a
 * revoke is in force before the guest's next instruction everywhere.
 */
static status_t vm_io_set(struct pd *vm, uint64_t port, unsigned order, bool pass)
{
	if (!vm->vm_io_map) {
		return VIREO_NO_MEM; /* vm_io_prepare made it before any node could arrive */
	}
	tlb_shootdown(vm);
	virt->io_map_set(vm->vm_io_map, (uint32_t)port, 1u << order, pass);
	return VIREO_OK;
}

/* The VMM's creator role pays: the map is the VM's like its VMCBs are the VMM's vCPUs'. */
static struct quota *vm_io_quota(struct pd *vm)
{
	return pd_quota(vm->quota_parent);
}

/*
 * Before ports [port, port + 2^order) may arrive in a VM: none of them is one the kernel drives
 * (BAD_DEV), the CPU can pass ports through (BAD_FTR), and the map exists (NO_MEM).
 */
static status_t vm_io_prepare(struct pd *vm, uint64_t port, unsigned order)
{
	if (ioport_kernel_user(port, 1ull << order)) {
		return VIREO_BAD_DEV;
	}
	if (!virt || !virt->io_map_init) {
		return VIREO_BAD_FTR;
	}
	if (vm->vm_io_map) {
		return VIREO_OK;
	}
	paddr_t pa = quota_frames(vm_io_quota(vm), virt->io_map_order);
	if (!pa_valid(pa)) {
		return VIREO_NO_MEM;
	}
	status_t st = virt->io_map_init(phys_to_virt(pa));
	if (st != VIREO_OK) {
		quota_frames_free(vm_io_quota(vm), pa, virt->io_map_order);
		return st;
	}
	vm->vm_io_map = phys_to_virt(pa);
	return VIREO_OK;
}

static void vm_io_free(struct pd *vm)
{
	if (vm->vm_io_map) {
		quota_frames_free(vm_io_quota(vm), virt_to_phys(vm->vm_io_map), virt->io_map_order);
		vm->vm_io_map = NULL;
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
			      PAGE_SIZE << n->order, mem_attr(n->rights), map_flags(pd));
	case MDB_IO:
		if (pd->vm) {
			return vm_io_set(pd, n->base, n->order, true);
		}
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
	case MDB_OBJ: {
		struct kobj *o = (struct kobj *)(uintptr_t)n->res;
		if (o->type == OBJ_PD && ((struct pd *)o)->root_cap == n) {
			((struct pd *)o)->root_cap = NULL;
		}
		pd_cap_put(o);
		break;
	}
	case MDB_MEM:
		/* Splitting a large page can need memory; a failure leaves it mapped, which we must not. */
		CHECK(pt_unmap(&pd->pt, n->base << PAGE_SHIFT, PAGE_SIZE << n->order) == VIREO_OK);
		flush_guest(pd);
		tlb_shootdown(pd);
		if (n->kernel) {
			/* No CPU can reach it any more: the frame the kernel put there goes back. */
			quota_frames_free(&pd->quota, pa_init(n->res << PAGE_SHIFT), 0);
		}
		break;
	case MDB_IO:
		if (pd->vm) {
			vm_io_set(pd, n->base, n->order, false);
		} else if (pd->io_bitmap) {
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
	_Static_assert(IO_BITMAP_BYTES == PAGE_SIZE << 1, "the I/O bitmap is an order-1 block");
	paddr_t pa = quota_frames(&pd->quota, 1);
	if (!pa_valid(pa)) {
		return VIREO_NO_MEM;
	}
	pd->io_bitmap = phys_to_virt(pa);
	memset(pd->io_bitmap, 0xff, IO_BITMAP_BYTES);
	return VIREO_OK;
}

static bool range_ok(unsigned sp, uint64_t base, unsigned order);

/* `pd` holds ports [port, port + 2^order) in one capability. */
static bool io_held(const struct pd *pd, uint64_t port, unsigned order)
{
	const struct mdb_node *n = mdb_lookup(&pd->io, port);
	return n && port + (1ull << order) <= n->base + (1ull << n->order);
}

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
 * which needs memory: do it up front (re-mapping the same translation with leaves no larger than
 * the part: 4 KiB below 2 MiB, 2 MiB below 1 GiB), so the removal itself cannot fail. NO_MEM here
 * leaves everything as it was.
 */
static status_t split_for_removal(struct pd *pd, uint64_t base, unsigned order)
{
	struct mdb_node *n = mdb_lookup(&pd->mem, base);
	uint64_t leaf;
	if (!n || n->order <= order || n->kernel ||
	    !pt_lookup(&pd->pt, base << PAGE_SHIFT, NULL, NULL, &leaf) ||
	    leaf <= (PAGE_SIZE << order)) {
		return VIREO_OK;
	}
	uint64_t pa = (n->res + (base - n->base)) << PAGE_SHIFT;
	return pt_map(&pd->pt, base << PAGE_SHIFT, pa_init(pa), PAGE_SIZE << order,
		      mem_attr(n->rights), order >= 9 ? PT_LARGE_OK : 0);
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
		flush_guest(src);
		tlb_shootdown(src);
		break;
	case CRD_IO:
		io_bitmap_set(src, base, order, false);
		iobitmap_invalidate(src->io_bitmap);
		tlb_shootdown(src);
		break;
	}
}

/*
 * Whether granting selector `sel` of `src` into `dst` would leave a PD beyond anyone's revoke.
 * Every capability to a PD derives from its root capability (the one its creation made), so a
 * PD stays reachable exactly as long as the PD holding that root does: reachability is a chain
 * of holders, up to a PD that holds its own root (the roottask: the kernel made it). Granting
 * X's root into `dst` makes `dst` X's holder; if X already holds `dst`, through any number of
 * steps, or is `dst`, the two would keep each other alive once everyone else let go
 * (docs/ABI.md, SYS_DELEGATE). A copy or the grant of a derived capability changes no holder.
 */
static bool grant_makes_cycle(struct pd *src, uint64_t sel, struct pd *dst)
{
	struct mdb_node *n = mdb_lookup(&src->objs, sel);
	struct kobj *o = n ? (struct kobj *)(uintptr_t)n->res : NULL;
	if (!o || o->type != OBJ_PD || ((struct pd *)o)->root_cap != n) {
		return false;
	}
	struct pd *x = (struct pd *)o;
	/* The chain has no cycle (this check keeps it so): it ends at a PD with no root capability
	 * (orphaned) or one that holds its own. */
	for (struct pd *p = dst; p;) {
		if (p == x) {
			return true;
		}
		struct pd *holder = p->root_cap ? p->root_cap->space->owner : NULL;
		p = holder == p ? NULL : holder;
	}
	return false;
}

status_t pd_delegate(struct pd *src, struct pd *dst, uint64_t crd, uint64_t dst_base,
		     unsigned flags)
{
	unsigned sp = vireo_crd_space(crd), order = vireo_crd_order(crd);
	uint64_t base = vireo_crd_base(crd);
	if (!range_ok_in(src, sp, base, order) || !range_ok_in(dst, sp, dst_base, order)) {
		return VIREO_BAD_PAR;
	}
	if (sp == CRD_IO && dst_base != base && io_held(src, base, order)) {
		/* x86 has no port translation: the TSS bitmap and a VM's map allow the port the
		 * receiver's node names, so a port keeps its number in every I/O space (an unheld
		 * source is the mapping database's BAD_CAP). */
		return VIREO_BAD_PAR;
	}
	/* A map made for this call goes again if the call fails: a refusal has no effect. */
	bool fresh_io_map = sp == CRD_IO && dst->vm && !dst->vm_io_map;
	if (sp == CRD_IO && dst->vm) {
		status_t st = vm_io_prepare(dst, dst_base, order);
		if (st != VIREO_OK) {
			return st;
		}
	} else if (sp == CRD_IO && ensure_io_bitmap(dst) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	bool grant = flags & VIREO_DELEGATE_GRANT;
	if (grant && sp == CRD_OBJ) {
		for (uint64_t i = 0; i < (1ull << order); i++) {
			if (grant_makes_cycle(src, base + i, dst)) {
				return VIREO_BAD_PAR;
			}
		}
	}
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
			if (fresh_io_map) {
				vm_io_free(dst); /* I/O is one node per call: none of it arrived */
			}
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
	if (arch_space_root() == pa_addr(pd->pt.root)) {
		pd_activate(NULL);
	}
	obj_defer_begin();
	mdb_space_destroy(&pd->objs, unmap_node, NULL);
	mdb_space_destroy(&pd->mem, unmap_node, NULL);
	mdb_space_destroy(&pd->io, unmap_node, NULL);
	obj_defer_end();
	if (pd->io_bitmap) {
		quota_frames_free(&pd->quota, virt_to_phys(pd->io_bitmap), 1);
	}
	vm_io_free(pd);
	if (pd->pv_fpu) {
		fpu_area_free(&pd->quota, pd->pv_fpu);
	}
	pt_destroy(&pd->pt);
	struct pd *parent = pd->quota_parent;
	/* Semaphores it paid for may outlive it: its parent pays for them from now on. */
	uint64_t moved = sm_pass_charges(pd, parent);
	quota_refund(&pd->quota, moved);
	/* Everything else charged to this PD was refunded once, by the object that was charged. */
	CHECK(pd->quota.used == 0);
	quota_refund(pd_quota(parent), pd->quota.limit - moved);
	obj_live[OBJ_PD]--;
	pd_free(parent, &pd_cache, pd);
	if (parent) {
		obj_put(&parent->obj);
	}
}
