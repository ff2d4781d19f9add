/* SPDX-License-Identifier: MIT */
/* Specification of the mapping database: roots, map, grant, revoke, destroy in all three spaces. */
#include <criterion/criterion.h>
#include <signal.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"
#include "kobj.h"
#include "mdb.h"

#define RAM (16 * 1024 * 1024ull)
#define RW (MEM_R | MEM_W)
#define RWX (MEM_R | MEM_W | MEM_X)
#define LOG_MAX 64

static struct mdb_space mem_a, mem_b, mem_c, io_a, io_b, obj_a, obj_b;
static uint64_t free_pages_at_start;

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
	mdb_init();
	mdb_space_init(&mem_a, MDB_MEM, "a");
	mdb_space_init(&mem_b, MDB_MEM, "b");
	mdb_space_init(&mem_c, MDB_MEM, "c");
	mdb_space_init(&io_a, MDB_IO, "io a");
	mdb_space_init(&io_b, MDB_IO, "io b");
	mdb_space_init(&obj_a, MDB_OBJ, "obj a");
	mdb_space_init(&obj_b, MDB_OBJ, "obj b");
	free_pages_at_start = frame_free_pages();
}

/* Every test ends with a leak check: no node and no page may outlive its spaces. */
static void teardown(void)
{
	struct mdb_space *all[] = { &mem_a, &mem_b, &mem_c, &io_a, &io_b, &obj_a, &obj_b };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		mdb_space_destroy(all[i], NULL, NULL);
	}
	cr_expect_eq(mdb_node_count(), 0, "%zu nodes leaked", mdb_node_count());
	cr_expect_eq(frame_free_pages(), free_pages_at_start, "pages leaked");
	frame_init();
	fake_phys_fini();
}

