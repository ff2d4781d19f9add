/* SPDX-License-Identifier: MIT */
/* Kernel-owned pages and kernel-memory quotas of PDs, ECs, vCPUs, SCs and portals on fake RAM. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "fake_virt.h"
#include "frame.h"
#include "klock.h"
#include "obj.h"
#include "portal.h"
#include "sc.h"
#include "sm.h"
#include "vcpu.h"

#define VA 0x10000000ull
#define RW (MEM_R | MEM_W)

static void setup(void)
{
	fake_kernel_init(16 << 20, 1);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_quota, .init = setup, .fini = teardown);

static paddr_t mapped_at(struct pd *pd, uint64_t va)
{
	paddr_t pa = PADDR_INVALID;
	pt_lookup(&pd->pt, va, &pa, NULL, NULL);
	return pa;
}

/* A page the PD holds as a capability (like the roottask's RAM): the test frees its frame. */
static paddr_t own_page(struct pd *pd, uint64_t va)
{
	paddr_t pa = frame_alloc(0);
	cr_assert(pa_valid(pa));
	cr_assert_eq(pd_grant_memory(pd, va, pa, 0, RW), VIREO_OK);
	return pa;
}

/* Destruction and scheduling run under the kernel lock, as in a system call. */
static void drop(struct kobj *o)
{
	klock_acquire();
	obj_put(o);
	klock_release();
}

static status_t locked_sc_create(struct pd *pd, struct ec *ec, unsigned prio, uint64_t q,
				 struct sc **out)
{
	klock_acquire();
	status_t st = sc_create(pd, ec, prio, q, out);
	klock_release();
	return st;
}

/* ------------------------------------------------------------------ kernel-owned pages */

Test(kcore_quota, delegation_onto_a_utcb_is_busy_and_its_frame_stays)
{
	struct pd *pd = fake_pd("task", 1 << 20);
	struct ec *ec = fake_ec(pd, "t", true, 0, 0);
	uint64_t utcb_va = ec->utcb_va;
	paddr_t utcb = mapped_at(pd, utcb_va), pa = own_page(pd, VA);
	cr_expect_eq(pd_delegate(pd, pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), ec->utcb_va >> 12, 0),
		     VIREO_BUSY);
	cr_expect_eq(pd_delegate(pd, pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), ec->utcb_va >> 12,
				 VIREO_DELEGATE_GRANT),
		     VIREO_BUSY);
	cr_expect_eq(pa_addr(mapped_at(pd, ec->utcb_va)), pa_addr(utcb), "the UTCB was replaced");
	/* Nor does the task get rid of it or pass it on. */
	cr_expect_eq(pd_revoke(pd, vireo_crd(CRD_MEM, ec->utcb_va >> 12, 0, RW), true), VIREO_OK);
	cr_expect_eq(pa_addr(mapped_at(pd, ec->utcb_va)), pa_addr(utcb));
	cr_expect_eq(pd_delegate(pd, pd, vireo_crd(CRD_MEM, ec->utcb_va >> 12, 0, RW),
				 (VA >> 12) + 1, 0),
		     VIREO_BAD_CAP);
	drop(&ec->obj);
	cr_expect_not(pa_valid(mapped_at(pd, utcb_va)), "the UTCB outlived its EC");
	/* The EC freed its UTCB, not our page: freeing ours now is no double free. */
	cr_expect_eq(pa_addr(mapped_at(pd, VA)), pa_addr(pa));
	cr_assert_eq(pd_revoke(pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), true), VIREO_OK);
	frame_free(pa, 0);
}

Test(kcore_quota, delegation_onto_a_vcpu_state_page_is_busy)
{
	fake_virt_init(NULL);
	struct pd *pd = fake_pd("vmm", 1 << 20);
	struct ec *ec = fake_ec(pd, "vcpu", false, 0, 0);
	cr_assert_eq(vcpu_attach(ec, VA + 0x10000), VIREO_OK);
	paddr_t state = mapped_at(pd, VA + 0x10000), pa = own_page(pd, VA);
	cr_expect_eq(
		pd_delegate(pd, pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), (VA + 0x10000) >> 12, 0),
		VIREO_BUSY);
	cr_expect_eq(pa_addr(mapped_at(pd, VA + 0x10000)), pa_addr(state));
	drop(&ec->obj);
	cr_assert_eq(pd_revoke(pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), true), VIREO_OK);
	frame_free(pa, 0);
}

