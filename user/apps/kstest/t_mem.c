/* SPDX-License-Identifier: MIT */
/* kstest: page faults and pagers, memory map/grant/revoke between PDs, kernel-memory quotas. */
#include "kstest.h"

#define W VIREO_UTCB_WORDS
#define PAGE 0x1000ull

/* Heap pages the tests here use (each its own). */
enum {
	HP_PAGER = 5,
	HP_PAGER2,
	HP_RIGHTS,
	HP_SHARE,
	HP_REVOKE,
	HP_SHOOT,
	HP_GRANT,
	HP_KPAGE,
	HP_QUOTA,
	HP_COUNT
};

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

/* ---------------------------------------------------------------- kernel-owned pages */

#define KP_MAGIC 0x6b70616765ull /* "kpage" */

/* Maps our heap page onto `va`, a page the kernel owns in our PD; it must stay what it was. */
static int check_kernel_page(uint64_t va, uint64_t h, uint64_t spare)
{
	volatile uint64_t *p = (volatile uint64_t *)va;
	p[9] = KP_MAGIC + va;
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R | MEM_W), va >> 12,
			       0),
		  VIREO_BUSY);
	EXPECT(p[9] == KP_MAGIC + va, "the kernel's page at 0x%lx was replaced: it reads 0x%lx",
	       (unsigned long)va, (unsigned long)p[9]);
	/* It is no capability of ours: not found, not delegatable, and a revoke leaves it. */
	EXPECT_EQ(kt_lookup_mem(va), 0);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, va >> 12, 0, MEM_R), spare >> 12, 0),
		  VIREO_BAD_CAP);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, va >> 12, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_EQ(p[9], KP_MAGIC + va);
	return KT_PASS;
}

static int t_delegation_onto_kernel_owned_pages_is_busy_and_harmless(void)
{
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_KPAGE), spare = KT_MAP_AREA + 0x60 * PAGE;
	uint64_t utcb = kt_utcb_va(), state = kt_utcb_va(), ec = kt_sel(), ec2 = kt_sel();
	((volatile uint64_t *)h)[9] = 0x4848;
	/* A vCPU EC of our own PD that never runs: its UTCB and its state page are kernel-owned. */
	struct vireo_ec_create a = { .ip = (uintptr_t)kt_exit_stub,
				     .sp = kt_stack(),
				     .utcb = utcb,
				     .cpu = 0,
				     .flags = VIREO_EC_VCPU,
				     .vcpu_state = state };
	EXPECT_OK(sys_create_ec(ec, SEL_SELF_PD, &a));
	int r = check_kernel_page(utcb, h, spare);
	if (r == KT_PASS) {
		r = check_kernel_page(state, h, spare + PAGE);
	}
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_EQ(((volatile uint64_t *)h)[9], 0x4848);
	/* Destroying the EC frees its own two pages and nothing else. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT(kt_lookup_mem(h), "our heap page lost its mapping when the EC died");
	EXPECT_EQ(((volatile uint64_t *)h)[9], 0x4848);
	/* Both addresses are free again: a new EC gets fresh, zeroed pages there. */
	EXPECT_OK(sys_create_ec(ec2, SEL_SELF_PD, &a));
	EXPECT_EQ(((volatile uint64_t *)utcb)[9], 0);
	EXPECT_EQ(((volatile uint64_t *)state)[9], 0);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), utcb >> 12, 0),
		  VIREO_BUSY);
	return KT_PASS;
}

/* ---------------------------------------------------------------- quotas */

static int pd_quota(uint64_t pd, uint64_t *used, uint64_t *limit)
{
	struct vireo_kstat k;
	EXPECT_OK(sys_kstat_pd(&k, pd));
	*used = k.quota_used;
	if (limit) {
		*limit = k.quota_limit;
	}
	EXPECT(k.quota_used <= k.quota_limit, "quota used %lu > limit %lu",
	       (unsigned long)k.quota_used, (unsigned long)k.quota_limit);
	return KT_PASS;
}

