/* SPDX-License-Identifier: MIT */
/* kstest: object creation, portal IPC (words, ids, typed items, queues, CPUs) and EC life. */
#include "kstest.h"

#define W VIREO_UTCB_WORDS

/* ---------------------------------------------------------------- handlers */

static struct vireo_utcb *volatile h_utcb;
static volatile unsigned h_calls, h_seen_untyped;
static volatile uint64_t h_last_id, h_stack_addr, h_apic;

/* Replies with every word inverted plus one extra word (if there is room), records what it saw. */
static void h_invert(uint64_t id)
{
	struct vireo_utcb *u = h_utcb;
	volatile uint64_t marker = 0;
	unsigned n = u->untyped;
	h_stack_addr = (uintptr_t)&marker;
	h_seen_untyped = n;
	h_last_id = id;
	h_calls = h_calls + 1;
	h_apic = kt_apic_id();
	for (unsigned i = 0; i < n && i < W; i++) {
		u->mr[i] = ~u->mr[i];
	}
	if (n < W) {
		u->mr[n++] = 0x5eed0000 + id;
	}
	u->untyped = (uint16_t)n;
	u->typed = 0;
	sys_reply_wait();
}

static enum vireo_status make_invert_portal(struct env *e, unsigned cpu, uint64_t id, uint64_t *pt,
					    uint64_t *ec)
{
	uint64_t utcb;
	enum vireo_status st = env_local_ec(e, cpu, env_evt_block(e), ec, &utcb);
	h_utcb = (struct vireo_utcb *)utcb;
	h_calls = 0;
	return st == VIREO_OK ? env_portal(e, *ec, (uintptr_t)h_invert, 0, id, pt) : st;
}

/* ---------------------------------------------------------------- objects */

static void h_nothing(uint64_t id)
{
	(void)id;
	sys_reply_wait();
}

static int t_create_each_object_type(void)
{
	struct env e;
	struct vireo_kstat k0, k1, k2;
	uint64_t pd = kt_sel(), sm, lec, gec, sc, pt, utcb;
	unsigned type;
	EXPECT_OK(env_open(&e, ENV_OWN));
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_create_pd(pd, SEL_SELF_PD, 64 * 1024));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &lec, &utcb));
	EXPECT_OK(env_global_ec(&e, (uintptr_t)kt_exit_stub, 0, 0, env_evt_block(&e), &gec, NULL));
	EXPECT_OK(env_sc(&e, gec, &sc));
	EXPECT_OK(env_portal(&e, lec, (uintptr_t)h_nothing, 0, 0, &pt));
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.pds, k0.pds + 1);
	EXPECT_EQ(k1.ecs, k0.ecs + 2);
	EXPECT_EQ(k1.scs, k0.scs + 1);
	EXPECT_EQ(k1.pts, k0.pts + 1);
	EXPECT_EQ(k1.sms, k0.sms + 1);
	const struct {
		uint64_t sel;
		unsigned type;
	} want[] = { { pd, OBJ_PD },  { sm, OBJ_SM }, { lec, OBJ_EC },
		     { gec, OBJ_EC }, { sc, OBJ_SC }, { pt, OBJ_PT } };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t crd = kt_lookup_obj(want[i].sel, &type);
		EXPECT(crd == vireo_crd(CRD_OBJ, want[i].sel, 0, RIGHTS_ALL),
		       "new object at %lu: lookup 0x%lx, expected a capability with all rights",
		       (unsigned long)want[i].sel, (unsigned long)crd);
		EXPECT(type == want[i].type, "new object at %lu has type %u, expected %u",
		       (unsigned long)want[i].sel, type, want[i].type);
	}
	for (unsigned i = sizeof(want) / sizeof(want[0]); i-- > 0;) {
		EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, want[i].sel, 0, RIGHTS_ALL),
				     VIREO_REVOKE_SELF));
	}
	EXPECT_OK(sys_kstat(&k2));
	EXPECT_EQ(k2.pds, k0.pds);
	EXPECT_EQ(k2.ecs, k0.ecs);
	EXPECT_EQ(k2.scs, k0.scs);
	EXPECT_EQ(k2.pts, k0.pts);
	EXPECT_EQ(k2.sms, k0.sms);
	EXPECT_EQ(k2.mdb_nodes, k0.mdb_nodes);
	return KT_PASS;
}

/* ---------------------------------------------------------------- calls */

