/* SPDX-License-Identifier: MIT */
/* Mapping database: derivation trees of capability ranges, indexed per space (docs/architecture.md#mapping-database). */
#include "mdb.h"

#include "arch.h"
#include "assert.h"
#include "frame.h"
#include "kstring.h"
#include "slab.h"

_Static_assert(MDB_OBJ_SLOTS_PER_PAGE * sizeof(struct mdb_node *) == PAGE_SIZE,
	       "an object-space slot page is one frame");

static struct slab_cache node_cache;
static bool node_cache_ready;

/* ---------------------------------------------------------------- node memory */

void mdb_init(void)
{
	slab_cache_init(&node_cache, "mdb_node", sizeof(struct mdb_node), 0);
	node_cache_ready = true;
}

size_t mdb_node_count(void)
{
	return node_cache_ready ? slab_in_use(&node_cache) : 0;
}

static struct mdb_node *node_alloc(struct mdb_space *s)
{
	if (!node_cache_ready) {
		mdb_init();
	}
	return quota_alloc(s->quota, &node_cache);
}

static void node_free(struct mdb_node *n)
{
	quota_free(n->space->quota, &node_cache, n);
}

static void node_place(struct mdb_node *n, struct mdb_space *s, uint64_t base, unsigned order,
		       unsigned rights, uint64_t res)
{
	n->space = s;
	n->base = base;
	n->order = order;
	n->rights = rights;
	n->res = res;
}

/* Spares are charged to the space they are for until they are placed. */
static void spares_free(struct mdb_space *s, struct mdb_node **list)
{
	while (*list) {
		struct mdb_node *n = *list;
		*list = n->next;
		quota_free(s->quota, &node_cache, n);
	}
}

/*
 * Operations that need several nodes take them all before they change anything (chained through
 * `next`), so that running out of memory leaves the database as it was.
 */
static status_t spares_alloc(struct mdb_space *s, size_t count, struct mdb_node **list)
{
	*list = NULL;
	for (size_t i = 0; i < count; i++) {
		struct mdb_node *n = node_alloc(s);
		if (!n) {
			spares_free(s, list);
			return VIREO_NO_MEM;
		}
		n->next = *list;
		*list = n;
	}
	return VIREO_OK;
}

static struct mdb_node *spare_take(struct mdb_node **list)
{
	struct mdb_node *n = *list;
	CHECK(n);
	*list = n->next;
	n->next = NULL;
	return n;
}

/* ---------------------------------------------------------------- ranges */

static uint64_t range_last(uint64_t base, unsigned order)
{
	return base + ((UINT64_C(1) << order) - 1);
}

static uint64_t node_last(const struct mdb_node *n)
{
	return range_last(n->base, n->order);
}

static uint64_t space_last(enum mdb_kind kind)
{
	switch (kind) {
	case MDB_OBJ:
		return VIREO_CAP_SPACE_SIZE - 1;
	case MDB_IO:
		return 0xffff;
	default:
		return UINT64_MAX;
	}
}

/* Inclusive ends (base + 2^order - 1) cannot overflow once base is aligned and order < 64. */
static bool range_valid(const struct mdb_space *s, uint64_t base, unsigned order)
{
	return order < 64 && IS_ALIGNED(base, UINT64_C(1) << order) &&
	       range_last(base, order) <= space_last(s->kind);
}

/* ---------------------------------------------------------------- AVL index (MDB_MEM, MDB_IO) */

/* Recursion below is bounded by the tree height, under 64 for any node count that fits in RAM. */

static int avl_height(const struct mdb_node *n)
{
	return n ? n->height : 0;
}

static void avl_fix_height(struct mdb_node *n)
{
	n->height = 1 + MAX(avl_height(n->left), avl_height(n->right));
}

static struct mdb_node *avl_rotate_right(struct mdb_node *n)
{
	struct mdb_node *l = n->left;
	n->left = l->right;
	l->right = n;
	avl_fix_height(n);
	avl_fix_height(l);
	return l;
}

static struct mdb_node *avl_rotate_left(struct mdb_node *n)
{
	struct mdb_node *r = n->right;
	n->right = r->left;
	r->left = n;
	avl_fix_height(n);
	avl_fix_height(r);
	return r;
}

