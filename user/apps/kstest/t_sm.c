/* SPDX-License-Identifier: MIT */
/* kstest: counting semaphores: counts, timeouts, wake-ups across ECs and CPUs, destruction. */
#include "kstest.h"

static int t_sm_down_consumes_initial_count(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 3));
	EXPECT_OK(sys_sm_down(sm, 0));
	EXPECT_OK(sys_sm_down(sm, 0));
	EXPECT_OK(sys_sm_down(sm, VIREO_TIMEOUT_NEVER)); /* count available: no blocking */
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT);
	return KT_PASS;
}

static int t_sm_up_counts_for_later_downs(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	for (int i = 0; i < 5; i++) {
		EXPECT_OK(sys_sm_up(sm));
	}
	for (int i = 0; i < 5; i++) {
		EXPECT_OK(sys_sm_down(sm, 0));
	}
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT);
	return KT_PASS;
}

/* TSC ticks one down with `timeout_us` takes; *st gets its status. */
static uint64_t timed_down(uint64_t sm, uint64_t timeout_us, long *st)
{
	uint64_t t0 = kt_rdtsc();
	*st = sys_sm_down(sm, timeout_us);
	return kt_rdtsc() - t0;
}

static int t_sm_down_zero_timeout_returns_at_once(void)
{
	uint64_t sm;
	long st;
	EXPECT_OK(kt_new_sm(&sm, 0));
	uint64_t t_zero = timed_down(sm, 0, &st);
	EXPECT_ST(st, VIREO_TIMEOUT);
	uint64_t t_50ms = timed_down(sm, 50000, &st);
	EXPECT_ST(st, VIREO_TIMEOUT);
	EXPECT(t_zero * 20 < t_50ms,
	       "a down with timeout 0 took %lu TSC ticks, one with 50 ms only %lu",
	       (unsigned long)t_zero, (unsigned long)t_50ms);
	return KT_PASS;
}

static int t_sm_down_waits_for_its_timeout(void)
{
	uint64_t sm;
	long st;
	EXPECT_OK(kt_new_sm(&sm, 0));
	/* The only clock a task has is the TSC, of unknown rate: compare two timeouts. */
	uint64_t t50 = timed_down(sm, 50000, &st);
	EXPECT_ST(st, VIREO_TIMEOUT);
	uint64_t t200 = timed_down(sm, 200000, &st);
	EXPECT_ST(st, VIREO_TIMEOUT);
	EXPECT(t200 > 2 * t50 && t200 < 8 * t50,
	       "a 200 ms timeout took %lu TSC ticks, a 50 ms one %lu: expected a ratio near 4",
	       (unsigned long)t200, (unsigned long)t50);
	/* The smallest timeout still blocks at least until the next tick, and then times out. */
	EXPECT_ST(sys_sm_down(sm, 1), VIREO_TIMEOUT);
	return KT_PASS;
}

static int t_sm_timeout_leaves_no_stale_waiter(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_sm_down(sm, 20000), VIREO_TIMEOUT);
	/* If the timed-out down were still queued, this up would go to it and be lost. */
	EXPECT_OK(sys_sm_up(sm));
	EXPECT_OK(sys_sm_down(sm, 0));
	return KT_PASS;
}

static volatile uint64_t waiter_sm;
static volatile long waiter_status[4];
static volatile unsigned waiter_order[4], waiter_n;
static volatile unsigned waiter_apic;
static volatile uint64_t waiter_timeout_us = 3000000;