static int t_portal_call_transfers_untyped_words_both_ways(void)
{
	struct env e;
	uint64_t pt, ec;
	struct vireo_utcb *u = KT_UTCB;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 9, &pt, &ec));
	for (unsigned i = 0; i < 10; i++) {
		u->mr[i] = 0x0101010101010101ull * (i + 1);
	}
	u->untyped = 10;
	u->typed = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_seen_untyped, 10);
	EXPECT_EQ(u->untyped, 11);
	for (unsigned i = 0; i < 10; i++) {
		EXPECT(u->mr[i] == ~(0x0101010101010101ull * (i + 1)),
		       "reply word %u is 0x%lx, expected 0x%lx", i, (unsigned long)u->mr[i],
		       (unsigned long)~(0x0101010101010101ull * (i + 1)));
	}
	EXPECT_EQ(u->mr[10], 0x5eed0000 + 9);
	/* A call with no words delivers none. */
	u->untyped = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_seen_untyped, 0);
	EXPECT_EQ(u->untyped, 1);
	EXPECT_EQ(h_calls, 2);
	return KT_PASS;
}

/* `n` words to the invert handler (id 3) `rounds` times; each reply checked. */
static int invert_calls(uint64_t pt, unsigned n, unsigned rounds)
{
	struct vireo_utcb *u = KT_UTCB;
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < n; i++) {
			u->mr[i] = (uint64_t)r << 32 | i;
		}
		u->untyped = (uint16_t)n;
		u->typed = 0;
		EXPECT_OK(sys_call(pt));
		EXPECT_EQ(h_seen_untyped, n);
		EXPECT_EQ(u->untyped, n + 1);
		for (unsigned i = 0; i < n; i++) {
			EXPECT_EQ(u->mr[i], ~((uint64_t)r << 32 | i));
		}
		EXPECT_EQ(u->mr[n], 0x5eed0000 + 3);
	}
	return KT_PASS;
}

/*
 * The kernel's IPC fast path (docs/architecture.md#ipc-fast-path), when it is on (unless
 * `nofastpath` is on the kernel command line, kstat.ipc_fastpath_on), takes a short call to a handler on this CPU
 * and its short reply; a message over its 8 words (FASTPATH_WORDS) goes the general way. When
 * it is off it takes nothing. Both ways deliver the same. kstat.ipc_fastpath counts its steps.
 */
static int t_short_calls_take_the_ipc_fast_path_long_ones_do_not(void)
{
	struct env e;
	uint64_t pt, ec;
	struct vireo_kstat k0, k1;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 3, &pt, &ec));
	EXPECT_OK(sys_kstat(&k0));
	int r = invert_calls(pt, 2, 20); /* 2 words there, 3 back */
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_kstat(&k1));
	if (k1.ipc_fastpath_on) {
		/* A timer tick may make a reschedule due and send a step the general way. */
		EXPECT(k1.ipc_fastpath - k0.ipc_fastpath >= 30,
		       "only %lu of 40 short calls and replies took the fast path",
		       (unsigned long)(k1.ipc_fastpath - k0.ipc_fastpath));
	} else {
		EXPECT(k1.ipc_fastpath == k0.ipc_fastpath,
		       "the fast path is off but took %lu steps",
		       (unsigned long)(k1.ipc_fastpath - k0.ipc_fastpath));
	}
	EXPECT_OK(sys_kstat(&k0));
	r = invert_calls(pt, 9, 20); /* 9 words there, 10 back */
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(sys_kstat(&k1));
	EXPECT(k1.ipc_fastpath == k0.ipc_fastpath, "%lu long calls or replies took the fast path",
	       (unsigned long)(k1.ipc_fastpath - k0.ipc_fastpath));
	return KT_PASS;
}

static int t_portal_call_transfers_all_400_words(void)
{
	struct env e;
	uint64_t pt, ec;
	struct vireo_utcb *u = KT_UTCB;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 1, &pt, &ec));
	for (unsigned i = 0; i < W; i++) {
		u->mr[i] = 0xa5a5000000000000ull | i;
	}
	u->untyped = W;
	u->typed = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_seen_untyped, W);
	EXPECT_EQ(u->untyped, W);
	for (unsigned i = 0; i < W; i++) {
		EXPECT(u->mr[i] == ~(0xa5a5000000000000ull | i),
		       "reply word %u is 0x%lx, expected 0x%lx", i, (unsigned long)u->mr[i],
		       (unsigned long)~(0xa5a5000000000000ull | i));
	}
	return KT_PASS;
}

static int t_portal_id_reaches_handler_in_rdi(void)
{
	struct env e;
	uint64_t pt, ec;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 0, &pt, &ec));
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_last_id, 0); /* a new portal has id 0 */
	EXPECT_OK(sys_pt_ctrl(pt, 0xfeedface12345678ull));
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_last_id, 0xfeedface12345678ull);
	/* The caller's registers do not matter: RDI holds the selector, the handler gets the id. */
	EXPECT_ST(vireo_sys(SYS_CALL, pt, 0x1234, 0x5678, 0x9abc, 0xdef0), VIREO_OK);
	EXPECT_EQ(h_last_id, 0xfeedface12345678ull);
	return KT_PASS;
}

static int t_portal_id_set_through_copy_applies_to_all_holders(void)
{
	struct env e;
	uint64_t pt, ec, copy;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 5, &pt, &ec));
	EXPECT_OK(kt_copy(pt, RIGHT_PT_CTRL | RIGHT_PT_CALL, &copy));
	EXPECT_OK(sys_pt_ctrl(copy, 99));
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(h_last_id, 99);
	return KT_PASS;
}

