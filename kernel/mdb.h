/* SPDX-License-Identifier: MIT */
/* Mapping database: how each capability was derived, so that revoke can follow it (docs/architecture.md#mapping-database). */
#ifndef KERNEL_MDB_H
#define KERNEL_MDB_H

#include <vireo/caps.h>

#include "quota.h"
#include "types.h"

/*
 * One mechanism serves the three spaces of a PD. A node is a naturally aligned range
 * [base, base + 2^order) of one space, backed by the resources [res, res + 2^order):
 *   MDB_OBJ  base = selector, res = pointer to a struct kobj; order is always 0
 *   MDB_MEM  base = page number in the PD (guest-physical page for a VM PD), res = physical page
 *   MDB_IO   base = port, res = port
 * Every node derived by map hangs below the node it came from; kernel-made nodes are roots.
 *
 * Kernel-owned nodes (mdb_insert_kernel) record memory the kernel itself mapped into a PD (a
 * UTCB, a vCPU state page, anonymous memory): a single page the PD may use but does not hold as
 * a capability. It is never a delegation source (BAD_CAP), never overwritten by one (BUSY), and a
 * revoke leaves it; only mdb_remove_kernel and mdb_space_destroy remove it.
 *
 * Memory for nodes and object-slot pages is charged to the quota of the space the node lives in
 * (mdb_space_set_quota; none by default), so it is refunded when the node goes, at the latest when
 * the space is destroyed. A grant moves the charge with the node.
 *
 * Concurrency: the kernel calls every function here under its one global kernel lock, so the
 * database has no locks of its own. Nothing here recurses with the depth of a derivation tree:
 * revoke walks the tree with parent pointers; only the per-space AVL trees recurse, bounded by
 * their height (below 1.45 log2 of the node count, so under 64 for any memory size).
 */

enum mdb_kind { MDB_OBJ, MDB_MEM, MDB_IO };

struct mdb_space;

/* One capability range in one space. Public for the kernel and tests to read; only mdb.c writes. */
struct mdb_node {
	struct mdb_space *space;
	uint64_t base;
	unsigned order;
	unsigned rights;
	uint64_t res;
	bool kernel; /* kernel-owned (see above) */
	/* derivation tree: parent, first child, doubly linked siblings */
	struct mdb_node *parent;
	struct mdb_node *child;
	struct mdb_node *next;
	struct mdb_node *prev;
	/* AVL tree of an MDB_MEM / MDB_IO space, keyed by base */
	struct mdb_node *left;
	struct mdb_node *right;
	int height;
};

#define MDB_OBJ_SLOTS_PER_PAGE (PAGE_SIZE / sizeof(struct mdb_node *))
#define MDB_OBJ_PAGES ((VIREO_CAP_SPACE_SIZE + MDB_OBJ_SLOTS_PER_PAGE - 1) / MDB_OBJ_SLOTS_PER_PAGE)

/* One space of a PD. `owner` is opaque here: the kernel's unmap callback uses it. */
struct mdb_space {
	enum mdb_kind kind;
	void *owner;
	struct quota *quota; /* pays for the nodes and slot pages of this space; NULL: nobody */
	/* Bumped whenever a node leaves the space (removed, moved, split, the space destroyed): a
	 * lookup remembered together with the generation it saw is still right while it is equal
	 * (docs/architecture.md#resume-fast-path). Nodes change rights or resource only off the index. */
	uint64_t gen;
	union {
		/* MDB_MEM, MDB_IO: AVL tree */
		struct mdb_node *root;
		/* MDB_OBJ: slots by selector, in pages made on demand */
		struct mdb_node **slots[MDB_OBJ_PAGES];
	};
};

/* Sees each node revoke removes while it is still linked (a leaf by then), before it is freed. */
typedef void (*mdb_unmap_fn)(struct mdb_node *n, void *arg);

/*
 * Forgets every node (boot; unit tests after frame_init). The first allocation calls it when
 * nobody has, so the kernel need not.
 */
void mdb_init(void);

/* An empty space of `kind`. Nodes live until revoked or until mdb_space_destroy. */
void mdb_space_init(struct mdb_space *s, enum mdb_kind kind, void *owner);

/* Charge this space's node and slot memory to q from now on (before anything is inserted). */
void mdb_space_set_quota(struct mdb_space *s, struct quota *q);

