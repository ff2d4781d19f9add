/* SPDX-License-Identifier: MIT */
/* Specification of kernel-owned nodes and of quota charging in the mapping database. */
#include <criterion/criterion.h>

#include "arch.h"
#include "fake_arch.h"
#include "frame.h"
#include "mdb.h"
#include "quota.h"

#define RAM (16 * 1024 * 1024ull)
#define RW (MEM_R | MEM_W)

static struct mdb_space mem_a, mem_b, obj_a, obj_b;
static struct quota qa, qb;
static uint64_t free_pages_at_start;
static size_t node_size; /* what one node costs a quota, measured by the first insert */

static void setup(void)
{
	fake_phys_init(RAM);
	frame_init();
	frame_add_range(pa_init(FAKE_PHYS_BASE), RAM);
	mdb_init();
	qa = (struct quota){ .limit = 1 << 20 };
	qb = (struct quota){ .limit = 1 << 20 };
	mdb_space_init(&mem_a, MDB_MEM, "a");
	mdb_space_init(&mem_b, MDB_MEM, "b");
	mdb_space_init(&obj_a, MDB_OBJ, "obj a");
	mdb_space_init(&obj_b, MDB_OBJ, "obj b");
	mdb_space_set_quota(&mem_a, &qa);
	mdb_space_set_quota(&obj_a, &qa);
	mdb_space_set_quota(&mem_b, &qb);
	mdb_space_set_quota(&obj_b, &qb);
	free_pages_at_start = frame_free_pages();
	/* The size of a node as charged: one root in a scratch space with a quota of its own. */
	struct mdb_space s;
	struct quota q = { .limit = 1 << 20 };
	mdb_space_init(&s, MDB_MEM, "scratch");
	mdb_space_set_quota(&s, &q);
	cr_assert_eq(mdb_insert_root(&s, 0, 0, RW, 0, NULL), VIREO_OK);
	node_size = q.used;
	cr_assert(node_size >= sizeof(struct mdb_node), "a node was charged %zu bytes", node_size);
	mdb_space_destroy(&s, NULL, NULL);
	cr_assert_eq(q.used, 0);
}

/* Every test ends with the spaces destroyed: no node, no page and no charge may survive them. */
static void teardown(void)
{
	struct mdb_space *all[] = { &mem_a, &mem_b, &obj_a, &obj_b };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		mdb_space_destroy(all[i], NULL, NULL);
	}
	cr_expect_eq(mdb_node_count(), 0, "%zu nodes leaked", mdb_node_count());
	cr_expect_eq(frame_free_pages(), free_pages_at_start, "pages leaked");
	cr_expect_eq(qa.used, 0, "%lu bytes still charged to a", (unsigned long)qa.used);
	cr_expect_eq(qb.used, 0, "%lu bytes still charged to b", (unsigned long)qb.used);
	frame_init();
	fake_phys_fini();
}

TestSuite(mdb_owned, .init = setup, .fini = teardown);

static struct mdb_node *kernel_page(struct mdb_space *s, uint64_t base, uint64_t res)
{
	struct mdb_node *n = NULL;
	cr_assert_eq(mdb_insert_kernel(s, base, RW, res, &n), VIREO_OK);
	cr_assert_not_null(n);
	cr_assert(n->kernel);
	return n;
}

static void count_unmap(struct mdb_node *n, void *arg)
{
	(void)n;
	(*(unsigned *)arg)++;
}

/* ------------------------------------------------------------------ kernel-owned nodes */