/* Restores |height(left) - height(right)| <= 1 at n after one insert or remove below it. */
static struct mdb_node *avl_balance(struct mdb_node *n)
{
	avl_fix_height(n);
	int bf = avl_height(n->left) - avl_height(n->right);
	if (bf > 1) {
		if (avl_height(n->left->left) < avl_height(n->left->right)) {
			n->left = avl_rotate_left(n->left);
		}
		return avl_rotate_right(n);
	}
	if (bf < -1) {
		if (avl_height(n->right->right) < avl_height(n->right->left)) {
			n->right = avl_rotate_right(n->right);
		}
		return avl_rotate_left(n);
	}
	return n;
}

/* Bases in one space are unique: ranges never overlap. */
static struct mdb_node *avl_insert(struct mdb_node *t, struct mdb_node *n)
{
	if (!t) {
		n->left = NULL;
		n->right = NULL;
		n->height = 1;
		return n;
	}
	CHECK(n->base != t->base);
	if (n->base < t->base) {
		t->left = avl_insert(t->left, n);
	} else {
		t->right = avl_insert(t->right, n);
	}
	return avl_balance(t);
}

static struct mdb_node *avl_remove_min(struct mdb_node *t, struct mdb_node **min)
{
	if (!t->left) {
		*min = t;
		return t->right;
	}
	t->left = avl_remove_min(t->left, min);
	return avl_balance(t);
}

/* The node with n's key takes its in-order successor's place when it has two subtrees. */
static struct mdb_node *avl_remove(struct mdb_node *t, const struct mdb_node *n)
{
	CHECK(t);
	if (n->base < t->base) {
		t->left = avl_remove(t->left, n);
	} else if (n->base > t->base) {
		t->right = avl_remove(t->right, n);
	} else {
		CHECK(t == n);
		if (!t->right) {
			return t->left;
		}
		struct mdb_node *m;
		struct mdb_node *right = avl_remove_min(t->right, &m);
		m->left = t->left;
		m->right = right;
		t = m;
	}
	return avl_balance(t);
}

/* The node with the greatest base <= addr. */
static struct mdb_node *avl_floor(struct mdb_node *t, uint64_t addr)
{
	struct mdb_node *best = NULL;
	while (t) {
		if (t->base <= addr) {
			best = t;
			t = t->right;
		} else {
			t = t->left;
		}
	}
	return best;
}

/* The node with the least base >= addr. */
static struct mdb_node *avl_ceil(struct mdb_node *t, uint64_t addr)
{
	struct mdb_node *best = NULL;
	while (t) {
		if (t->base >= addr) {
			best = t;
			t = t->left;
		} else {
			t = t->right;
		}
	}
	return best;
}

/* ---------------------------------------------------------------- slot index (MDB_OBJ) */

/* The slot of selector sel, or NULL while its page does not exist. */
static struct mdb_node **obj_slot(const struct mdb_space *s, uint64_t sel)
{
	struct mdb_node **page = s->slots[sel / MDB_OBJ_SLOTS_PER_PAGE];
	return page ? &page[sel % MDB_OBJ_SLOTS_PER_PAGE] : NULL;
}

static status_t obj_page_get(struct mdb_space *s, uint64_t sel)
{
	struct mdb_node ***page = &s->slots[sel / MDB_OBJ_SLOTS_PER_PAGE];
	if (*page) {
		return VIREO_OK;
	}
	paddr_t pa = quota_frames(s->quota, 0);
	if (!pa_valid(pa)) {
		return VIREO_NO_MEM;
	}
	*page = phys_to_virt(pa);
	memset(*page, 0, PAGE_SIZE);
	return VIREO_OK;
}

static void obj_pages_free(struct mdb_space *s)
{
	s->gen++;
	for (size_t i = 0; i < MDB_OBJ_PAGES; i++) {
		if (s->slots[i]) {
			quota_frames_free(s->quota, virt_to_phys(s->slots[i]), 0);
			s->slots[i] = NULL;
		}
	}
}

/* ---------------------------------------------------------------- space index */