TestSuite(mdb, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------ helpers */

static struct mdb_node *root(struct mdb_space *s, uint64_t base, unsigned order, unsigned rights,
			     uint64_t res)
{
	struct mdb_node *n = NULL;
	cr_assert_eq(mdb_insert_root(s, base, order, rights, res, &n), VIREO_OK);
	cr_assert_not_null(n);
	return n;
}

static struct mdb_node *map(struct mdb_space *src, uint64_t sb, unsigned order,
			    struct mdb_space *dst, uint64_t db, unsigned mask)
{
	struct mdb_node *n = NULL;
	cr_assert_eq(mdb_delegate(src, sb, order, dst, db, mask, false, &n), VIREO_OK);
	cr_assert_not_null(n);
	return n;
}

static struct mdb_node *grant(struct mdb_space *src, uint64_t sb, unsigned order,
			      struct mdb_space *dst, uint64_t db, unsigned mask)
{
	struct mdb_node *n = NULL;
	cr_assert_eq(mdb_delegate(src, sb, order, dst, db, mask, true, &n), VIREO_OK);
	cr_assert_not_null(n);
	return n;
}

/* What unmap saw, checked at the time of the call. */
struct unmap_log {
	size_t count;
	struct mdb_node *node[LOG_MAX];
	struct mdb_space *space[LOG_MAX];
	uint64_t base[LOG_MAX];
	unsigned order[LOG_MAX];
	uint64_t res[LOG_MAX];
	bool not_leaf;	   /* a node still had derived nodes */
	bool not_in_space; /* a node was no longer found in its space */
	bool parent_gone;  /* a node's parent was already unmapped */
};

static bool logged(const struct unmap_log *l, const struct mdb_node *n)
{
	for (size_t i = 0; i < l->count && i < LOG_MAX; i++) {
		if (l->node[i] == n) {
			return true;
		}
	}
	return false;
}

static void log_unmap(struct mdb_node *n, void *arg)
{
	struct unmap_log *l = arg;
	l->not_leaf |= n->child != NULL;
	l->not_in_space |= mdb_lookup(n->space, n->base) != n;
	l->parent_gone |= n->parent && logged(l, n->parent);
	if (l->count < LOG_MAX) {
		l->node[l->count] = n;
		l->space[l->count] = n->space;
		l->base[l->count] = n->base;
		l->order[l->count] = n->order;
		l->res[l->count] = n->res;
	}
	l->count++;
}

static size_t log_index(const struct unmap_log *l, const struct mdb_node *n)
{
	for (size_t i = 0; i < l->count && i < LOG_MAX; i++) {
		if (l->node[i] == n) {
			return i;
		}
	}
	cr_assert_fail("node %p was not unmapped", (void *)n);
	return 0;
}

static void expect_consistent_log(const struct unmap_log *l)
{
	cr_expect_not(l->not_leaf, "unmap saw a node that still had derived nodes");
	cr_expect_not(l->not_in_space, "unmap saw a node already gone from its space");
	cr_expect_not(l->parent_gone, "unmap saw a parent before its child");
}

static void count_node(struct mdb_node *n, void *arg)
{
	(*(size_t *)arg)++;
}

static size_t nodes_in(const struct mdb_space *s)
{
	size_t count = 0;
	mdb_space_foreach(s, count_node, &count);
	return count;
}

/* Takes every free frame (chained through the frames), so that the next allocation fails. */
static paddr_t exhaust_frames(void)
{
	paddr_t head = PADDR_INVALID;
	for (;;) {
		paddr_t pa = frame_alloc(0);
		if (!pa_valid(pa)) {
			return head;
		}
		*(paddr_t *)phys_to_virt(pa) = head;
		head = pa;
	}
}

static void release_frames(paddr_t head)
{
	while (pa_valid(head)) {
		paddr_t next = *(paddr_t *)phys_to_virt(head);
		frame_free(head, 0);
		head = next;
	}
}

/* Exhausts frames, then fills the node slab until a root insert fails: no node memory left. */
static paddr_t exhaust_node_memory(struct mdb_space *scratch)
{
	paddr_t frames = exhaust_frames();
	uint64_t base = 0;
	while (mdb_insert_root(scratch, base, 0, RW, base, NULL) == VIREO_OK) {
		base++;
	}
	return frames;
}

/* ------------------------------------------------------------------ roots and lookup */

Test(mdb, root_is_found_at_every_address_it_covers)
{
	struct mdb_node *n = root(&mem_a, 0x40, 4, RW, 0x1000);
	for (uint64_t a = 0x40; a < 0x50; a++) {
		cr_expect_eq(mdb_lookup(&mem_a, a), n, "page %#lx", a);
	}
	cr_expect_eq(n->space, &mem_a);
	cr_expect_eq(n->base, 0x40);
	cr_expect_eq(n->order, 4);
	cr_expect_eq(n->rights, RW);
	cr_expect_eq(n->res, 0x1000);
	cr_expect_null(n->parent);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, lookup_outside_every_range_finds_nothing)
{
	root(&mem_a, 0x40, 4, RW, 0x1000);
	root(&mem_a, 0x60, 3, RW, 0x2000);
	cr_expect_null(mdb_lookup(&mem_a, 0x3f));
	cr_expect_null(mdb_lookup(&mem_a, 0x50));
	cr_expect_null(mdb_lookup(&mem_a, 0x5f));
	cr_expect_null(mdb_lookup(&mem_a, 0x68));
	cr_expect_null(mdb_lookup(&mem_a, UINT64_MAX));
	cr_expect_null(mdb_lookup(&mem_b, 0x40));
}

Test(mdb, root_with_unaligned_base_is_bad_par)
{
	cr_expect_eq(mdb_insert_root(&mem_a, 0x41, 1, RW, 0, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_root(&io_a, 0x3f8, 4, IO_RW, 0x3f8, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 0);
}

Test(mdb, root_overlapping_another_is_bad_par)
{
	root(&mem_a, 0x40, 4, RW, 0x1000);
	cr_expect_eq(mdb_insert_root(&mem_a, 0x40, 4, RW, 0x9000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_root(&mem_a, 0x44, 2, RW, 0x9000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_root(&mem_a, 0x4f, 0, RW, 0x9000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_root(&mem_a, 0x00, 7, RW, 0x9000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 1);
	/* Neighbours on both sides are fine. */
	root(&mem_a, 0x3f, 0, RW, 0x9000);
	root(&mem_a, 0x50, 4, RW, 0xa000);
}

Test(mdb, order_of_64_or_more_is_bad_par)
{
	cr_expect_eq(mdb_insert_root(&mem_a, 0, 64, RW, 0, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 64, &mem_b, 0, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_revoke(&mem_a, 0, 64, true, NULL, NULL), VIREO_BAD_PAR);
}

Test(mdb, whole_64_bit_space_is_one_valid_range)
{
	struct mdb_node *n = root(&mem_a, 0, 63, RW, 0);
	root(&mem_a, UINT64_C(1) << 63, 63, RW, 0);
	cr_expect_eq(mdb_lookup(&mem_a, UINT64_MAX)->base, UINT64_C(1) << 63);
	cr_expect_eq(mdb_lookup(&mem_a, 5), n);
	cr_expect_eq(nodes_in(&mem_a), 2);
	cr_expect_eq(mdb_revoke(&mem_a, UINT64_MAX, 0, true, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_a, UINT64_MAX));
	struct mdb_node *p = mdb_lookup(&mem_a, UINT64_MAX - 1);
	cr_assert_not_null(p);
	cr_expect_eq(p->res, (UINT64_C(1) << 63) - 2);
	cr_expect_eq(nodes_in(&mem_a), 1 + 63, "the upper half split into one piece per order");
}

Test(mdb, io_space_ends_at_port_0xffff)
{
	root(&io_a, 0, 16, IO_RW, 0);
	cr_expect_eq(mdb_lookup(&io_a, 0xffff)->res, 0);
	cr_expect_null(mdb_lookup(&io_a, 0x10000));
	cr_expect_eq(mdb_insert_root(&io_b, 0x10000, 0, IO_RW, 0x10000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_root(&io_b, 0, 17, IO_RW, 0, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&io_a, 0xfff0, 4, &io_b, 0xfff0, IO_RW, false, NULL), VIREO_OK);
}

Test(mdb, obj_selector_beyond_space_size_is_bad_par)
{
	struct kobj o = { .type = OBJ_SM };
	cr_expect_eq(
		mdb_insert_root(&obj_a, VIREO_CAP_SPACE_SIZE, 0, RIGHTS_ALL, (uintptr_t)&o, NULL),
		VIREO_BAD_PAR);
	root(&obj_a, VIREO_CAP_SPACE_SIZE - 1, 0, RIGHTS_ALL, (uintptr_t)&o);
	cr_expect_null(mdb_lookup(&obj_a, VIREO_CAP_SPACE_SIZE));
	cr_expect_null(mdb_lookup(&obj_a, UINT64_MAX));
	cr_expect_eq(mdb_delegate(&obj_a, VIREO_CAP_SPACE_SIZE - 1, 0, &obj_b, VIREO_CAP_SPACE_SIZE,
				  RIGHTS_ALL, false, NULL),
		     VIREO_BAD_PAR);
	cr_expect_eq(
		mdb_delegate(&obj_a, VIREO_CAP_SPACE_SIZE, 0, &obj_b, 0, RIGHTS_ALL, false, NULL),
		VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, obj_nodes_have_order_zero)
{
	struct kobj o = { .type = OBJ_SM };
	cr_expect_eq(mdb_insert_root(&obj_a, 0, 1, RIGHTS_ALL, (uintptr_t)&o, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 0);
}

Test(mdb, obj_slot_taken_is_bad_par_for_a_root)
{
	struct kobj o = { .type = OBJ_SM };
	root(&obj_a, 7, 0, RIGHTS_ALL, (uintptr_t)&o);
	cr_expect_eq(mdb_insert_root(&obj_a, 7, 0, RIGHTS_ALL, (uintptr_t)&o, NULL), VIREO_BAD_PAR);
}

static void collect_base(struct mdb_node *n, void *arg)
{
	uint64_t **p = arg;
	*(*p)++ = n->base;
}

Test(mdb, foreach_visits_nodes_in_order_of_base)
{
	static const uint64_t bases[] = { 0x90, 0x10, 0x70, 0x20, 0x00, 0x80 };
	uint64_t seen[8], *p = seen;
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		root(&mem_a, bases[i], 3, RW, i);
	}
	mdb_space_foreach(&mem_a, collect_base, &p);
	cr_assert_eq(p - seen, 6);
	static const uint64_t want[] = { 0x00, 0x10, 0x20, 0x70, 0x80, 0x90 };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_expect_eq(seen[i], want[i]);
	}
}

/* ------------------------------------------------------------------ map */

Test(mdb, map_keeps_rights_as_upper_bound)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	cr_expect_eq(map(&mem_a, 0, 4, &mem_b, 0, RWX)->rights, RW, "mask cannot add X");
	cr_expect_eq(map(&mem_b, 0, 2, &mem_c, 0, MEM_R | MEM_X)->rights, MEM_R);
	cr_expect_eq(map(&mem_c, 0, 0, &mem_a, 0x100, RWX)->rights, MEM_R, "R stays R");
	cr_expect_eq(map(&mem_b, 4, 2, &mem_c, 4, 0)->rights, 0);
}

Test(mdb, map_from_range_not_held_is_bad_cap)
{
	root(&mem_a, 0x10, 4, RW, 0x1000);
	root(&mem_a, 0x20, 4, RW, 0x2000);
	/* nothing there */
	cr_expect_eq(mdb_delegate(&mem_a, 0x40, 0, &mem_b, 0, RW, false, NULL), VIREO_BAD_CAP);
	cr_expect_eq(mdb_delegate(&mem_b, 0x10, 0, &mem_a, 0, RW, false, NULL), VIREO_BAD_CAP);
	/* larger than the node */
	cr_expect_eq(mdb_delegate(&mem_a, 0x00, 5, &mem_b, 0, RW, false, NULL), VIREO_BAD_CAP);
	/* two adjacent nodes are not one */
	cr_expect_eq(mdb_delegate(&mem_a, 0x00, 6, &mem_b, 0, RW, false, NULL), VIREO_BAD_CAP);
	cr_expect_eq(mdb_node_count(), 2);
}

Test(mdb, map_of_subrange_computes_res_from_offset)
{
	root(&mem_a, 0x10, 4, RW, 0x1000);
	struct mdb_node *c = map(&mem_a, 0x14, 2, &mem_b, 0x80, RW);
	cr_expect_eq(c->res, 0x1004);
	cr_expect_eq(c->base, 0x80);
	cr_expect_eq(c->order, 2);
	cr_expect_eq(map(&mem_a, 0x1f, 0, &mem_b, 0x200, RW)->res, 0x100f);
	cr_expect_eq(map(&mem_b, 0x83, 0, &mem_c, 0x7, RW)->res, 0x1007);
	cr_expect_eq(mdb_lookup(&mem_b, 0x82)->res + (0x82 - 0x80), 0x1006);
}

Test(mdb, map_makes_a_child_of_the_source_node)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *c1 = map(&mem_a, 0, 2, &mem_b, 0, RW);
	struct mdb_node *c2 = map(&mem_a, 4, 2, &mem_b, 4, RW);
	struct mdb_node *g = map(&mem_b, 4, 0, &mem_c, 9, RW);
	cr_expect_eq(c1->parent, r);
	cr_expect_eq(c2->parent, r);
	cr_expect_eq(g->parent, c2);
	cr_expect_eq(mdb_node_count(), 4);
}

Test(mdb, map_with_unaligned_base_is_bad_par)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	cr_expect_eq(mdb_delegate(&mem_a, 2, 2, &mem_b, 0, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 2, &mem_b, 6, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, map_to_same_space_same_base_is_bad_par)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_a, 0, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_a, 0, RW, true, NULL), VIREO_BAD_PAR);
	/* An alias elsewhere in the same space is an ordinary map. */
	cr_expect_eq(map(&mem_a, 4, 0, &mem_a, 0x100, RW)->res, 0x1004);
	/* A map onto the source itself overlaps it. */
	cr_expect_eq(mdb_delegate(&mem_a, 0, 0, &mem_a, 8, RW, false, NULL), VIREO_BUSY);
}

Test(mdb, map_between_different_kinds_is_bad_par)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 0, &io_a, 0, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 0, &obj_a, 0, RW, false, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, repeated_identical_map_is_idempotent)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *c = map(&mem_a, 4, 2, &mem_b, 8, MEM_R);
	cr_expect_eq(map(&mem_a, 4, 2, &mem_b, 8, MEM_R), c);
	cr_expect_eq(map(&mem_a, 4, 2, &mem_b, 8, RW), c, "no duplicate");
	cr_expect_eq(c->rights, MEM_R, "rights do not grow by repeating");
	cr_expect_eq(mdb_node_count(), 2);
	cr_expect_eq(nodes_in(&mem_b), 1);
}

Test(mdb, overlapping_different_map_is_busy)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 4, 2, &mem_b, 8, RW);
	/* same range, other resource */
	cr_expect_eq(mdb_delegate(&mem_a, 0, 2, &mem_b, 8, RW, false, NULL), VIREO_BUSY);
	/* larger range over it */
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_b, 0, RW, false, NULL), VIREO_BUSY);
	/* smaller range inside it, even with the resource at the same offset */
	cr_expect_eq(mdb_delegate(&mem_a, 5, 0, &mem_b, 9, RW, false, NULL), VIREO_BUSY);
	cr_expect_eq(mdb_node_count(), 2);
}

