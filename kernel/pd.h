/* SPDX-License-Identifier: MIT */
/* Protection domain: object space, memory space (host page table) and I/O space (docs/architecture.md#pd). */
#ifndef KERNEL_PD_H
#define KERNEL_PD_H

#include "arch.h"
#include "kobj.h"
#include "mdb.h"
#include "pt.h"
#include "quota.h"
#include "types.h"

struct slab_cache;

/* max_prio argument of pd_create: the parent's maximum priority. */
#define PD_PRIO_INHERIT (~0u)

struct pd {
	struct kobj obj;
	struct pt pt;		     /* memory space: user half private, kernel half shared */
	struct pt_alloc table_alloc; /* page-table pages, charged to this PD */
	struct mdb_space objs;	     /* object space: selectors -> capabilities */
	struct mdb_space mem; /* memory space: delegated pages (virtual page -> physical page) */
	struct mdb_space io;  /* I/O space: delegated ports */
	uint8_t *io_bitmap;   /* 8 KiB, one bit per port, 0 = allowed; NULL until a port arrives */
	struct quota quota;   /* kernel memory this PD may use (objects it names, its tables) */
	struct pd *quota_parent; /* where the quota came from (given back on destruction) */
	unsigned max_prio;	 /* highest priority of an SC created against this PD */
	char name[16];
	bool vm;		/* a VM: the memory space is guest-physical, nothing runs in it */
	unsigned live_ecs;	/* ECs of this PD that have not exited */
	struct sm *charged_sms; /* semaphores its quota pays for (kernel/sm.c) */
	unsigned caps;		/* capabilities naming it (its reachability, see pd_cap_put) */
	/* The capability its creation made (the root of all others to it), while it exists: the PD
	 * whose object space holds it keeps this one reachable (pd_delegate refuses cycles). */
	struct mdb_node *root_cap;
	void *pv_fpu; /* its FPU state as a vCPU's task (virtual user mode); NULL until then */
	uint64_t guest_tlb_tag; /* VM: its flush tag (kernel/asid.h), set by virt->flush_guest */
	/* VM: the backend's I/O intercept map (virt->io_map_*), charged to quota_parent; NULL
	 * until a port is delegated to it. A VM has no io_bitmap: nothing of it runs natively. */
	void *vm_io_map;
};

/*
 * Create an empty PD with `quota` bytes taken from `parent`'s quota (NULL: the kernel's own) and
 * SCs up to `max_prio` (PD_PRIO_INHERIT: the parent's; BAD_PAR above the parent's).
 */
status_t pd_create(struct pd *parent, uint64_t quota, unsigned max_prio, const char *name,
		   struct pd **out);
/* A VM PD: its memory space is a guest-physical page table in `fmt` (NPT or EPT). */
status_t pd_create_vm(struct pd *parent, uint64_t quota, enum pt_format fmt, struct pd **out);
/* A capability to `o` appears / goes (pd.c keeps PDs' capability counts). */
void pd_cap_get(struct kobj *o);
void pd_cap_put(struct kobj *o);
/* The last capability to `pd` went: empty its object space (obj.c calls it outside MDB walks). */
void pd_drop_objects(struct pd *pd);
/* Called when the last reference goes: tears down all spaces, frees the PD. */
void pd_destroy(struct pd *pd);
/* The quota a PD's objects are charged to (NULL for no PD: the kernel's own memory). */
static inline struct quota *pd_quota(struct pd *pd)
{
	return pd ? &pd->quota : NULL;
}
/* An object of cache c charged to pd, or NULL (over quota or out of memory): quota_alloc. */
void *pd_alloc(struct pd *pd, struct slab_cache *c);
/* Free an object pd_alloc gave, refunding the same pd. */
void pd_free(struct pd *pd, struct slab_cache *c, void *obj);

/*
 * Kernel-owned user memory: fresh zeroed frames charged to the PD, each recorded in its memory
 * space as a kernel-owned mapping-database node (mdb.h), so that no delegation can replace it.
 * pd_map_anon backs [va, va+size) for good (program image, stack; freed with the PD).
 */
status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr);
/* One such page at `va` for an object of the caller (a UTCB, a vCPU state page); BUSY if used. */
status_t pd_map_page(struct pd *pd, uint64_t va, unsigned attr, void **kptr);
/* Undo pd_map_page: unmap, shoot down, free exactly the frame pd_map_page put there. */
void pd_unmap_page(struct pd *pd, uint64_t va);
/* Switch this CPU to the PD's memory space (NULL: the kernel's); inline, as it is on every way
 * back to user mode. Defined below, after kernel_pt. */
static inline void pd_activate(struct pd *pd);

/*
 * Copy between kernel memory and the PD's user half. The kernel never dereferences a user pointer:
 * every page is looked up in the PD's page table and must be user-accessible (and writable for
 * copy_to). Returns VIREO_BAD_PAR for any address outside, unmapped or not permitted.
 */
status_t pd_copy_from_user(struct pd *pd, void *dst, uint64_t uva, size_t len);
status_t pd_copy_to_user(struct pd *pd, uint64_t uva, const void *src, size_t len);

/* Capability lookup in the PD's object space: the object if its type and rights fit. */
struct kobj *pd_lookup_obj(struct pd *pd, uint64_t sel, enum vireo_obj_type type, unsigned rights);
/* Install a fresh capability for a new object (a derivation-tree root) at `sel`. */
status_t pd_install_obj(struct pd *pd, uint64_t sel, struct kobj *obj, unsigned rights);

/* Delegate a CRD range from `src` to `dst` at `dst_base` (map, or grant with VIREO_DELEGATE_GRANT). */
status_t pd_delegate(struct pd *src, struct pd *dst, uint64_t crd, uint64_t dst_base,
		     unsigned flags);
/* Revoke what derives from the CRD range in `pd` (and the range itself with `self`). */
status_t pd_revoke(struct pd *pd, uint64_t crd, bool self);
/* Kernel-created memory and port capabilities (the roottask's initial resources). */
status_t pd_grant_memory(struct pd *pd, uint64_t va, paddr_t pa, unsigned order, unsigned rights);
status_t pd_grant_ports(struct pd *pd, uint32_t port, unsigned order);

/* The kernel's own page table and its allocator for table pages. */
extern struct pt kernel_pt;

static inline __attribute__((always_inline)) void pd_activate(struct pd *pd)
{
	uint64_t root = pa_addr(pd ? pd->pt.root : kernel_pt.root);
	if (arch_space_root() != root) {
		arch_space_load(root);
	}
	__atomic_store_n(&this_cpu()->cr3, root, __ATOMIC_RELEASE);
}
extern const struct pt_alloc kernel_pt_alloc;
void pd_init_kernel(paddr_t root);
unsigned pd_count(void);

#endif