/* Makes inserting into [base, base + count) of s unable to fail (slot pages exist). */
static status_t index_prepare(struct mdb_space *s, uint64_t base, uint64_t count)
{
	if (s->kind != MDB_OBJ) {
		return VIREO_OK;
	}
	for (uint64_t sel = base; sel < base + count; sel += MDB_OBJ_SLOTS_PER_PAGE) {
		if (obj_page_get(s, sel) != VIREO_OK) {
			return VIREO_NO_MEM;
		}
	}
	return obj_page_get(s, base + count - 1);
}

static void index_insert(struct mdb_space *s, struct mdb_node *n)
{
	if (s->kind == MDB_OBJ) {
		struct mdb_node **slot = obj_slot(s, n->base);
		CHECK(slot && !*slot);
		*slot = n;
		return;
	}
	s->root = avl_insert(s->root, n);
}

static void index_remove(struct mdb_space *s, struct mdb_node *n)
{
	s->gen++;
	if (s->kind == MDB_OBJ) {
		struct mdb_node **slot = obj_slot(s, n->base);
		CHECK(slot && *slot == n);
		*slot = NULL;
		return;
	}
	s->root = avl_remove(s->root, n);
}

void mdb_space_init(struct mdb_space *s, enum mdb_kind kind, void *owner)
{
	*s = (struct mdb_space){ .kind = kind, .owner = owner };
}

void mdb_space_set_quota(struct mdb_space *s, struct quota *q)
{
	s->quota = q;
}

struct mdb_node *mdb_lookup(const struct mdb_space *s, uint64_t addr)
{
	if (addr > space_last(s->kind)) {
		return NULL;
	}
	if (s->kind == MDB_OBJ) {
		struct mdb_node **slot = obj_slot(s, addr);
		return slot ? *slot : NULL;
	}
	struct mdb_node *n = avl_floor(s->root, addr);
	return n && addr <= node_last(n) ? n : NULL;
}

/* The node of s with the least base in [from, last], or NULL. */
static struct mdb_node *first_in(const struct mdb_space *s, uint64_t from, uint64_t last)
{
	if (s->kind == MDB_OBJ) {
		last = MIN(last, space_last(MDB_OBJ));
		for (uint64_t sel = from; sel <= last; sel++) {
			struct mdb_node *n = mdb_lookup(s, sel);
			if (n) {
				return n;
			}
		}
		return NULL;
	}
	struct mdb_node *n = avl_ceil(s->root, from);
	return n && n->base <= last ? n : NULL;
}

/* A node of s that overlaps [base, last], or NULL (nodes never overlap, so any one tells). */
static struct mdb_node *find_overlap(const struct mdb_space *s, uint64_t base, uint64_t last)
{
	struct mdb_node *n = mdb_lookup(s, base);
	return n ? n : first_in(s, base, last);
}

void mdb_space_foreach(const struct mdb_space *s, void (*fn)(struct mdb_node *n, void *arg),
		       void *arg)
{
	uint64_t from = 0;
	struct mdb_node *n;
	while ((n = first_in(s, from, UINT64_MAX))) {
		uint64_t last = node_last(n);
		fn(n, arg);
		if (last == UINT64_MAX) {
			return;
		}
		from = last + 1;
	}
}

/* ---------------------------------------------------------------- derivation tree */

static void link_child(struct mdb_node *parent, struct mdb_node *c)
{
	c->parent = parent;
	c->prev = NULL;
	c->next = parent->child;
	if (parent->child) {
		parent->child->prev = c;
	}
	parent->child = c;
}

static void unlink_child(struct mdb_node *c)
{
	if (c->prev) {
		c->prev->next = c->next;
	} else if (c->parent) {
		c->parent->child = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	}
	c->parent = NULL;
	c->next = NULL;
	c->prev = NULL;
}

/* Where in its parent's range c was taken from: resources are linear within a node. */
static uint64_t source_base(const struct mdb_node *c)
{
	return c->parent->base + (c->res - c->parent->res);
}

/* ---------------------------------------------------------------- insert and delegate */