Test(mdb_owned, map_onto_kernel_page_is_busy_and_keeps_it)
{
	struct mdb_node *k = kernel_page(&mem_a, 0x50, 0x9000);
	cr_assert_eq(mdb_insert_root(&mem_a, 0x1000, 4, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_delegate(&mem_a, 0x1000, 0, &mem_a, 0x50, RW, false, NULL), VIREO_BUSY);
	/* Also as part of a larger range, and from another space. */
	cr_assert_eq(mdb_insert_root(&mem_b, 0x2000, 4, RW, 0x200, NULL), VIREO_OK);
	cr_expect_eq(mdb_delegate(&mem_b, 0x2000, 4, &mem_a, 0x50 & ~0xfull, RW, false, NULL),
		     VIREO_BUSY);
	cr_expect_eq(mdb_lookup(&mem_a, 0x50), k);
	cr_expect_eq(k->res, 0x9000);
}

Test(mdb_owned, map_onto_kernel_page_of_the_same_frame_is_still_busy)
{
	kernel_page(&mem_a, 0x50, 0x9000);
	cr_assert_eq(mdb_insert_root(&mem_b, 0x60, 0, RW, 0x9000, NULL), VIREO_OK);
	cr_expect_eq(mdb_delegate(&mem_b, 0x60, 0, &mem_a, 0x50, RW, false, NULL), VIREO_BUSY);
}

Test(mdb_owned, grant_onto_kernel_page_is_busy)
{
	kernel_page(&mem_a, 0x50, 0x9000);
	cr_assert_eq(mdb_insert_root(&mem_b, 0x60, 0, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_delegate(&mem_b, 0x60, 0, &mem_a, 0x50, RW, true, NULL), VIREO_BUSY);
	cr_expect_not_null(mdb_lookup(&mem_b, 0x60), "the failed grant moved its source");
}

Test(mdb_owned, kernel_page_is_no_delegation_source)
{
	kernel_page(&mem_a, 0x50, 0x9000);
	cr_expect_eq(mdb_delegate(&mem_a, 0x50, 0, &mem_b, 0x50, RW, false, NULL), VIREO_BAD_CAP);
	cr_expect_eq(mdb_delegate(&mem_a, 0x50, 0, &mem_b, 0x50, RW, true, NULL), VIREO_BAD_CAP);
	cr_expect_null(mdb_lookup(&mem_b, 0x50));
	cr_expect_not_null(mdb_lookup(&mem_a, 0x50));
}

Test(mdb_owned, revoke_leaves_kernel_pages)
{
	unsigned unmapped = 0;
	struct mdb_node *k = kernel_page(&mem_a, 0x50, 0x9000);
	cr_assert_eq(mdb_insert_root(&mem_a, 0x40, 3, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_revoke(&mem_a, 0x50, 0, true, count_unmap, &unmapped), VIREO_OK);
	cr_expect_eq(mdb_revoke(&mem_a, 0, 8, true, count_unmap, &unmapped), VIREO_OK);
	cr_expect_eq(unmapped, 1, "revoke removed %u nodes, expected only the ordinary one",
		     unmapped);
	cr_expect_eq(mdb_lookup(&mem_a, 0x50), k);
	cr_expect_null(mdb_lookup(&mem_a, 0x40));
}

Test(mdb_owned, remove_kernel_returns_the_frame_and_frees_the_node)
{
	unsigned unmapped = 0;
	uint64_t res = 0;
	kernel_page(&mem_a, 0x50, 0x9000);
	size_t nodes = mdb_node_count();
	cr_expect_eq(mdb_remove_kernel(&mem_a, 0x50, count_unmap, &unmapped, &res), VIREO_OK);
	cr_expect_eq(res, 0x9000);
	cr_expect_eq(unmapped, 1);
	cr_expect_eq(mdb_node_count(), nodes - 1);
	cr_expect_null(mdb_lookup(&mem_a, 0x50));
	/* Gone means gone: a second removal finds nothing, and the page can be mapped now. */
	cr_expect_eq(mdb_remove_kernel(&mem_a, 0x50, NULL, NULL, &res), VIREO_BAD_PAR);
	cr_assert_eq(mdb_insert_root(&mem_b, 0x60, 0, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_delegate(&mem_b, 0x60, 0, &mem_a, 0x50, RW, false, NULL), VIREO_OK);
}

Test(mdb_owned, remove_kernel_refuses_an_ordinary_node)
{
	uint64_t res = 0;
	cr_assert_eq(mdb_insert_root(&mem_a, 0x50, 0, RW, 0x9000, NULL), VIREO_OK);
	cr_expect_eq(mdb_remove_kernel(&mem_a, 0x50, NULL, NULL, &res), VIREO_BAD_PAR);
	cr_expect_not_null(mdb_lookup(&mem_a, 0x50));
}

Test(mdb_owned, kernel_pages_only_in_memory_spaces_and_never_overlapping)
{
	kernel_page(&mem_a, 0x50, 0x9000);
	cr_expect_eq(mdb_insert_kernel(&obj_a, 3, RW, 0x9000, NULL), VIREO_BAD_PAR);
	cr_expect_eq(mdb_insert_kernel(&mem_a, 0x50, RW, 0x9001, NULL), VIREO_BAD_PAR);
	cr_assert_eq(mdb_insert_root(&mem_a, 0x80, 4, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_insert_kernel(&mem_a, 0x85, RW, 0x9002, NULL), VIREO_BAD_PAR);
}

Test(mdb_owned, space_destroy_removes_kernel_pages)
{
	unsigned unmapped = 0;
	kernel_page(&mem_a, 0x50, 0x9000);
	kernel_page(&mem_a, 0x51, 0x9001);
	mdb_space_destroy(&mem_a, count_unmap, &unmapped);
	cr_expect_eq(unmapped, 2);
	cr_expect_null(mdb_lookup(&mem_a, 0x50));
}

/* ------------------------------------------------------------------ quota */

Test(mdb_owned, every_node_is_charged_to_its_space)
{
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 4, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(qa.used, node_size);
	kernel_page(&mem_a, 0x50, 0x9000);
	cr_expect_eq(qa.used, 2 * node_size);
	cr_assert_eq(mdb_delegate(&mem_a, 0x100, 2, &mem_b, 0x200, RW, false, NULL), VIREO_OK);
	cr_expect_eq(qa.used, 2 * node_size, "the mapper paid for the receiver's node");
	cr_expect_eq(qb.used, node_size);
	cr_expect_eq(mdb_revoke(&mem_a, 0x100, 4, false, NULL, NULL), VIREO_OK);
	cr_expect_eq(qb.used, 0, "revoke did not refund the receiver");
}

Test(mdb_owned, map_over_quota_is_no_mem_and_changes_nothing)
{
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 4, RW, 0x100, NULL), VIREO_OK);
	qb.limit = node_size;
	cr_assert_eq(mdb_delegate(&mem_a, 0x100, 0, &mem_b, 0x200, RW, false, NULL), VIREO_OK);
	size_t nodes = mdb_node_count();
	cr_expect_eq(mdb_delegate(&mem_a, 0x101, 0, &mem_b, 0x201, RW, false, NULL), VIREO_NO_MEM);
	cr_expect_eq(mdb_node_count(), nodes);
	cr_expect_null(mdb_lookup(&mem_b, 0x201));
	cr_expect_eq(qb.used, node_size);
	/* Each selector of an object window is a node: all or nothing against the quota too. */
	cr_assert_eq(mdb_insert_root(&obj_a, 8, 0, 1, 0x1234, NULL), VIREO_OK);
	cr_assert_eq(mdb_insert_root(&obj_a, 9, 0, 1, 0x1235, NULL), VIREO_OK);
	qb.limit = qb.used + PAGE_SIZE + node_size; /* the slot page and one node */
	cr_expect_eq(mdb_delegate(&obj_a, 8, 1, &obj_b, 8, 1, false, NULL), VIREO_NO_MEM);
	cr_expect_null(mdb_lookup(&obj_b, 8));
}

Test(mdb_owned, root_over_quota_is_no_mem)
{
	qa.limit = node_size;
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 0, RW, 0x100, NULL), VIREO_OK);
	cr_expect_eq(mdb_insert_root(&mem_a, 0x101, 0, RW, 0x101, NULL), VIREO_NO_MEM);
	cr_expect_eq(mdb_insert_kernel(&mem_a, 0x102, RW, 0x102, NULL), VIREO_NO_MEM);
	cr_expect_eq(qa.used, node_size);
}

Test(mdb_owned, grant_moves_the_charge_to_the_receiver)
{
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 0, RW, 0x100, NULL), VIREO_OK);
	cr_assert_eq(mdb_delegate(&mem_a, 0x100, 0, &mem_b, 0x200, RW, true, NULL), VIREO_OK);
	cr_expect_eq(qa.used, 0);
	cr_expect_eq(qb.used, node_size);
}