static int t_handler_starts_each_call_at_entry_with_initial_stack(void)
{
	struct env e;
	uint64_t pt, ec;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 3, &pt, &ec));
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	uint64_t first = h_stack_addr;
	for (int i = 0; i < 5; i++) {
		EXPECT_OK(sys_call(pt));
		EXPECT_EQ(h_stack_addr, first);
	}
	EXPECT_EQ(h_calls, 6);
	return KT_PASS;
}

static int t_one_handler_serves_several_portals_with_their_ids(void)
{
	struct env e;
	uint64_t pt1, ec, pt2;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_invert_portal(&e, 0, 111, &pt1, &ec));
	EXPECT_OK(env_portal(&e, ec, (uintptr_t)h_invert, 0, 222, &pt2));
	KT_UTCB->untyped = 0;
	for (int i = 0; i < 3; i++) {
		EXPECT_OK(sys_call(pt2));
		EXPECT_EQ(h_last_id, 222);
		EXPECT_EQ(KT_UTCB->mr[0], 0x5eed0000 + 222);
		KT_UTCB->untyped = 0;
		EXPECT_OK(sys_call(pt1));
		EXPECT_EQ(h_last_id, 111);
		KT_UTCB->untyped = 0;
	}
	return KT_PASS;
}

static struct vireo_utcb *volatile outer_utcb, *volatile inner_utcb;
static volatile uint64_t inner_pt;
static volatile long outer_inner_status = -1;

static void h_inner(uint64_t id)
{
	struct vireo_utcb *u = inner_utcb;
	u->mr[0] = u->mr[0] * 2 + id;
	u->untyped = 1;
	sys_reply_wait();
}

static void h_outer(uint64_t id)
{
	struct vireo_utcb *u = outer_utcb;
	(void)id;
	uint64_t v = u->mr[0];
	u->mr[0] = v + 1;
	u->untyped = 1;
	u->typed = 0;
	outer_inner_status = sys_call(inner_pt);
	u->mr[0] = u->mr[0] + 1000;
	u->untyped = 1;
	sys_reply_wait();
}

static int t_nested_portal_calls_return_in_order(void)
{
	struct env e;
	uint64_t oec, iec, opt, ipt, utcb;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &oec, &utcb));
	outer_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_local_ec(&e, kt_cpus > 1 ? 1 : 0, env_evt_block(&e), &iec, &utcb));
	inner_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, oec, (uintptr_t)h_outer, 0, 0, &opt));
	EXPECT_OK(env_portal(&e, iec, (uintptr_t)h_inner, 0, 3, &ipt));
	EXPECT_OK(env_share(&e, ipt));
	inner_pt = ipt;
	KT_UTCB->mr[0] = 5;
	KT_UTCB->untyped = 1;
	EXPECT_OK(sys_call(opt));
	EXPECT_ST(outer_inner_status, VIREO_OK);
	EXPECT_EQ(KT_UTCB->untyped, 1);
	EXPECT_EQ(KT_UTCB->mr[0], (5 + 1) * 2 + 3 + 1000);
	return KT_PASS;
}

static void h_crash(uint64_t id)
{
	(void)id;
	__asm__ volatile("ud2");
	sys_reply_wait();
}

static int t_call_to_dead_handler_is_aborted(void)
{
	struct env e;
	uint64_t ec, pt, utcb;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	/* The handler has no event portals: its #UD kills it. */
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &ec, &utcb));
	EXPECT_OK(env_portal(&e, ec, (uintptr_t)h_crash, 0, 0, &pt));
	KT_UTCB->untyped = 0;
	EXPECT_ST(sys_call(pt), VIREO_ABORTED);
	EXPECT_ST(sys_call(pt), VIREO_ABORTED);
	struct vireo_kstat k;
	EXPECT_OK(sys_kstat(&k));
	return KT_PASS;
}

/* ---------------------------------------------------------------- queueing */

static struct vireo_utcb *volatile busy_utcb, *volatile busy_caller_utcb[4];
static volatile uint64_t busy_gate, busy_pt;
static volatile unsigned busy_order[4], busy_n;
static volatile long busy_status[4];
static volatile uint64_t busy_reply[4];

static void h_busy(uint64_t id)
{
	struct vireo_utcb *u = busy_utcb;
	uint64_t who = u->mr[0];
	unsigned n = busy_n;
	(void)id;
	if (n < 4) {
		busy_order[n] = (unsigned)who;
	}
	busy_n = n + 1;
	if (who == 1) {
		sys_sm_down(busy_gate, 3000000); /* stay busy until the test opens the gate */
	}
	u->mr[0] = who + 100;
	u->untyped = 1;
	u->typed = 0;
	sys_reply_wait();
}