static void w_waiter(uint64_t who)
{
	long st = sys_sm_down(waiter_sm, waiter_timeout_us);
	unsigned n = waiter_n;
	waiter_n = n + 1;
	if (n < 4) {
		waiter_order[n] = (unsigned)who;
	}
	waiter_status[who & 3] = st;
	waiter_apic = kt_apic_id();
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int start_waiters(struct env *e, uint64_t *sm, uint64_t *done)
{
	EXPECT_OK(env_open(e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(sm, 0));
	EXPECT_OK(kt_new_sm(done, 0));
	EXPECT_OK(env_share(e, *sm));
	EXPECT_OK(env_share(e, *done));
	waiter_sm = *sm;
	kt_done_sel = *done;
	waiter_n = 0;
	waiter_timeout_us = 3000000;
	for (int i = 0; i < 4; i++) {
		waiter_status[i] = -1;
		waiter_order[i] = 0;
	}
	return KT_PASS;
}

static int t_sm_up_from_other_ec_wakes_waiter(void)
{
	struct env e;
	uint64_t sm, done, ec;
	int r = start_waiters(&e, &sm, &done);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(env_thread(&e, (uintptr_t)w_waiter, 1, 0, env_evt_block(&e), &ec, NULL));
	kt_sleep(50);
	EXPECT(waiter_n == 0, "the waiter returned from its down before any up (status %s)",
	       kt_st(waiter_status[1]));
	EXPECT_OK(sys_sm_up(sm));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_ST(waiter_status[1], VIREO_OK);
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT); /* the up went to the waiter */
	return KT_PASS;
}

static volatile uint64_t up_now;
static volatile unsigned upper_apic;

/* Spins until told, then ups the semaphore: an up from a known CPU. */
static void w_upper(uint64_t sm)
{
	while (!up_now && !kt_stop) {
		__asm__ volatile("pause");
	}
	upper_apic = kt_apic_id();
	if (!kt_stop) {
		sys_sm_up(sm);
	}
	sys_ec_exit();
}

static int sm_wake_across(unsigned waiter_cpu)
{
	struct env e;
	uint64_t sm, done, ec;
	if (kt_cpus < 2) {
		return kt_skip("needs 2 CPUs, %u online", kt_cpus);
	}
	int r = start_waiters(&e, &sm, &done);
	if (r != KT_PASS) {
		return r;
	}
	up_now = 0;
	uint64_t evt = env_evt_block(&e);
	EXPECT_OK(env_thread(&e, (uintptr_t)w_waiter, 1, waiter_cpu, evt, &ec, NULL));
	EXPECT_OK(env_thread(&e, (uintptr_t)w_upper, sm, 1 - waiter_cpu, evt, &ec, NULL));
	kt_sleep(50);
	EXPECT(waiter_n == 0, "the waiter returned from its down before any up");
	up_now = 1;
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_ST(waiter_status[1], VIREO_OK);
	EXPECT(waiter_apic != upper_apic, "waiter and upper both ran on APIC ID %u", upper_apic);
	return KT_PASS;
}

static int t_sm_up_wakes_waiter_on_cpu1(void)
{
	return sm_wake_across(1);
}

static int t_sm_up_wakes_waiter_on_cpu0(void)
{
	return sm_wake_across(0);
}

static int t_sm_waiters_wake_in_fifo_order(void)
{
	struct env e;
	uint64_t sm, done, ec;
	int r = start_waiters(&e, &sm, &done);
	if (r != KT_PASS) {
		return r;
	}
	uint64_t evt = env_evt_block(&e);
	for (unsigned who = 1; who <= 3; who++) {
		EXPECT_OK(env_thread(&e, (uintptr_t)w_waiter, who, who == 2 && kt_cpus > 1 ? 1 : 0,
				     evt, &ec, NULL));
		kt_sleep(30); /* let it block before the next one comes */
	}
	EXPECT(waiter_n == 0, "a waiter returned before any up");
	for (unsigned i = 1; i <= 3; i++) {
		EXPECT_OK(sys_sm_up(sm));
		EXPECT_OK(kt_wait(done, 2000));
	}
	EXPECT_EQ(waiter_n, 3);
	EXPECT_EQ(waiter_order[0], 1);
	EXPECT_EQ(waiter_order[1], 2);
	EXPECT_EQ(waiter_order[2], 3);
	for (unsigned i = 1; i <= 3; i++) {
		EXPECT_ST(waiter_status[i], VIREO_OK);
	}
	return KT_PASS;
}

static int t_sm_destroyed_under_waiter_aborts_it(void)
{
	struct env e;
	uint64_t sm, done, ec;
	int r = start_waiters(&e, &sm, &done);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(env_thread(&e, (uintptr_t)w_waiter, 1, 0, env_evt_block(&e), &ec, NULL));
	kt_sleep(50);
	EXPECT(waiter_n == 0, "the waiter returned before the semaphore went away");
	/* Revoke every capability of the semaphore, the waiter's (in its PD) included. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_ST(waiter_status[1], VIREO_ABORTED);
	return KT_PASS;
}

static void w_down_forever(uint64_t sm)
{
	sys_sm_down(sm, VIREO_TIMEOUT_NEVER);
	waiter_n = waiter_n + 1;
	sys_ec_exit();
}

static int t_ec_destroyed_while_waiting_forever_leaves_the_queue(void)
{
	struct env e;
	uint64_t sm, done, ec, sc;
	int r = start_waiters(&e, &sm, &done);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(env_thread(&e, (uintptr_t)w_down_forever, sm, 0, env_evt_block(&e), &ec, &sc));
	kt_sleep(50);
	EXPECT(waiter_n == 0, "the waiter returned before any up");
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	/* Nobody waits any more: the up is counted, not handed to the dead EC. */
	EXPECT_OK(sys_sm_up(sm));
	EXPECT_OK(sys_sm_down(sm, 0));
	EXPECT_EQ(waiter_n, 0);
	return KT_PASS;
}

/* A finite timeout so large that timeout_us * TIMER_HZ wraps (2^62 * 100 = 0 mod 2^64) is long. */
static int t_sm_down_with_huge_timeout_waits_for_the_up(void)
{
	static const uint64_t huge[] = { 1ull << 62, 0xfffffffffffffffeull, 184467440737095517ull };
	for (unsigned i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		struct env e;
		uint64_t sm, done, ec;
		int r = start_waiters(&e, &sm, &done);
		if (r != KT_PASS) {
			return r;
		}
		waiter_timeout_us = huge[i];
		EXPECT_OK(env_thread(&e, (uintptr_t)w_waiter, 1, 0, env_evt_block(&e), &ec, NULL));
		kt_sleep(200);
		EXPECT(waiter_n == 0,
		       "a down with timeout %#lx us returned after 200 ms with %s, before any up",
		       (unsigned long)huge[i], kt_st(waiter_status[1]));
		EXPECT_OK(sys_sm_up(sm));
		EXPECT_OK(kt_wait(done, 2000));
		EXPECT_ST(waiter_status[1], VIREO_OK);
		kt_cleanup();
	}
	return KT_PASS;
}

static int t_sm_count_survives_many_ups(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0xfffffffffffffff0ull));
	for (int i = 0; i < 32; i++) {
		EXPECT_OK(sys_sm_up(sm));
	}
	/* At the top the count saturates (or at least never wraps to a small number). */
	for (int i = 0; i < 64; i++) {
		EXPECT_OK(sys_sm_down(sm, 0));
	}
	return KT_PASS;
}

