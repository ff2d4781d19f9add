/* SPDX-License-Identifier: MIT */
/* Protection domains on fake RAM: quotas, user copies, capability delegation and revocation. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "frame.h"
#include "klock.h"
#include "obj.h"

#define VA 0x10000000ull

static void setup(void)
{
	fake_kernel_init(16 << 20, 1);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_pd, .init = setup, .fini = teardown);

Test(kcore_pd, quota_smaller_than_the_pd_itself_is_refused)
{
	struct pd *pd;
	cr_expect_eq(pd_create(NULL, sizeof(struct pd) - 1, PD_PRIO_INHERIT, "tiny", &pd),
		     VIREO_NO_MEM);
	cr_expect_eq(obj_live[OBJ_PD], 0);
}

Test(kcore_pd, child_quota_is_charged_to_the_parent_and_refunded)
{
	struct pd *parent = fake_pd("parent", 1 << 20), *child;
	uint64_t used = parent->quota.used;
	cr_assert_eq(pd_create(parent, 64 << 10, PD_PRIO_INHERIT, "child", &child), VIREO_OK);
	cr_expect_geq(parent->quota.used, used + (64 << 10) + sizeof(struct pd),
		      "the parent paid neither the quota nor the PD object");
	cr_expect_eq(pd_create(parent, 1 << 20, PD_PRIO_INHERIT, "greedy", &child), VIREO_NO_MEM,
		     "a child got more than the parent has");
	obj_get(&child->obj);
	obj_put(&child->obj);
	cr_expect_eq(parent->quota.used, used, "the child's quota did not come back");
}

Test(kcore_pd, copies_go_through_the_page_table)
{
	struct pd *pd = fake_pd("task", 1 << 20);
	cr_assert_eq(pd_map_anon(pd, VA, 2 * PAGE_SIZE, MAP_W), VIREO_OK);
	char out[64] = "across the page boundary", in[64] = { 0 };
	uint64_t at = VA + PAGE_SIZE - 10;
	cr_assert_eq(pd_copy_to_user(pd, at, out, sizeof(out)), VIREO_OK);
	cr_assert_eq(pd_copy_from_user(pd, in, at, sizeof(in)), VIREO_OK);
	cr_expect_str_eq(in, out);
	cr_expect_eq(pd_copy_from_user(pd, in, VA + 2 * PAGE_SIZE - 8, 16), VIREO_BAD_PAR,
		     "a copy ran past the mapping");
	cr_expect_eq(pd_copy_to_user(pd, USER_END - 8, out, 16), VIREO_BAD_PAR);
	cr_expect_eq(pd_copy_to_user(pd, UINT64_MAX - 4, out, 16), VIREO_BAD_PAR);
}

Test(kcore_pd, read_only_memory_cannot_be_copied_to)
{
	struct pd *pd = fake_pd("task", 1 << 20);
	cr_assert_eq(pd_map_anon(pd, VA, PAGE_SIZE, 0), VIREO_OK);
	char buf[8] = { 0 };
	cr_expect_eq(pd_copy_from_user(pd, buf, VA, sizeof(buf)), VIREO_OK);
	cr_expect_eq(pd_copy_to_user(pd, VA, buf, sizeof(buf)), VIREO_BAD_PAR);
}

Test(kcore_pd, delegated_object_capability_is_revoked_with_its_source)
{
	struct pd *a = fake_pd("a", 1 << 20), *b = fake_pd("b", 1 << 20);
	struct ec *h = fake_ec(a, "h", true, 0, 0);
	struct portal *pt = fake_portal(h, 0x401000, 0, 1);
	fake_cap(a, 40, &pt->obj, RIGHTS_ALL);
	uint32_t refs = pt->obj.refs;
	/* Map selector 40 of a to selector 7 of b with the call right only. */
	cr_assert_eq(pd_delegate(a, b, vireo_crd(CRD_OBJ, 40, 0, RIGHT_PT_CALL), 7, 0), VIREO_OK);
	cr_expect_eq(pt->obj.refs, refs + 1);
	cr_expect_eq(pd_lookup_obj(b, 7, OBJ_PT, RIGHT_PT_CALL), &pt->obj);
	cr_expect_null(pd_lookup_obj(b, 7, OBJ_PT, RIGHT_PT_CTRL), "delegation added a right");
	cr_assert_eq(pd_revoke(a, vireo_crd(CRD_OBJ, 40, 0, RIGHTS_ALL), false), VIREO_OK);
	cr_expect_null(pd_lookup_obj(b, 7, OBJ_PT, RIGHT_PT_CALL), "revoke left the copy");
	cr_expect_eq(pd_lookup_obj(a, 40, OBJ_PT, RIGHT_PT_CALL), &pt->obj);
	cr_expect_eq(pt->obj.refs, refs);
}