/* The node whose range covers addr, or NULL. O(1) for MDB_OBJ, O(log n) otherwise. */
struct mdb_node *mdb_lookup(const struct mdb_space *s, uint64_t addr);

/*
 * A capability the kernel makes from nothing: a new object, the roottask's memory and ports.
 * BAD_PAR if base is not aligned to 2^order, the range leaves the space (selector >=
 * VIREO_CAP_SPACE_SIZE, port > 0xffff) or overlaps a node of s, or order > 0 in an MDB_OBJ space.
 * NO_MEM without node memory. *out (may be NULL) receives the node.
 */
status_t mdb_insert_root(struct mdb_space *s, uint64_t base, unsigned order, unsigned rights,
			 uint64_t res, struct mdb_node **out);

/*
 * A kernel-owned page at `base` backed by physical page `res` (see above). BAD_PAR if the space is
 * not MDB_MEM or the page overlaps a node; NO_MEM without node memory.
 */
status_t mdb_insert_kernel(struct mdb_space *s, uint64_t base, unsigned rights, uint64_t res,
			   struct mdb_node **out);

/*
 * Removes the kernel-owned node at `base` (unmap sees it first); returns its resource in *res.
 * BAD_PAR if there is no kernel-owned node there: the caller's page is gone or was never its own.
 */
status_t mdb_remove_kernel(struct mdb_space *s, uint64_t base, mdb_unmap_fn unmap, void *arg,
			   uint64_t *res);

/*
 * Map (grant false): derives a node in dst covering [dst_base, +2^order) from the source node
 * of src that covers all of [src_base, +2^order), with rights = source rights & rights_mask
 * (never more) and the resource at the same offset. A repeated map of exactly the same range
 * and resource returns OK and the node already there (its rights stay as they are).
 *
 * Grant (grant true): the source node itself moves to dst (rights & rights_mask): it keeps its
 * place below its parent, its children follow it, and the range is gone from src. Only a whole
 * source node can be granted (BAD_PAR otherwise). Nodes already derived from it keep their
 * rights; revoke them first to restrict them too. No unmap callback runs: the caller removes
 * the source's hardware mapping itself (it knows the range).
 *
 * MDB_OBJ with order k > 0 is 2^k single-selector delegations done all or nothing: every
 * selector of the source window must hold a capability, every destination selector must be
 * free (or, for map, hold the same object already); *out then is the node at dst_base.
 *
 * BAD_PAR: kinds differ, a base is not aligned, a range leaves its space, dst == src with
 * dst_base == src_base. BAD_CAP: src does not hold the whole range in one node ("you do not
 * have it", also for a kernel-owned source). BUSY: dst holds something else in the range (for
 * grant: anything; always for a kernel-owned node). NO_MEM: no node memory or over dst's quota.
 */
status_t mdb_delegate(struct mdb_space *src, uint64_t src_base, unsigned order,
		      struct mdb_space *dst, uint64_t dst_base, unsigned rights_mask, bool grant,
		      struct mdb_node **out);

/*
 * For every node of s that overlaps [base, base + 2^order): removes every node derived from it,
 * in every space, and with `self` the node too, children before parents; unmap (may be NULL)
 * sees each removed node once. It must not call back into the MDB.
 *
 * Aligned ranges are nested or disjoint, so at most one node covers the range only in part:
 * one that contains it. Of that node only the derived nodes whose source overlaps the range
 * go (a derived node larger than the range goes whole: a mapping is never split), and with
 * `self` the node is split into aligned pieces: the piece equal to the range is removed (unmap
 * sees it with base and order of the range), the others stay with their derived nodes.
 * Kernel-owned nodes stay even with `self`.
 *
 * BAD_PAR for an unaligned range or order > 63; NO_MEM when a split finds no node memory. On
 * an error nothing was changed.
 */
status_t mdb_revoke(struct mdb_space *s, uint64_t base, unsigned order, bool self,
		    mdb_unmap_fn unmap, void *arg);

/* Revokes everything in s including its own and kernel-owned nodes (its PD dies); s is empty. */
void mdb_space_destroy(struct mdb_space *s, mdb_unmap_fn unmap, void *arg);

/* Calls fn for each node of s in order of base. fn must not change the MDB. */
void mdb_space_foreach(const struct mdb_space *s, void (*fn)(struct mdb_node *n, void *arg),
		       void *arg);

/* Live nodes in all spaces, for statistics and leak checks. */
size_t mdb_node_count(void);

#endif