static void w_busy_caller(uint64_t who)
{
	struct vireo_utcb *u = busy_caller_utcb[who];
	u->mr[0] = who;
	u->untyped = 1;
	u->typed = 0;
	long st = sys_call(busy_pt);
	busy_status[who] = st;
	busy_reply[who] = u->mr[0];
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_busy_handler_queues_callers_in_order(void)
{
	struct env e;
	uint64_t hec, pt, gate, done, c1, c2, sc1, sc2, utcb;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&gate, 0));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, gate));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &hec, &utcb));
	busy_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, hec, (uintptr_t)h_busy, 0, 0, &pt));
	EXPECT_OK(env_share(&e, pt));
	busy_pt = pt;
	busy_gate = gate;
	busy_n = 0;
	kt_done_sel = done;
	for (unsigned i = 1; i <= 2; i++) {
		busy_status[i] = -1;
		busy_reply[i] = 0;
	}
	uint64_t evt = env_evt_block(&e);
	EXPECT_OK(env_global_ec(&e, (uintptr_t)w_busy_caller, 1, 0, evt, &c1, &utcb));
	busy_caller_utcb[1] = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_global_ec(&e, (uintptr_t)w_busy_caller, 2, kt_cpus > 1 ? 1 : 0, evt, &c2,
				&utcb));
	busy_caller_utcb[2] = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_sc(&e, c1, &sc1));
	for (int i = 0; i < 100 && busy_n == 0; i++) {
		kt_sleep(10);
	}
	EXPECT(busy_n == 1, "the handler saw %u calls after the first caller started, expected 1",
	       busy_n);
	EXPECT_OK(env_sc(&e, c2, &sc2));
	kt_sleep(50);
	EXPECT(busy_n == 1, "the handler took a second call while busy (saw %u calls)", busy_n);
	EXPECT_OK(sys_sm_up(gate));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(busy_n, 2);
	EXPECT_EQ(busy_order[0], 1);
	EXPECT_EQ(busy_order[1], 2);
	EXPECT_ST(busy_status[1], VIREO_OK);
	EXPECT_ST(busy_status[2], VIREO_OK);
	EXPECT_EQ(busy_reply[1], 101);
	EXPECT_EQ(busy_reply[2], 102);
	return KT_PASS;
}

static int t_queued_caller_destroyed_leaves_the_line_and_queued_call_outlives_portal(void)
{
	struct env e;
	uint64_t hec, pt, gate, done, utcb, c[4], sc[4];
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&gate, 0));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, gate));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &hec, &utcb));
	busy_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, hec, (uintptr_t)h_busy, 0, 0, &pt));
	EXPECT_OK(env_share(&e, pt));
	busy_pt = pt;
	busy_gate = gate;
	busy_n = 0;
	kt_done_sel = done;
	uint64_t evt = env_evt_block(&e);
	for (unsigned i = 1; i <= 3; i++) {
		busy_status[i] = -1;
		busy_reply[i] = 0;
		EXPECT_OK(env_global_ec(&e, (uintptr_t)w_busy_caller, i,
					i == 3 && kt_cpus > 1 ? 1 : 0, evt, &c[i], &utcb));
		busy_caller_utcb[i] = (struct vireo_utcb *)utcb;
		EXPECT_OK(env_sc(&e, c[i], &sc[i]));
		/* 1 keeps the handler busy; 2 and 3 wait in line. */
		for (int t = 0; t < 100 && busy_n == 0; t++) {
			kt_sleep(10);
		}
		kt_sleep(30);
	}
	EXPECT(busy_n == 1, "the handler took %u calls while busy with the first", busy_n);
	/* Caller 2 goes away while in line, then the portal itself. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc[2], 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, c[2], 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, pt, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_sm_up(gate));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(busy_n, 2);
	EXPECT_EQ(busy_order[0], 1);
	EXPECT_EQ(busy_order[1], 3);
	EXPECT_ST(busy_status[1], VIREO_OK);
	EXPECT_ST(busy_status[3], VIREO_OK);
	EXPECT_EQ(busy_reply[3], 103);
	EXPECT_EQ(busy_reply[2], 0);
	return KT_PASS;
}

/* ---------------------------------------------------------------- across CPUs */

static struct vireo_utcb *volatile xc_caller_utcb;
static volatile uint64_t xc_pt, xc_bad, xc_last_reply;
static volatile unsigned xc_apic_before, xc_apic_after, xc_handler_apic;
static volatile long xc_status;

#define XC_ROUNDS 200