/*
 * Fuzz seed 14 found this one: a semaphore charged to PD X whose only capability is granted into
 * X. Nothing outside X names X or the semaphore once kstest drops its capability to X; both must
 * go, and a semaphore that outlives the PD it was charged to must still be destroyable.
 */
static int t_sm_granted_into_its_charged_pd_is_reclaimed(void)
{
	struct vireo_kstat k0, k1;
	uint64_t pd = kt_sel(), sm = kt_sel(), sm2 = kt_sel();
	EXPECT_OK(sys_kstat(&k0));
	EXPECT_OK(sys_create_pd(pd, SEL_SELF_PD, 64 * 1024));
	EXPECT_OK(sys_create_sm(sm, pd, 0));
	EXPECT_OK(sys_create_sm(sm2, pd, 0));
	EXPECT_OK(
		sys_delegate(pd, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 100, VIREO_DELEGATE_GRANT));
	EXPECT_EQ(kt_lookup_obj(sm, NULL), 0);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, pd, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	/* sm2 is still ours: it outlives the PD that paid for it. */
	EXPECT_OK(sys_sm_up(sm2));
	EXPECT_OK(sys_sm_down(sm2, 0));
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.pds, k0.pds);
	EXPECT_EQ(k1.sms, k0.sms + 1);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sm2, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.sms, k0.sms);
	EXPECT_EQ(k1.mdb_nodes, k0.mdb_nodes);
	return KT_PASS;
}

const struct kt_test kt_sm_tests[] = {
	{ "sm_down_consumes_initial_count", t_sm_down_consumes_initial_count },
	{ "sm_up_counts_for_later_downs", t_sm_up_counts_for_later_downs },
	{ "sm_down_zero_timeout_returns_at_once", t_sm_down_zero_timeout_returns_at_once },
	{ "sm_down_waits_for_its_timeout", t_sm_down_waits_for_its_timeout },
	{ "sm_timeout_leaves_no_stale_waiter", t_sm_timeout_leaves_no_stale_waiter },
	{ "sm_up_from_other_ec_wakes_waiter", t_sm_up_from_other_ec_wakes_waiter },
	{ "sm_up_wakes_waiter_on_cpu1", t_sm_up_wakes_waiter_on_cpu1 },
	{ "sm_up_wakes_waiter_on_cpu0", t_sm_up_wakes_waiter_on_cpu0 },
	{ "sm_waiters_wake_in_fifo_order", t_sm_waiters_wake_in_fifo_order },
	{ "sm_destroyed_under_waiter_aborts_it", t_sm_destroyed_under_waiter_aborts_it },
	{ "ec_destroyed_while_waiting_forever_leaves_the_queue",
	  t_ec_destroyed_while_waiting_forever_leaves_the_queue },
	{ "sm_count_survives_many_ups", t_sm_count_survives_many_ups },
	{ "sm_down_with_huge_timeout_waits_for_the_up",
	  t_sm_down_with_huge_timeout_waits_for_the_up },
	{ "sm_granted_into_its_charged_pd_is_reclaimed",
	  t_sm_granted_into_its_charged_pd_is_reclaimed },
	{ NULL, NULL },
};
