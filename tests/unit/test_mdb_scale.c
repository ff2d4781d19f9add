/* SPDX-License-Identifier: MIT */
/* Mapping database at scale: deep and wide derivation trees, AVL balance, a random model run. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "fake_arch.h"
#include "frame.h"
#include "mdb.h"

#define RAM (32 * 1024 * 1024ull)
#define RW (MEM_R | MEM_W)
#define N 10000

static struct mdb_space mem_a, mem_b, mem_c;
static struct mdb_space *const spaces[] = { &mem_a, &mem_b, &mem_c };

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
	mdb_init();
	mdb_space_init(&mem_a, MDB_MEM, NULL);
	mdb_space_init(&mem_b, MDB_MEM, NULL);
	mdb_space_init(&mem_c, MDB_MEM, NULL);
}

static void teardown(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(spaces); i++) {
		mdb_space_destroy(spaces[i], NULL, NULL);
	}
	cr_expect_eq(mdb_node_count(), 0, "%zu nodes leaked", mdb_node_count());
	frame_init();
	fake_phys_fini();
}

TestSuite(mdb_scale, .init = setup, .fini = teardown);

static uint64_t last_of(uint64_t base, unsigned order)
{
	return base + ((UINT64_C(1) << order) - 1);
}

static void must(status_t st)
{
	cr_assert_eq(st, VIREO_OK, "status %d", st);
}

/* Checks search order, stored heights and balance below t; returns its height. */
static int avl_check(const struct mdb_node *t, uint64_t lo, uint64_t hi, size_t *count)
{
	if (!t) {
		return 0;
	}
	uint64_t last = last_of(t->base, t->order);
	cr_assert(t->base >= lo && last <= hi, "node %#lx outside its subtree's range", t->base);
	cr_assert(!t->left || t->base > lo);
	cr_assert(!t->right || last < hi);
	int l = t->left ? avl_check(t->left, lo, t->base - 1, count) : 0;
	int r = t->right ? avl_check(t->right, last + 1, hi, count) : 0;
	cr_assert_eq(t->height, 1 + (l > r ? l : r), "stale height at %#lx", t->base);
	cr_assert(abs(l - r) <= 1, "unbalanced at %#lx: %d vs %d", t->base, l, r);
	(*count)++;
	return t->height;
}

/* The fewest nodes an AVL tree of height h can have: a Fibonacci number minus one. */
static uint64_t avl_min_nodes(int h)
{
	uint64_t a = 0, b = 1; /* heights 0 and 1 */
	for (int i = 0; i < h; i++) {
		uint64_t next = a + b + 1;
		a = b;
		b = next;
	}
	return a;
}

/* Height about 1.44 log2(n) at most: no AVL tree of n nodes can be higher. */
static void expect_balanced(const struct mdb_space *s, size_t n)
{
	size_t count = 0;
	int h = avl_check(s->root, 0, UINT64_MAX, &count);
	cr_expect_eq(count, n);
	cr_expect_leq(avl_min_nodes(h), n, "height %d for %zu nodes", h, n);
}

/* ------------------------------------------------------------------ deep and wide */

struct order_check {
	size_t count;
	uint64_t next_base; /* children first: the chain goes away from its end */
	bool bad;
};

static void expect_descending(struct mdb_node *n, void *arg)
{
	struct order_check *c = arg;
	c->bad |= n->base != c->next_base || n->child != NULL;
	c->next_base--;
	c->count++;
}

/* Node i lives at page i of space i % 3 and is derived from node i - 1. */
static void build_chain(size_t len)
{
	must(mdb_insert_root(&mem_a, 0, 0, RW, 0x1000, NULL));
	for (size_t i = 1; i < len; i++) {
		must(mdb_delegate(spaces[(i - 1) % 3], i - 1, 0, spaces[i % 3], i, RW, false,
				  NULL));
	}
}

Test(mdb_scale, deep_chain_of_10000_levels_revokes_children_first)
{
	build_chain(N + 1);
	cr_assert_eq(mdb_node_count(), N + 1);
	struct order_check c = { .next_base = N };
	must(mdb_revoke(&mem_a, 0, 0, true, expect_descending, &c));
	cr_expect_eq(c.count, N + 1);
	cr_expect_not(c.bad, "not removed from the end of the chain back to its root");
	cr_expect_eq(mdb_node_count(), 0);
}