Test(mdb, map_without_node_memory_is_no_mem_and_changes_nothing)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	paddr_t frames = exhaust_node_memory(&mem_c);
	size_t before = mdb_node_count();
	cr_expect_eq(mdb_delegate(&mem_a, 0, 2, &mem_b, 0, RW, false, NULL), VIREO_NO_MEM);
	cr_expect_eq(mdb_node_count(), before);
	cr_expect_null(mdb_lookup(&mem_b, 0));
	cr_expect_null(mdb_lookup(&mem_a, 0)->child);
	release_frames(frames);
	map(&mem_a, 0, 2, &mem_b, 0, RW);
}

Test(mdb, io_map_works_like_memory)
{
	root(&io_a, 0x3f8, 3, IO_RW, 0x3f8);
	struct mdb_node *c = map(&io_a, 0x3f8, 3, &io_b, 0x3f8, IO_RW);
	cr_expect_eq(c->res, 0x3f8);
	cr_expect_eq(mdb_lookup(&io_b, 0x3fd), c);
	cr_expect_eq(mdb_delegate(&io_a, 0x3f0, 3, &io_b, 0x3f0, IO_RW, false, NULL),
		     VIREO_BAD_CAP);
}

/* ------------------------------------------------------------------ revoke */

Test(mdb, revoke_removes_whole_subtree_from_all_spaces)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 3, &mem_b, 0x10, RW);
	map(&mem_b, 0x10, 2, &mem_c, 0x20, RW);
	map(&mem_c, 0x20, 0, &mem_a, 0x40, RW);
	map(&mem_a, 8, 3, &mem_c, 0x80, RW);
	cr_assert_eq(mdb_node_count(), 5);
	cr_expect_eq(mdb_revoke(&mem_a, 0, 4, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(mdb_node_count(), 0);
	cr_expect_null(mdb_lookup(&mem_b, 0x10));
	cr_expect_null(mdb_lookup(&mem_c, 0x20));
	cr_expect_null(mdb_lookup(&mem_a, 0x40));
	cr_expect_null(mdb_lookup(&mem_c, 0x80));
}

Test(mdb, revoke_calls_unmap_once_per_removed_node_children_first)
{
	struct unmap_log log = { 0 };
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *b = map(&mem_a, 0, 3, &mem_b, 0x10, RW);
	struct mdb_node *c = map(&mem_b, 0x10, 2, &mem_c, 0x20, RW);
	struct mdb_node *d = map(&mem_c, 0x20, 0, &mem_a, 0x40, RW);
	struct mdb_node *e = map(&mem_a, 8, 3, &mem_c, 0x80, RW);
	struct mdb_node *f = map(&mem_b, 0x14, 2, &mem_c, 0x24, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 0, 4, true, log_unmap, &log), VIREO_OK);
	cr_expect_eq(log.count, 6);
	expect_consistent_log(&log);
	cr_expect_lt(log_index(&log, d), log_index(&log, c));
	cr_expect_lt(log_index(&log, c), log_index(&log, b));
	cr_expect_lt(log_index(&log, f), log_index(&log, b));
	cr_expect_lt(log_index(&log, b), log_index(&log, r));
	cr_expect_lt(log_index(&log, e), log_index(&log, r));
	cr_expect_eq(log_index(&log, r), 5);
	for (size_t i = 0; i < log.count; i++) {
		for (size_t j = i + 1; j < log.count; j++) {
			cr_expect_neq(log.node[i], log.node[j], "node unmapped twice");
		}
	}
}