Test(kcore_quota, anonymous_memory_refuses_delegation_and_goes_with_its_pd)
{
	struct fake_counts before = fake_counts();
	struct pd *other = fake_pd("other", 1 << 20), *pd = fake_pd("task", 1 << 20);
	fake_cap(other, 1, &pd->obj, RIGHTS_ALL);
	paddr_t pa = own_page(other, VA);
	uint64_t used = pd->quota.used;
	fake_user_mem(pd, VA, 3 * PAGE_SIZE, "data", 5);
	cr_expect_geq(pd->quota.used, used + 3 * PAGE_SIZE, "anonymous pages were not charged");
	paddr_t mid = mapped_at(pd, VA + PAGE_SIZE);
	cr_expect_eq(pd_delegate(other, pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), (VA >> 12) + 1, 0),
		     VIREO_BUSY);
	cr_expect_eq(pa_addr(mapped_at(pd, VA + PAGE_SIZE)), pa_addr(mid));
	cr_assert_eq(pd_revoke(other, vireo_crd(CRD_OBJ, 1, 0, RIGHTS_ALL), true), VIREO_OK);
	drop(&pd->obj); /* destroys it: the CHECK in pd_destroy sees every charge refunded */
	cr_assert_eq(pd_revoke(other, vireo_crd(CRD_MEM, VA >> 12, 0, RW), true), VIREO_OK);
	frame_free(pa, 0);
	drop(&other->obj);
	struct fake_counts after = fake_counts();
	cr_expect(fake_counts_equal(&before, &after), "a PD with anonymous memory leaked");
}

Test(kcore_quota, kernel_page_over_something_mapped_is_busy)
{
	struct pd *pd = fake_pd("task", 1 << 20);
	paddr_t pa = own_page(pd, VA);
	void *k;
	cr_expect_eq(pd_map_page(pd, VA, MAP_W, &k), VIREO_BUSY);
	cr_expect_eq(pa_addr(mapped_at(pd, VA)), pa_addr(pa));
	cr_assert_eq(pd_revoke(pd, vireo_crd(CRD_MEM, VA >> 12, 0, RW), true), VIREO_OK);
	frame_free(pa, 0);
}

/* ------------------------------------------------------------------ charging */

Test(kcore_quota, ec_and_vcpu_are_charged_to_their_pd_and_refunded_once)
{
	fake_virt_init(NULL);
	struct pd *pd = fake_pd("vmm", 1 << 20);
	/* A first round makes the page tables, which stay until the PD goes. */
	struct ec *ec = fake_ec(pd, "vcpu", false, 0, 0);
	uint64_t utcb_va = ec->utcb_va;
	cr_assert_eq(vcpu_attach(ec, VA), VIREO_OK);
	drop(&ec->obj);
	uint64_t used = pd->quota.used;
	cr_assert_eq(ec_create(pd, "vcpu", 0, 0, utcb_va, 0, 0, 0, false, &ec), VIREO_OK);
	obj_get(&ec->obj);
	uint64_t with_ec = pd->quota.used;
	cr_expect_geq(with_ec - used, sizeof(struct ec) + PAGE_SIZE, "EC and UTCB: %lu bytes",
		      (unsigned long)(with_ec - used));
	cr_assert_eq(vcpu_attach(ec, VA), VIREO_OK);
	/* struct vcpu, the state page, the guest FPU state and the VMCB. */
	cr_expect_geq(pd->quota.used - with_ec, sizeof(struct vcpu) + 2 * PAGE_SIZE,
		      "a vCPU was charged only %lu bytes",
		      (unsigned long)(pd->quota.used - with_ec));
	drop(&ec->obj);
	cr_expect_eq(pd->quota.used, used, "%ld bytes not refunded", (long)(pd->quota.used - used));
}

Test(kcore_quota, vcpu_over_quota_is_no_mem_and_refunds_what_it_took)
{
	fake_virt_init(NULL);
	struct pd *pd = fake_pd("vmm", 1 << 20);
	struct ec *ec = fake_ec(pd, "vcpu", false, 0, 0);
	uint64_t used = pd->quota.used;
	/* Room for everything but the VMCB, then for less and less. */
	for (uint64_t room = sizeof(struct vcpu) + 2 * PAGE_SIZE; room > 0; room /= 2) {
		pd->quota.limit = used + room;
		cr_expect_eq(vcpu_attach(ec, VA), VIREO_NO_MEM, "with %lu bytes left",
			     (unsigned long)room);
		cr_expect_eq(pd->quota.used, used, "a failed vcpu_attach kept %ld bytes",
			     (long)(pd->quota.used - used));
		cr_expect_null(ec->vcpu);
	}
	pd->quota.limit = 1 << 20;
	cr_expect_eq(vcpu_attach(ec, VA), VIREO_OK, "the failed attempts left the page behind");
	drop(&ec->obj);
}