Test(mdb_scale, deep_chain_revoked_in_the_middle_keeps_the_upper_part)
{
	build_chain(N + 1);
	struct order_check c = { .next_base = N };
	must(mdb_revoke(spaces[5000 % 3], 5000, 0, false, expect_descending, &c));
	cr_expect_eq(c.count, N - 5000);
	cr_expect_not(c.bad);
	cr_expect_eq(mdb_node_count(), 5001);
	cr_expect_null(mdb_lookup(spaces[5000 % 3], 5000)->child);
}

Test(mdb_scale, deep_chain_goes_with_the_space_of_its_root)
{
	build_chain(N + 1);
	mdb_space_destroy(&mem_a, NULL, NULL);
	cr_expect_eq(mdb_node_count(), 0);
}

struct leaf_check {
	size_t count;
	struct mdb_node *root;
	bool bad;
};

static void expect_leaf_of_live_root(struct mdb_node *n, void *arg)
{
	struct leaf_check *c = arg;
	c->bad |= n->child != NULL || n->parent != c->root || c->root->space != &mem_a;
	c->count++;
}

static struct mdb_node *build_wide(void)
{
	struct mdb_node *r;
	must(mdb_insert_root(&mem_a, 0, 14, RW, 0x100000, &r));
	for (uint64_t i = 0; i < N; i++) {
		must(mdb_delegate(&mem_a, i, 0, i % 2 ? &mem_b : &mem_c, i, RW, false, NULL));
	}
	return r;
}

Test(mdb_scale, wide_tree_of_10000_children_revokes)
{
	struct mdb_node *r = build_wide();
	struct leaf_check c = { .root = r };
	must(mdb_revoke(&mem_a, 0, 14, false, expect_leaf_of_live_root, &c));
	cr_expect_eq(c.count, N);
	cr_expect_not(c.bad);
	cr_expect_null(r->child);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb_scale, wide_tree_part_revoke_takes_exactly_the_children_from_that_part)
{
	struct mdb_node *r = build_wide();
	struct leaf_check c = { .root = r };
	must(mdb_revoke(&mem_a, 4096, 12, false, expect_leaf_of_live_root, &c));
	cr_expect_eq(c.count, 4096);
	cr_expect_not(c.bad);
	cr_expect_null(mdb_lookup(&mem_b, 4097));
	cr_expect_not_null(mdb_lookup(&mem_b, 4095));
	cr_expect_not_null(mdb_lookup(&mem_c, 8192));
	cr_expect_eq(mdb_node_count(), 1 + N - 4096);
}

static void expect_parent_still_there(struct mdb_node *n, void *arg)
{
	size_t *count = arg;
	cr_assert_null(n->child);
	if (n->parent) {
		cr_assert_eq(mdb_lookup(n->parent->space, n->parent->base), n->parent);
	}
	(*count)++;
}

Test(mdb_scale, random_tree_revokes_every_node_after_its_children)
{
	srand(4);
	must(mdb_insert_root(&mem_a, 0, 0, RW, 0x1000, NULL));
	for (uint64_t i = 1; i < N; i++) {
		uint64_t from = (uint64_t)rand() % i;
		must(mdb_delegate(spaces[from % 3], from, 0, spaces[i % 3], i, RW, false, NULL));
	}
	size_t count = 0;
	must(mdb_revoke(&mem_a, 0, 0, true, expect_parent_still_there, &count));
	cr_expect_eq(count, N);
	cr_expect_eq(mdb_node_count(), 0);
}

/* ------------------------------------------------------------------ AVL balance */

Test(mdb_scale, avl_stays_balanced_after_ascending_inserts)
{
	for (uint64_t i = 0; i < N; i++) {
		must(mdb_insert_root(&mem_a, i, 0, RW, i, NULL));
	}
	expect_balanced(&mem_a, N);
	for (uint64_t i = 0; i < N; i++) {
		cr_assert_eq(mdb_lookup(&mem_a, i)->res, i);
	}
}

Test(mdb_scale, avl_stays_balanced_after_descending_inserts_and_removes)
{
	for (uint64_t i = N; i-- > 0;) {
		must(mdb_insert_root(&mem_a, i * 4, 2, RW, i, NULL));
	}
	expect_balanced(&mem_a, N);
	for (uint64_t i = 0; i < N; i += 3) {
		must(mdb_revoke(&mem_a, i * 4, 2, true, NULL, NULL));
	}
	expect_balanced(&mem_a, N - (N + 2) / 3);
	for (uint64_t i = 0; i < N; i++) {
		struct mdb_node *n = mdb_lookup(&mem_a, i * 4 + 3);
		if (i % 3 == 0) {
			cr_assert_null(n);
		} else {
			cr_assert(n && n->res == i);
		}
	}
}

