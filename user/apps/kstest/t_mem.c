/* SPDX-License-Identifier: MIT */
/* kstest: page faults and pagers, memory map/grant/revoke between PDs, kernel-memory quotas. */
#include "kstest.h"

#define W VIREO_UTCB_WORDS
#define PAGE 0x1000ull

/* Heap pages the tests here use (each its own). */
enum { HP_PAGER = 5, HP_PAGER2, HP_RIGHTS, HP_SHARE, HP_REVOKE, HP_SHOOT, HP_GRANT, HP_COUNT };

static int need_heap(void)
{
	if (!kt_heap_page(HP_COUNT)) {
		return kt_skip("heap of %lu KiB is smaller than the %u pages these tests use",
			       (unsigned long)(kt_heap_size >> 10), HP_COUNT + 1);
	}
	return KT_PASS;
}

#define NEED_HEAP()                                                                                \
	do {                                                                                       \
		int r_ = need_heap();                                                              \
		if (r_ != KT_PASS) {                                                               \
			return r_;                                                                 \
		}                                                                                  \
	} while (0)

/* ---------------------------------------------------------------- demand paging (roottask) */

static volatile uint64_t dp_first, dp_written, dp_last_first;

static void w_demand(uint64_t va)
{
	volatile uint64_t *p = (volatile uint64_t *)va;
	volatile uint64_t *last = (volatile uint64_t *)(TASK_DEMAND_VA + kt_demand_size - 16);
	dp_first = p[0];
	p[1] = 0xd00dfeed;
	dp_written = p[1];
	dp_last_first = last[0];
	last[1] = 0x1a57;
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_demand_page_reads_zero_and_is_writable(void)
{
	struct env e;
	struct vireo_kstat k0, k1;
	uint64_t done, ec, sc;
	if (kt_demand_size < PAGE) {
		return kt_skip("no demand-paged region (demand_size 0)");
	}
	uint64_t va = TASK_DEMAND_VA + (kt_demand_size >= 8 * PAGE ? 5 * PAGE : 0);
	EXPECT_OK(sys_kstat(&k0));
	/* An EC of our own PD whose page faults go to the roottask's pager, like ours. */
	EXPECT_OK(env_open(&e, ENV_OWN));
	EXPECT_OK(kt_new_sm(&done, 0));
	kt_done_sel = done;
	dp_first = dp_written = dp_last_first = 0x5555;
	EXPECT_OK(env_thread(&e, (uintptr_t)w_demand, va, 0, TASK_EVT_BASE, &ec, &sc));
	enum vireo_status st = kt_wait(done, 3000);
	EXPECT(st == VIREO_OK, "the EC touching demand memory did not finish (%s): was it killed?",
	       kt_st(st));
	EXPECT_EQ(dp_first, 0);
	EXPECT_EQ(dp_written, 0xd00dfeed);
	EXPECT_EQ(dp_last_first, 0);
	/* Same PD: we see what it wrote. */
	EXPECT_EQ(((volatile uint64_t *)va)[1], 0xd00dfeed);
	EXPECT_EQ(((volatile uint64_t *)(TASK_DEMAND_VA + kt_demand_size - 16))[1], 0x1a57);
	EXPECT(kt_lookup_mem(va), "no memory capability at 0x%lx after the fault was served",
	       (unsigned long)va);
	/* The pages stay mapped: account for the MDB nodes the pager made. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, done, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&k1));
	if (k1.mdb_nodes > k0.mdb_nodes) {
		kt_mdb_extra += k1.mdb_nodes - k0.mdb_nodes;
	}
	return KT_PASS;
}

/* ---------------------------------------------------------------- own pager */

static volatile uint64_t pager_page[2];

/* Resolve the fault with a typed item: pager_page[n] (in the handler's space) at the fault page. */
static void act_pager(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	u->mr[W - 2] = vireo_crd(CRD_MEM, pager_page[n & 1] >> 12, 0, MEM_R | MEM_W);
	u->mr[W - 1] = (u->exc.fault_addr >> 12) << 12;
	u->typed = 1;
	u->mtd = 0; /* retry the instruction */
}

static int t_own_pager_resolves_page_fault_with_typed_item(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_PAGER), h2 = kt_heap_page(HP_PAGER2);
	uint64_t fa = KT_FAULT_AREA + 0x40000;
	((volatile uint64_t *)h)[3] = 0x9a9e5;
	((volatile uint64_t *)h)[4] = 0xffffffff;
	((volatile uint64_t *)h2)[5] = 0xffffffff;
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(env_share_mem(&e, h, MEM_R | MEM_W));
	EXPECT_OK(env_share_mem(&e, h2, MEM_R | MEM_W));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_QUAL | MTD_RIP));
	pager_page[0] = h;
	pager_page[1] = h2;
	kt_exc_action = act_pager;
	/* A read of an unmapped page: the pager maps h there, the load is retried and sees h's data. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, fa + 3 * 8, kt_cpus > 1 ? 1 : 0, evt, &ec,
			     NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, fa + 3 * 8);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_load_insn);
	EXPECT_EQ(kt_exc_out.rax, 0x9a9e5);
	/* The page stays: a store there needs no pager and lands in h. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_store_body, fa + 4 * 8, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(((volatile uint64_t *)h)[4], KT_STORE_VAL);
	/* A write fault on another page gets h2. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_store_body, fa + PAGE + 5 * 8, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 2);
	EXPECT_EQ(kt_exc_rec[1].st.error & 2, 2);
	EXPECT_EQ(((volatile uint64_t *)h2)[5], KT_STORE_VAL);
	return KT_PASS;
}

/* ---------------------------------------------------------------- map, grant, revoke */