Test(mdb, unmap_sees_space_range_and_resource_of_each_node)
{
	struct unmap_log log = { 0 };
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 4, 2, &mem_b, 0x30, MEM_R);
	cr_assert_eq(mdb_revoke(&mem_a, 0, 4, false, log_unmap, &log), VIREO_OK);
	cr_assert_eq(log.count, 1);
	cr_expect_eq(log.space[0], &mem_b);
	cr_expect_eq(log.base[0], 0x30);
	cr_expect_eq(log.order[0], 2);
	cr_expect_eq(log.res[0], 0x1004);
	cr_expect_str_eq((const char *)log.space[0]->owner, "b");
}

Test(mdb, revoke_without_self_keeps_the_node)
{
	struct unmap_log log = { 0 };
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 3, &mem_b, 0, RW);
	map(&mem_b, 0, 3, &mem_c, 0, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 0, 4, false, log_unmap, &log), VIREO_OK);
	cr_expect_eq(log.count, 2);
	expect_consistent_log(&log);
	cr_expect_eq(mdb_lookup(&mem_a, 0), r);
	cr_expect_null(r->child);
	cr_expect_eq(mdb_node_count(), 1);
	/* The kept node can delegate again. */
	map(&mem_a, 0, 3, &mem_b, 0, RW);
}

Test(mdb, revoke_of_a_derived_node_leaves_its_parent_and_siblings)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *b = map(&mem_a, 0, 3, &mem_b, 0, RW);
	struct mdb_node *c = map(&mem_a, 8, 3, &mem_c, 8, RW);
	map(&mem_b, 0, 0, &mem_c, 0x100, RW);
	cr_assert_eq(mdb_revoke(&mem_b, 0, 3, true, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_b, 0));
	cr_expect_null(mdb_lookup(&mem_c, 0x100));
	cr_expect_eq(mdb_lookup(&mem_c, 8), c);
	cr_expect_eq(r->child, c);
	cr_expect_null(c->next);
	cr_expect_null(c->prev);
	cr_expect_eq(mdb_node_count(), 2);
	(void)b;
}