status_t mdb_insert_root(struct mdb_space *s, uint64_t base, unsigned order, unsigned rights,
			 uint64_t res, struct mdb_node **out)
{
	if (!range_valid(s, base, order) || (s->kind == MDB_OBJ && order != 0)) {
		return VIREO_BAD_PAR;
	}
	if (find_overlap(s, base, range_last(base, order))) {
		return VIREO_BAD_PAR;
	}
	struct mdb_node *n = NULL;
	if (index_prepare(s, base, 1) != VIREO_OK || !(n = node_alloc(s))) {
		return VIREO_NO_MEM;
	}
	node_place(n, s, base, order, rights, res);
	index_insert(s, n);
	if (out) {
		*out = n;
	}
	return VIREO_OK;
}

status_t mdb_insert_kernel(struct mdb_space *s, uint64_t base, unsigned rights, uint64_t res,
			   struct mdb_node **out)
{
	struct mdb_node *n;
	if (s->kind != MDB_MEM) {
		return VIREO_BAD_PAR;
	}
	status_t st = mdb_insert_root(s, base, 0, rights, res, &n);
	if (st == VIREO_OK) {
		n->kernel = true;
		if (out) {
			*out = n;
		}
	}
	return st;
}

/* A delegation as `count` units of 2^order each: 2^k selectors for MDB_OBJ, else one range. */
struct deleg {
	struct mdb_space *src;
	struct mdb_space *dst;
	uint64_t src_base;
	uint64_t dst_base;
	unsigned order;
	uint64_t count;
	unsigned mask;
	bool grant;
};

/* What unit i finds: the source node and an identical node already in dst (repeated map). */
struct deleg_unit {
	struct mdb_node *from;
	struct mdb_node *found;
	uint64_t src_base;
	uint64_t dst_base;
};

static status_t deleg_check(const struct deleg *d, uint64_t i, struct deleg_unit *u)
{
	u->src_base = d->src_base + (i << d->order);
	u->dst_base = d->dst_base + (i << d->order);
	u->from = mdb_lookup(d->src, u->src_base);
	if (!u->from || u->from->kernel || range_last(u->src_base, d->order) > node_last(u->from)) {
		return VIREO_BAD_CAP;
	}
	if (d->grant && (u->from->base != u->src_base || u->from->order != d->order)) {
		return VIREO_BAD_PAR;
	}
	uint64_t res = u->from->res + (u->src_base - u->from->base);
	u->found = find_overlap(d->dst, u->dst_base, range_last(u->dst_base, d->order));
	if (u->found && (d->grant || u->found->kernel || u->found->base != u->dst_base ||
			 u->found->order != d->order || u->found->res != res)) {
		return VIREO_BUSY;
	}
	return VIREO_OK;
}

/* Checks every unit before anything changes; counts the nodes the map will need. */
static status_t deleg_check_all(const struct deleg *d, size_t *needed)
{
	struct deleg_unit u;
	*needed = 0;
	for (uint64_t i = 0; i < d->count; i++) {
		status_t st = deleg_check(d, i, &u);
		if (st != VIREO_OK) {
			return st;
		}
		if (!d->grant && !u.found) {
			(*needed)++;
		}
	}
	return VIREO_OK;
}

/* Grant: the node itself moves, so its place in the tree and its children stay. */
static void node_move(struct mdb_node *n, struct mdb_space *dst, uint64_t base, unsigned mask)
{
	index_remove(n->space, n);
	n->space = dst;
	n->base = base;
	n->rights &= mask;
	index_insert(dst, n);
}

static struct mdb_node *deleg_commit(const struct deleg *d, const struct deleg_unit *u,
				     struct mdb_node **spares)
{
	if (u->found) {
		return u->found;
	}
	if (d->grant) {
		node_move(u->from, d->dst, u->dst_base, d->mask);
		return u->from;
	}
	struct mdb_node *n = spare_take(spares);
	uint64_t res = u->from->res + (u->src_base - u->from->base);
	node_place(n, d->dst, u->dst_base, d->order, u->from->rights & d->mask, res);
	index_insert(d->dst, n);
	link_child(u->from, n);
	return n;
}

/*
 * Units are committed in order after all were checked. Committing one never changes what a later
 * one checks: a map only fills destination slots that were free, hence no source slots, and a
 * grant only empties source slots, which were full, hence no destination slots.
 */