Test(mdb_scale, avl_stays_balanced_after_random_inserts_and_removes)
{
	static bool used[1 << 14];
	size_t live = 0;
	srand(7);
	for (int step = 0; step < 4 * N; step++) {
		uint64_t page = (uint64_t)rand() % ARRAY_SIZE(used);
		if (used[page]) {
			must(mdb_revoke(&mem_a, page << 8, 8, true, NULL, NULL));
			live--;
		} else {
			must(mdb_insert_root(&mem_a, page << 8, 8, RW, page, NULL));
			live++;
		}
		used[page] = !used[page];
	}
	expect_balanced(&mem_a, live);
}

/* ------------------------------------------------------------------ random run against a model */

/*
 * The model: space A holds roots, space B nodes mapped from A. Each keeps a plain list of ranges
 * (B ranges remember where in A they came from); every operation is predicted on the lists, then
 * done on the MDB, and both must agree on status, on how many nodes unmap saw, and on every page.
 */
#define SPAN 1024
#define MAX_MODEL (1 << 16)

struct range {
	uint64_t base;
	unsigned order;
	uint64_t res;
	uint64_t src; /* B: base of the source in A */
	bool live;
};

struct model_space {
	struct range r[MAX_MODEL];
	size_t n;
	size_t live;
};

static struct model_space model_a, model_b;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static bool overlap(uint64_t b1, unsigned o1, uint64_t b2, unsigned o2)
{
	return b1 <= last_of(b2, o2) && b2 <= last_of(b1, o1);
}

static struct range *model_find(struct model_space *m, uint64_t base, unsigned order)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->r[i].live && overlap(m->r[i].base, m->r[i].order, base, order)) {
			return &m->r[i];
		}
	}
	return NULL;
}

static void model_add(struct model_space *m, uint64_t base, unsigned order, uint64_t res,
		      uint64_t src)
{
	cr_assert_lt(m->n, MAX_MODEL);
	m->r[m->n++] = (struct range){ base, order, res, src, true };
	m->live++;
}

static void model_kill(struct model_space *m, struct range *x)
{
	x->live = false;
	m->live--;
}

/* x strictly contains [base, +2^order): the rest stays as aligned pieces, the range goes. */
static void model_split(struct model_space *m, struct range *x, uint64_t base, unsigned order)
{
	struct range old = *x;
	model_kill(m, x);
	for (unsigned i = order; i < old.order; i++) {
		uint64_t pb = (base ^ (UINT64_C(1) << i)) & ~((UINT64_C(1) << i) - 1);
		model_add(m, pb, i, old.res + (pb - old.base), old.src + (pb - old.base));
	}
}

/* Self-revoke of [base, +2^order) in m's own ranges; returns the ranges removed. */
static size_t model_revoke_self(struct model_space *m, uint64_t base, unsigned order)
{
	struct range *x = model_find(m, base, order);
	if (x && x->order > order) {
		model_split(m, x, base, order);
		return 1;
	}
	size_t removed = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct range *y = &m->r[i];
		if (y->live && overlap(y->base, y->order, base, order)) {
			model_kill(m, y);
			removed++;
		}
	}
	return removed;
}

static size_t unmapped;

static void count_unmap(struct mdb_node *n, void *arg)
{
	unmapped++;
}

static void step_root(void)
{
	unsigned order = (unsigned)rnd(6);
	uint64_t base = rnd(SPAN >> order) << order;
	uint64_t res = rnd(1 << 20) << 6;
	status_t want = model_find(&model_a, base, order) ? VIREO_BAD_PAR : VIREO_OK;
	cr_assert_eq(mdb_insert_root(&mem_a, base, order, RW, res, NULL), want, "root %#lx", base);
	if (want == VIREO_OK) {
		model_add(&model_a, base, order, res, 0);
	}
}

static status_t model_map(uint64_t sb, unsigned order, uint64_t db)
{
	struct range *p = model_find(&model_a, sb, order);
	if (!p || p->order < order) {
		return VIREO_BAD_CAP;
	}
	uint64_t res = p->res + (sb - p->base);
	struct range *q = model_find(&model_b, db, order);
	if (q) {
		bool same = q->base == db && q->order == order && q->res == res;
		return same ? VIREO_OK : VIREO_BUSY;
	}
	model_add(&model_b, db, order, res, sb);
	return VIREO_OK;
}

