/* SPDX-License-Identifier: MIT */
/* kstest: selectors and rights of every system call; object delegation, revocation and lookup. */
#include "kstest.h"

/* Selectors that name nothing, or nothing valid. */
#define OUT_OF_SPACE VIREO_CAP_SPACE_SIZE
#define FAR_OUT (1ull << 40)

static struct vireo_utcb *volatile echo_utcb;

/* Portal handler: replies with its portal id in mr[0]. */
static void h_echo(uint64_t id)
{
	struct vireo_utcb *u = echo_utcb;
	u->mr[0] = id;
	u->untyped = 1;
	u->typed = 0;
	sys_reply_wait();
}

/* A local EC running h_echo in `e` and a portal to it with id `id`. */
static enum vireo_status make_echo_portal(struct env *e, uint64_t id, uint64_t *pt, uint64_t *ec)
{
	uint64_t utcb;
	enum vireo_status st = env_local_ec(e, 0, env_evt_block(e), ec, &utcb);
	echo_utcb = (struct vireo_utcb *)utcb;
	return st == VIREO_OK ? env_portal(e, *ec, (uintptr_t)h_echo, 0, id, pt) : st;
}

/* A global EC that never gets an SC: something to name in EC and SC calls. */
static enum vireo_status make_idle_ec(struct env *e, uint64_t *ec)
{
	return env_global_ec(e, (uintptr_t)kt_exit_stub, 0, 0, env_evt_block(e), ec, NULL);
}

static int t_call_bad_selector_is_bad_cap(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_call(KT_SEL_SPARE), VIREO_BAD_CAP);
	EXPECT_ST(sys_call(OUT_OF_SPACE), VIREO_BAD_CAP);
	EXPECT_ST(sys_call(FAR_OUT), VIREO_BAD_CAP);
	EXPECT_ST(sys_call(SEL_SELF_PD), VIREO_BAD_CAP);
	EXPECT_ST(sys_call(SEL_SELF_EC), VIREO_BAD_CAP);
	EXPECT_ST(sys_call(sm), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_call_without_call_right_is_bad_cap(void)
{
	struct env e;
	uint64_t pt, ec, ctrl_only, call_only;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_echo_portal(&e, 77, &pt, &ec));
	EXPECT_OK(kt_copy(pt, RIGHT_PT_CTRL, &ctrl_only));
	EXPECT_OK(kt_copy(pt, RIGHT_PT_CALL, &call_only));
	KT_UTCB->untyped = 0;
	EXPECT_ST(sys_call(ctrl_only), VIREO_BAD_CAP);
	EXPECT_OK(sys_call(call_only));
	EXPECT_EQ(KT_UTCB->mr[0], 77);
	return KT_PASS;
}

static int t_create_pd_bad_selector_is_bad_cap(void)
{
	uint64_t dst = kt_sel(), sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_create_pd(dst, KT_SEL_SPARE, 65536), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pd(dst, OUT_OF_SPACE, 65536), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pd(dst, SEL_SELF_EC, 65536), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pd(dst, sm, 65536), VIREO_BAD_CAP);
	/* Destination taken or outside the space. */
	EXPECT_ST(sys_create_pd(sm, SEL_SELF_PD, 65536), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pd(OUT_OF_SPACE, SEL_SELF_PD, 65536), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pd(FAR_OUT, SEL_SELF_PD, 65536), VIREO_BAD_CAP);
	unsigned type;
	EXPECT(kt_lookup_obj(sm, &type) && type == OBJ_SM,
	       "the semaphore at the taken selector was replaced");
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_pd_without_create_right_is_bad_cap(void)
{
	uint64_t pd_ctrl, dst = kt_sel();
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHTS_ALL & ~RIGHT_PD_CREATE, &pd_ctrl));
	EXPECT_ST(sys_create_pd(dst, pd_ctrl, 65536), VIREO_BAD_CAP);
	EXPECT_OK(sys_create_pd(dst, SEL_SELF_PD, 65536));
	return KT_PASS;
}