static int t_map_never_raises_memory_rights(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_RIGHTS);
	uint64_t y = KT_MAP_AREA + 0x10 * PAGE, z = KT_MAP_AREA + 0x11 * PAGE,
		 x = KT_MAP_AREA + 0x12 * PAGE;
	*(volatile uint64_t *)h = 0x7171;
	/* In our own space: read-only copy, then a copy of that asking for everything. */
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), y >> 12, 0));
	EXPECT_EQ(vireo_crd_rights(kt_lookup_mem(y)), MEM_R);
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, y >> 12, 0, MEM_R | MEM_W | MEM_X),
			       z >> 12, 0));
	EXPECT_EQ(vireo_crd_rights(kt_lookup_mem(z)), MEM_R);
	EXPECT_EQ(*(volatile uint64_t *)z, 0x7171);
	/* In another PD: the read works, the write faults with a protection violation. */
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), x >> 12, 0));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_store_after;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 0);
	EXPECT_EQ(kt_exc_out.rax, 0x7171);
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_store_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, x);
	EXPECT_EQ(kt_exc_rec[0].st.error & 7, 7); /* present, write, user */
	EXPECT_EQ(*(volatile uint64_t *)h, 0x7171);
	return KT_PASS;
}

static int t_delegated_page_shares_memory(void)
{
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_SHARE), y = KT_MAP_AREA + 0x20 * PAGE;
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W), y >> 12,
			       0));
	uint64_t crd = kt_lookup_mem(y);
	EXPECT_EQ(crd, vireo_crd(CRD_MEM, y >> 12, 0, MEM_R | MEM_W));
	((volatile uint64_t *)h)[7] = 0xabcdef;
	EXPECT_EQ(((volatile uint64_t *)y)[7], 0xabcdef);
	((volatile uint64_t *)y)[8] = 0x123456;
	EXPECT_EQ(((volatile uint64_t *)h)[8], 0x123456);
	return KT_PASS;
}

static int t_revoke_removes_derived_mapping_everywhere(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_REVOKE);
	uint64_t y = KT_MAP_AREA + 0x30 * PAGE, z = KT_MAP_AREA + 0x31 * PAGE,
		 x = KT_MAP_AREA + 0x32 * PAGE;
	*(volatile uint64_t *)h = 0x4e4e;
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W), y >> 12,
			       0));
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, y >> 12, 0, MEM_R), z >> 12, 0));
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), x >> 12, 0));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_load_after;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 0);
	EXPECT_EQ(kt_exc_out.rax, 0x4e4e);
	EXPECT_EQ(*(volatile uint64_t *)z, 0x4e4e);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W | MEM_X), 0));
	EXPECT_EQ(kt_lookup_mem(y), 0);
	EXPECT_EQ(kt_lookup_mem(z), 0);
	EXPECT(kt_lookup_mem(h), "revoke without SELF removed our own heap page");
	EXPECT_EQ(*(volatile uint64_t *)h, 0x4e4e);
	/* The other PD's mapping is gone too: the same load now faults. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, x);
	EXPECT_EQ(kt_exc_rec[0].st.error & 1, 0); /* not present */
	return KT_PASS;
}