Test(kcore_pd, destroying_a_pd_frees_its_memory)
{
	uint64_t free_before = frame_free_pages();
	struct pd *pd;
	cr_assert_eq(pd_create(NULL, 1 << 20, PD_PRIO_INHERIT, "short-lived", &pd), VIREO_OK);
	obj_get(&pd->obj);
	cr_assert_eq(pd_map_anon(pd, VA, 4 * PAGE_SIZE, MAP_W), VIREO_OK);
	cr_expect_lt(frame_free_pages(), free_before);
	obj_put(&pd->obj);
	cr_expect_eq(frame_free_pages(), free_before, "pages leaked");
	cr_expect_eq(obj_live[OBJ_PD], 0);
}

/* Root makes a child PD with an EC, an SC, a portal and a semaphore, all by system call, then
 * revokes its capabilities to all of them. */
static void child_round(struct ec *root_ec, struct pd *root)
{
	struct vireo_ec_create g = { .ip = 0x401000, .sp = 0x7000, .utcb = 0x7f0000100000ull };
	struct vireo_ec_create l = { .sp = 0x8000,
				     .utcb = 0x7f0000101000ull,
				     .flags = VIREO_EC_LOCAL };
	cr_assert_eq(pd_copy_to_user(root, VA, &g, sizeof(g)), VIREO_OK);
	cr_assert_eq(pd_copy_to_user(root, VA + sizeof(g), &l, sizeof(l)), VIREO_OK);
	const uint64_t calls[][6] = {
		{ SYS_CREATE_PD, 10, 1, 256 << 10, 0, 0 },
		{ SYS_CREATE_EC, 11, 10, VA, 0, 0 },
		{ SYS_CREATE_EC, 12, 10, VA + sizeof(g), 0, 0 },
		{ SYS_CREATE_SC, 13, 10, 11, 1, 10000 },
		{ SYS_CREATE_PT, 14, 10, 12, 0x402000, MTD_ALL },
		{ SYS_CREATE_SM, 15, 10, 0, 0, 0 },
		{ SYS_DELEGATE, 10, vireo_crd(CRD_OBJ, 14, 0, RIGHT_PT_CALL), 3, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		const uint64_t *c = calls[i];
		struct fake_exit x = fake_syscall(root_ec, c[0], c[1], c[2], c[3], c[4], c[5]);
		cr_assert_eq(fake_exit_ec(x), root_ec, "call %zu went elsewhere", i);
		cr_assert_eq(root_ec->regs.rax, VIREO_OK, "call %zu (syscall %llu) failed: %llu", i,
			     (unsigned long long)c[0], (unsigned long long)root_ec->regs.rax);
	}
	klock_acquire(); /* as SYS_REVOKE: destroying an SC dequeues it */
	for (uint64_t sel = 15; sel >= 10; sel--) {
		cr_assert_eq(pd_revoke(root, vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), true),
			     VIREO_OK);
	}
	klock_release();
}

Test(kcore_pd, child_pd_and_its_objects_leave_nothing_behind)
{
	struct pd *root = fake_pd("root", 4 << 20);
	fake_cap(root, 1, &root->obj, RIGHTS_ALL);
	struct ec *root_ec = fake_ec(root, "root", false, 0, 0);
	fake_sc(root_ec, 10, 10000); /* above the child's EC: root keeps the CPU */
	cr_assert_eq(fake_exit_ec(fake_schedule()), root_ec);
	fake_user_mem(root, VA, PAGE_SIZE, NULL, 0);
	uint64_t used = root->quota.used;
	child_round(root_ec, root); /* the first round also fills the slab caches */
	struct fake_counts before = fake_counts();
	child_round(root_ec, root);
	struct fake_counts after = fake_counts();
	cr_expect(fake_counts_equal(&before, &after), "a child PD round leaked (see stderr)");
	cr_expect_eq(root->quota.used, used, "the root's quota was not refunded");
}

/* A root PD holding a capability to itself at 1, with its EC running. */
static struct ec *running_root(struct pd **root)
{
	*root = fake_pd("root", 4 << 20);
	fake_cap(*root, 1, &(*root)->obj, RIGHTS_ALL);
	struct ec *root_ec = fake_ec(*root, "root", false, 0, 0);
	fake_sc(root_ec, 10, 10000);
	cr_assert_eq(fake_exit_ec(fake_schedule()), root_ec);
	return root_ec;
}

/*
 * A PD whose only capability was granted into its own object space would be its own last holder:
 * nothing outside could name, revoke or destroy it again (fuzz seed 21, 1,000,000 calls: one PD
 * and one MDB node left over). The grant is refused, and the creator's revoke takes the PD.
 */