static void w_xc_caller(uint64_t id)
{
	struct vireo_utcb *u = xc_caller_utcb;
	xc_apic_before = kt_apic_id();
	xc_status = VIREO_OK;
	for (unsigned i = 0; i < XC_ROUNDS; i++) {
		u->mr[0] = i;
		u->untyped = 1;
		u->typed = 0;
		long st = sys_call(xc_pt);
		if (st != VIREO_OK) {
			xc_status = st;
			break;
		}
		xc_last_reply = u->mr[1];
		if (u->untyped != 2 || u->mr[0] != ~(uint64_t)i || u->mr[1] != 0x5eed0000 + id) {
			xc_bad = xc_bad + 1;
		}
		if (i == 0) {
			xc_handler_apic = h_apic;
		}
	}
	xc_apic_after = kt_apic_id();
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int cross_cpu_call(unsigned caller_cpu, unsigned handler_cpu)
{
	struct env e;
	uint64_t hec, pt, done, cec, utcb;
	if (kt_cpus < 2) {
		return kt_skip("needs 2 CPUs, %u online", kt_cpus);
	}
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(make_invert_portal(&e, handler_cpu, 42, &pt, &hec));
	EXPECT_OK(env_share(&e, pt));
	xc_pt = pt;
	xc_bad = 0;
	xc_status = -1;
	kt_done_sel = done;
	EXPECT_OK(env_global_ec(&e, (uintptr_t)w_xc_caller, 42, caller_cpu, env_evt_block(&e), &cec,
				&utcb));
	xc_caller_utcb = (struct vireo_utcb *)utcb;
	uint64_t sc;
	EXPECT_OK(env_sc(&e, cec, &sc));
	EXPECT_OK(kt_wait(done, 5000));
	EXPECT_ST(xc_status, VIREO_OK);
	EXPECT(xc_bad == 0, "%lu of %u replies were wrong", (unsigned long)xc_bad, XC_ROUNDS);
	EXPECT_EQ(h_calls, XC_ROUNDS);
	EXPECT(xc_handler_apic != xc_apic_before,
	       "handler and caller both ran on APIC ID %u: the call did not cross CPUs",
	       xc_apic_before);
	EXPECT(xc_apic_after == xc_apic_before,
	       "the caller came back on APIC ID %u, it started on %u", xc_apic_after,
	       xc_apic_before);
	return KT_PASS;
}

static int t_cross_cpu_call_cpu0_to_cpu1(void)
{
	return cross_cpu_call(0, 1);
}

static int t_cross_cpu_call_cpu1_to_cpu0(void)
{
	return cross_cpu_call(1, 0);
}

/* Two callers on different CPUs hammer one handler: every call gets its own reply. */
static struct vireo_utcb *volatile cc_utcb[2];
static volatile uint64_t cc_pt, cc_bad[2], cc_done_calls[2];
static volatile long cc_status[2];

#define CC_ROUNDS 300

static void w_cc_caller(uint64_t who)
{
	struct vireo_utcb *u = cc_utcb[who];
	cc_status[who] = VIREO_OK;
	for (unsigned i = 0; i < CC_ROUNDS; i++) {
		uint64_t v = who << 32 | i;
		u->mr[0] = v;
		u->untyped = 1;
		u->typed = 0;
		long st = sys_call(cc_pt);
		if (st != VIREO_OK) {
			cc_status[who] = st;
			break;
		}
		if (u->untyped != 2 || u->mr[0] != ~v) {
			cc_bad[who] = cc_bad[who] + 1;
		}
		cc_done_calls[who] = i + 1;
	}
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_concurrent_callers_on_two_cpus_all_get_their_replies(void)
{
	struct env e;
	uint64_t hec, pt, done, ec, utcb;
	if (kt_cpus < 2) {
		return kt_skip("needs 2 CPUs, %u online", kt_cpus);
	}
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(make_invert_portal(&e, 1, 7, &pt, &hec));
	EXPECT_OK(env_share(&e, pt));
	cc_pt = pt;
	kt_done_sel = done;
	uint64_t evt = env_evt_block(&e);
	for (unsigned who = 0; who < 2; who++) {
		cc_bad[who] = 0;
		cc_done_calls[who] = 0;
		cc_status[who] = -1;
		EXPECT_OK(env_global_ec(&e, (uintptr_t)w_cc_caller, who, who, evt, &ec, &utcb));
		cc_utcb[who] = (struct vireo_utcb *)utcb;
		uint64_t sc;
		EXPECT_OK(env_sc(&e, ec, &sc));
	}
	EXPECT_OK(kt_wait(done, 10000));
	EXPECT_OK(kt_wait(done, 10000));
	for (unsigned who = 0; who < 2; who++) {
		EXPECT(cc_status[who] == VIREO_OK, "caller %u: a call returned %s after %lu calls",
		       who, kt_st(cc_status[who]), (unsigned long)cc_done_calls[who]);
		EXPECT(cc_bad[who] == 0,
		       "caller %u: %lu of %u replies belonged to someone else or were wrong", who,
		       (unsigned long)cc_bad[who], CC_ROUNDS);
	}
	EXPECT_EQ(h_calls, 2 * CC_ROUNDS);
	return KT_PASS;
}

/* ---------------------------------------------------------------- typed items */

static struct vireo_utcb *volatile give_utcb;
static volatile uint64_t give_crd, give_hot;
static volatile unsigned give_mode;
static volatile uint64_t give_lookup_sel;

/* Mode 0: reply 0xabc with one typed item (give_crd, give_hot). Mode 1: reply the lookup of a selector. */
static void h_give(uint64_t id)
{
	struct vireo_utcb *u = give_utcb;
	(void)id;
	u->mr[0] = 0xabc;
	u->untyped = 1;
	u->typed = 0;
	if (give_mode == 0) {
		u->mr[W - 2] = give_crd;
		u->mr[W - 1] = give_hot;
		u->typed = 1;
	} else {
		u->mr[0] = kt_lookup_obj(give_lookup_sel, NULL);
	}
	sys_reply_wait();
}

static enum vireo_status make_give_portal(struct env *e, uint64_t *pt)
{
	uint64_t ec, utcb;
	give_mode = 0;
	enum vireo_status st = env_local_ec(e, 0, env_evt_block(e), &ec, &utcb);
	give_utcb = (struct vireo_utcb *)utcb;
	return st == VIREO_OK ? env_portal(e, ec, (uintptr_t)h_give, 0, 0, pt) : st;
}

static int t_reply_typed_item_maps_cap_into_receive_window(void)
{
	struct env e;
	uint64_t pt, sm, dst = KT_WIN_BASE + 3;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(env_share(&e, sm));
	EXPECT_OK(make_give_portal(&e, &pt));
	give_crd = vireo_crd(CRD_OBJ, sm, 0, RIGHT_SM_UP);
	give_hot = dst << 12;
	KT_UTCB->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, KT_WIN_BASE, 4, 0);
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(KT_UTCB->mr[0], 0xabc);
	unsigned type;
	EXPECT_EQ(kt_lookup_obj(dst, &type), vireo_crd(CRD_OBJ, dst, 0, RIGHT_SM_UP));
	EXPECT_EQ(type, OBJ_SM);
	EXPECT_OK(sys_sm_up(dst));
	EXPECT_OK(sys_sm_down(sm, 0)); /* the same semaphore */
	EXPECT_ST(sys_sm_down(dst, 0), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_reply_typed_item_outside_receive_window_is_bad_par(void)
{
	struct env e;
	uint64_t pt, sm, dst = KT_WIN_BASE + 20;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(env_share(&e, sm));
	EXPECT_OK(make_give_portal(&e, &pt));
	give_crd = vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL);
	give_hot = dst << 12;
	/* Window 704..719; the item wants 724. */
	KT_UTCB->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, KT_WIN_BASE, 4, 0);
	KT_UTCB->untyped = 0;
	KT_UTCB->mr[0] = 0;
	EXPECT_ST(sys_call(pt), VIREO_BAD_PAR);
	EXPECT_EQ(KT_UTCB->mr[0], 0xabc); /* the words still arrive */
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	/* No window at all. */
	KT_UTCB->rcv_window[CRD_OBJ] = 0;
	give_hot = (KT_WIN_BASE + 3) << 12;
	EXPECT_ST(sys_call(pt), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(KT_WIN_BASE + 3, NULL), 0);
	/* A window of another space does not count. */
	KT_UTCB->rcv_window[CRD_OBJ] = vireo_crd(CRD_MEM, KT_WIN_BASE, 4, 0);
	EXPECT_ST(sys_call(pt), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(KT_WIN_BASE + 3, NULL), 0);
	return KT_PASS;
}

/*
 * A handler that claims more than the UTCB holds: 500 untyped words (the UTCB has 400) and typed
 * items besides, with a valid item where item 0 would be. The kernel must clamp (untyped first, then
 * the items that fit in what is left: none), not read past the UTCB.
 */
static struct vireo_utcb *volatile over_utcb;
static volatile uint64_t over_crd, over_hot, over_typed;
static volatile unsigned over_seen_untyped, over_seen_typed;

static void h_overlong(uint64_t id)
{
	struct vireo_utcb *u = over_utcb;
	(void)id;
	over_seen_untyped = u->untyped;
	over_seen_typed = u->typed;
	for (unsigned i = 0; i < W; i++) {
		u->mr[i] = 0xa5a5000000000000ull | (uint64_t)i
							   << 4; /* CRD space 0, far destinations */
	}
	u->mr[W - 2] = over_crd;
	u->mr[W - 1] = over_hot;
	u->untyped = 500;
	u->typed = (uint16_t)over_typed;
	sys_reply_wait();
}

static int t_message_counts_beyond_the_utcb_are_clamped(void)
{
	struct env e;
	uint64_t pt, ec, sm, utcb, dst = KT_WIN_BASE + 5;
	static const uint64_t typed[] = { 1, 2, 200, 0xffff };
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(env_share(&e, sm));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &ec, &utcb));
	over_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, ec, (uintptr_t)h_overlong, 0, 0, &pt));
	over_crd = vireo_crd(CRD_OBJ, sm, 0, RIGHT_SM_UP);
	over_hot = dst << 12;
	for (unsigned t = 0; t < sizeof(typed) / sizeof(typed[0]); t++) {
		struct vireo_utcb *u = KT_UTCB;
		u->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, KT_WIN_BASE, 4, 0);
		u->rcv_window[CRD_NULL] = 0;
		over_typed = typed[t];
		/* The caller's side too: 500 words and 0xffff items arrive as 400 words, no items. */
		u->untyped = 500;
		u->typed = 0xffff;
		enum vireo_status st = sys_call(pt);
		EXPECT_EQ(over_seen_untyped, W);
		EXPECT_EQ(over_seen_typed, 0);
		EXPECT(st == VIREO_OK,
		       "a reply of 500 words and %lu items returned %s, expected OK (no item fits)",
		       (unsigned long)typed[t], kt_st(st));
		EXPECT_EQ(u->untyped, W);
		EXPECT_EQ(u->typed, 0);
		EXPECT_EQ(u->mr[0], 0xa5a5000000000000ull);
		EXPECT_EQ(u->mr[W - 3], 0xa5a5000000000000ull | (uint64_t)(W - 3) << 4);
		EXPECT_EQ(u->mr[W - 2], over_crd);
		EXPECT(kt_lookup_obj(dst, NULL) == 0,
		       "the item of a reply with 500 untyped words and %lu items was delivered",
		       (unsigned long)typed[t]);
	}
	return KT_PASS;
}