Test(mdb_owned, grant_over_the_receivers_quota_is_no_mem)
{
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 0, RW, 0x100, NULL), VIREO_OK);
	qb.limit = node_size - 1;
	cr_expect_eq(mdb_delegate(&mem_a, 0x100, 0, &mem_b, 0x200, RW, true, NULL), VIREO_NO_MEM);
	cr_expect_not_null(mdb_lookup(&mem_a, 0x100));
	cr_expect_eq(qa.used, node_size);
	cr_expect_eq(qb.used, 0);
}

Test(mdb_owned, capability_table_pages_are_charged_to_their_space)
{
	cr_assert_eq(mdb_insert_root(&obj_a, 7, 0, 1, 0x1234, NULL), VIREO_OK);
	cr_expect_eq(qa.used, PAGE_SIZE + node_size);
	cr_assert_eq(mdb_insert_root(&obj_a, 8, 0, 1, 0x1235, NULL), VIREO_OK);
	cr_expect_eq(qa.used, PAGE_SIZE + 2 * node_size, "selector 8 shares the slot page of 7");
	qa.limit = qa.used + PAGE_SIZE - 1;
	cr_expect_eq(mdb_insert_root(&obj_a, 4000, 0, 1, 0x1236, NULL), VIREO_NO_MEM);
	mdb_space_destroy(&obj_a, NULL, NULL);
	cr_expect_eq(qa.used, 0, "destroy left %lu bytes charged", (unsigned long)qa.used);
}

Test(mdb_owned, splitting_revoke_charges_its_pieces_and_refunds_them)
{
	cr_assert_eq(mdb_insert_root(&mem_a, 0x100, 4, RW, 0x100, NULL), VIREO_OK);
	/* Revoking one page of 16 with SELF leaves four aligned pieces: one more node than the split. */
	cr_expect_eq(mdb_revoke(&mem_a, 0x105, 0, true, NULL, NULL), VIREO_OK);
	cr_expect_eq(qa.used, 4 * node_size);
	qa.limit = qa.used; /* no room for the pieces of the next split */
	cr_expect_eq(mdb_revoke(&mem_a, 0x10a, 0, true, NULL, NULL), VIREO_NO_MEM);
	cr_expect_not_null(mdb_lookup(&mem_a, 0x10a), "a failed revoke changed the space");
}