static void step_map(void)
{
	unsigned order = (unsigned)rnd(5);
	uint64_t sb = rnd(SPAN >> order) << order;
	uint64_t db = rnd(SPAN >> order) << order;
	status_t want = model_map(sb, order, db);
	cr_assert_eq(mdb_delegate(&mem_a, sb, order, &mem_b, db, RW, false, NULL), want,
		     "map %#lx -> %#lx order %u", sb, db, order);
}

/* Revoke in A: B ranges whose source overlaps go (a mapping is never split), then A's own. */
static void step_revoke_a(void)
{
	unsigned order = (unsigned)rnd(7);
	uint64_t base = rnd(SPAN >> order) << order;
	bool self = rnd(2);
	size_t want = 0;
	for (size_t i = 0; i < model_b.n; i++) {
		struct range *y = &model_b.r[i];
		if (y->live && overlap(y->src, y->order, base, order)) {
			model_kill(&model_b, y);
			want++;
		}
	}
	if (self) {
		want += model_revoke_self(&model_a, base, order);
	}
	unmapped = 0;
	must(mdb_revoke(&mem_a, base, order, self, count_unmap, NULL));
	cr_assert_eq(unmapped, want, "revoke A %#lx order %u self %d", base, order, self);
}

static void step_revoke_b(void)
{
	unsigned order = (unsigned)rnd(6);
	uint64_t base = rnd(SPAN >> order) << order;
	bool self = rnd(2);
	size_t want = self ? model_revoke_self(&model_b, base, order) : 0;
	unmapped = 0;
	must(mdb_revoke(&mem_b, base, order, self, count_unmap, NULL));
	cr_assert_eq(unmapped, want, "revoke B %#lx order %u self %d", base, order, self);
}

/* Grant of a whole B range to another place in B: it moves with its source. */
static void step_grant_b(void)
{
	if (model_b.n == 0) {
		return;
	}
	struct range *x = &model_b.r[rnd(model_b.n)];
	if (!x->live) {
		return;
	}
	uint64_t db = rnd(SPAN >> x->order) << x->order;
	status_t want = db == x->base			     ? VIREO_BAD_PAR
			: model_find(&model_b, db, x->order) ? VIREO_BUSY
							     : VIREO_OK;
	cr_assert_eq(mdb_delegate(&mem_b, x->base, x->order, &mem_b, db, RW, true, NULL), want);
	if (want == VIREO_OK) {
		x->base = db;
	}
}

static void check_page(struct model_space *m, struct mdb_space *s, uint64_t page)
{
	struct range *x = model_find(m, page, 0);
	struct mdb_node *n = mdb_lookup(s, page);
	if (!x) {
		cr_assert_null(n, "page %#lx should be empty", page);
		return;
	}
	cr_assert_not_null(n, "page %#lx should be in [%#lx, order %u]", page, x->base, x->order);
	cr_assert(n->base == x->base && n->order == x->order && n->res == x->res,
		  "page %#lx: node [%#lx, order %u, res %#lx], model [%#lx, order %u, res %#lx]",
		  page, n->base, n->order, n->res, x->base, x->order, x->res);
	if (m == &model_b) {
		struct mdb_node *p = n->parent;
		cr_assert(p && p->space == &mem_a && p->base <= x->src &&
				  last_of(x->src, x->order) <= last_of(p->base, p->order),
			  "page %#lx hangs below the wrong node", page);
		cr_assert_eq(p->base + (n->res - p->res), x->src);
	}
}

static void check_all(void)
{
	for (uint64_t page = 0; page < SPAN; page++) {
		check_page(&model_a, &mem_a, page);
		check_page(&model_b, &mem_b, page);
	}
	cr_assert_eq(mdb_node_count(), model_a.live + model_b.live);
	expect_balanced(&mem_a, model_a.live);
	expect_balanced(&mem_b, model_b.live);
}

/* One random operation; maps most often, as in a running system. */
static void random_step(void)
{
	uint64_t r = rnd(10);
	if (r < 2) {
		step_root();
	} else if (r < 6) {
		step_map();
	} else if (r < 8) {
		step_revoke_a();
	} else if (r < 9) {
		step_revoke_b();
	} else {
		step_grant_b();
	}
}

Test(mdb_scale, random_operations_agree_with_a_shadow_model)
{
	for (int i = 0; i < 6000; i++) {
		random_step();
		if (i % 100 == 0) {
			check_all();
		}
	}
	check_all();
	cr_expect_gt(model_a.live + model_b.live, 0, "the run should end with something mapped");
}