static struct kt_loop shoot_loop;
static volatile uint64_t shoot_count_at_fault;

static void act_note_count(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)u;
	(void)id;
	(void)n;
	shoot_count_at_fault = shoot_loop.count;
}

static int t_revoke_unmaps_page_in_use_on_another_cpu(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_SHOOT), x = KT_MAP_AREA + 0x40 * PAGE;
	*(volatile uint64_t *)h = 0x5400;
	memset((void *)&shoot_loop, 0, sizeof(shoot_loop));
	shoot_loop.addr = x;
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), x >> 12, 0));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_signal_exit;
	kt_exc_action = act_note_count;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_read_body, (uintptr_t)&shoot_loop,
			     kt_cpus > 1 ? 1 : 0, evt, &ec, NULL));
	for (int i = 0; i < 200 && shoot_loop.count < 1000; i++) {
		kt_sleep(10);
	}
	EXPECT(shoot_loop.count >= 1000, "the reading EC made only %lu reads",
	       (unsigned long)shoot_loop.count);
	EXPECT_EQ(shoot_loop.last, 0x5400);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W | MEM_X), 0));
	uint64_t after_revoke = shoot_loop.count;
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, x);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_read_insn);
	EXPECT(shoot_count_at_fault <= after_revoke + 1,
	       "the EC read the page %lu more times after revoke returned: a stale TLB entry "
	       "survived",
	       (unsigned long)(shoot_count_at_fault - after_revoke));
	EXPECT_EQ(shoot_loop.last, 0x5400);
	return KT_PASS;
}

static int t_grant_moves_memory_mapping(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_GRANT);
	uint64_t y = KT_MAP_AREA + 0x50 * PAGE, z = KT_MAP_AREA + 0x51 * PAGE,
		 x = KT_MAP_AREA + 0x52 * PAGE;
	*(volatile uint64_t *)h = 0x6a6a;
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W), y >> 12,
			       0));
	/* Grant within our space: y moves to z. */
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, y >> 12, 0, MEM_R | MEM_W), z >> 12,
			       VIREO_DELEGATE_GRANT));
	EXPECT_EQ(kt_lookup_mem(y), 0);
	EXPECT_EQ(kt_lookup_mem(z), vireo_crd(CRD_MEM, z >> 12, 0, MEM_R | MEM_W));
	EXPECT_EQ(*(volatile uint64_t *)z, 0x6a6a);
	/* Grant into another PD: z moves to x there. */
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_MEM, z >> 12, 0, MEM_R | MEM_W), x >> 12,
			       VIREO_DELEGATE_GRANT));
	EXPECT_EQ(kt_lookup_mem(z), 0);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_load_after;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 0);
	EXPECT_EQ(kt_exc_out.rax, 0x6a6a);
	/* The granted mapping still derives from our heap page: revoking that removes it. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W | MEM_X), 0));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, x);
	return KT_PASS;
}

/* ---------------------------------------------------------------- quotas */