static struct mdb_node *deleg_commit_all(const struct deleg *d, struct mdb_node **spares)
{
	struct mdb_node *first = NULL;
	struct deleg_unit u;
	for (uint64_t i = 0; i < d->count; i++) {
		CHECK(deleg_check(d, i, &u) == VIREO_OK);
		struct mdb_node *n = deleg_commit(d, &u, spares);
		if (i == 0) {
			first = n;
		}
	}
	CHECK(!*spares);
	return first;
}

/* Granted nodes change space: their charge moves from the source's quota to the destination's. */
static status_t grant_charge(const struct deleg *d)
{
	if (!d->grant || d->src->quota == d->dst->quota) {
		return VIREO_OK;
	}
	return quota_charge(d->dst->quota, d->count * node_cache.objsize);
}

static void grant_refund(const struct deleg *d)
{
	if (d->grant && d->src->quota != d->dst->quota) {
		quota_refund(d->src->quota, d->count * node_cache.objsize);
	}
}

static status_t deleg_run(const struct deleg *d, struct mdb_node **out)
{
	size_t needed;
	struct mdb_node *spares = NULL;
	status_t st = deleg_check_all(d, &needed);
	if (st != VIREO_OK) {
		return st;
	}
	if (index_prepare(d->dst, d->dst_base, d->count) != VIREO_OK ||
	    spares_alloc(d->dst, needed, &spares) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	if (grant_charge(d) != VIREO_OK) {
		spares_free(d->dst, &spares);
		return VIREO_NO_MEM;
	}
	grant_refund(d);
	struct mdb_node *n = deleg_commit_all(d, &spares);
	if (out) {
		*out = n;
	}
	return VIREO_OK;
}

status_t mdb_delegate(struct mdb_space *src, uint64_t src_base, unsigned order,
		      struct mdb_space *dst, uint64_t dst_base, unsigned rights_mask, bool grant,
		      struct mdb_node **out)
{
	if (src->kind != dst->kind || !range_valid(src, src_base, order) ||
	    !range_valid(dst, dst_base, order) || (src == dst && src_base == dst_base)) {
		return VIREO_BAD_PAR;
	}
	bool obj = src->kind == MDB_OBJ;
	struct deleg d = {
		.src = src,
		.dst = dst,
		.src_base = src_base,
		.dst_base = dst_base,
		.order = obj ? 0 : order,
		.count = obj ? UINT64_C(1) << order : 1,
		.mask = rights_mask,
		.grant = grant,
	};
	return deleg_run(&d, out);
}

/* ---------------------------------------------------------------- revoke */

/* Removes a leaf: unmap sees it still linked and in its space, then it leaves both. */
static void node_remove(struct mdb_node *n, mdb_unmap_fn unmap, void *arg)
{
	CHECK(!n->child);
	if (unmap) {
		unmap(n, arg);
	}
	unlink_child(n);
	index_remove(n->space, n);
	node_free(n);
}

/*
 * Removes every node derived from top in post-order without recursion (chains can be thousands
 * deep): go down first children to a leaf, remove it, continue from its parent.
 */
static void remove_derived(struct mdb_node *top, mdb_unmap_fn unmap, void *arg)
{
	struct mdb_node *n = top;
	for (;;) {
		while (n->child) {
			n = n->child;
		}
		if (n == top) {
			return;
		}
		struct mdb_node *up = n->parent;
		node_remove(n, unmap, arg);
		n = up;
	}
}

/* How a revoke treats the nodes it was asked about; kernel-owned ones stay unless the space dies. */
enum revoke_self { KEEP, REMOVE, REMOVE_ALL };

static void remove_tree(struct mdb_node *top, enum revoke_self self, mdb_unmap_fn unmap, void *arg)
{
	remove_derived(top, unmap, arg);
	if (self == REMOVE_ALL || (self == REMOVE && !top->kernel)) {
		node_remove(top, unmap, arg);
	}
}

/* Removes the nodes derived from n whose source overlaps [base, last], each with its subtree. */
static void remove_derived_in(struct mdb_node *n, uint64_t base, uint64_t last, mdb_unmap_fn unmap,
			      void *arg)
{
	struct mdb_node *next;
	for (struct mdb_node *c = n->child; c; c = next) {
		next = c->next;
		uint64_t from = source_base(c);
		if (from <= last && range_last(from, c->order) >= base) {
			remove_tree(c, REMOVE, unmap, arg);
		}
	}
}

/* The buddy of the order-i block that contains base: the piece a split leaves at order i. */
static uint64_t buddy_base(uint64_t base, unsigned i)
{
	return (base ^ (UINT64_C(1) << i)) & ~((UINT64_C(1) << i) - 1);
}

/*
 * Cuts n, which strictly contains the aligned range [base, +2^order), into aligned pieces: n
 * shrinks to the range and a spare becomes the buddy at each order from `order` up to n's. Aligned
 * sources are nested or disjoint, so each derived node left (none overlaps the range) lies in
 * exactly one piece and moves below it.
 */
static void node_split(struct mdb_node *n, uint64_t base, unsigned order, struct mdb_node **spares)
{
	struct mdb_space *s = n->space;
	uint64_t old_base = n->base, old_res = n->res;
	unsigned old_order = n->order;

	index_remove(s, n);
	node_place(n, s, base, order, n->rights, old_res + (base - old_base));
	index_insert(s, n);
	for (unsigned i = order; i < old_order; i++) {
		struct mdb_node *p = spare_take(spares);
		uint64_t pb = buddy_base(base, i);
		node_place(p, s, pb, i, n->rights, old_res + (pb - old_base));
		index_insert(s, p);
		if (n->parent) {
			link_child(n->parent, p);
		}
	}
	while (n->child) {
		struct mdb_node *c = n->child;
		struct mdb_node *p = mdb_lookup(s, old_base + (c->res - old_res));
		CHECK(p && p != n);
		unlink_child(c);
		link_child(p, c);
	}
}

/* Revoke of a range that n strictly contains. */
static status_t revoke_part(struct mdb_node *n, uint64_t base, unsigned order, bool self,
			    mdb_unmap_fn unmap, void *arg)
{
	struct mdb_node *spares = NULL;
	CHECK(!n->kernel); /* a single page: never strictly contains a range */
	if (self && spares_alloc(n->space, n->order - order, &spares) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	remove_derived_in(n, base, range_last(base, order), unmap, arg);
	if (self) {
		node_split(n, base, order, &spares);
		node_remove(n, unmap, arg);
	}
	return VIREO_OK;
}

/* Revoke of every node of s inside [base, last], in order of base. */
static void revoke_within(struct mdb_space *s, uint64_t base, uint64_t last, enum revoke_self self,
			  mdb_unmap_fn unmap, void *arg)
{
	uint64_t from = base;
	struct mdb_node *n;
	while ((n = first_in(s, from, last))) {
		uint64_t n_last = node_last(n);
		remove_tree(n, self, unmap, arg);
		if (n_last >= last) {
			return;
		}
		from = n_last + 1;
	}
}

status_t mdb_revoke(struct mdb_space *s, uint64_t base, unsigned order, bool self,
		    mdb_unmap_fn unmap, void *arg)
{
	if (order > 63 || !IS_ALIGNED(base, UINT64_C(1) << order)) {
		return VIREO_BAD_PAR;
	}
	uint64_t last = range_last(base, order);
	struct mdb_node *n = mdb_lookup(s, base);
	if (n && (n->base < base || node_last(n) > last)) {
		return revoke_part(n, base, order, self, unmap, arg);
	}
	revoke_within(s, base, last, self ? REMOVE : KEEP, unmap, arg);
	return VIREO_OK;
}

status_t mdb_remove_kernel(struct mdb_space *s, uint64_t base, mdb_unmap_fn unmap, void *arg,
			   uint64_t *res)
{
	struct mdb_node *n = mdb_lookup(s, base);
	if (!n || !n->kernel) {
		return VIREO_BAD_PAR;
	}
	*res = n->res;
	remove_tree(n, REMOVE_ALL, unmap, arg);
	return VIREO_OK;
}

void mdb_space_destroy(struct mdb_space *s, mdb_unmap_fn unmap, void *arg)
{
	revoke_within(s, 0, UINT64_MAX, REMOVE_ALL, unmap, arg);
	if (s->kind == MDB_OBJ) {
		obj_pages_free(s);
	}
	CHECK(s->kind == MDB_OBJ || !s->root);
}