Test(kcore_quota, sc_and_portal_are_charged_to_the_pd_named_not_the_ecs)
{
	struct pd *home = fake_pd("home", 1 << 20), *payer = fake_pd("payer", 1 << 20);
	struct ec *ec = fake_ec(home, "g", false, 0, 0), *lec = fake_ec(home, "l", true, 0, 0);
	uint64_t h = home->quota.used, p = payer->quota.used;
	struct sc *sc;
	struct portal *pt;
	cr_assert_eq(locked_sc_create(payer, ec, 1, 10000, &sc), VIREO_OK);
	obj_get(&sc->obj);
	cr_assert_eq(portal_create(payer, lec, 0, 0, &pt), VIREO_OK);
	obj_get(&pt->obj);
	cr_expect_eq(home->quota.used, h, "the ECs' PD paid");
	cr_expect_geq(payer->quota.used, p + sizeof(*sc) + sizeof(*pt));
	drop(&sc->obj);
	drop(&pt->obj);
	cr_expect_eq(payer->quota.used, p, "%ld bytes not refunded", (long)(payer->quota.used - p));
	drop(&ec->obj);
	drop(&lec->obj);
}

Test(kcore_quota, semaphore_over_quota_is_no_mem)
{
	struct pd *pd = fake_pd("task", 1 << 20);
	struct sm *sm;
	pd->quota.limit = pd->quota.used + sizeof(struct sm) - 1;
	cr_expect_eq(sm_create(pd, 0, &sm), VIREO_NO_MEM);
	pd->quota.limit = 1 << 20;
	uint64_t used = pd->quota.used;
	cr_assert_eq(sm_create(pd, 0, &sm), VIREO_OK);
	obj_get(&sm->obj);
	drop(&sm->obj);
	cr_expect_eq(pd->quota.used, used);
}

Test(kcore_quota, capability_table_pages_are_charged_to_the_pd)
{
	struct pd *pd = fake_pd("task", 1 << 20), *sm_pd = fake_pd("sms", 1 << 20);
	struct sm *sm;
	cr_assert_eq(sm_create(sm_pd, 0, &sm), VIREO_OK);
	uint64_t used = pd->quota.used;
	cr_assert_eq(pd_install_obj(pd, 600, &sm->obj, RIGHTS_ALL), VIREO_OK);
	cr_expect_geq(pd->quota.used, used + PAGE_SIZE, "a new table page cost %lu bytes",
		      (unsigned long)(pd->quota.used - used));
	cr_assert_eq(pd_revoke(pd, vireo_crd(CRD_OBJ, 600, 0, RIGHTS_ALL), true), VIREO_OK);
}

/* ------------------------------------------------------------------ priorities */

Test(kcore_quota, sc_priority_is_bounded_by_the_pd_named)
{
	struct pd *root = fake_pd("root", 1 << 20), *low, *lower;
	cr_expect_eq(root->max_prio, SC_PRIOS - 1);
	cr_assert_eq(pd_create(root, 64 << 10, 2, "low", &low), VIREO_OK);
	obj_get(&low->obj);
	struct ec *ec = fake_ec(low, "t", false, 0, 0);
	struct sc *sc;
	cr_expect_eq(locked_sc_create(low, ec, 3, 10000, &sc), VIREO_BAD_PAR);
	cr_expect_eq(pd_create(low, 8 << 10, 3, "raise", &lower), VIREO_BAD_PAR);
	cr_assert_eq(pd_create(low, 8 << 10, PD_PRIO_INHERIT, "inherit", &lower), VIREO_OK);
	cr_expect_eq(lower->max_prio, 2);
	obj_get(&lower->obj);
	cr_expect_eq(locked_sc_create(lower, ec, 3, 10000, &sc), VIREO_BAD_PAR);
	/* Another PD's allowance is that PD's to give: root may bind a higher SC to low's EC. */
	cr_assert_eq(locked_sc_create(root, ec, 20, 10000, &sc), VIREO_OK);
	obj_get(&sc->obj);
	drop(&sc->obj);
	drop(&lower->obj);
	drop(&ec->obj);
	drop(&low->obj);
}