static int t_quota_exhaustion_is_no_mem_and_revoke_returns_objects(void)
{
	struct vireo_kstat k0, k1, k2;
	uint64_t child = kt_sel(), sm;
	unsigned n = 0;
	enum vireo_status st = VIREO_OK;
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, 8192));
	/* An EC needs a UTCB page and page tables: more than is left of 8 KiB. */
	struct vireo_ec_create a = { .sp = kt_stack(),
				     .utcb = kt_utcb_va(),
				     .flags = VIREO_EC_LOCAL };
	uint64_t ecsel = kt_sel();
	EXPECT_ST(sys_create_ec(ecsel, child, &a), VIREO_NO_MEM);
	EXPECT_EQ(kt_lookup_obj(ecsel, NULL), 0);
	/* Semaphores charged to the child until its quota is gone. */
	while (n < 150) {
		uint64_t s = kt_sel();
		st = sys_create_sm(s, child, 0);
		if (st != VIREO_OK) {
			EXPECT_EQ(kt_lookup_obj(s, NULL), 0);
			break;
		}
		n++;
	}
	EXPECT(st == VIREO_NO_MEM,
	       "after %u semaphores charged to an 8 KiB PD: %s, expected NO_MEM", n, kt_st(st));
	EXPECT(n >= 1, "not even one semaphore fit into an 8 KiB PD");
	EXPECT_ST(sys_create_sm(kt_sel(), child, 0), VIREO_NO_MEM);
	EXPECT_ST(sys_create_pd(kt_sel(), child, 4096), VIREO_NO_MEM);
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.sms, k0.sms + n);
	EXPECT_EQ(k1.pds, k0.pds + 1);
	/* The kernel and our own quota are fine. */
	EXPECT_OK(kt_new_sm(&sm, 1));
	EXPECT_OK(sys_sm_down(sm, 0));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, KT_BLOCK_BASE, KT_BLOCK_ORDER, RIGHTS_ALL),
			     VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&k2));
	EXPECT_EQ(k2.pds, k0.pds);
	EXPECT_EQ(k2.sms, k0.sms);
	EXPECT_EQ(k2.mdb_nodes, k0.mdb_nodes);
	return KT_PASS;
}

static int t_pd_quota_returns_to_parent_on_destroy(void)
{
	uint64_t lo = 64 * 1024, hi = kt_quota ? kt_quota : (1ull << 30);
	uint64_t sel = kt_sel();
	EXPECT_OK(sys_create_pd(sel, SEL_SELF_PD, lo));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	/* The largest quota we can hand out (to 4 KiB). */
	while (hi - lo > 4096) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (sys_create_pd(sel, SEL_SELF_PD, mid) == VIREO_OK) {
			lo = mid;
			EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL),
					     VIREO_REVOKE_SELF));
		} else {
			hi = mid;
		}
	}
	for (int i = 0; i < 5; i++) {
		enum vireo_status st = sys_create_pd(sel, SEL_SELF_PD, lo);
		EXPECT(st == VIREO_OK,
		       "round %d: a PD with our largest quota (%lu bytes) failed with %s", i,
		       (unsigned long)lo, kt_st(st));
		/* While it exists, nothing else of that size fits. */
		EXPECT_ST(sys_create_pd(kt_sel(), SEL_SELF_PD, lo), VIREO_NO_MEM);
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	}
	return KT_PASS;
}

static int t_nested_pd_quota_comes_from_parent(void)
{
	uint64_t child = kt_sel(), g1 = kt_sel(), g2 = kt_sel();
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, 128 * 1024));
	EXPECT_OK(sys_create_pd(g1, child, 64 * 1024));
	EXPECT_ST(sys_create_pd(g2, child, 64 * 1024), VIREO_NO_MEM);
	EXPECT_ST(sys_create_pd(g2, g1, 64 * 1024), VIREO_NO_MEM);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, g1, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_create_pd(g2, child, 64 * 1024));
	return KT_PASS;
}

const struct kt_test kt_mem_tests[] = {
	{ "own_pager_resolves_page_fault_with_typed_item",
	  t_own_pager_resolves_page_fault_with_typed_item },
	{ "map_never_raises_memory_rights", t_map_never_raises_memory_rights },
	{ "delegated_page_shares_memory", t_delegated_page_shares_memory },
	{ "revoke_removes_derived_mapping_everywhere",
	  t_revoke_removes_derived_mapping_everywhere },
	{ "revoke_unmaps_page_in_use_on_another_cpu", t_revoke_unmaps_page_in_use_on_another_cpu },
	{ "grant_moves_memory_mapping", t_grant_moves_memory_mapping },
	{ "quota_exhaustion_is_no_mem_and_revoke_returns_objects",
	  t_quota_exhaustion_is_no_mem_and_revoke_returns_objects },
	{ "pd_quota_returns_to_parent_on_destroy", t_pd_quota_returns_to_parent_on_destroy },
	{ "nested_pd_quota_comes_from_parent", t_nested_pd_quota_comes_from_parent },
	{ "demand_page_reads_zero_and_is_writable", t_demand_page_reads_zero_and_is_writable },
	{ NULL, NULL },
};