#define PD_QUOTA(pd, used, limit)                                                                  \
	do {                                                                                       \
		int r_ = pd_quota(pd, used, limit);                                                \
		if (r_ != KT_PASS) {                                                               \
			return r_;                                                                 \
		}                                                                                  \
	} while (0)

/* Pages may sit half-used in a slab cache: this many of them need not show in a quota. */
#define SLAB_SLACK_PAGES 12

/* What the kernel took from its free pages since `before` is charged to someone's quota. */
static int free_pages_charged(const struct vireo_kstat *before, uint64_t charged, const char *what)
{
	struct vireo_kstat now;
	EXPECT_OK(sys_kstat(&now));
	uint64_t taken =
		before->free_pages > now.free_pages ? before->free_pages - now.free_pages : 0;
	EXPECT(taken * PAGE <= charged + SLAB_SLACK_PAGES * PAGE,
	       "%s took %lu kernel pages but charged only %lu bytes", what, (unsigned long)taken,
	       (unsigned long)charged);
	return KT_PASS;
}

/* Delegations into `pd` (heap page h at consecutive pages) until NO_MEM or `max`; returns how many. */
static unsigned map_until_full(uint64_t pd, uint64_t h, uint64_t base, unsigned max,
			       enum vireo_status *last)
{
	unsigned n = 0;
	*last = VIREO_OK;
	while (n < max) {
		*last = sys_delegate(pd, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), (base >> 12) + n,
				     0);
		if (*last != VIREO_OK) {
			break;
		}
		n++;
	}
	return n;
}

static int t_mdb_nodes_are_charged_to_the_receiving_pd(void)
{
	struct vireo_kstat k0;
	enum vireo_status st;
	uint64_t child = kt_sel(), used0, used1, used2, limit;
	const uint64_t q = 64 * 1024;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_QUOTA), base = KT_MAP_AREA + 0x200000;
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, q));
	PD_QUOTA(child, &used0, &limit);
	EXPECT_EQ(limit, q);
	/* A node is tens of bytes: far fewer than q / 64 fit, page tables aside. */
	unsigned n = map_until_full(child, h, base, 4096, &st);
	EXPECT(st == VIREO_NO_MEM, "%u mappings into a %lu KiB PD, then %s, expected NO_MEM", n,
	       (unsigned long)(q >> 10), kt_st(st));
	EXPECT(n > 0 && n < q / 64, "%u mappings fit into a %lu KiB PD", n,
	       (unsigned long)(q >> 10));
	PD_QUOTA(child, &used1, NULL);
	int r = free_pages_charged(&k0, q, "mapping into a PD");
	if (r != KT_PASS) {
		return r;
	}
	/* Revoking them refunds every node: exactly as many fit again. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, RIGHTS_ALL), 0));
	PD_QUOTA(child, &used2, NULL);
	EXPECT(used2 < used1, "revoking %u mappings refunded nothing (%lu bytes used)", n,
	       (unsigned long)used2);
	unsigned again = map_until_full(child, h, base, 4096, &st);
	EXPECT_EQ(again, n);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, RIGHTS_ALL), 0));
	return KT_PASS;
}

static int t_cap_table_pages_are_charged_to_their_pd(void)
{
	struct vireo_kstat k0;
	uint64_t child = kt_sel(), sm, used0, used1;
	enum vireo_status st = VIREO_OK;
	unsigned n = 0;
	EXPECT_OK(sys_kstat(&k0));
	/* Room for the PD and its page-table root, and less than the 8 pages of a full table. */
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, 20 * 1024));
	EXPECT_OK(kt_new_sm(&sm, 0));
	PD_QUOTA(child, &used0, NULL);
	/* One capability per 512 selectors: each needs its own page of the table. */
	for (; n < VIREO_CAP_SPACE_SIZE / 512; n++) {
		st = sys_delegate(child, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 512ull * n + 7, 0);
		if (st != VIREO_OK) {
			break;
		}
	}
	EXPECT(st == VIREO_NO_MEM, "%u capabilities in distinct table pages, then %s", n,
	       kt_st(st));
	PD_QUOTA(child, &used1, NULL);
	EXPECT(used1 >= used0 + n * PAGE, "%u table pages charged only %lu bytes", n,
	       (unsigned long)(used1 - used0));
	return free_pages_charged(&k0, 20 * 1024 + n * 128, "growing a capability table");
}