static int t_create_ec_bad_selector_is_bad_cap(void)
{
	struct vireo_ec_create a = { .sp = kt_stack(),
				     .utcb = kt_utcb_va(),
				     .flags = VIREO_EC_LOCAL };
	uint64_t dst = kt_sel(), sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_create_ec(dst, KT_SEL_SPARE, &a), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_ec(dst, OUT_OF_SPACE, &a), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_EC, &a), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_ec(dst, sm, &a), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_ec(sm, SEL_SELF_PD, &a), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_ec(OUT_OF_SPACE, SEL_SELF_PD, &a), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_ec_without_create_right_is_bad_cap(void)
{
	struct vireo_ec_create a = { .sp = kt_stack(),
				     .utcb = kt_utcb_va(),
				     .flags = VIREO_EC_LOCAL };
	uint64_t pd_ctrl, dst = kt_sel();
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHT_PD_CTRL, &pd_ctrl));
	EXPECT_ST(sys_create_ec(dst, pd_ctrl, &a), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_sc_bad_selector_is_bad_cap(void)
{
	struct env e;
	uint64_t ec, sm, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_create_sc(dst, KT_SEL_SPARE, ec, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, sm, ec, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, KT_SEL_SPARE, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, OUT_OF_SPACE, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, sm, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, SEL_SELF_PD, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(sm, SEL_SELF_PD, ec, 1, 10000), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_sc_without_rights_is_bad_cap(void)
{
	struct env e;
	uint64_t ec, pd_ctrl, ec_nobind, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHTS_ALL & ~RIGHT_PD_CREATE, &pd_ctrl));
	EXPECT_OK(kt_copy(ec, RIGHTS_ALL & ~RIGHT_EC_BIND, &ec_nobind));
	EXPECT_ST(sys_create_sc(dst, pd_ctrl, ec, 1, 10000), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, ec_nobind, 1, 10000), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_sc_bad_priority_or_quantum_is_bad_par(void)
{
	struct env e;
	uint64_t ec, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	EXPECT_ST(sys_create_sc(dst, e.pd, ec, 32, 10000), VIREO_BAD_PAR);
	EXPECT_ST(vireo_sys(SYS_CREATE_SC, dst, e.pd, ec, 0x100000001ull, 10000), VIREO_BAD_PAR);
	EXPECT_ST(sys_create_sc(dst, e.pd, ec, 1, 0), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	/* The EC is still unbound: a good SC binds (it runs kt_exit_stub and ends). */
	EXPECT_OK(sys_create_sc(dst, e.pd, ec, 0, 10000));
	return KT_PASS;
}

static int t_create_sc_above_the_pds_max_priority_is_bad_par(void)
{
	struct env e;
	uint64_t low = kt_sel(), lower = kt_sel(), ec, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	/* The roottask gives tasks no more than the priority they run at: far below 31. */
	EXPECT_ST(sys_create_sc(dst, SEL_SELF_PD, ec, 31, 10000), VIREO_BAD_PAR);
	/* A PD limited to priority 2: SCs named against it stay at or below 2. */
	EXPECT_OK(sys_create_pd_prio(low, SEL_SELF_PD, 16 * 1024, 2));
	EXPECT_ST(sys_create_sc(dst, low, ec, 3, 10000), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	/* Its children inherit the limit and cannot raise it. */
	EXPECT_ST(sys_create_pd_prio(lower, low, 8192, 3), VIREO_BAD_PAR);
	EXPECT_ST(sys_create_pd_prio(lower, SEL_SELF_PD, 8192, 32), VIREO_BAD_PAR);
	EXPECT_OK(sys_create_pd(lower, low, 8192));
	EXPECT_ST(sys_create_sc(dst, lower, ec, 3, 10000), VIREO_BAD_PAR);
	EXPECT_OK(sys_create_sc(dst, lower, ec, 2, 10000));
	return KT_PASS;
}

static int t_create_sc_for_local_ec_is_busy(void)
{
	struct env e;
	uint64_t lec, utcb, sc = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &lec, &utcb));
	EXPECT_ST(sys_create_sc(sc, e.pd, lec, 0, 10000), VIREO_BUSY);
	EXPECT_EQ(kt_lookup_obj(sc, NULL), 0);
	return KT_PASS;
}

static int t_create_second_sc_for_ec_is_busy(void)
{
	struct env e;
	static struct kt_loop loop;
	uint64_t ec, sc1 = kt_sel(), sc2 = kt_sel();
	memset((void *)&loop, 0, sizeof(loop));
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_global_ec(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, 0, env_evt_block(&e),
				&ec, NULL));
	EXPECT_OK(sys_create_sc(sc1, e.pd, ec, 0, 10000));
	EXPECT_ST(sys_create_sc(sc2, e.pd, ec, 0, 10000), VIREO_BUSY);
	EXPECT_EQ(kt_lookup_obj(sc2, NULL), 0);
	loop.stop = 1;
	return KT_PASS;
}

static int t_create_pt_bad_selector_is_bad_cap(void)
{
	struct env e;
	uint64_t lec, gec, utcb, sm, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &lec, &utcb));
	EXPECT_OK(make_idle_ec(&e, &gec));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_create_pt(dst, KT_SEL_SPARE, lec, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(dst, sm, lec, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(dst, SEL_SELF_PD, KT_SEL_SPARE, (uintptr_t)h_echo, 0),
		  VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(dst, SEL_SELF_PD, sm, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(dst, SEL_SELF_PD, OUT_OF_SPACE, (uintptr_t)h_echo, 0),
		  VIREO_BAD_CAP);
	/* A portal needs a local EC. */
	EXPECT_ST(sys_create_pt(dst, SEL_SELF_PD, gec, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(sm, SEL_SELF_PD, lec, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_pt_without_rights_is_bad_cap(void)
{
	struct env e;
	uint64_t lec, utcb, pd_ctrl, ec_nobind, dst = kt_sel();
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &lec, &utcb));
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHT_PD_CTRL, &pd_ctrl));
	EXPECT_OK(kt_copy(lec, RIGHT_EC_CTRL, &ec_nobind));
	EXPECT_ST(sys_create_pt(dst, pd_ctrl, lec, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_pt(dst, SEL_SELF_PD, ec_nobind, (uintptr_t)h_echo, 0), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_sm_bad_selector_is_bad_cap(void)
{
	uint64_t dst = kt_sel(), sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_create_sm(dst, KT_SEL_SPARE, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(dst, OUT_OF_SPACE, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(dst, SEL_SELF_EC, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(dst, sm, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(sm, SEL_SELF_PD, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(SEL_SELF_PD, SEL_SELF_PD, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_create_sm(OUT_OF_SPACE, SEL_SELF_PD, 0), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_sm_without_create_right_is_bad_cap(void)
{
	uint64_t pd_ctrl, dst = kt_sel();
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHT_PD_CTRL, &pd_ctrl));
	EXPECT_ST(sys_create_sm(dst, pd_ctrl, 0), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_pt_ctrl_bad_selector_is_bad_cap(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_pt_ctrl(KT_SEL_SPARE, 1), VIREO_BAD_CAP);
	EXPECT_ST(sys_pt_ctrl(OUT_OF_SPACE, 1), VIREO_BAD_CAP);
	EXPECT_ST(sys_pt_ctrl(sm, 1), VIREO_BAD_CAP);
	EXPECT_ST(sys_pt_ctrl(SEL_SELF_EC, 1), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_pt_ctrl_without_ctrl_right_is_bad_cap(void)
{
	struct env e;
	uint64_t pt, ec, call_only;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_echo_portal(&e, 0x1111, &pt, &ec));
	EXPECT_OK(kt_copy(pt, RIGHT_PT_CALL, &call_only));
	EXPECT_ST(sys_pt_ctrl(call_only, 0x6666), VIREO_BAD_CAP);
	/* The id is unchanged: the receiver of a call-only portal cannot forge it. */
	KT_UTCB->untyped = 0;
	EXPECT_OK(sys_call(call_only));
	EXPECT_EQ(KT_UTCB->mr[0], 0x1111);
	return KT_PASS;
}

static int t_sm_ctrl_bad_selector_is_bad_cap(void)
{
	uint64_t pd_copy;
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHTS_ALL, &pd_copy));
	EXPECT_ST(sys_sm_up(KT_SEL_SPARE), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(KT_SEL_SPARE, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_up(OUT_OF_SPACE), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(FAR_OUT, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_up(SEL_SELF_PD), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(SEL_SELF_EC, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(pd_copy, 1000), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_sm_up_without_up_right_is_bad_cap(void)
{
	uint64_t sm, down_only;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHT_SM_DOWN, &down_only));
	EXPECT_ST(sys_sm_up(down_only), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT); /* the up did not count */
	EXPECT_ST(sys_sm_down(down_only, 0), VIREO_TIMEOUT);
	EXPECT_OK(sys_sm_up(sm));
	EXPECT_OK(sys_sm_down(down_only, 0));
	return KT_PASS;
}

static int t_sm_down_without_down_right_is_bad_cap(void)
{
	uint64_t sm, up_only;
	EXPECT_OK(kt_new_sm(&sm, 1));
	EXPECT_OK(kt_copy(sm, RIGHT_SM_UP, &up_only));
	EXPECT_ST(sys_sm_down(up_only, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(up_only, 1000), VIREO_BAD_CAP);
	EXPECT_OK(sys_sm_down(sm, 0)); /* the count is still there */
	EXPECT_OK(sys_sm_up(up_only));
	EXPECT_OK(sys_sm_down(sm, 0));
	return KT_PASS;
}

static int t_delegate_bad_destination_pd_is_bad_cap(void)
{
	uint64_t sm, dst = KT_WIN_BASE;
	EXPECT_OK(kt_new_sm(&sm, 0));
	uint64_t crd = vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL);
	EXPECT_ST(sys_delegate(KT_SEL_SPARE, crd, dst, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_delegate(OUT_OF_SPACE, crd, dst, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_delegate(sm, crd, dst, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_delegate(SEL_SELF_EC, crd, dst, 0), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_delegate_without_pd_ctrl_right_is_bad_cap(void)
{
	uint64_t sm, pd_create, dst = KT_WIN_BASE;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(SEL_SELF_PD, RIGHT_PD_CREATE, &pd_create));
	EXPECT_ST(sys_delegate(pd_create, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), dst, 0),
		  VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_delegate_unheld_source_is_bad_cap(void)
{
	uint64_t dst = KT_WIN_BASE;
	EXPECT_ST(
		sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, KT_SEL_SPARE, 0, RIGHTS_ALL), dst, 0),
		VIREO_BAD_CAP);
	EXPECT_ST(sys_delegate(SEL_SELF_PD,
			       vireo_crd(CRD_MEM, (TASK_FREE_VA + 0x30000000ull) >> 12, 0, MEM_R),
			       KT_MAP_AREA >> 12, 0),
		  VIREO_BAD_CAP);
	/* Ports kstest does not hold. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_IO, 0x80, 0, IO_RW), 0x90, 0),
		  VIREO_BAD_CAP);
	/* A memory range larger than the capability that covers its base. */
	uint64_t h = kt_heap_page(0);
	if (h) {
		uint64_t cap = kt_lookup_mem(h);
		EXPECT(cap, "heap page 0x%lx has no capability", (unsigned long)h);
		unsigned order = vireo_crd_order(cap) + 1;
		uint64_t base = vireo_crd_base(cap) & ~((1ull << order) - 1);
		EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, base, order, MEM_R),
				       (KT_MAP_AREA >> 12) & ~((1ull << order) - 1), 0),
			  VIREO_BAD_CAP);
	}
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_delegate_to_occupied_destination_is_busy(void)
{
	uint64_t sm1, sm2;
	EXPECT_OK(kt_new_sm(&sm1, 0));
	EXPECT_OK(kt_new_sm(&sm2, 0));
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm1, 0, RIGHTS_ALL), sm2, 0),
		  VIREO_BUSY);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm1, 0, RIGHTS_ALL), SEL_SELF_EC, 0),
		  VIREO_BUSY);
	/* sm2 is still the second semaphore: an up on sm1 does not show there. */
	EXPECT_OK(sys_sm_up(sm1));
	EXPECT_ST(sys_sm_down(sm2, 0), VIREO_TIMEOUT);
	unsigned type;
	EXPECT(kt_lookup_obj(SEL_SELF_EC, &type) && type == OBJ_EC, "SEL_SELF_EC was replaced");
	if (kt_heap_page(1)) {
		/* Memory: heap page 0 onto heap page 1's address. */
		EXPECT_ST(sys_delegate(SEL_SELF_PD,
				       vireo_crd(CRD_MEM, kt_heap_page(0) >> 12, 0, MEM_R),
				       kt_heap_page(1) >> 12, 0),
			  VIREO_BUSY);
	}
	return KT_PASS;
}

static int t_assign_gsi_bad_selector_is_bad_cap(void)
{
	EXPECT_ST(sys_assign_gsi(KT_SEL_SPARE, 4, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_assign_gsi(OUT_OF_SPACE, 4, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_assign_gsi(SEL_SELF_PD, 4, 0), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_ec_ctrl_bad_selector_is_bad_cap(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_ec_recall(KT_SEL_SPARE), VIREO_BAD_CAP);
	EXPECT_ST(sys_ec_recall(OUT_OF_SPACE), VIREO_BAD_CAP);
	EXPECT_ST(sys_ec_recall(SEL_SELF_PD), VIREO_BAD_CAP);
	EXPECT_ST(sys_ec_recall(sm), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_ec_ctrl_without_ctrl_right_is_bad_cap(void)
{
	struct env e;
	uint64_t ec, nectrl;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	EXPECT_OK(kt_copy(ec, RIGHTS_ALL & ~RIGHT_EC_CTRL, &nectrl));
	EXPECT_ST(sys_ec_recall(nectrl), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_ec_ctrl_unknown_op_is_bad_par(void)
{
	struct env e;
	uint64_t ec;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(make_idle_ec(&e, &ec));
	EXPECT_ST(vireo_sys(SYS_EC_CTRL, ec, 1, 0, 0, 0), VIREO_BAD_PAR);
	EXPECT_ST(vireo_sys(SYS_EC_CTRL, ec, 1ull << 32, 0, 0, 0), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_sc_ctrl_bad_selector_is_bad_cap(void)
{
	uint64_t us, sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_sc_consumed(KT_SEL_SPARE, &us), VIREO_BAD_CAP);
	EXPECT_ST(sys_sc_consumed(OUT_OF_SPACE, &us), VIREO_BAD_CAP);
	EXPECT_ST(sys_sc_consumed(SEL_SELF_EC, &us), VIREO_BAD_CAP);
	EXPECT_ST(sys_sc_consumed(sm, &us), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_sc_ctrl_without_ctrl_right_is_bad_cap(void)
{
	struct env e;
	static struct kt_loop loop;
	uint64_t ec, sc, noctrl, us;
	memset((void *)&loop, 0, sizeof(loop));
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, 0, env_evt_block(&e),
			     &ec, &sc));
	EXPECT_OK(kt_copy(sc, RIGHTS_ALL & ~RIGHT_SC_CTRL, &noctrl));
	EXPECT_ST(sys_sc_consumed(noctrl, &us), VIREO_BAD_CAP);
	EXPECT_OK(sys_sc_consumed(sc, &us));
	loop.stop = 1;
	return KT_PASS;
}

/* ---------------------------------------------------------------- delegation semantics */

static int t_lookup_object_returns_crd_rights_and_type(void)
{
	uint64_t sm, up_only, crd;
	unsigned type;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHT_SM_UP, &up_only));
	crd = kt_lookup_obj(SEL_SELF_PD, &type);
	EXPECT_EQ(crd, vireo_crd(CRD_OBJ, SEL_SELF_PD, 0, RIGHTS_ALL));
	EXPECT_EQ(type, OBJ_PD);
	crd = kt_lookup_obj(SEL_SELF_EC, &type);
	EXPECT_EQ(vireo_crd_space(crd), CRD_OBJ);
	EXPECT_EQ(vireo_crd_base(crd), SEL_SELF_EC);
	EXPECT_EQ(type, OBJ_EC);
	crd = kt_lookup_obj(sm, &type);
	EXPECT_EQ(crd, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL));
	EXPECT_EQ(type, OBJ_SM);
	crd = kt_lookup_obj(up_only, &type);
	EXPECT_EQ(crd, vireo_crd(CRD_OBJ, up_only, 0, RIGHT_SM_UP));
	EXPECT_EQ(type, OBJ_SM);
	return KT_PASS;
}

static int t_lookup_empty_selector_returns_zero(void)
{
	uint64_t found = 0x55;
	unsigned type = 0x55;
	EXPECT_OK(sys_lookup(vireo_crd(CRD_OBJ, KT_SEL_SPARE, 0, 0), &found, &type));
	EXPECT_EQ(found, 0);
	EXPECT_OK(sys_lookup(vireo_crd(CRD_OBJ, VIREO_CAP_SPACE_SIZE - 1, 0, 0), &found, &type));
	EXPECT_EQ(found, 0);
	EXPECT_OK(sys_lookup(vireo_crd(CRD_MEM, (TASK_FREE_VA + 0x30000000ull) >> 12, 0, 0), &found,
			     &type));
	EXPECT_EQ(found, 0);
	EXPECT_OK(sys_lookup(vireo_crd(CRD_IO, 0x80, 0, 0), &found, &type));
	EXPECT_EQ(found, 0);
	return KT_PASS;
}

static int t_lookup_memory_returns_covering_capability(void)
{
	uint64_t h = kt_heap_page(kt_heap_size / 0x1000 > 3 ? 3 : 0);
	if (!h) {
		return kt_skip("no heap");
	}
	uint64_t crd = kt_lookup_mem(h + 0x123);
	EXPECT_EQ(vireo_crd_space(crd), CRD_MEM);
	uint64_t b = vireo_crd_base(crd), e = b + (1ull << vireo_crd_order(crd));
	EXPECT(b <= (h >> 12) && (h >> 12) < e,
	       "capability [0x%lx, 0x%lx) pages does not cover page 0x%lx", (unsigned long)b,
	       (unsigned long)e, (unsigned long)(h >> 12));
	EXPECT((vireo_crd_rights(crd) & (MEM_R | MEM_W)) == (MEM_R | MEM_W),
	       "heap rights 0x%x, expected R|W", vireo_crd_rights(crd));
	crd = kt_lookup_mem((uintptr_t)kt_gprs_body);
	EXPECT(vireo_crd_space(crd) == CRD_MEM && (vireo_crd_rights(crd) & MEM_X),
	       "program text at 0x%lx: lookup 0x%lx, expected an executable memory capability",
	       (unsigned long)(uintptr_t)kt_gprs_body, (unsigned long)crd);
	return KT_PASS;
}

static int t_lookup_io_port_returns_covering_capability(void)
{
	if (!kt_ti || !kt_ti->io_port_count) {
		return kt_skip("no ports delegated (ports=BASE:COUNT)");
	}
	uint64_t found = 0;
	unsigned port = kt_ti->io_port_base + kt_ti->io_port_count - 1;
	EXPECT_OK(sys_lookup(vireo_crd(CRD_IO, port, 0, 0), &found, NULL));
	EXPECT_EQ(vireo_crd_space(found), CRD_IO);
	uint64_t b = vireo_crd_base(found), e = b + (1ull << vireo_crd_order(found));
	EXPECT(b <= port && port < e, "port capability [0x%lx, 0x%lx) does not cover port 0x%x",
	       (unsigned long)b, (unsigned long)e, port);
	EXPECT(vireo_crd_rights(found) & IO_RW, "port rights 0x%x", vireo_crd_rights(found));
	return KT_PASS;
}

static int t_delegate_object_never_raises_rights(void)
{
	uint64_t sm, up_only, again = kt_sel();
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHT_SM_UP, &up_only));
	/* Asking for every right on a copy of the up-only copy still gives only up. */
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, up_only, 0, RIGHTS_ALL), again, 0));
	EXPECT_EQ(kt_lookup_obj(again, NULL), vireo_crd(CRD_OBJ, again, 0, RIGHT_SM_UP));
	EXPECT_ST(sys_sm_down(again, 0), VIREO_BAD_CAP);
	EXPECT_OK(sys_sm_up(again));
	EXPECT_OK(sys_sm_down(sm, 0));
	return KT_PASS;
}

static int t_delegate_object_range_copies_each_selector(void)
{
	uint64_t src = kt_sel_aligned(4), dst = KT_WIN_BASE + 16;
	for (unsigned i = 0; i < 4; i++) {
		EXPECT_OK(sys_create_sm(src + i, SEL_SELF_PD, i));
	}
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, src, 2, RIGHTS_ALL), dst, 0));
	for (unsigned i = 0; i < 4; i++) {
		unsigned type = 0;
		EXPECT(kt_lookup_obj(dst + i, &type) && type == OBJ_SM,
		       "selector %lu: type %u after delegating the range", (unsigned long)(dst + i),
		       type);
	}
	/* Each copy names its own semaphore: semaphore i has count i. */
	EXPECT_ST(sys_sm_down(dst + 0, 0), VIREO_TIMEOUT);
	EXPECT_OK(sys_sm_down(dst + 3, 0));
	EXPECT_OK(sys_sm_down(dst + 3, 0));
	EXPECT_OK(sys_sm_down(dst + 3, 0));
	EXPECT_ST(sys_sm_down(dst + 3, 0), VIREO_TIMEOUT);
	/* Revoking the source range takes all copies. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, src, 2, RIGHTS_ALL), 0));
	for (unsigned i = 0; i < 4; i++) {
		EXPECT_EQ(kt_lookup_obj(dst + i, NULL), 0);
		EXPECT(kt_lookup_obj(src + i, NULL),
		       "the source selector %lu went away without SELF", (unsigned long)(src + i));
	}
	return KT_PASS;
}

static int t_revoke_removes_derived_caps_but_keeps_own(void)
{
	uint64_t sm, c1, c2;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHTS_ALL, &c1));
	EXPECT_OK(kt_copy(c1, RIGHT_SM_UP, &c2));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 0));
	EXPECT_EQ(kt_lookup_obj(c1, NULL), 0);
	EXPECT_EQ(kt_lookup_obj(c2, NULL), 0);
	EXPECT_ST(sys_sm_up(c2), VIREO_BAD_CAP);
	EXPECT_EQ(kt_lookup_obj(sm, NULL), vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL));
	EXPECT_OK(sys_sm_up(sm));
	EXPECT_OK(sys_sm_down(sm, 0));
	return KT_PASS;
}

static int t_revoke_of_middle_cap_keeps_parent_and_siblings(void)
{
	uint64_t sm, a, b, a1;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHTS_ALL, &a));
	EXPECT_OK(kt_copy(sm, RIGHTS_ALL, &b));
	EXPECT_OK(kt_copy(a, RIGHTS_ALL, &a1));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, a, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_EQ(kt_lookup_obj(a, NULL), 0);
	EXPECT_EQ(kt_lookup_obj(a1, NULL), 0);
	EXPECT(kt_lookup_obj(b, NULL), "the sibling copy was revoked too");
	EXPECT(kt_lookup_obj(sm, NULL), "the parent was revoked too");
	return KT_PASS;
}

static int t_revoke_self_destroys_object_with_last_cap(void)
{
	struct vireo_kstat k0, k1, k2;
	uint64_t sm, copy;
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHTS_ALL, &copy));
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.sms, k0.sms + 1);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_EQ(kt_lookup_obj(sm, NULL), 0);
	EXPECT_EQ(kt_lookup_obj(copy, NULL), 0);
	EXPECT_OK(sys_kstat(&k2));
	EXPECT_EQ(k2.sms, k0.sms);
	EXPECT_EQ(k2.mdb_nodes, k0.mdb_nodes);
	return KT_PASS;
}

static int t_grant_object_moves_capability(void)
{
	struct vireo_kstat k0, k1;
	uint64_t sm, dst = KT_WIN_BASE + 3;
	EXPECT_OK(kt_new_sm(&sm, 2));
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), dst,
			       VIREO_DELEGATE_GRANT));
	EXPECT_EQ(kt_lookup_obj(sm, NULL), 0);
	unsigned type;
	EXPECT_EQ(kt_lookup_obj(dst, &type), vireo_crd(CRD_OBJ, dst, 0, RIGHTS_ALL));
	EXPECT_EQ(type, OBJ_SM);
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.sms, k0.sms);
	EXPECT_EQ(k1.mdb_nodes, k0.mdb_nodes);
	/* Same semaphore, count 2. */
	EXPECT_OK(sys_sm_down(dst, 0));
	EXPECT_OK(sys_sm_down(dst, 0));
	EXPECT_ST(sys_sm_down(dst, 0), VIREO_TIMEOUT);
	return KT_PASS;
}

static int t_grant_keeps_derived_caps(void)
{
	uint64_t sm, child, dst = KT_WIN_BASE + 5;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_copy(sm, RIGHT_SM_UP, &child));
	EXPECT_OK(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), dst,
			       VIREO_DELEGATE_GRANT));
	EXPECT(kt_lookup_obj(child, NULL),
	       "the copy derived from the granted capability went away");
	/* The children follow: revoking the new place removes them. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, dst, 0, RIGHTS_ALL), 0));
	EXPECT_EQ(kt_lookup_obj(child, NULL), 0);
	return KT_PASS;
}

static volatile uint64_t gate_sel, target_sel;
static volatile long child_up_status = -1;

/* Waits for the gate, then tries an up on the target and reports the status. */
static void w_try_up(uint64_t arg)
{
	(void)arg;
	sys_sm_down(gate_sel, 5000000);
	child_up_status = sys_sm_up(target_sel);
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_revoke_reaches_caps_in_other_pds(void)
{
	struct env e;
	uint64_t sm, gate, done, ec, copy_sel = KT_WIN_BASE + 40;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_new_sm(&gate, 0));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, gate));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(env_install(&e, sm, copy_sel));
	gate_sel = gate;
	target_sel = copy_sel;
	kt_done_sel = done;
	child_up_status = -1;
	EXPECT_OK(env_thread(&e, (uintptr_t)w_try_up, 0, 0, env_evt_block(&e), &ec, NULL));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 0));
	EXPECT_OK(sys_sm_up(gate));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_ST(child_up_status, VIREO_BAD_CAP);
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT); /* no up arrived */
	return KT_PASS;
}

