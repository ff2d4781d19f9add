/* SPDX-License-Identifier: MIT */
/*
 * kstest: tests that run last because, when the kernel gets them wrong, they leave it unable to
 * run the others (a CPU that no longer schedules, a kernel panic).
 */
#include "kstest.h"

static int t_revoking_running_ec_stops_it(void)
{
	struct env e;
	static struct kt_loop loop;
	struct vireo_kstat k0, k1;
	uint64_t ec, sc;
	memset((void *)&loop, 0, sizeof(loop));
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(sys_kstat(&k0));
	unsigned cpu = kt_cpus > 1 ? 1 : 0;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, cpu, env_evt_block(&e),
			     &ec, &sc));
	for (int i = 0; i < 100 && loop.count == 0; i++) {
		kt_sleep(10);
	}
	EXPECT(loop.count != 0, "the spinning EC never ran");
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, sc, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, ec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&k1));
	EXPECT_EQ(k1.ecs, k0.ecs);
	EXPECT_EQ(k1.scs, k0.scs);
	kt_sleep(30);
	uint64_t c1 = loop.count;
	kt_sleep(60);
	uint64_t c2 = loop.count;
	EXPECT(c1 == c2,
	       "the EC kept running after its capabilities were revoked (count %lu -> %lu)",
	       (unsigned long)c1, (unsigned long)c2);
	/* The CPU it ran on goes on scheduling: a new EC there runs. */
	static struct kt_loop next;
	memset((void *)&next, 0, sizeof(next));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&next, cpu, env_evt_block(&e),
			     &ec, &sc));
	for (int i = 0; i < 100 && next.count == 0; i++) {
		kt_sleep(10);
	}
	EXPECT(next.count != 0,
	       "after an EC was destroyed while running on CPU %u, a new EC there never ran", cpu);
	next.stop = 1;
	return KT_PASS;
}

static int t_syscall_with_nt_flag_set_is_harmless(void)
{
	struct env e;
	static struct kt_loop loop;
	uint64_t ec, sc;
	memset((void *)&loop, 0, sizeof(loop));
	/* Something else to run on this CPU while we block, resumed the way a preempted EC is. */
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, 0, env_evt_block(&e),
			     &ec, &sc));
	kt_sleep(30);
	/*
	 * NT is a flag user code may set (POPF). SYSCALL keeps it unless the kernel masks it, and an
	 * IRETQ with NT set in 64-bit mode is a #GP: in the kernel, when it next returns to user mode
	 * that way. Block with NT set so that the kernel switches to the spinning EC meanwhile.
	 */
	long st;
	for (int i = 0; i < 5; i++) {
		__asm__ volatile("pushfq\n\torq $0x4000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
		st = sys_sm_down(KT_SEL_SLEEP, 20000);
		__asm__ volatile("pushfq\n\tandq $~0x4000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
		EXPECT_ST(st, VIREO_TIMEOUT);
	}
	EXPECT(loop.count > 0, "the spinning EC never ran");
	loop.stop = 1;
	return KT_PASS;
}

const struct kt_test kt_late_tests[] = {
	{ "revoking_running_ec_stops_it", t_revoking_running_ec_stops_it },
	{ NULL, NULL },
};

/* After the leak check: a kernel that gets this wrong panics. */
const struct kt_test kt_final_tests[] = {
	{ "syscall_with_nt_flag_set_is_harmless", t_syscall_with_nt_flag_set_is_harmless },
	{ NULL, NULL },
};