/* Creates vCPU ECs (UTCB + state page) in `pd` until NO_MEM or `max`. */
static unsigned vcpus_until_full(uint64_t pd, unsigned max, enum vireo_status *last)
{
	unsigned n = 0;
	*last = VIREO_OK;
	while (n < max) {
		struct vireo_ec_create a = { .ip = (uintptr_t)kt_exit_stub,
					     .sp = kt_last_stack,
					     .utcb = kt_utcb_va(),
					     .cpu = 0,
					     .flags = VIREO_EC_VCPU,
					     .vcpu_state = kt_utcb_va() };
		uint64_t sel = kt_sel();
		if (sel == KT_SEL_SPARE) {
			break;
		}
		*last = sys_create_ec(sel, pd, &a);
		if (*last != VIREO_OK) {
			break;
		}
		n++;
	}
	return n;
}

static int t_ecs_fpu_and_vcpus_are_charged_to_their_pd(void)
{
	struct vireo_kstat k0;
	enum vireo_status st;
	uint64_t child = kt_sel(), used0, used1;
	const uint64_t q = 192 * 1024;
	kt_stack();
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, q));
	PD_QUOTA(child, &used0, NULL);
	unsigned n = vcpus_until_full(child, 150, &st);
	EXPECT(st == VIREO_NO_MEM, "%u vCPU ECs in a %lu KiB PD, then %s, expected NO_MEM", n,
	       (unsigned long)(q >> 10), kt_st(st));
	PD_QUOTA(child, &used1, NULL);
	/* Each has a UTCB and a state page at least; all the rest is charged too. */
	EXPECT(used1 - used0 >= n * 2 * PAGE, "%u vCPU ECs charged %lu bytes", n,
	       (unsigned long)(used1 - used0));
	int r = free_pages_charged(&k0, q, "vCPU ECs");
	if (r != KT_PASS) {
		return r;
	}
	/* Destroying them refunds everything: the PD is back where it started. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, KT_BLOCK_BASE, KT_BLOCK_ORDER, RIGHTS_ALL),
			     VIREO_REVOKE_SELF));
	return KT_PASS;
}

static int t_create_destroy_loop_refunds_everything(void)
{
	uint64_t child = kt_sel(), used0, used1, limit;
	NEED_HEAP();
	uint64_t h = kt_heap_page(HP_QUOTA);
	/* Room for one of each: a leak would exhaust it within a few rounds, and shows exactly. */
	EXPECT_OK(sys_create_pd(child, SEL_SELF_PD, 96 * 1024));
	PD_QUOTA(child, &used0, &limit);
	uint64_t utcb = kt_utcb_va(), state = kt_utcb_va(), sp = kt_stack();
	uint64_t ec = kt_sel(), lec = kt_sel(), sc = kt_sel(), pt = kt_sel(), sm = kt_sel(),
		 g = kt_sel();
	for (unsigned i = 0; i < 1000; i++) {
		struct vireo_ec_create a = { .ip = (uintptr_t)kt_exit_stub,
					     .sp = sp,
					     .utcb = utcb,
					     .cpu = 0,
					     .flags = VIREO_EC_VCPU,
					     .vcpu_state = state };
		struct vireo_ec_create l = {
			.sp = sp, .utcb = state + PAGE, .cpu = 0, .flags = VIREO_EC_LOCAL
		};
		EXPECT(sys_create_ec(ec, child, &a) == VIREO_OK, "round %u: vCPU EC: quota leaked?",
		       i);
		EXPECT_OK(sys_create_ec(lec, child, &l));
		EXPECT_OK(sys_create_sc(sc, child, ec, 0, 10000));
		EXPECT_OK(sys_create_pt(pt, child, lec, 0, 0));
		EXPECT_OK(sys_create_sm(sm, child, 0));
		EXPECT_OK(sys_create_pd(g, child, 8192));
		EXPECT_OK(sys_delegate(child, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 3000, 0));
		EXPECT_OK(sys_delegate(child, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R),
				       (KT_MAP_AREA >> 12) + 0x700, 0));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_MEM, h >> 12, 0, RIGHTS_ALL), 0));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, pt, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, lec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, g, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
		if (i == 0) {
			/* Page tables and the table page for selector 3000 stay: measure after them. */
			PD_QUOTA(child, &used0, NULL);
		}
	}
	PD_QUOTA(child, &used1, NULL);
	EXPECT(used1 == used0, "1000 create/destroy rounds left %ld bytes charged",
	       (long)(used1 - used0));
	return KT_PASS;
}