Test(mdb, revoke_covering_several_nodes_removes_each)
{
	root(&mem_a, 0x00, 2, RW, 0x1000);
	root(&mem_a, 0x08, 3, RW, 0x2000);
	root(&mem_a, 0x1c, 2, RW, 0x3000);
	root(&mem_a, 0x20, 0, RW, 0x4000);
	map(&mem_a, 0x08, 3, &mem_b, 0, RW);
	map(&mem_a, 0x1c, 2, &mem_b, 0x1c, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 0, 5, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(mdb_node_count(), 1);
	cr_expect_not_null(mdb_lookup(&mem_a, 0x20));
}

Test(mdb, revoke_of_empty_range_changes_nothing)
{
	struct unmap_log log = { 0 };
	root(&mem_a, 0x10, 4, RW, 0x1000);
	map(&mem_a, 0x10, 4, &mem_b, 0x10, RW);
	cr_expect_eq(mdb_revoke(&mem_a, 0x20, 5, true, log_unmap, &log), VIREO_OK);
	cr_expect_eq(mdb_revoke(&mem_c, 0, 63, true, log_unmap, &log), VIREO_OK);
	cr_expect_eq(log.count, 0);
	cr_expect_eq(mdb_node_count(), 2);
}

Test(mdb, revoke_of_unaligned_range_is_bad_par)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 4, &mem_b, 0, RW);
	cr_expect_eq(mdb_revoke(&mem_a, 2, 2, true, NULL, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_node_count(), 2);
}

Test(mdb, revoke_of_part_of_node_removes_only_nodes_derived_from_that_part)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0x0, 2, &mem_b, 0x00, RW);
	map(&mem_a, 0x4, 2, &mem_b, 0x10, RW);
	map(&mem_a, 0x5, 0, &mem_c, 0x20, RW);
	map(&mem_a, 0x8, 3, &mem_c, 0x38, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 4, 2, false, NULL, NULL), VIREO_OK);
	cr_expect_eq(mdb_lookup(&mem_a, 4), r, "without self the node stays whole");
	cr_expect_eq(r->order, 4);
	cr_expect_not_null(mdb_lookup(&mem_b, 0x00));
	cr_expect_null(mdb_lookup(&mem_b, 0x10));
	cr_expect_null(mdb_lookup(&mem_c, 0x20));
	cr_expect_not_null(mdb_lookup(&mem_c, 0x38));
	cr_expect_eq(mdb_node_count(), 3);
}

Test(mdb, revoke_of_part_of_node_removes_larger_derived_nodes_whole)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 4, &mem_b, 0x10, RW);
	map(&mem_a, 0, 3, &mem_c, 0x00, RW);
	map(&mem_a, 8, 3, &mem_c, 0x08, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 9, 0, false, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_b, 0x10), "a mapping is never split");
	cr_expect_null(mdb_lookup(&mem_c, 0x08));
	cr_expect_not_null(mdb_lookup(&mem_c, 0x00));
}

Test(mdb, self_revoke_of_part_of_node_splits_off_the_rest)
{
	struct unmap_log log = { 0 };
	root(&mem_a, 0x10, 4, RW, 0x1000);
	cr_assert_eq(mdb_revoke(&mem_a, 0x16, 1, true, log_unmap, &log), VIREO_OK);
	cr_assert_eq(log.count, 1);
	cr_expect_eq(log.base[0], 0x16, "unmap sees exactly the revoked range");
	cr_expect_eq(log.order[0], 1);
	cr_expect_eq(log.res[0], 0x1006);
	/* Pieces: [0x10,0x14) [0x14,0x16) [0x18,0x20), each with the resource at its offset. */
	static const struct {
		uint64_t base;
		unsigned order;
	} want[] = { { 0x10, 2 }, { 0x14, 1 }, { 0x18, 3 } };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct mdb_node *p = mdb_lookup(&mem_a, want[i].base);
		cr_assert_not_null(p);
		cr_expect_eq(p->base, want[i].base);
		cr_expect_eq(p->order, want[i].order);
		cr_expect_eq(p->res, 0x1000 + want[i].base - 0x10);
		cr_expect_eq(p->rights, RW);
		cr_expect_null(p->parent);
	}
	cr_expect_null(mdb_lookup(&mem_a, 0x16));
	cr_expect_null(mdb_lookup(&mem_a, 0x17));
	cr_expect_eq(mdb_node_count(), 3);
}

Test(mdb, split_pieces_keep_the_nodes_derived_from_them)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *lo = map(&mem_a, 0x0, 2, &mem_b, 0x0, RW);
	struct mdb_node *mid = map(&mem_a, 0x6, 1, &mem_b, 0x6, RW);
	struct mdb_node *gone = map(&mem_a, 0x5, 0, &mem_b, 0x5, RW);
	struct mdb_node *hi = map(&mem_a, 0xc, 2, &mem_c, 0xc, RW);
	cr_assert_eq(mdb_revoke(&mem_a, 4, 1, true, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_b, 5));
	cr_expect_eq(lo->parent, mdb_lookup(&mem_a, 0x0));
	cr_expect_eq(mid->parent, mdb_lookup(&mem_a, 0x6));
	cr_expect_eq(hi->parent, mdb_lookup(&mem_a, 0xc));
	cr_expect_eq(lo->parent->order, 2);
	cr_expect_eq(mid->parent->order, 1);
	cr_expect_eq(hi->parent->order, 3);
	/* Each piece still revokes its own derived nodes. */
	cr_assert_eq(mdb_revoke(&mem_a, 8, 3, true, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_c, 0xc));
	cr_expect_eq(mdb_lookup(&mem_b, 0x6), mid);
	cr_expect_eq(mdb_node_count(), 4);
	(void)gone;
}