static int t_delegated_cap_works_in_other_pd(void)
{
	struct env e;
	uint64_t sm, gate, done, ec, copy_sel = KT_WIN_BASE + 41;
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_OK(kt_new_sm(&gate, 1));
	EXPECT_OK(kt_new_sm(&done, 0));
	EXPECT_OK(env_share(&e, gate));
	EXPECT_OK(env_share(&e, done));
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_OBJ, sm, 0, RIGHT_SM_UP), copy_sel, 0));
	gate_sel = gate;
	target_sel = copy_sel;
	kt_done_sel = done;
	child_up_status = -1;
	EXPECT_OK(env_thread(&e, (uintptr_t)w_try_up, 0, 0, env_evt_block(&e), &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_ST(child_up_status, VIREO_OK);
	EXPECT_OK(sys_sm_down(sm, 0));
	return KT_PASS;
}

const struct kt_test kt_cap_tests[] = {
	{ "call_bad_selector_is_bad_cap", t_call_bad_selector_is_bad_cap },
	{ "call_without_call_right_is_bad_cap", t_call_without_call_right_is_bad_cap },
	{ "create_pd_bad_selector_is_bad_cap", t_create_pd_bad_selector_is_bad_cap },
	{ "create_pd_without_create_right_is_bad_cap",
	  t_create_pd_without_create_right_is_bad_cap },
	{ "create_ec_bad_selector_is_bad_cap", t_create_ec_bad_selector_is_bad_cap },
	{ "create_ec_without_create_right_is_bad_cap",
	  t_create_ec_without_create_right_is_bad_cap },
	{ "create_sc_bad_selector_is_bad_cap", t_create_sc_bad_selector_is_bad_cap },
	{ "create_sc_without_rights_is_bad_cap", t_create_sc_without_rights_is_bad_cap },
	{ "create_sc_bad_priority_or_quantum_is_bad_par",
	  t_create_sc_bad_priority_or_quantum_is_bad_par },
	{ "create_sc_above_the_pds_max_priority_is_bad_par",
	  t_create_sc_above_the_pds_max_priority_is_bad_par },
	{ "create_sc_for_local_ec_is_busy", t_create_sc_for_local_ec_is_busy },
	{ "create_second_sc_for_ec_is_busy", t_create_second_sc_for_ec_is_busy },
	{ "create_pt_bad_selector_is_bad_cap", t_create_pt_bad_selector_is_bad_cap },
	{ "create_pt_without_rights_is_bad_cap", t_create_pt_without_rights_is_bad_cap },
	{ "create_sm_bad_selector_is_bad_cap", t_create_sm_bad_selector_is_bad_cap },
	{ "create_sm_without_create_right_is_bad_cap",
	  t_create_sm_without_create_right_is_bad_cap },
	{ "pt_ctrl_bad_selector_is_bad_cap", t_pt_ctrl_bad_selector_is_bad_cap },
	{ "pt_ctrl_without_ctrl_right_is_bad_cap", t_pt_ctrl_without_ctrl_right_is_bad_cap },
	{ "sm_ctrl_bad_selector_is_bad_cap", t_sm_ctrl_bad_selector_is_bad_cap },
	{ "sm_up_without_up_right_is_bad_cap", t_sm_up_without_up_right_is_bad_cap },
	{ "sm_down_without_down_right_is_bad_cap", t_sm_down_without_down_right_is_bad_cap },
	{ "delegate_bad_destination_pd_is_bad_cap", t_delegate_bad_destination_pd_is_bad_cap },
	{ "delegate_without_pd_ctrl_right_is_bad_cap",
	  t_delegate_without_pd_ctrl_right_is_bad_cap },
	{ "delegate_unheld_source_is_bad_cap", t_delegate_unheld_source_is_bad_cap },
	{ "delegate_to_occupied_destination_is_busy", t_delegate_to_occupied_destination_is_busy },
	{ "assign_gsi_bad_selector_is_bad_cap", t_assign_gsi_bad_selector_is_bad_cap },
	{ "ec_ctrl_bad_selector_is_bad_cap", t_ec_ctrl_bad_selector_is_bad_cap },
	{ "ec_ctrl_without_ctrl_right_is_bad_cap", t_ec_ctrl_without_ctrl_right_is_bad_cap },
	{ "ec_ctrl_unknown_op_is_bad_par", t_ec_ctrl_unknown_op_is_bad_par },
	{ "sc_ctrl_bad_selector_is_bad_cap", t_sc_ctrl_bad_selector_is_bad_cap },
	{ "sc_ctrl_without_ctrl_right_is_bad_cap", t_sc_ctrl_without_ctrl_right_is_bad_cap },
	{ "lookup_object_returns_crd_rights_and_type",
	  t_lookup_object_returns_crd_rights_and_type },
	{ "lookup_empty_selector_returns_zero", t_lookup_empty_selector_returns_zero },
	{ "lookup_memory_returns_covering_capability",
	  t_lookup_memory_returns_covering_capability },
	{ "lookup_io_port_returns_covering_capability",
	  t_lookup_io_port_returns_covering_capability },
	{ "delegate_object_never_raises_rights", t_delegate_object_never_raises_rights },
	{ "delegate_object_range_copies_each_selector",
	  t_delegate_object_range_copies_each_selector },
	{ "revoke_removes_derived_caps_but_keeps_own",
	  t_revoke_removes_derived_caps_but_keeps_own },
	{ "revoke_of_middle_cap_keeps_parent_and_siblings",
	  t_revoke_of_middle_cap_keeps_parent_and_siblings },
	{ "revoke_self_destroys_object_with_last_cap",
	  t_revoke_self_destroys_object_with_last_cap },
	{ "grant_object_moves_capability", t_grant_object_moves_capability },
	{ "grant_keeps_derived_caps", t_grant_keeps_derived_caps },
	{ "delegated_cap_works_in_other_pd", t_delegated_cap_works_in_other_pd },
	{ "revoke_reaches_caps_in_other_pds", t_revoke_reaches_caps_in_other_pds },
	{ NULL, NULL },
};