static int t_sc_and_portal_are_charged_to_the_pd_named(void)
{
	uint64_t payer = kt_sel(), ec, lec, sc = kt_sel(), pt = kt_sel();
	uint64_t p0, p1, h0, h1;
	struct env e;
	EXPECT_OK(sys_create_pd(payer, SEL_SELF_PD, 64 * 1024));
	EXPECT_OK(env_open(&e, ENV_SANDBOX));
	EXPECT_OK(env_global_ec(&e, (uintptr_t)kt_exit_stub, 0, 0, 0, &ec, NULL));
	EXPECT_OK(env_local_ec(&e, 0, 0, &lec, NULL));
	PD_QUOTA(payer, &p0, NULL);
	PD_QUOTA(e.pd, &h0, NULL);
	EXPECT_OK(sys_create_sc(sc, payer, ec, 0, 10000));
	EXPECT_OK(sys_create_pt(pt, payer, lec, 0, 0));
	PD_QUOTA(payer, &p1, NULL);
	PD_QUOTA(e.pd, &h1, NULL);
	EXPECT(p1 > p0, "the PD named in the calls was not charged (%lu -> %lu)", (unsigned long)p0,
	       (unsigned long)p1);
	EXPECT(h1 == h0, "the ECs' PD was charged %ld bytes", (long)(h1 - h0));
	/* The refund goes where the charge went. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, pt, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	PD_QUOTA(payer, &p1, NULL);
	EXPECT_EQ(p1, p0);
	return KT_PASS;
}

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
	{ "delegation_onto_kernel_owned_pages_is_busy_and_harmless",
	  t_delegation_onto_kernel_owned_pages_is_busy_and_harmless },
	{ "mdb_nodes_are_charged_to_the_receiving_pd",
	  t_mdb_nodes_are_charged_to_the_receiving_pd },
	{ "cap_table_pages_are_charged_to_their_pd", t_cap_table_pages_are_charged_to_their_pd },
	{ "ecs_fpu_and_vcpus_are_charged_to_their_pd",
	  t_ecs_fpu_and_vcpus_are_charged_to_their_pd },
	{ "create_destroy_loop_refunds_everything", t_create_destroy_loop_refunds_everything },
	{ "sc_and_portal_are_charged_to_the_pd_named",
	  t_sc_and_portal_are_charged_to_the_pd_named },
	{ "quota_exhaustion_is_no_mem_and_revoke_returns_objects",
	  t_quota_exhaustion_is_no_mem_and_revoke_returns_objects },
	{ "pd_quota_returns_to_parent_on_destroy", t_pd_quota_returns_to_parent_on_destroy },
	{ "nested_pd_quota_comes_from_parent", t_nested_pd_quota_comes_from_parent },
	{ "demand_page_reads_zero_and_is_writable", t_demand_page_reads_zero_and_is_writable },
	{ NULL, NULL },
};