static int t_reply_typed_memory_item_maps_page(void)
{
	struct env e;
	uint64_t pt, h = kt_heap_page(4);
	uint64_t dst = KT_MAP_AREA + 7 * 0x1000;
	if (!h) {
		return kt_skip("heap smaller than 5 pages");
	}
	*(volatile uint64_t *)h = 0x7e57da7a;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_share_mem(&e, h, MEM_R | MEM_W));
	EXPECT_OK(make_give_portal(&e, &pt));
	give_crd = vireo_crd(CRD_MEM, h >> 12, 0, MEM_R);
	give_hot = (dst >> 12) << 12;
	KT_UTCB->rcv_window[CRD_MEM] = vireo_crd(CRD_MEM, KT_MAP_AREA >> 12, 4, 0);
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	uint64_t crd = kt_lookup_mem(dst);
	EXPECT_EQ(vireo_crd_space(crd), CRD_MEM);
	EXPECT_EQ(vireo_crd_rights(crd), MEM_R);
	EXPECT_EQ(*(volatile uint64_t *)dst, 0x7e57da7a);
	*(volatile uint64_t *)h = 0x7e57da7b; /* same frame */
	EXPECT_EQ(*(volatile uint64_t *)dst, 0x7e57da7b);
	return KT_PASS;
}