Test(kcore_pd, pd_granted_into_itself_does_not_outlive_its_creator)
{
	struct pd *root;
	struct ec *root_ec = running_root(&root);
	unsigned pds = obj_live[OBJ_PD];
	uint64_t used = root->quota.used;
	fake_syscall(root_ec, SYS_CREATE_PD, 10, 1, 256 << 10, 0, 0);
	cr_assert_eq(root_ec->regs.rax, VIREO_OK);
	fake_syscall(root_ec, SYS_DELEGATE, 10, vireo_crd(CRD_OBJ, 10, 0, RIGHTS_ALL), 5,
		     VIREO_DELEGATE_GRANT, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_BAD_PAR, "a PD was granted its own capability");
	cr_expect_not_null(pd_lookup_obj(root, 10, OBJ_PD, 0), "the refused grant moved it anyway");
	/* A copy is fine: it derives from the creator's capability and goes with it. */
	fake_syscall(root_ec, SYS_DELEGATE, 10, vireo_crd(CRD_OBJ, 10, 0, RIGHTS_ALL), 5, 0, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_OK);
	fake_syscall(root_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, 2, 1, 0), VIREO_REVOKE_SELF, 0, 0, 0);
	fake_syscall(root_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, 4, 2, 0), VIREO_REVOKE_SELF, 0, 0, 0);
	fake_syscall(root_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, 8, 3, 0), VIREO_REVOKE_SELF, 0, 0, 0);
	fake_syscall(root_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, 0, 12, 0), 0, 0, 0, 0);
	cr_expect_eq(obj_live[OBJ_PD], pds, "the PD that holds itself is still alive");
	cr_expect_eq(root->quota.used, used, "its quota was not refunded");
}

/*
 * Two PDs granted each other's (root) capabilities would keep each other reachable once their
 * creator let go: the second grant closes the cycle and is refused, also around three PDs; copies
 * and holder chains without a cycle are fine, and the creator's revoke takes every PD back.
 */
Test(kcore_pd, grants_that_would_make_pds_hold_each_other_are_refused)
{
	struct pd *root;
	struct ec *root_ec = running_root(&root);
	unsigned pds = obj_live[OBJ_PD];
	uint64_t used = root->quota.used;
	/* A, B, C at 10, 11, 12 (their roots), and copies at 20, 21, 22 to name them by later. */
	for (uint64_t sel = 10; sel < 13; sel++) {
		fake_syscall(root_ec, SYS_CREATE_PD, sel, 1, 256 << 10, 0, 0);
		cr_assert_eq(root_ec->regs.rax, VIREO_OK);
		fake_syscall(root_ec, SYS_DELEGATE, 1, vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL),
			     sel + 10, 0, 0);
		cr_assert_eq(root_ec->regs.rax, VIREO_OK);
	}
	struct pd *a = (struct pd *)pd_lookup_obj(root, 10, OBJ_PD, 0);
	struct pd *b = (struct pd *)pd_lookup_obj(root, 11, OBJ_PD, 0);
	struct pd *c = (struct pd *)pd_lookup_obj(root, 12, OBJ_PD, 0);
	/* A holds B. */
	fake_syscall(root_ec, SYS_DELEGATE, 20, vireo_crd(CRD_OBJ, 11, 0, RIGHTS_ALL), 5,
		     VIREO_DELEGATE_GRANT, 0);
	cr_assert_eq(root_ec->regs.rax, VIREO_OK);
	/* B cannot hold A now; a copy of A into B is fine (it goes with the creator's root). */
	fake_syscall(root_ec, SYS_DELEGATE, 21, vireo_crd(CRD_OBJ, 10, 0, RIGHTS_ALL), 5,
		     VIREO_DELEGATE_GRANT, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_BAD_PAR, "A and B were made to hold each other");
	cr_expect_not_null(pd_lookup_obj(root, 10, OBJ_PD, 0), "the refused grant moved it anyway");
	fake_syscall(root_ec, SYS_DELEGATE, 21, vireo_crd(CRD_OBJ, 10, 0, RIGHTS_ALL), 5, 0, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_OK);
	/* C holds A: a chain C -> A -> B. B holding C would close it; B holding a copy would not. */
	fake_syscall(root_ec, SYS_DELEGATE, 22, vireo_crd(CRD_OBJ, 10, 0, RIGHTS_ALL), 6,
		     VIREO_DELEGATE_GRANT, 0);
	cr_assert_eq(root_ec->regs.rax, VIREO_OK);
	fake_syscall(root_ec, SYS_DELEGATE, 21, vireo_crd(CRD_OBJ, 12, 0, RIGHTS_ALL), 6,
		     VIREO_DELEGATE_GRANT, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_BAD_PAR, "C, A and B were made a cycle");
	fake_syscall(root_ec, SYS_DELEGATE, 21, vireo_crd(CRD_OBJ, 22, 0, RIGHTS_ALL), 6,
		     VIREO_DELEGATE_GRANT, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_OK, "granting a derived capability was refused");
	cr_expect_eq(a->root_cap->space, &c->objs, "A's root is not C's");
	cr_expect_eq(b->root_cap->space, &a->objs, "B's root is not A's");
	cr_expect_eq(c->root_cap->space, &root->objs, "C's root left its creator");
	/* The creator lets go of C: C, then A (C held it), then B (A held it) go. */
	fake_syscall(root_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, 12, 0, 0), VIREO_REVOKE_SELF, 0, 0, 0);
	cr_expect_eq(root_ec->regs.rax, VIREO_OK);
	cr_expect_eq(obj_live[OBJ_PD], pds, "PDs that held each other outlived their creator");
	cr_expect_eq(root->quota.used, used, "their quota was not refunded");
}