Test(mdb, split_of_a_derived_node_keeps_its_pieces_below_its_parent)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 3, &mem_b, 0x10, MEM_R);
	cr_assert_eq(mdb_revoke(&mem_b, 0x10, 0, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(nodes_in(&mem_b), 3);
	for (uint64_t a = 0x11; a < 0x18; a++) {
		struct mdb_node *p = mdb_lookup(&mem_b, a);
		cr_assert_not_null(p);
		cr_expect_eq(p->parent, r);
		cr_expect_eq(p->rights, MEM_R);
		cr_expect_eq(p->res + (a - p->base), 0x1000 + (a - 0x10));
	}
	cr_assert_eq(mdb_revoke(&mem_a, 0, 4, false, NULL, NULL), VIREO_OK);
	cr_expect_eq(nodes_in(&mem_b), 0);
}

Test(mdb, self_revoke_of_part_without_node_memory_is_no_mem_and_changes_nothing)
{
	struct unmap_log log = { 0 };
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 4, 0, &mem_b, 0, RW);
	paddr_t frames = exhaust_node_memory(&mem_c);
	cr_expect_eq(mdb_revoke(&mem_a, 4, 0, true, log_unmap, &log), VIREO_NO_MEM);
	cr_expect_eq(log.count, 0);
	cr_expect_eq(mdb_lookup(&mem_a, 4), r);
	cr_expect_not_null(mdb_lookup(&mem_b, 0));
	/* Without self nothing needs memory. */
	cr_expect_eq(mdb_revoke(&mem_a, 4, 0, false, log_unmap, &log), VIREO_OK);
	cr_expect_eq(log.count, 1);
	release_frames(frames);
}

Test(mdb, revoke_follows_derivations_within_one_space)
{
	root(&mem_a, 0, 0, RW, 0x1000);
	for (uint64_t i = 1; i < 8; i++) {
		map(&mem_a, i - 1, 0, &mem_a, i, RW);
	}
	cr_assert_eq(mdb_revoke(&mem_a, 3, 0, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(nodes_in(&mem_a), 3);
	cr_assert_eq(mdb_revoke(&mem_a, 0, 0, false, NULL, NULL), VIREO_OK);
	cr_expect_eq(nodes_in(&mem_a), 1);
}

/* ------------------------------------------------------------------ grant */

Test(mdb, grant_moves_the_node_out_of_the_source)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *g = grant(&mem_a, 0, 4, &mem_b, 0x20, RW);
	cr_expect_null(mdb_lookup(&mem_a, 0));
	cr_expect_eq(mdb_lookup(&mem_b, 0x2f), g);
	cr_expect_eq(g->space, &mem_b);
	cr_expect_eq(g->base, 0x20);
	cr_expect_eq(g->res, 0x1000);
	cr_expect_eq(mdb_node_count(), 1);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_c, 0, RW, true, NULL), VIREO_BAD_CAP,
		     "granted away");
}

Test(mdb, grant_children_follow_the_new_node)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *c1 = map(&mem_a, 0, 2, &mem_c, 0x00, RW);
	struct mdb_node *c2 = map(&mem_a, 8, 2, &mem_c, 0x10, RW);
	struct mdb_node *g = grant(&mem_a, 0, 4, &mem_b, 0x40, RW);
	cr_expect_eq(c1->parent, g);
	cr_expect_eq(c2->parent, g);
	/* Derived nodes now come from the new place: revoking part of it there finds them. */
	cr_assert_eq(mdb_revoke(&mem_b, 0x48, 2, false, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_c, 0x10));
	cr_expect_eq(mdb_lookup(&mem_c, 0x00), c1);
	cr_assert_eq(mdb_revoke(&mem_b, 0x40, 4, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(mdb_node_count(), 0);
}

Test(mdb, grant_takes_the_source_place_below_its_parent)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 3, &mem_b, 0, RW);
	struct mdb_node *g = grant(&mem_b, 0, 3, &mem_c, 0x18, RW);
	cr_expect_eq(g->parent, r);
	cr_expect_eq(g->res, 0x1000);
	cr_expect_null(mdb_lookup(&mem_b, 0));
	cr_assert_eq(mdb_revoke(&mem_a, 0, 4, false, NULL, NULL), VIREO_OK);
	cr_expect_null(mdb_lookup(&mem_c, 0x18), "the grantee loses it when the mapper revokes");
}

Test(mdb, grant_restricts_rights_by_mask)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *c = map(&mem_a, 0, 2, &mem_c, 0, RW);
	struct mdb_node *g = grant(&mem_a, 0, 4, &mem_b, 0, MEM_R | MEM_X);
	cr_expect_eq(g->rights, MEM_R);
	cr_expect_eq(c->rights, RW, "nodes derived before keep their rights");
}

Test(mdb, grant_of_part_of_node_is_bad_par)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 3, &mem_b, 0, RW, true, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_delegate(&mem_a, 8, 3, &mem_b, 0, RW, true, NULL), VIREO_BAD_PAR);
	cr_expect_not_null(mdb_lookup(&mem_a, 0));
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, grant_onto_occupied_range_is_busy)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 4, &mem_b, 0, RW);
	/* even an identical node: a grant must move the source somewhere free */
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_b, 0, RW, true, NULL), VIREO_BUSY);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_b, 0x8, RW, true, NULL), VIREO_BAD_PAR);
	root(&mem_c, 0x33, 0, RW, 0x9000);
	cr_expect_eq(mdb_delegate(&mem_a, 0, 4, &mem_c, 0x30, RW, true, NULL), VIREO_BUSY);
	cr_expect_not_null(mdb_lookup(&mem_a, 0));
}