static int t_reply_typed_item_grant_moves_capability(void)
{
	struct env e;
	uint64_t pt, sm, held = KT_WIN_BASE + 50, dst = KT_WIN_BASE + 6;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(env_install(&e, sm, held));
	EXPECT_OK(make_give_portal(&e, &pt));
	give_crd = vireo_crd(CRD_OBJ, held, 0, RIGHTS_ALL);
	give_hot = dst << 12 | VIREO_DELEGATE_GRANT;
	KT_UTCB->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, KT_WIN_BASE, 3, 0);
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(pt));
	unsigned type;
	EXPECT(kt_lookup_obj(dst, &type) && type == OBJ_SM, "nothing arrived at selector %lu",
	       (unsigned long)dst);
	/* The handler's own capability is gone. */
	give_mode = 1;
	give_lookup_sel = held;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(KT_UTCB->mr[0], 0);
	return KT_PASS;
}

/* ---------------------------------------------------------------- EC life */

static volatile uint64_t ran_flag;

static void w_set_flag(uint64_t v)
{
	ran_flag = v;
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_global_ec_runs_only_once_sc_is_bound(void)
{
	struct env e;
	uint64_t ec, sc, done;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, done));
	kt_done_sel = done;
	ran_flag = 0;
	EXPECT_OK(env_global_ec(&e, (uintptr_t)w_set_flag, 0x77, kt_cpus > 1 ? 1 : 0,
				env_evt_block(&e), &ec, NULL));
	kt_sleep(50);
	EXPECT(ran_flag == 0, "the EC ran before it had an SC");
	EXPECT_OK(env_sc(&e, ec, &sc));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(ran_flag, 0x77); /* and it got its argument in RDI */
	return KT_PASS;
}

