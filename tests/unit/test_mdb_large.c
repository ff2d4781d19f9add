/* SPDX-License-Identifier: MIT */
/*
 * The mapping database with guest-RAM-sized nodes: 1 GiB passed down roottask -> VMM -> VM in one
 * node per space, and what revoking one page of it does (docs/architecture.md#mapping-database).
 */
#include <criterion/criterion.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"
#include "mdb.h"

#define RAM (16 * 1024 * 1024ull)
#define RWX (MEM_R | MEM_W | MEM_X)
#define GIB_ORDER 18		 /* pages */
#define ROOT_BASE 0x400040000ull /* the roottask's window page of physical 1 GiB */
#define HEAP_BASE 0x100000000ull /* the VMM's heap page */
#define PHYS 0x40000ull		 /* physical page 1 GiB */

static struct mdb_space root, vmm, vm;
static uint64_t free_at_start;

struct seen {
	unsigned n;
	uint64_t base[64];
	unsigned order[64];
	const struct mdb_space *space[64];
};

static void record(struct mdb_node *n, void *arg)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, 64);
	s->base[s->n] = n->base;
	s->order[s->n] = n->order;
	s->space[s->n++] = n->space;
}

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
	mdb_init();
	mdb_space_init(&root, MDB_MEM, "root");
	mdb_space_init(&vmm, MDB_MEM, "vmm");
	mdb_space_init(&vm, MDB_MEM, "vm");
	free_at_start = frame_free_pages();
	cr_assert_eq(mdb_insert_root(&root, ROOT_BASE, GIB_ORDER, RWX, PHYS, NULL), VIREO_OK);
	cr_assert_eq(mdb_delegate(&root, ROOT_BASE, GIB_ORDER, &vmm, HEAP_BASE, RWX, false, NULL),
		     VIREO_OK);
	cr_assert_eq(mdb_delegate(&vmm, HEAP_BASE, GIB_ORDER, &vm, 0, RWX, false, NULL), VIREO_OK);
}

static void teardown(void)
{
	mdb_space_destroy(&vm, NULL, NULL);
	mdb_space_destroy(&vmm, NULL, NULL);
	mdb_space_destroy(&root, NULL, NULL);
	cr_expect_eq(mdb_node_count(), 0, "%zu nodes leaked", mdb_node_count());
	cr_expect_eq(frame_free_pages(), free_at_start, "pages leaked");
	frame_init();
	fake_phys_fini();
}

TestSuite(mdb_large, .init = setup, .fini = teardown);

Test(mdb_large, one_gib_down_three_spaces_is_three_nodes)
{
	cr_expect_eq(mdb_node_count(), 3);
	struct mdb_node *n = mdb_lookup(&vm, (1ull << GIB_ORDER) - 1);
	cr_assert_not_null(n, "the top page of guest RAM has no node");
	cr_expect_eq(n->order, GIB_ORDER);
	cr_expect_eq(n->res, PHYS);
	cr_expect_eq(n->parent, mdb_lookup(&vmm, HEAP_BASE));
}

Test(mdb_large, a_flexpage_larger_than_the_source_capability_is_bad_cap)
{
	cr_expect_eq(
		mdb_delegate(&vmm, HEAP_BASE, GIB_ORDER + 1, &vm, 1ull << 20, RWX, false, NULL),
		VIREO_BAD_CAP);
	cr_expect_eq(mdb_node_count(), 3);
}

Test(mdb_large, revoking_one_page_takes_the_whole_derived_gib_and_keeps_the_source)
{
	struct seen s = { 0 };
	cr_assert_eq(mdb_revoke(&vmm, HEAP_BASE + 777, 0, false, record, &s), VIREO_OK);
	cr_expect_eq(s.n, 1);
	cr_expect_eq(s.space[0], &vm);
	cr_expect_eq(s.order[0], GIB_ORDER, "a derived node is never split");
	cr_expect_null(mdb_lookup(&vm, 0));
	cr_expect_eq(mdb_lookup(&vmm, HEAP_BASE)->order, GIB_ORDER);
}

Test(mdb_large, revoking_one_page_of_itself_leaves_18_aligned_pieces)
{
	struct seen s = { 0 };
	uint64_t page = HEAP_BASE + 777;
	cr_assert_eq(mdb_revoke(&vmm, page, 0, true, record, &s), VIREO_OK);
	cr_expect_eq(s.n, 2, "the VM's node and the revoked page");
	cr_expect_null(mdb_lookup(&vmm, page));
	/* 2^18 - 1 pages around one hole: one aligned piece per bit of the order. */
	uint64_t pages = 0;
	unsigned pieces = 0;
	for (uint64_t p = HEAP_BASE; p < HEAP_BASE + (1ull << GIB_ORDER);) {
		struct mdb_node *n = mdb_lookup(&vmm, p);
		if (!n) {
			cr_expect_eq(p, page);
			p++;
			continue;
		}
		cr_expect_eq(n->base, p);
		cr_expect_eq(n->base & ((1ull << n->order) - 1), 0, "piece at %#lx unaligned",
			     (unsigned long)p);
		cr_expect_eq(n->res, PHYS + (p - HEAP_BASE), "piece at %#lx maps the wrong frame",
			     (unsigned long)p);
		cr_expect_eq(n->parent, mdb_lookup(&root, ROOT_BASE));
		pages += 1ull << n->order;
		pieces++;
		p += 1ull << n->order;
	}
	cr_expect_eq(pages, (1ull << GIB_ORDER) - 1);
	cr_expect_eq(pieces, GIB_ORDER);
	cr_expect_eq(mdb_node_count(), 1 + GIB_ORDER);
	/* The root's own 1 GiB still covers everything: a revoke there takes all pieces. */
	struct seen all = { 0 };
	cr_assert_eq(mdb_revoke(&root, ROOT_BASE, GIB_ORDER, false, record, &all), VIREO_OK);
	cr_expect_eq(all.n, GIB_ORDER);
	cr_expect_eq(mdb_node_count(), 1);
}