Test(mdb, grant_within_one_space_moves_the_base)
{
	root(&mem_a, 0, 2, RW, 0x1000);
	struct mdb_node *c = map(&mem_a, 0, 2, &mem_b, 0, RW);
	struct mdb_node *g = grant(&mem_a, 0, 2, &mem_a, 0x40, RW);
	cr_expect_null(mdb_lookup(&mem_a, 0));
	cr_expect_eq(mdb_lookup(&mem_a, 0x41), g);
	cr_expect_eq(c->parent, g);
}

/* ------------------------------------------------------------------ object space */

Test(mdb, obj_res_is_the_object_and_map_keeps_it)
{
	struct kobj o = { .type = OBJ_PT };
	root(&obj_a, 40, 0, RIGHTS_ALL, (uintptr_t)&o);
	struct mdb_node *c = map(&obj_a, 40, 0, &obj_b, 3, RIGHT_PT_CALL);
	cr_expect_eq((struct kobj *)(uintptr_t)c->res, &o);
	cr_expect_eq(c->rights, RIGHT_PT_CALL);
	cr_expect_eq(c->order, 0);
	cr_expect_eq(mdb_lookup(&obj_b, 3), c);
}

Test(mdb, obj_map_of_order_k_delegates_each_selector)
{
	struct kobj o[4];
	for (unsigned i = 0; i < 4; i++) {
		root(&obj_a, 8 + i, 0, RIGHTS_ALL, (uintptr_t)&o[i]);
	}
	struct mdb_node *first = map(&obj_a, 8, 2, &obj_b, 508, RIGHT_SM_UP);
	cr_expect_eq(first, mdb_lookup(&obj_b, 508));
	for (unsigned i = 0; i < 4; i++) {
		struct mdb_node *n = mdb_lookup(&obj_b, 508 + i);
		cr_assert_not_null(n, "selector %u", 508 + i);
		cr_expect_eq(n->order, 0);
		cr_expect_eq(n->res, (uintptr_t)&o[i]);
		cr_expect_eq(n->rights, RIGHT_SM_UP);
		cr_expect_eq(n->parent, mdb_lookup(&obj_a, 8 + i));
	}
	cr_expect_eq(mdb_node_count(), 8);
	/* Revoking the window in the source takes all four. */
	cr_assert_eq(mdb_revoke(&obj_a, 8, 2, false, NULL, NULL), VIREO_OK);
	cr_expect_eq(mdb_node_count(), 4);
}

Test(mdb, obj_map_of_window_with_empty_selector_is_bad_cap_and_changes_nothing)
{
	struct kobj o[4];
	for (unsigned i = 0; i < 4; i++) {
		if (i != 2) {
			root(&obj_a, 8 + i, 0, RIGHTS_ALL, (uintptr_t)&o[i]);
		}
	}
	cr_expect_eq(mdb_delegate(&obj_a, 8, 2, &obj_b, 0, RIGHTS_ALL, false, NULL), VIREO_BAD_CAP);
	cr_expect_eq(nodes_in(&obj_b), 0);
	cr_expect_eq(mdb_node_count(), 3);
}

Test(mdb, obj_map_of_window_onto_another_object_is_busy_and_changes_nothing)
{
	struct kobj o[4], other;
	for (unsigned i = 0; i < 4; i++) {
		root(&obj_a, 4 + i, 0, RIGHTS_ALL, (uintptr_t)&o[i]);
	}
	map(&obj_a, 4, 0, &obj_b, 0, RIGHTS_ALL);
	root(&obj_b, 3, 0, RIGHTS_ALL, (uintptr_t)&other);
	cr_expect_eq(mdb_delegate(&obj_a, 4, 2, &obj_b, 0, RIGHTS_ALL, false, NULL), VIREO_BUSY);
	cr_expect_null(mdb_lookup(&obj_b, 1));
	cr_expect_null(mdb_lookup(&obj_b, 2));
	/* With the other object gone, the same window works, keeping the identical selector 0. */
	cr_assert_eq(mdb_revoke(&obj_b, 3, 0, true, NULL, NULL), VIREO_OK);
	struct mdb_node *first = mdb_lookup(&obj_b, 0);
	cr_expect_eq(map(&obj_a, 4, 2, &obj_b, 0, RIGHTS_ALL), first);
	cr_expect_eq(mdb_node_count(), 8);
}

Test(mdb, obj_grant_of_window_moves_each_selector)
{
	struct kobj o[2];
	root(&obj_a, 2, 0, RIGHTS_ALL, (uintptr_t)&o[0]);
	root(&obj_a, 3, 0, RIGHTS_ALL, (uintptr_t)&o[1]);
	struct mdb_node *c = map(&obj_a, 3, 0, &obj_b, 100, RIGHTS_ALL);
	grant(&obj_a, 2, 1, &obj_b, 4000, RIGHT_SM_UP);
	cr_expect_null(mdb_lookup(&obj_a, 2));
	cr_expect_null(mdb_lookup(&obj_a, 3));
	cr_expect_eq(mdb_lookup(&obj_b, 4000)->res, (uintptr_t)&o[0]);
	cr_expect_eq(mdb_lookup(&obj_b, 4001)->rights, RIGHT_SM_UP);
	cr_expect_eq(c->parent, mdb_lookup(&obj_b, 4001));
	cr_expect_eq(mdb_node_count(), 3);
}

Test(mdb, obj_grant_to_an_overlapping_window_of_the_same_space_is_busy)
{
	struct kobj o[4];
	for (unsigned i = 0; i < 4; i++) {
		root(&obj_a, i, 0, RIGHTS_ALL, (uintptr_t)&o[i]);
	}
	cr_expect_eq(mdb_delegate(&obj_a, 0, 1, &obj_a, 2, RIGHTS_ALL, true, NULL), VIREO_BUSY);
	cr_expect_eq(mdb_lookup(&obj_a, 2)->res, (uintptr_t)&o[2]);
}

/* ------------------------------------------------------------------ destroy */