static int t_exited_ec_lives_until_its_caps_are_revoked(void)
{
	struct env e;
	struct vireo_kstat k0, k1, k2;
	uint64_t ec, sc, done;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, done));
	kt_done_sel = done;
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(env_thread(&e, (uintptr_t)w_set_flag, 1, 0, env_evt_block(&e), &ec, &sc));
	EXPECT_OK(kt_wait(done, 2000));
	kt_sleep(20);
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.ecs, k0.ecs + 1);
	EXPECT_EQ(k1.scs, k0.scs + 1);
	unsigned type;
	EXPECT(kt_lookup_obj(ec, &type) && type == OBJ_EC, "the exited EC's capability went away");
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&k2));
	EXPECT_EQ(k2.ecs, k0.ecs);
	EXPECT_EQ(k2.scs, k0.scs);
	return KT_PASS;
}

/* Replies with more untyped words than fit and 300 typed items: 200 copies of one good item. */
static void h_overfull(uint64_t id)
{
	struct vireo_utcb *u = h_utcb;
	(void)id;
	for (unsigned i = 0; i < W / 2; i++) {
		u->mr[W - 2 - 2 * i] = vireo_crd(CRD_OBJ, KT_SEL_SLEEP, 0, RIGHTS_ALL);
		u->mr[W - 1 - 2 * i] = (uint64_t)KT_WIN_BASE << 12;
	}
	u->untyped = 500;
	u->typed = 300;
	sys_reply_wait();
}

/* The words and the items share mr[]: with untyped beyond its end there is no room for items, and
 * the kernel must not read past the UTCB looking for them (review: a signed MIN made the item
 * count about 4e9 for untyped > 401). */
static int t_reply_with_untyped_over_400_delivers_no_items(void)
{
	struct env e;
	uint64_t ec, utcb, pt;
	EXPECT_OK(env_open(&e, ENV_OWN));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &ec, &utcb));
	h_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, ec, (uintptr_t)h_overfull, 0, 0, &pt));
	KT_UTCB->untyped = 0;
	KT_UTCB->typed = 0;
	KT_UTCB->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, KT_WIN_BASE, 0, RIGHTS_ALL);
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(KT_UTCB->untyped, W);
	EXPECT_EQ(kt_lookup_obj(KT_WIN_BASE, NULL), 0);
	KT_UTCB->rcv_window[CRD_OBJ] = 0;
	return KT_PASS;
}

const struct kt_test kt_ipc_tests[] = {
	{ "reply_with_untyped_over_400_delivers_no_items",
	  t_reply_with_untyped_over_400_delivers_no_items },
	{ "create_each_object_type", t_create_each_object_type },
	{ "portal_call_transfers_untyped_words_both_ways",
	  t_portal_call_transfers_untyped_words_both_ways },
	{ "portal_call_transfers_all_400_words", t_portal_call_transfers_all_400_words },
	{ "short_calls_take_the_ipc_fast_path_long_ones_do_not",
	  t_short_calls_take_the_ipc_fast_path_long_ones_do_not },
	{ "portal_id_reaches_handler_in_rdi", t_portal_id_reaches_handler_in_rdi },
	{ "portal_id_set_through_copy_applies_to_all_holders",
	  t_portal_id_set_through_copy_applies_to_all_holders },
	{ "handler_starts_each_call_at_entry_with_initial_stack",
	  t_handler_starts_each_call_at_entry_with_initial_stack },
	{ "one_handler_serves_several_portals_with_their_ids",
	  t_one_handler_serves_several_portals_with_their_ids },
	{ "nested_portal_calls_return_in_order", t_nested_portal_calls_return_in_order },
	{ "call_to_dead_handler_is_aborted", t_call_to_dead_handler_is_aborted },
	{ "busy_handler_queues_callers_in_order", t_busy_handler_queues_callers_in_order },
	{ "queued_caller_destroyed_leaves_the_line_and_queued_call_outlives_portal",
	  t_queued_caller_destroyed_leaves_the_line_and_queued_call_outlives_portal },
	{ "cross_cpu_call_cpu0_to_cpu1", t_cross_cpu_call_cpu0_to_cpu1 },
	{ "cross_cpu_call_cpu1_to_cpu0", t_cross_cpu_call_cpu1_to_cpu0 },
	{ "concurrent_callers_on_two_cpus_all_get_their_replies",
	  t_concurrent_callers_on_two_cpus_all_get_their_replies },
	{ "reply_typed_item_maps_cap_into_receive_window",
	  t_reply_typed_item_maps_cap_into_receive_window },
	{ "reply_typed_item_outside_receive_window_is_bad_par",
	  t_reply_typed_item_outside_receive_window_is_bad_par },
	{ "message_counts_beyond_the_utcb_are_clamped",
	  t_message_counts_beyond_the_utcb_are_clamped },
	{ "reply_typed_memory_item_maps_page", t_reply_typed_memory_item_maps_page },
	{ "reply_typed_item_grant_moves_capability", t_reply_typed_item_grant_moves_capability },
	{ "global_ec_runs_only_once_sc_is_bound", t_global_ec_runs_only_once_sc_is_bound },
	{ "exited_ec_lives_until_its_caps_are_revoked",
	  t_exited_ec_lives_until_its_caps_are_revoked },
	{ NULL, NULL },
};
