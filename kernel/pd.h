/* SPDX-License-Identifier: MIT */
/* Protection domain: object space, memory space (host page table) and I/O space (seed 002, 003). */
#ifndef KERNEL_PD_H
#define KERNEL_PD_H

#include "kobj.h"
#include "mdb.h"
#include "pt.h"
#include "types.h"

#define PD_MAX_ANON 8

/* User memory backed by kernel frames the PD owns (program image, stacks, UTCBs): freed with it. */
struct pd_anon {
	uint64_t va, size;
};

struct pd {
	struct kobj obj;
	struct pt pt;		     /* memory space: user half private, kernel half shared */
	struct pt_alloc table_alloc; /* page-table pages, charged to this PD */
	struct mdb_space objs;	     /* object space: selectors -> capabilities */
	struct mdb_space mem; /* memory space: delegated pages (virtual page -> physical page) */
	struct mdb_space io;  /* I/O space: delegated ports */
	uint8_t *io_bitmap;   /* 8 KiB, one bit per port, 0 = allowed; NULL until a port arrives */
	uint64_t quota;	      /* kernel memory this PD may use, in bytes */
	uint64_t used;	      /* charged so far */
	struct pd *quota_parent; /* where the quota came from (given back on destruction) */
	char name[16];
	bool vm;		/* a VM: the memory space is guest-physical, nothing runs in it */
	unsigned live_ecs;	/* ECs of this PD that have not exited */
	struct sm *charged_sms; /* semaphores its quota pays for (kernel/sm.c) */
	unsigned caps;		/* capabilities naming it (its reachability, see pd_cap_put) */
	struct pd_anon anon[PD_MAX_ANON];
	unsigned nanon;
};

/* Create an empty PD with `quota` bytes taken from `parent`'s quota (NULL: the kernel's own). */
status_t pd_create(struct pd *parent, uint64_t quota, const char *name, struct pd **out);
/* A VM PD: its memory space is a guest-physical page table in `fmt` (NPT or EPT). */
status_t pd_create_vm(struct pd *parent, uint64_t quota, enum pt_format fmt, struct pd **out);
/* A capability to `o` appears / goes (pd.c keeps PDs' capability counts). */
void pd_cap_get(struct kobj *o);
void pd_cap_put(struct kobj *o);
/* The last capability to `pd` went: empty its object space (obj.c calls it outside MDB walks). */
void pd_drop_objects(struct pd *pd);
/* Called when the last reference goes: tears down all spaces, frees the PD. */
void pd_destroy(struct pd *pd);
/* Charge / refund kernel memory to a PD's quota. */
status_t pd_charge(struct pd *pd, uint64_t bytes);
void pd_refund(struct pd *pd, uint64_t bytes);

/* Back [va, va+size) with fresh zeroed kernel frames mapped with `attr` (MAP_* | MAP_U implied). */
status_t pd_map_anon(struct pd *pd, uint64_t va, uint64_t size, unsigned attr);
/* One zeroed kernel frame at `va` owned by the caller (an EC's UTCB), not by the PD's anon list. */
status_t pd_map_page(struct pd *pd, uint64_t va, unsigned attr, void **kptr);
/* Undo pd_map_page: unmap everywhere, shoot down, free the frame. */
void pd_unmap_page(struct pd *pd, uint64_t va);
/* Switch this CPU to the PD's memory space (NULL: the kernel's). */
void pd_activate(struct pd *pd);

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
extern const struct pt_alloc kernel_pt_alloc;
void pd_init_kernel(paddr_t root);
unsigned pd_count(void);

#endif