Test(mdb, destroy_removes_derived_nodes_in_other_spaces)
{
	struct unmap_log log = { 0 };
	root(&mem_a, 0, 4, RW, 0x1000);
	map(&mem_a, 0, 3, &mem_b, 0, RW);
	map(&mem_b, 0, 2, &mem_c, 0, RW);
	map(&mem_a, 8, 0, &mem_c, 0x40, RW);
	mdb_space_destroy(&mem_a, log_unmap, &log);
	cr_expect_eq(log.count, 4);
	expect_consistent_log(&log);
	cr_expect_eq(mdb_node_count(), 0);
	cr_expect_null(mem_a.root);
}

Test(mdb, destroy_keeps_the_nodes_it_was_derived_from)
{
	struct mdb_node *r = root(&mem_a, 0, 4, RW, 0x1000);
	struct mdb_node *sib = map(&mem_a, 8, 3, &mem_c, 0, RW);
	map(&mem_a, 0, 3, &mem_b, 0, RW);
	map(&mem_b, 0, 0, &mem_b, 0x100, RW);
	mdb_space_destroy(&mem_b, NULL, NULL);
	cr_expect_eq(mdb_lookup(&mem_a, 0), r);
	cr_expect_eq(r->child, sib);
	cr_expect_null(sib->next);
	cr_expect_eq(mdb_node_count(), 2);
}

Test(mdb, destroy_of_obj_space_returns_its_slot_pages)
{
	struct kobj o;
	uint64_t before = frame_free_pages();
	root(&obj_a, 0, 0, RIGHTS_ALL, (uintptr_t)&o);
	map(&obj_a, 0, 0, &obj_b, VIREO_CAP_SPACE_SIZE - 1, RIGHTS_ALL);
	cr_expect_lt(frame_free_pages(), before);
	mdb_space_destroy(&obj_a, NULL, NULL);
	mdb_space_destroy(&obj_b, NULL, NULL);
	cr_expect_eq(mdb_node_count(), 0);
	cr_expect_eq(frame_free_pages(), before);
}

Test(mdb, destroyed_space_can_be_used_again)
{
	root(&io_a, 0x60, 2, IO_RW, 0x60);
	mdb_space_destroy(&io_a, NULL, NULL);
	cr_expect_null(mdb_lookup(&io_a, 0x60));
	root(&io_a, 0x60, 2, IO_RW, 0x60);
	cr_expect_eq(mdb_node_count(), 1);
}

Test(mdb, node_count_returns_to_zero_after_everything)
{
	struct kobj o;
	root(&mem_a, 0, 8, RWX, 0x10000);
	root(&io_a, 0, 10, IO_RW, 0);
	root(&obj_a, 0, 0, RIGHTS_ALL, (uintptr_t)&o);
	for (uint64_t i = 0; i < 16; i++) {
		map(&mem_a, i * 16, 4, &mem_b, i * 16, RW);
		map(&mem_b, i * 16, 2, &mem_c, i * 4, MEM_R);
		map(&io_a, i * 64, 6, &io_b, i * 64, IO_RW);
		map(&obj_a, 0, 0, &obj_b, i, RIGHTS_ALL);
	}
	grant(&mem_c, 0, 2, &mem_a, 0x1000, MEM_R);
	cr_assert_eq(mdb_revoke(&mem_a, 0x40, 4, true, NULL, NULL), VIREO_OK);
	cr_assert_eq(mdb_revoke(&io_a, 0x80, 2, true, NULL, NULL), VIREO_OK);
	mdb_space_destroy(&mem_b, NULL, NULL);
	mdb_space_destroy(&obj_a, NULL, NULL);
	cr_expect_eq(nodes_in(&obj_b), 0);
	mdb_space_destroy(&mem_a, NULL, NULL);
	mdb_space_destroy(&mem_c, NULL, NULL);
	mdb_space_destroy(&io_b, NULL, NULL);
	mdb_space_destroy(&io_a, NULL, NULL);
	cr_expect_eq(mdb_node_count(), 0);
}

/* ------------------------------------------------------------------ generation */

/* A lookup remembered with the space's generation holds while it is equal: every way a node
 * leaves a space bumps it (kernel/mdb.h; the resume fast path's VM capability relies on it). */
Test(mdb, generation_stays_while_nodes_only_come_and_moves_when_one_leaves)
{
	uint64_t g0 = obj_a.gen;
	struct mdb_node *n = root(&obj_a, 5, 0, RW, 0x100);
	root(&obj_a, 6, 0, RW, 0x200);
	map(&obj_a, 5, 0, &obj_b, 9, RW);
	cr_expect_eq(obj_a.gen, g0, "an insertion or a map out of the space changed it");
	uint64_t gb = obj_b.gen;
	cr_assert_eq(mdb_revoke(&obj_a, 5, 0, false, NULL, NULL), VIREO_OK);
	cr_expect_gt(obj_b.gen, gb, "the revoked child's space kept its generation");
	cr_expect_eq(mdb_lookup(&obj_a, 5), n);
	uint64_t g1 = obj_a.gen;
	grant(&obj_a, 6, 0, &obj_b, 7, RW);
	cr_expect_gt(obj_a.gen, g1, "a grant away kept the source's generation");
	uint64_t g2 = obj_a.gen;
	cr_assert_eq(mdb_revoke(&obj_a, 5, 0, true, NULL, NULL), VIREO_OK);
	cr_expect_gt(obj_a.gen, g2, "a self revoke kept it");
}

Test(mdb, generation_moves_when_a_node_is_split)
{
	root(&mem_a, 0, 4, RW, 0x1000);
	uint64_t g = mem_a.gen;
	cr_assert_eq(mdb_revoke(&mem_a, 0, 2, true, NULL, NULL), VIREO_OK);
	cr_expect_gt(mem_a.gen, g);
}
